"""The seeds' linear regression (examples/linreg_scratch.c): 1000×2, w=[2,-3.4], b=4.2,
noise 0.01, seed 42, 3 epochs, batch 10, SGD lr 0.03 on a summed squared loss."""
import ctypes
import os
import re
import subprocess

import numpy as np
import pytest

import clgrad
from clgrad import _lib
from conftest import C_EXAMPLE, needs_c_example

L = _lib.lib
TRUE_W, TRUE_B = [2.0, -3.4], 4.2


def run_fit(ctx, verbose=False):
    data = clgrad.Dataset.synthetic_linear(ctx, 1000, TRUE_W, TRUE_B, 0.01, 42)
    net = clgrad.Model(ctx).add_linear(2, 1)
    h = clgrad.fit(net, data, epochs=3, batch_size=10, lr=0.03, loss="squared",
                   reduction="sum", seed=42, verbose=verbose)
    return net.params(), h


def run_c_api_loop(ctx):
    """linreg_scratch.c's loop, call for call, through the raw C API."""
    c = ctx._h
    ck = lambda s: clgrad.errors.check(s, c)  # noqa: E731
    w = (ctypes.c_float * 2)(*TRUE_W)
    data, net, opt, it, dl = (ctypes.c_void_p() for _ in range(5))
    ck(L.clg_dataset_synthetic_linear(c, 1000, w, 2, TRUE_B, 0.01, 42, ctypes.byref(data)))
    ck(L.clg_model_create(c, ctypes.byref(net)))
    ck(L.clg_model_add_linear(net, 2, 1, None))
    sgd = L.clg_optimizer_defaults(0)
    sgd.lr = 0.03
    ck(L.clg_optimizer_create(net, ctypes.byref(sgd), ctypes.byref(opt)))
    lo = L.clg_loader_defaults()
    lo.batch_size, lo.seed = 10, 42
    ck(L.clg_loader_create(data, ctypes.byref(lo), ctypes.byref(it)))
    ck(L.clg_tensor_create(c, 10, 1, ctypes.byref(dl)))
    losses = []
    try:
        for _ in range(3):
            ck(L.clg_loader_start_epoch(it))
            b, more = _lib.Batch(), ctypes.c_int()
            while True:
                ck(L.clg_loader_next(it, ctypes.byref(b), ctypes.byref(more)))
                if not more.value:
                    break
                yhat = ctypes.c_void_p()
                ck(L.clg_model_forward(net, b.X, ctypes.byref(yhat)))
                ck(L.clg_tensor_resize(dl, b.rows, 1))
                ck(L.clg_loss_backward(c, 0, 1, yhat, b.Y, dl))
                ck(L.clg_model_backward(net, dl))
                ck(L.clg_optimizer_step(opt, ctypes.c_float(1.0 / b.rows)))
            tl = ctypes.c_double()
            ck(L.clg_evaluate_loss(net, data, 0, ctypes.byref(tl)))
            losses.append(tl.value)
        W = np.empty(2, np.float32)
        B = np.empty(1, np.float32)
        ck(L.clg_model_get_param(net, 0, W.ctypes.data_as(_lib.float_p), 2))
        ck(L.clg_model_get_param(net, 1, B.ctypes.data_as(_lib.float_p), 1))
    finally:
        L.clg_tensor_destroy(dl)
        L.clg_loader_destroy(it)
        L.clg_optimizer_destroy(opt)
        L.clg_model_destroy(net)
        L.clg_dataset_destroy(data)
    return W, B, losses


def test_fit_equals_c_api_loop_bit_for_bit(ctx):
    p, h = run_fit(ctx)
    W, B, losses = run_c_api_loop(ctx)
    assert p["0.weight"].ravel().tobytes() == W.tobytes()
    assert p["0.bias"].tobytes() == B.tobytes()
    assert list(h["train_loss"]) == losses
    assert list(h["epoch"]) == [1, 2, 3]
    assert h.epochs_run == 3 and h.steps == 300


def test_deterministic(ctx):
    p1, h1 = run_fit(ctx)
    p2, h2 = run_fit(ctx)
    for k in p1:
        assert p1[k].tobytes() == p2[k].tobytes()
    assert np.array_equal(h1["train_loss"], h2["train_loss"])


def test_recovers_true_parameters(ctx):
    p, h = run_fit(ctx)
    assert np.allclose(p["0.weight"].ravel(), TRUE_W, atol=5e-3)
    assert abs(p["0.bias"][0] - TRUE_B) < 5e-3
    assert h["train_loss"][-1] < 1e-3


def _lines(ctx, capsys):
    p, _ = run_fit(ctx, verbose=True)
    out = capsys.readouterr().out
    w, b = p["0.weight"].ravel(), p["0.bias"]
    out += "w error: [%f, %f]\n" % (TRUE_W[0] - w[0], TRUE_W[1] - w[1])
    out += "b error: [%f]\n" % (TRUE_B - b[0])
    return out


@needs_c_example
def test_same_output_as_c_example(ctx, capsys):
    ours = _lines(ctx, capsys)
    env = dict(os.environ)
    env.pop("CLGRAD_LIBRARY", None)
    theirs = subprocess.run([C_EXAMPLE], capture_output=True, text=True, timeout=60, env=env).stdout
    assert ours == theirs
    assert re.match(r"epoch 1, loss \d+\.\d{6}\n", ours)


def test_solve_closed_form(ctx):
    data = clgrad.Dataset.synthetic_linear(ctx, 1000, TRUE_W, TRUE_B, 0.01, 42)
    w, b = clgrad.solve(ctx, data)
    assert w.shape == (2, 1) and b.shape == (1,)
    assert np.allclose(w.ravel(), TRUE_W, atol=2e-3) and abs(b[0] - TRUE_B) < 2e-3
    with pytest.raises(clgrad.InvalidArgumentError):
        clgrad.solve(ctx, data, ridge=-1)


def test_fit_arguments_converted_once_give_the_same_fit(ctx):
    """fit keeps the converted arguments (clgrad/_block.py): a second call with the same
    ones copies them and must train exactly as the first; other arguments, a first_epoch
    or a handle among them, must not reuse them."""
    from clgrad import train
    train._IMAGES.clear()
    p1, h1 = run_fit(ctx)
    assert len(train._IMAGES) == 1
    p2, h2 = run_fit(ctx)
    assert len(train._IMAGES) == 1
    for k in p1:
        assert p1[k].tobytes() == p2[k].tobytes()
    assert h1["train_loss"].tobytes() == h2["train_loss"].tobytes()
    h2["epoch"][0] = 99  # each history owns its arrays
    assert list(h1["epoch"]) == [1, 2, 3]
    data = clgrad.Dataset.synthetic_linear(ctx, 1000, TRUE_W, TRUE_B, 0.01, 42)
    net = clgrad.Model(ctx).add_linear(2, 1)
    h3 = clgrad.fit(net, data, epochs=2, batch_size=10, lr=0.03, loss="squared",
                    reduction="sum", seed=42, verbose=False, first_epoch=3)
    assert list(h3["epoch"]) == [4, 5] and h3.epochs_run == 2
    opt = clgrad.Optimizer(net, lr=0.03)
    h4 = clgrad.fit(net, data, epochs=2, batch_size=10, optimizer=opt, loss="squared",
                    reduction="sum", seed=42, verbose=False)
    assert list(h4["epoch"]) == [1, 2] and len(train._IMAGES) == 2


def test_history_copies_and_pickles_and_ends_where_the_fit_stopped(ctx):
    import copy
    import pickle
    _, h = run_fit(ctx)
    for h2 in (pickle.loads(pickle.dumps(h)), copy.deepcopy(h)):
        assert h2.keys() == h.keys() and h2["train_loss"].tobytes() == h["train_loss"].tobytes()
        assert (h2.epochs_run, h2.steps, h2.final_loss) == (h.epochs_run, h.steps, h.final_loss)
    data = clgrad.Dataset.synthetic_linear(ctx, 1000, TRUE_W, TRUE_B, 0.01, 42)
    net = clgrad.Model(ctx).add_linear(2, 1)

    def stop_after_two(epoch, logs):
        if epoch == 2:
            raise StopIteration

    with pytest.raises(StopIteration):
        clgrad.fit(net, data, epochs=5, verbose=False, callback=stop_after_two)
    h = clgrad.fit(net, data, epochs=40, lr=0.5, validation_fraction=0.2, early_stop=1,
                   verbose=False)
    n = len(h["epoch"])
    assert h.stopped_early and n < 40 and list(h["epoch"]) == list(range(1, n + 1))
    assert len(h["train_loss"]) == n and np.all(np.isfinite(h["train_loss"]))


def test_quiet_history_holds_its_arrays(ctx):
    """A quiet fit's History holds its arrays as a dict does: what reads a dict's storage
    directly (json, OrderedDict) sees them, and two equal histories compare equal."""
    import collections
    import json
    _, h = run_fit(ctx)
    assert json.loads(json.dumps(h, default=lambda a: a.tolist()))["epoch"] == [1, 2, 3]
    assert collections.OrderedDict(h).keys() == h.keys() and dict.__len__(h) == 2
    data = clgrad.Dataset.synthetic_linear(ctx, 100, TRUE_W, TRUE_B, 0.01, 1)
    a, b = (clgrad.fit(clgrad.Model(ctx).add_linear(2, 1), data, epochs=1, lr=0.0,
                       verbose=False) for _ in range(2))
    assert a == b and not (a != b)


def test_history_does_not_keep_the_callback_alive(ctx):
    """A History holds its values, not the fit's callbacks (nor what they refer to)."""
    import gc
    import weakref

    class Seen(list):
        pass

    seen = Seen()
    ref = weakref.ref(seen)
    data = clgrad.Dataset.synthetic_linear(ctx, 200, TRUE_W, TRUE_B, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    h = clgrad.fit(net, data, epochs=2, verbose=False,
                   callback=lambda e, logs, s=seen: s.append(e))
    assert list(seen) == [1, 2] and list(h["epoch"]) == [1, 2] and h.epochs_run == 2
    del seen
    gc.collect()
    assert ref() is None
    assert clgrad.History().epochs_run == 0


def test_fit_refuses_a_communicator_of_another_type(ctx):
    """comm must be a clgrad.Comm: anything else is refused before clg_fit (no MPI here)."""
    data = clgrad.Dataset.synthetic_linear(ctx, 100, TRUE_W, TRUE_B, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    with pytest.raises(TypeError, match="clgrad.Comm"):
        clgrad.fit(net, data, verbose=False, comm="world")
    with pytest.raises(clgrad.InvalidArgumentError, match="needs a communicator"):
        clgrad.fit(net, data, verbose=False, average_every=2)
