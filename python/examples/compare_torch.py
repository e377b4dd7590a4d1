"""The chapter's two models trained by PyTorch and by clgrad on the same data from the same
initial parameters: d2l's linear regression (w=[2,-3.4], b=4.2, noise 0.01, 1000 rows,
batch 10, lr 0.03, squared loss) and softmax regression on a synthetic 784→10 set (X ~ N(0,1),
labels argmax(X·Wt + N(0,1)); batch 256, lr 0.1, cross-entropy). Prints the full-set loss
after each epoch for both, then each framework's fit time.

The two shuffle their minibatches differently (torch's DataLoader vs clgrad's loader), so the
losses agree approximately, not bit for bit.
Usage: compare_torch.py [--rows 6000 (softmax rows)] [--epochs 3] [--seed 0]"""
import argparse
import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    print("compare_torch: PyTorch is not installed (Debian: python3-torch); nothing to compare")
    sys.exit(0)

import clgrad

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=6000, help="rows of the softmax set")
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
rng = np.random.default_rng(args.seed)
torch.manual_seed(args.seed)


def half_sq(pred, y):  # d2l's squared loss (ŷ − y)²/2, averaged: clgrad's "squared"
    return ((pred - y) ** 2 / 2).mean()


def train_torch(X, y, W, b, lossf, bs, lr, epochs):
    """W (in×out) and b as clgrad holds them; nn.Linear keeps W transposed."""
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    net = torch.nn.Linear(*W.shape)
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(W.T.copy()))
        net.bias.copy_(torch.from_numpy(b))
    it = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), bs, shuffle=True)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    losses = []
    t0 = time.perf_counter()
    for _ in range(epochs):
        for Xb, yb in it:
            loss = lossf(net(Xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():  # the full-set loss, as clgrad's fit computes after each epoch
            losses.append(float(lossf(net(X), y)))
    return losses, time.perf_counter() - t0


def compare(title, ctx, X, y, q, lossf, bs, lr, **fit_kw):
    """q outputs; integer y: class ids of q classes."""
    ds = clgrad.Dataset(ctx, X, y, classes=q if y.dtype.kind == "i" else False)
    d = X.shape[1]
    # a first fit builds (or loads) clgrad's programs; torch gets a warm-up too
    clgrad.fit(clgrad.Model(ctx).add_linear(d, q), ds, epochs=1, batch_size=bs, lr=lr,
               verbose=False, **fit_kw)
    net = clgrad.Model(ctx).add_linear(d, q)  # w ~ N(0, 0.01²), b = 0
    W, b = net.get_param("0.weight"), net.get_param("0.bias")
    train_torch(X, y, W, b, lossf, bs, lr, 1)
    t_loss, t_time = train_torch(X, y, W, b, lossf, bs, lr, args.epochs)
    ctx.finish()
    t0 = time.perf_counter()
    h = clgrad.fit(net, ds, epochs=args.epochs, batch_size=bs, lr=lr, verbose=False, **fit_kw)
    c_time = time.perf_counter() - t0
    print("== " + title)
    print("%5s %14s %14s" % ("epoch", "torch loss", "clgrad loss"))
    for e, (tl, cl) in enumerate(zip(t_loss, h["train_loss"]), 1):
        print("%5d %14.6g %14.6g" % (e, tl, cl))
    print("fit time: torch %.4f s, clgrad %.4f s, torch/clgrad %.1fx"
          % (t_time, c_time, t_time / c_time))


with clgrad.Context() as ctx:
    n, w, b = 1000, np.array([2, -3.4], np.float32), 4.2
    X = rng.standard_normal((n, 2), dtype=np.float32)
    y = (X @ w + b + rng.normal(0, 0.01, n)).astype(np.float32).reshape(-1, 1)
    compare("linear regression: %d×2, batch 10, lr 0.03, squared loss" % n, ctx, X, y, 1,
            half_sq, 10, 0.03, loss="squared")

    n, d, q = args.rows, 784, 10
    Wt = rng.standard_normal((d, q), dtype=np.float32)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = (X @ Wt + rng.standard_normal((n, q), dtype=np.float32)).argmax(1).astype(np.int64)
    compare("softmax regression: %d×%d→%d, batch 256, lr 0.1, cross-entropy" % (n, d, q), ctx,
            X, y, q, torch.nn.functional.cross_entropy, 256, 0.1, loss="xent")
