"""One fit's C memory in one ctypes object, made with one copy of a prepared image: a Python
call's cost is mostly its count of Python operations, 3-4 times dearer after clg_fit (the
device's threads have run on this core and evicted the interpreter from its caches).

A block for n epochs holds clg_fit_options, the clg_fit_report and the clg_epoch_log that
clg_record_epoch fills (the three structs' fields read as the block's own: b.epochs,
b.steps, b.count), then 2n doubles: the losses, then the epoch numbers as int64 (the
history's two arrays are numpy views of them). The two pointers into the block itself,
options.user (the log) and log.loss (the losses), are set per block by point().
"""
import ctypes
from ctypes import Structure, c_double

import numpy as np

from . import _lib

_TYPES = {}  # epochs -> block type


def block_type(n):
    t = _TYPES.get(n)
    if t is None:
        t = type("FitBlock%d" % n, (Structure,), {
            "_anonymous_": ("options", "report", "log"),
            "_fields_": [("options", _lib.FitOptions), ("report", _lib.FitReport),
                         ("log", _lib.EpochLog), ("data", c_double * (2 * max(n, 1)))]})
        if len(_TYPES) >= 64:
            _TYPES.clear()
        _TYPES[n] = t
    return t


_T1 = block_type(1)
LOG, DATA = _T1.log.offset, _T1.data.offset  # the same for every n
REPORT = _T1.report.offset


def new(o, first_epoch):
    """A block of the clg_fit_options o, for epochs first_epoch + 1 ... first_epoch + n."""
    n = o.epochs
    b = block_type(n)()
    b.options = o
    b.capacity = n
    np.frombuffer(b, np.int64, n, DATA + 8 * n)[:] = np.arange(
        first_epoch + 1, first_epoch + 1 + n, dtype=np.int64)
    return b


def point(b):
    """Sets the block's pointers into itself; its address."""
    a = ctypes.addressof(b)
    b.user = a + LOG
    b.loss_values = a + DATA
    return a


_I64, _F64 = np.dtype(np.int64), np.dtype(np.float64)  # dtype objects: half frombuffer's cost


def arrays(b):
    """The epoch numbers and losses of the epochs recorded, as numpy views of b."""
    n, count = b.epochs, b.count
    return np.frombuffer(b, _I64, count, DATA + 8 * n), np.frombuffer(b, _F64, count, DATA)
