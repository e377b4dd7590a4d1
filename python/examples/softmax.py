"""Softmax regression (d2l 3.6/3.7) on a synthetic 3-class problem: Gaussian blobs in
4 dimensions, a Linear(4, 3) layer, cross-entropy, SGD, with 20% held out for validation."""
import numpy as np

import clgrad

rng = np.random.default_rng(0)
centers = np.array([[2, 0, 0, 1], [-2, 1, 0, 0], [0, -2, 2, 0]], dtype=np.float64)
y = rng.integers(0, 3, size=3000)
X = centers[y] + rng.normal(size=(3000, 4))  # float64: converted to float32

with clgrad.Context() as ctx:
    data = clgrad.Dataset(ctx, X, y)  # integer labels: a classification dataset
    train, test = data.split(0.2, seed=1, stratified=True)
    net = clgrad.Model(ctx).add_linear(4, 3)
    print(net)
    hist = clgrad.fit(net, train, epochs=5, batch_size=64, lr=0.1, loss="xent",
                      validation=test, seed=0)
    loss, acc = clgrad.evaluate(net, test)
    print("test loss %f, accuracy %.4f (best epoch %d)" % (loss, acc, hist.best_epoch))
    pred = clgrad.predict(net, X[:5]).argmax(axis=1)
    print("predicted", pred.tolist(), "true", y[:5].tolist())
