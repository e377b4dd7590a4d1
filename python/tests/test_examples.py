import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EX = os.path.join(HERE, "..", "examples")
C_EXAMPLE = os.path.join(HERE, "..", "..", "build-lead", "examples", "linreg_scratch")


def run(script):
    env = dict(os.environ, PYTHONPATH=os.path.join(HERE, ".."))
    r = subprocess.run([sys.executable, os.path.join(EX, script)], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_linreg_example_prints_the_c_examples_lines():
    out = run("linreg.py")
    assert out.splitlines()[0].startswith("epoch 1, loss ") and "w error: [" in out
    if os.access(C_EXAMPLE, os.X_OK):
        env = dict(os.environ)
        env.pop("CLGRAD_LIBRARY", None)
        c = subprocess.run([C_EXAMPLE], capture_output=True, text=True, timeout=60, env=env)
        assert out == c.stdout


def test_softmax_example():
    out = run("softmax.py")
    assert "Sequential(" in out and "validation loss" in out and "test loss" in out


def test_mse_loss_name():
    import clgrad
    with clgrad.Context() as ctx:
        ds = clgrad.Dataset.synthetic_linear(ctx, 200, [1.0], 0.5, 0.01, 1)
        net = clgrad.Model(ctx).add_linear(1, 1)
        h = clgrad.fit(net, ds, loss="mse", verbose=False)
        loss, acc = clgrad.evaluate(net, ds, "mse")
        assert acc is None and abs(loss - h.final_loss) <= 1e-6 * max(loss, 1e-12)
