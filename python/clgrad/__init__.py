"""clgrad: Python bindings (ctypes) of the clgrad C library — linear models on OpenCL.

    import clgrad
    ctx = clgrad.Context()
    data = clgrad.Dataset.synthetic_linear(ctx, 1000, [2, -3.4], 4.2, 0.01, seed=42)
    net = clgrad.Model(ctx).add_linear(2, 1)
    clgrad.fit(net, data, epochs=3, batch_size=10, lr=0.03, seed=42)
"""
from . import _lib
from .core import Context, devices, version
from .data import Dataset
from .dist import Comm
from .errors import (BlasError, BuildError, CancelledError, ClosedError, CommError,
                     DeviceMemoryError, DivergedError, Error, FileError, FormatError,
                     HostMemoryError, InvalidArgumentError, NoDeviceError, NonFiniteError,
                     NoPlatformError, OpenCLError, ShapeError, SingularError, StateError,
                     UnsupportedError)
from .nn import Model, Sequential
from .optim import Optimizer
from .train import History, evaluate, fit, predict, solve

__version__ = "0.1.0"
library_path = _lib.path

__all__ = ["Context", "devices", "version", "Dataset", "Comm", "Model", "Sequential", "Optimizer",
           "fit", "evaluate", "predict", "solve", "History", "Error", "ClosedError",
           "InvalidArgumentError", "ShapeError", "NoPlatformError", "NoDeviceError",
           "OpenCLError", "BuildError", "HostMemoryError", "DeviceMemoryError",
           "NonFiniteError", "FileError", "FormatError", "SingularError", "BlasError",
           "UnsupportedError", "StateError", "DivergedError", "CancelledError", "CommError"]
