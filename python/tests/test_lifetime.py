import gc
import os
import time

import numpy as np
import pytest

import clgrad


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def test_bad_device_spec():
    with pytest.raises(clgrad.NoDeviceError) as ei:
        clgrad.Context("no-such-device-xyz")
    assert "CLG_ERR_NO_DEVICE" in str(ei.value) and ei.value.message
    with pytest.raises(ValueError):
        clgrad.Context("")


def test_close_context_closes_children():
    ctx = clgrad.Context()
    ds = clgrad.Dataset.synthetic_linear(ctx, 100, [1.0], 0.0, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(1, 1)
    opt = clgrad.Optimizer(net, "sgd")
    tr, te = ds.split(0.5)
    ctx.close()
    for obj in (ctx, ds, net, opt, tr, te):
        assert obj.closed
    with pytest.raises(clgrad.ClosedError):
        clgrad.fit(net, ds, verbose=False)
    with pytest.raises(clgrad.ClosedError):
        len(ds)
    with pytest.raises(clgrad.ClosedError):
        opt.lr
    with pytest.raises(clgrad.ClosedError):
        clgrad.Model(ctx)
    with pytest.raises(clgrad.ClosedError):
        ctx.device
    assert "closed" in repr(net) and "closed" in repr(opt)
    ctx.close()  # idempotent


def test_context_managers_and_model_close_closes_optimizer():
    with clgrad.Context() as ctx:
        with clgrad.Model(ctx).add_linear(2, 1) as net:
            opt = clgrad.Optimizer(net)
        assert net.closed and opt.closed
        with pytest.raises(clgrad.ClosedError):
            clgrad.predict(net, np.zeros((1, 2)))
    assert ctx.closed


def test_gc_order_cannot_free_context_first():
    ctx = clgrad.Context()
    net = clgrad.Model(ctx).add_linear(2, 1)
    opt = clgrad.Optimizer(net)
    del ctx, net
    gc.collect()
    assert opt.model.ctx._ptr  # kept alive through the optimizer
    assert opt.lr == pytest.approx(0.03)
    del opt
    gc.collect()


def test_no_growth_over_many_cycles():
    """1000 Dataset+Model+Optimizer cycles on one context, then 1000 Context+Dataset+Model
    cycles: RSS may not grow by more than 8 MiB after a warm-up (POCL: ~10 s)."""
    X = np.random.default_rng(0).normal(size=(64, 4))
    y = np.arange(64) % 3

    def cycle(ctx):
        ds = clgrad.Dataset(ctx, X, y)
        net = clgrad.Model(ctx).add_linear(4, 3)
        opt = clgrad.Optimizer(net, "adam")
        clgrad.evaluate(net, ds)
        opt.close()
        net.close()
        ds.close()

    with clgrad.Context() as ctx:
        for _ in range(50):
            cycle(ctx)
        gc.collect()
        before = rss_kib()
        for _ in range(1000):
            cycle(ctx)
        gc.collect()
        grown = rss_kib() - before
    assert grown < 8 * 1024, "RSS grew %d KiB over 1000 dataset/model cycles" % grown

    for _ in range(20):
        with clgrad.Context() as c:
            cycle(c)
    gc.collect()
    before = rss_kib()
    for _ in range(1000):
        c = clgrad.Context()
        ds = clgrad.Dataset(c, X, y)
        clgrad.Model(c).add_linear(4, 3)
        del ds
        c.close()  # closes the unreferenced-but-alive model too
    gc.collect()
    grown = rss_kib() - before
    assert grown < 8 * 1024, "RSS grew %d KiB over 1000 context cycles" % grown


def test_close_during_fit_raises_and_fit_completes():
    """close() of anything a running fit uses (from its callback, or from another thread)
    raises StateError and frees nothing; afterwards it closes normally."""
    ctx = clgrad.Context()
    ds = clgrad.Dataset.synthetic_linear(ctx, 2000, [2.0, -3.4], 4.2, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    opt = clgrad.Optimizer(net, "sgd", lr=0.03)
    seen = []

    def cb(epoch, logs):
        for obj in (ctx, net, ds, opt):
            with pytest.raises(clgrad.StateError, match="running"):
                obj.close()
            seen.append(obj.closed)

    h = clgrad.fit(net, ds, epochs=2, optimizer=opt, callback=cb, verbose=False)
    assert seen == [False] * 8 and len(h["epoch"]) == 2

    import threading
    tried = []

    def closer():
        try:
            ctx.close()
        except clgrad.StateError:
            tried.append("refused")

    started = threading.Event()

    def cb2(epoch, logs):
        if epoch == 1:
            t = threading.Thread(target=closer)
            t.start()
            t.join()
            started.set()

    clgrad.fit(net, ds, epochs=2, optimizer=opt, callback=cb2, verbose=False)
    assert started.is_set() and tried == ["refused"] and not ctx.closed
    assert clgrad.evaluate(net, ds)[0] < 1e-3
    ctx.close()
    assert net.closed and ds.closed and opt.closed


def test_close_from_another_thread_during_a_quiet_fit_raises():
    """A quiet fit (no callback: clg_fit on the calling thread, the GIL free) marks its
    model and dataset busy: another thread's close() of them, or of their context, raises
    StateError meanwhile and frees nothing."""
    import threading
    ctx = clgrad.Context()
    ds = clgrad.Dataset.synthetic_linear(ctx, 2000, [2.0, -3.4], 4.2, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(2, 1)
    refused = []

    def closer():
        deadline = time.monotonic() + 10
        while not net._calls and time.monotonic() < deadline:  # until the fit marks them
            time.sleep(0)
        for obj in (ctx, net, ds):
            try:
                obj.close()
            except clgrad.StateError:
                refused.append(obj.closed)

    t = threading.Thread(target=closer)
    t.start()
    h = clgrad.fit(net, ds, epochs=30, verbose=False)  # about 6000 steps, on this thread
    t.join()
    assert refused == [False] * 3 and list(h["epoch"]) == list(range(1, 31))
    assert not net._calls and not ds._calls and clgrad.evaluate(net, ds)[0] < 1e-3
    ctx.close()
    assert net.closed and ds.closed


def test_context_stats_count_kernels(ctx):
    before = ctx.stats()
    assert set(before) >= {"programs_built", "programs_from_cache", "kernels_enqueued"}
    ds = clgrad.Dataset.synthetic_linear(ctx, 100, [1.0], 0.0, 0.01, 1)
    net = clgrad.Model(ctx).add_linear(1, 1)
    clgrad.fit(net, ds, epochs=1, verbose=False)
    assert ctx.stats()["kernels_enqueued"] > before["kernels_enqueued"]
