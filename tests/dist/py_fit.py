"""clgrad.fit(comm=...) under mpirun (docs/distributed.md), run by ctest as python_dist_np2
and _np3: the Python binding's communicator (clgrad.Comm.world, libclgrad_mpi, no mpi4py).
 - the gradient sum: the parameters of one process's fit at the same global batch, within
   1e-5, on every rank the same bits (Comm.allreduce of the parameters is P times them);
 - model averaging every 3 steps learns (final loss within 15% + 0.01 of one process's),
   every rank the same bits;
 - npy shards (Dataset.stream_npy part/parts) train, the loss reported the whole set's;
 - a rank with another learning rate: every rank raises, naming the disagreement.
Exit status 1 when a check fails on any rank."""
import os
import sys
import tempfile

import numpy as np

import clgrad

comm = clgrad.Comm.world()
R, P = comm.rank, comm.size
failed = []


def expect(cond, what):
    if not cond:
        failed.append(what)
        print("python_dist: rank %d of %d: %s" % (R, P, what), file=sys.stderr)


ctx = clgrad.Context()
W = [2.0, -3.4, 1.5, 0.5]
data = clgrad.Dataset.synthetic_linear(ctx, 1001, W, 4.2, 0.01, seed=42)


def trained(**kw):
    net = clgrad.Model(ctx).add_linear(4, 1)
    h = clgrad.fit(net, data, epochs=3, batch_size=32, lr=0.05, loss="mse", seed=7,
                   verbose=False, **kw)
    return np.concatenate([net.get_param("0.weight").ravel(), net.get_param("0.bias")]), h


def same_everywhere(p):
    return np.array_equal(comm.allreduce(p), np.float32(P) * p) and \
        np.array_equal(comm.allreduce(-p), np.float32(-P) * p)


one, h1 = trained()
many, hp = trained(comm=comm)
expect(np.abs(many - one).max() <= 1e-5 * max(1.0, np.abs(one).max()),
       "gradient sum: parameters differ from one process's by %g" % np.abs(many - one).max())
expect(abs(hp.final_loss - h1.final_loss) <= 1e-4 * h1.final_loss, "gradient sum: final loss")
expect(same_everywhere(many), "gradient sum: the ranks' parameters differ")

avg, ha = trained(comm=comm, average_every=3)
expect(ha.final_loss <= 1.15 * h1.final_loss + 0.01,
       "averaging: final loss %g, one process %g" % (ha.final_loss, h1.final_loss))
expect(same_everywhere(avg), "averaging: the ranks' parameters differ")

# npy shards: rank r opens rows [N·r/P, N·(r+1)/P) of files every rank wrote alike
X, y = data.numpy()
d = tempfile.mkdtemp(prefix="clgrad_py_dist_%d_" % R)
np.save(os.path.join(d, "X.npy"), X)
np.save(os.path.join(d, "y.npy"), y.ravel())
shard = clgrad.Dataset.stream_npy(ctx, os.path.join(d, "X.npy"), os.path.join(d, "y.npy"),
                                  part=R, parts=P)
expect(len(shard) == 1001 * (R + 1) // P - 1001 * R // P, "shard rows %d" % len(shard))
net = clgrad.Model(ctx).add_linear(4, 1)
hs = clgrad.fit(net, shard, epochs=3, batch_size=32, lr=0.05, loss="mse", seed=7,
                verbose=False, comm=comm, average_every=2)
whole, _ = clgrad.evaluate(net, data, loss="mse")
expect(abs(whole - hs.final_loss) <= 1e-5 * whole,
       "shards: reported loss %g, the model's over all rows %g" % (hs.final_loss, whole))

try:  # a rank with another learning rate: every rank raises
    net = clgrad.Model(ctx).add_linear(4, 1)
    clgrad.fit(net, data, lr=0.05 if R == 0 else 0.1, verbose=False, comm=comm)
    expect(P == 1, "another lr on a rank passed")
except (clgrad.InvalidArgumentError, clgrad.CommError) as e:
    expect(P > 1 and "disagree" in str(e), "another lr on a rank: %s" % e)

for f in ("X.npy", "y.npy"):
    os.remove(os.path.join(d, f))
os.rmdir(d)
bad = comm.allreduce([len(failed)])[0]
if R == 0:
    print("python_dist: P=%d: gradient sum within %.2g of one process; averaging final loss "
          "%.6g (one process %.6g); %d failed checks over all ranks"
          % (P, np.abs(many - one).max(), ha.final_loss, h1.final_loss, int(bad)))
ctx.close()
comm.close()
sys.exit(1 if bad else 0)
