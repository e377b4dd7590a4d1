import ctypes

import clgrad
from clgrad import _lib

L = _lib.lib


def test_struct_sizes_match_c():
    for fn in (L.clg_context_options_defaults, L.clg_linear_init_defaults, L.clg_loader_defaults,
               L.clg_csv_defaults, L.clg_fit_defaults):
        s = fn()
        assert s.struct_size == ctypes.sizeof(type(s)), fn.__name__
    assert ctypes.sizeof(_lib.OptimizerOptions) == 64


def test_defaults_read_through_mirrors():
    f = L.clg_fit_defaults()
    assert (f.epochs, f.batch_size, f.shuffle, f.epoch_loss) == (3, 10, 1, 1)
    assert f.diverge_factor == 1e4
    assert abs(f.optimizer.lr - 0.03) < 1e-7 and f.optimizer.kind == 0
    assert abs(f.schedule.warmup_start - 1 / 3) < 1e-12 and f.schedule.gamma == 0.1
    a = L.clg_optimizer_defaults(1)
    assert (a.kind, round(a.beta1, 6), round(a.beta2, 6)) == (1, 0.9, 0.999)
    assert L.clg_linear_init_defaults().weight_std == ctypes.c_float(0.01).value
    assert L.clg_loader_defaults().batch_size == 32
    c = L.clg_csv_defaults()
    assert (c.header, c.label_column, c.delimiter) == (-1, -1, b",")


def test_version_and_devices():
    assert clgrad.version().count(".") == 2
    devs = clgrad.devices()
    assert devs and "device_name" in devs[0]


def test_library_path_env(tmp_path):
    import os
    import subprocess
    import sys
    env = dict(os.environ, CLGRAD_LIBRARY=str(tmp_path / "nope.so"))
    r = subprocess.run([sys.executable, "-c", "import clgrad"], env=env, capture_output=True,
                       text=True, cwd=os.path.join(os.path.dirname(__file__), ".."))
    assert r.returncode != 0 and "CLGRAD_LIBRARY" in r.stderr and "ImportError" in r.stderr
