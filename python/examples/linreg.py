"""d2l 3.2/3.3 linear regression through clgrad's Python binding: the run of
examples/linreg_scratch.c (squared loss summed per batch, sgd(lr, batch_size)), with the
same epoch lines."""
import clgrad

true_w, true_b = [2.0, -3.4], 4.2
with clgrad.Context() as ctx:
    data = clgrad.Dataset.synthetic_linear(ctx, 1000, true_w, true_b, noise=0.01, seed=42)
    net = clgrad.Model(ctx).add_linear(2, 1)  # w ~ N(0, 0.01²), b = 0
    clgrad.fit(net, data, epochs=3, batch_size=10, lr=0.03, loss="squared", reduction="sum",
               seed=42)
    w, b = net.get_param("0.weight").ravel(), net.get_param("0.bias")
    print("w error: [%f, %f]" % (true_w[0] - w[0], true_w[1] - w[1]))
    print("b error: [%f]" % (true_b - b[0]))
