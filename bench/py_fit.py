#!/usr/bin/env python3
"""bench_linreg and bench_classify through the Python package: the same datasets, options,
warm-up fit and timing (clgrad.fit alone), the same `key value` output, so that bench/run
can compare the Python API's fit time with the C API's.
Usage: bench/py_fit.py [--build DIR] [--fits K] linreg scratch|concise N D BATCH EPOCHS
       bench/py_fit.py [--build DIR] classify N D Q BATCH EPOCHS
The library: $CLGRAD_LIBRARY, else DIR/libclgrad.so (DIR/lib/ too; default build/)."""
import argparse, os, sys, time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--fits", type=int, default=1, help="time the fit this many times, each on a "
                "fresh model: the median counts (as bench_linreg's FITS)")
ap.add_argument("--vs-c", action="store_true", help="also time clg_fit itself, called through "
                "ctypes with the same options, alternating with clgrad.fit in this process: "
                "us_per_step_c, and us_per_step for clgrad.fit (robust to a host whose speed "
                "drifts between processes)")
ap.add_argument("case", choices=["linreg", "classify"])
ap.add_argument("args", nargs="+")
args = ap.parse_args()
if not os.environ.get("CLGRAD_LIBRARY"):
    for cand in ("libclgrad.so", "lib/libclgrad.so"):
        if os.path.exists(os.path.join(args.build, cand)):
            os.environ["CLGRAD_LIBRARY"] = os.path.join(args.build, cand)
            break
sys.path.insert(0, os.path.join(root, "python"))
import numpy as np
import clgrad

ctx = clgrad.Context()
if args.case == "linreg":
    mode, (n, d, bs, epochs), q = args.args[0], (int(a) for a in args.args[1:5]), 1
    w = np.array([2.0, -3.4] + [0.5] * (d - 2), np.float32)[:d]
    ds = clgrad.Dataset.synthetic_linear(ctx, n, w, 4.2, 0.01, seed=0)  # bench_linreg's data
    concise = mode == "concise"
    opts = dict(batch_size=bs, lr=0.03, loss="mse" if concise else "squared",
                reduction="mean" if concise else "sum", verbose=False)
else:
    n, d, q, bs, epochs = (int(a) for a in args.args[:5])
    # The same distribution as bench_classify (X ~ N(0,1), labels argmax(X·Wt + N(0,1))) but
    # numpy's generator, not its xorshift: other values, the same work; only times compare.
    rng = np.random.default_rng(0)
    Wt = rng.standard_normal((d, q), dtype=np.float32)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = (X @ Wt + rng.standard_normal((n, q), dtype=np.float32)).argmax(1).astype(np.int32)
    ds = clgrad.Dataset(ctx, X, y, classes=q)
    opts = dict(batch_size=bs, lr=0.1, loss="xent", epoch_loss=False, verbose=False)

clgrad.fit(clgrad.Model(ctx).add_linear(d, q), ds, epochs=1, **opts)  # builds every program
def c_api(net):
    """clg_fit with the options clgrad.fit builds, called directly: the C API's time."""
    from clgrad import _lib
    o = _lib.lib.clg_fit_defaults()
    o.epochs, o.batch_size = epochs, opts["batch_size"]
    o.optimizer.lr = opts["lr"]
    o.loss = clgrad.train.LOSSES[opts["loss"]]
    o.reduction = clgrad.train.REDUCTIONS[opts.get("reduction", "mean")]
    o.epoch_loss = int(opts.get("epoch_loss", True))
    o.on_epoch = _lib.EPOCH_CB(0)
    rep = _lib.FitReport()
    t0 = time.perf_counter()
    s = _lib.lib.clg_fit(net._h, ds._h, ctypes.byref(o), None, ctypes.byref(rep))
    dt = time.perf_counter() - t0
    if s:
        sys.exit("clg_fit: %s" % _lib.lib.clg_last_error(ctx._h).decode())
    return dt


import ctypes
times, ctimes, h = [], [], None
for k in range(max(args.fits, 1)):
    for which in ((0, 1) if k % 2 else (1, 0)) if args.vs_c else (0,):
        if not which:  # the previous history freed outside the timing, as C frees its model
            h = None
        net = clgrad.Model(ctx).add_linear(d, q)  # a fresh model, made outside the timing
        ctx.finish()
        if which:
            ctimes.append(c_api(net))
            continue
        t0 = time.perf_counter()
        h = clgrad.fit(net, ds, epochs=epochs, **opts)
        times.append(time.perf_counter() - t0)
t = sorted(times)[len(times) // 2]
extra = ""
if ctimes:  # and the median of the per-pair ratios: fits next to each other share the host's state
    pairs = sorted(a / b for a, b in zip(times, ctimes))
    extra = " us_per_step_c %.2f pair_ratio %.3f" % (
        sorted(ctimes)[len(ctimes) // 2] * 1e6 / h.steps, pairs[len(pairs) // 2])

if args.case == "linreg":
    W, b = net.get_param("0.weight").ravel(), net.get_param("0.bias")
    loss = h.final_loss / 2 if concise else h.final_loss  # (ŷ−y)²/2, like bench_linreg
    print("time_s %.4f loss %.6g werr %.4g berr %.4g steps %d us_per_step %.2f%s"
          % (t, loss, np.abs(W - w).max(), abs(b[0] - 4.2), h.steps, t * 1e6 / h.steps, extra))
else:
    loss, acc = clgrad.evaluate(net, ds)
    print("time_s %.3f acc %.4f loss %.5g samples_per_s %.0f us_per_step %.1f%s"
          % (t, acc, loss, n * epochs / t, t * 1e6 / h.steps, extra))
ctx.close()
