import numpy as np
import pytest

import clgrad


def blobs(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2, 0, 0, 1], [-2, 1, 0, 0], [0, -2, 2, 0]], dtype=np.float64)
    y = rng.integers(0, 3, size=n)
    return centers[y] + rng.normal(size=(n, 4)), y


def test_softmax_accuracy(ctx):
    X, y = blobs()
    ds = clgrad.Dataset(ctx, X, y)
    net = clgrad.Model(ctx).add_linear(4, 3)
    h = clgrad.fit(net, ds, epochs=5, batch_size=64, lr=0.1, verbose=False)
    loss, acc = clgrad.evaluate(net, ds)
    assert acc >= 0.93, acc
    assert loss == pytest.approx(h.final_loss, rel=1e-6)
    pred = clgrad.predict(net, X).argmax(1)
    assert (pred == y).mean() == pytest.approx(acc, abs=1e-9)
    with pytest.raises(clgrad.InvalidArgumentError):  # squared loss on class data
        clgrad.evaluate(net, ds, "squared")
    with pytest.raises(ValueError, match="shape"):
        clgrad.predict(net, X[:, :3])


def test_mlp_layers_and_repr(ctx):
    net = clgrad.Model(ctx, [("linear", 4, 8, {"init": "torch", "seed": 1}), "relu",
                             ("linear", 8, 3)])
    assert repr(net) == ("Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=True)\n"
                         "  (1): ReLU()\n  (2): Linear(in_features=8, out_features=3, bias=True)\n)")
    assert net.param_names() == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert net.get_param("0.weight").shape == (4, 8) and net.get_param(3).shape == (3,)
    assert (net.inputs, net.outputs) == (4, 3)
    w = np.arange(32, dtype=np.float64).reshape(4, 8)
    net.set_param("0.weight", w)
    assert np.array_equal(net.get_param(0), w.astype(np.float32))
    with pytest.raises(ValueError):
        net.set_param("0.weight", np.zeros((8, 4)))
    with pytest.raises(KeyError):
        net.get_param("9.weight")
    with pytest.raises(clgrad.ShapeError):
        net.add_linear(5, 2)
    with pytest.raises(ValueError, match="init"):
        net.add_linear(3, 2, init="bogus")
    given = clgrad.Model(ctx).add_linear(2, 1, weight=[[1.0], [2.0]], bias=[0.5])
    assert np.array_equal(clgrad.predict(given, [[1, 1]]), [[3.5]])


def test_phm_params(ctx):
    net = clgrad.Model(ctx).add_phm(64, 10, 4, seed=3)
    info = net.param_info()
    assert [p["name"] for p in info] == ["0.A", "0.S", "0.bias"]
    dn, qn, n = 16, 3, 4
    assert net.num_parameters == n ** 3 + n * dn * qn + 10
    assert "PHM(in_features=64, out_features=10, n=4, bias=True)" in repr(net)
    with pytest.raises(clgrad.InvalidArgumentError):
        clgrad.Model(ctx).add_phm(4, 4, 17)


def test_optimizers(ctx):
    X, y = blobs(600, 1)
    ds = clgrad.Dataset(ctx, X, y)
    net = clgrad.Model(ctx).add_linear(4, 3)
    opt = clgrad.Optimizer(net, "adam", lr=0.01, betas=(0.8, 0.99))
    assert opt.kind == "Adam" and opt.lr == pytest.approx(0.01)
    text = repr(opt)
    assert text.startswith("Adam (\nParameter Group 0\n") and "betas: (0.8, 0.99)" in text
    g = opt.add_group_by_kind(biases=True, weight_decay=0.0, lr=0.001)
    assert g == 1 and opt.group_count == 2
    assert opt.groups[1]["lr"] == pytest.approx(0.001) and opt.groups[1]["beta1"] == \
        pytest.approx(0.8)
    assert "Parameter Group 1" in repr(opt)
    opt.set_lr(0.02, group=1)
    assert opt.get_lr(1) == pytest.approx(0.02) and opt.get_lr(0) == pytest.approx(0.01)
    opt.lr = 0.05
    assert opt.get_lr(1) == pytest.approx(0.05)
    h = clgrad.fit(net, ds, epochs=3, batch_size=32, optimizer=opt, verbose=False)
    assert opt.steps == 3 * 19 and h["train_loss"][-1] < h["train_loss"][0]
    for kind in ("sgd", "adamw", "rmsprop"):
        o2 = clgrad.Optimizer(clgrad.Model(ctx).add_linear(4, 3), kind)
        assert repr(o2).split(" (")[0] == {"sgd": "SGD", "adamw": "AdamW",
                                          "rmsprop": "RMSprop"}[kind]
    assert clgrad.Optimizer(net, "sgd").lr == pytest.approx(0.03)  # d2l default
    with pytest.raises(clgrad.InvalidArgumentError, match="lr"):
        clgrad.Optimizer(net, "sgd", lr=-1)
    with pytest.raises(TypeError):
        clgrad.Optimizer(net, "sgd", bogus=1)
    with pytest.raises(ValueError):
        clgrad.Optimizer(net, "lbfgs")
    h2 = clgrad.fit(net, ds, epochs=2, batch_size=32, optimizer="adam", lr=0.01, verbose=False)
    assert len(h2["epoch"]) == 2
    import enum

    class Kind(str, enum.Enum):  # a str Enum names a kind by its value, "Adam" too
        ADAM = "Adam"
    assert clgrad.Optimizer(net, Kind.ADAM).kind == "Adam"
    with pytest.raises(ValueError):
        clgrad.Optimizer(net, 1)


def test_validation_early_stop_and_callback(ctx):
    X, y = blobs(800, 2)
    ds = clgrad.Dataset(ctx, X, y)
    net = clgrad.Model(ctx).add_linear(4, 3)
    seen = []
    h = clgrad.fit(net, ds, epochs=40, batch_size=16, lr=0.5, validation_fraction=0.25,
                   early_stop=2, seed=5, verbose=False,
                   callback=lambda e, logs: seen.append((e, dict(logs))))
    assert set(h) == {"epoch", "train_loss", "val_loss", "val_accuracy"}
    assert len(h["val_loss"]) == len(h["epoch"]) == len(seen)
    assert seen[0][0] == 1 and set(seen[0][1]) == {"train_loss", "val_loss", "val_accuracy"}
    assert h.stopped_early and len(h["epoch"]) < 40
    assert h.best_loss == h["val_loss"].min() and h.best_epoch == 1 + h["val_loss"].argmin()
    assert np.all((h["val_accuracy"] > 0.8) & (h["val_accuracy"] <= 1))


def test_schedule_and_verbose_validation(ctx, capsys):
    ds = clgrad.Dataset.synthetic_linear(ctx, 200, [1.0], 0.5, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(1, 1)
    h = clgrad.fit(net, ds, epochs=2, validation_fraction=0.5, seed=1,
                   schedule={"kind": "step", "step_size": 1, "gamma": 0.5})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("epoch 1, loss ") and out[1].startswith("epoch 1, validation loss ")
    assert len(out) == 4 and np.all(h["val_accuracy"] == -1)
    with pytest.raises(clgrad.InvalidArgumentError):
        clgrad.fit(net, ds, schedule={"kind": "step"}, verbose=False)  # step_size 0


def test_callback_exception_stops_fit(ctx):
    ds = clgrad.Dataset.synthetic_linear(ctx, 100, [1.0], 0.5, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(1, 1)

    def cb(e, logs):
        raise RuntimeError("stop at %d" % e)
    with pytest.raises(RuntimeError, match="stop at 1"):
        clgrad.fit(net, ds, epochs=5, callback=cb, verbose=False)


@pytest.mark.parametrize("rows,epochs", [(2000, 1000), (100, 50)])
def test_keyboard_interrupt_cancels(ctx, rows, epochs):
    """Ctrl-C (interrupt_main: the SIGINT handler, from the callback) cancels a fit in its
    worker thread (2000 rows) and one small enough to run on the calling thread (100 rows),
    and reaches the caller as KeyboardInterrupt; the model is usable afterwards."""
    import _thread
    ds = clgrad.Dataset.synthetic_linear(ctx, rows, [1.0, 2.0], 0.5, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    seen = []

    def cb(e, logs):
        seen.append(e)
        if e == 2:
            _thread.interrupt_main()
    with pytest.raises(KeyboardInterrupt):
        clgrad.fit(net, ds, epochs=epochs, batch_size=10, callback=cb, verbose=False)
    assert 2 <= len(seen) < epochs
    assert np.all(np.isfinite(net.get_param(0)))
    clgrad.evaluate(net, ds)


def test_exception_from_a_signal_handler_waits_for_the_worker(ctx):
    """A program's own signal handler raising while a fit runs on its worker thread (here
    SIGUSR1 raising RuntimeError): fit cancels clg_fit, waits for it to return, and then
    raises; nothing trains the model afterwards, and nothing stays marked busy."""
    import os
    import signal
    import threading
    import time
    ds = clgrad.Dataset.synthetic_linear(ctx, 20000, [1.0, 2.0], 0.5, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)

    def on_usr1(signum, frame):
        raise RuntimeError("stop now")

    prev = signal.signal(signal.SIGUSR1, on_usr1)
    try:
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(RuntimeError, match="stop now"):
            clgrad.fit(net, ds, epochs=400, verbose=False)  # seconds, on the worker thread
    finally:
        signal.signal(signal.SIGUSR1, prev)
    assert not net._calls and not ds._calls
    w = net.get_param(0).tobytes()
    time.sleep(0.2)
    assert net.get_param(0).tobytes() == w, "a worker still trains the model"
    assert not [t for t in threading.enumerate() if t.name == "clgrad.fit"]
    clgrad.evaluate(net, ds)


def test_real_sigint_during_a_short_fit(ctx):
    """A real SIGINT that arrives while clg_fit runs on the calling thread: it cancels the
    fit and reaches the caller as KeyboardInterrupt (ctypes would have swallowed it at the
    next callback's entry)."""
    import os
    import signal
    import threading
    ds = clgrad.Dataset.synthetic_linear(ctx, 100, [1.0, 2.0], 0.5, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    epochs = []

    def cb(e, logs):
        epochs.append(e)
        if e == 2:
            threading.Timer(0.001, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        clgrad.fit(net, ds, epochs=600, batch_size=10, callback=cb, verbose=False)
    assert 2 <= len(epochs) < 600
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_diverged(ctx):
    ds = clgrad.Dataset.synthetic_linear(ctx, 500, [10.0, -10.0], 0.0, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    with pytest.raises((clgrad.DivergedError, clgrad.NonFiniteError)):
        clgrad.fit(net, ds, epochs=5, lr=50.0, verbose=False)


def test_save_load_round_trip(ctx, tmp_path):
    X, y = blobs(300, 3)
    ds = clgrad.Dataset(ctx, X, y)
    net = clgrad.Model(ctx, [("linear", 4, 6), "relu", ("linear", 6, 3)])
    opt = clgrad.Optimizer(net, "adam", lr=0.01)
    clgrad.fit(net, ds, epochs=2, batch_size=32, optimizer=opt, verbose=False)
    path = tmp_path / "m.clg"
    net.save(path, optimizer=opt, meta="loss 0.1")
    m2 = clgrad.Model.load(ctx, path)
    assert m2.meta == "loss 0.1" and repr(m2) == repr(net)
    assert clgrad.predict(m2, X).tobytes() == clgrad.predict(net, X).tobytes()
    for k, v in net.params().items():
        assert m2.params()[k].tobytes() == v.tobytes()
    m3 = clgrad.Model(ctx, [("linear", 4, 6), "relu", ("linear", 6, 3)])
    o3 = clgrad.Optimizer(m3, "adam", lr=0.01)
    m3.load_into(path, o3)
    assert o3.steps == opt.steps
    bad = tmp_path / "bad.clg"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(clgrad.FormatError):
        clgrad.Model.load(ctx, bad)
    with pytest.raises(clgrad.FileError):
        clgrad.Model.load(ctx, tmp_path / "missing.clg")
    with pytest.raises(clgrad.ShapeError):
        clgrad.Model(ctx).add_linear(4, 3).load_into(path)
