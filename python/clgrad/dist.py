"""Data-parallel training over MPI from Python (docs/distributed.md): a communicator over
MPI_COMM_WORLD, made by libclgrad_mpi (no mpi4py needed), for fit(comm=...). Run the script
under mpirun: every rank calls fit with the same data, model and options.

    comm = clgrad.Comm.world()           # MPI initialised here when it is not yet
    h = clgrad.fit(net, data, comm=comm, verbose=comm.rank == 0)
    comm.close()                         # also at exit: finalises MPI if this started it
"""
import atexit
import ctypes
import os
import weakref

import numpy as np

from . import _lib
from .core import _Handle
from .errors import CommError, UnsupportedError, check


def _load_mpi():
    """libclgrad_mpi, next to libclgrad ($CLGRAD_MPI_LIBRARY overrides), loaded with
    RTLD_GLOBAL: Open MPI's components, which it opens itself, link against its symbols."""
    path = os.environ.get("CLGRAD_MPI_LIBRARY")
    if not path:
        here = os.path.dirname(os.path.abspath(_lib.path))
        path = os.path.join(here, "libclgrad_mpi.so.0")
        if not os.path.exists(path):
            path = os.path.join(here, "libclgrad_mpi.so")
    try:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError as e:
        err = UnsupportedError.__new__(UnsupportedError)
        UnsupportedError.__init__(err, 14, "cannot load libclgrad_mpi (%s): this clgrad was "
                                  "built without MPI, or set CLGRAD_MPI_LIBRARY" % e,
                                  "clgrad.Comm.world")
        raise err from None
    lib.clg_comm_mpi_world.restype = ctypes.c_int
    lib.clg_comm_mpi_world.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.clg_comm_mpi_world_end.restype = None
    lib.clg_comm_mpi_world_end.argtypes = [ctypes.c_void_p]
    lib.clg_comm_mpi_local_rank.restype = ctypes.c_int
    lib.clg_comm_mpi_local_rank.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
    return lib


_ALLREDUCE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)


class _CommStruct(ctypes.Structure):  # clg_comm (<clgrad/dist.h>)
    _fields_ = [("struct_size", ctypes.c_size_t), ("rank", ctypes.c_int),
                ("size", ctypes.c_int), ("allreduce_sum", _ALLREDUCE), ("user", ctypes.c_void_p)]


_MPI = None
_open = weakref.WeakSet()  # closed at exit: MPI must be finalised before the process ends


def _close_all():
    for c in list(_open):
        c.close()


atexit.register(_close_all)


class Comm(_Handle):
    """A communicator (clg_comm) for fit(comm=...). Comm.world(): every process of the MPI
    job; .rank, .size, .local_rank (its place on its node: which device it may take)."""

    _kind = "communicator"

    @staticmethod
    def _destroy(ptr):
        _MPI.clg_comm_mpi_world_end(ptr)

    @classmethod
    def world(cls):
        global _MPI
        if _MPI is None:
            _MPI = _load_mpi()
        ptr = ctypes.c_void_p()
        check(_MPI.clg_comm_mpi_world(ctypes.byref(ptr)), None, "clg_comm_mpi_world")
        c = cls.__new__(cls)
        _Handle.__init__(c, ptr.value)
        head = _CommStruct.from_address(ptr.value)
        c.rank, c.size = head.rank, head.size
        local = ctypes.c_int(0)
        c.local_rank = _MPI.clg_comm_mpi_local_rank(ptr.value, ctypes.byref(local))
        c.local_size = local.value
        _open.add(c)
        return c

    def allreduce(self, values):
        """The elementwise sum of values (float32) over every rank, the same on each: a
        collective, as every rank must call it alike (as the communicator's clg_fit uses)."""
        a = np.array(values, dtype=np.float32, order="C")  # a copy: summed in place
        head = _CommStruct.from_address(self._h)
        err = head.allreduce_sum(a.ctypes.data, a.size, head.user)
        if err:
            e = CommError.__new__(CommError)
            CommError.__init__(e, 18, "the communicator's allreduce failed (code %d)" % err,
                               "clgrad.Comm.allreduce")
            raise e
        return a

    def __repr__(self):
        return "clgrad.Comm(rank %d of %d%s)" % (self.rank, self.size,
                                                  ", closed" if self.closed else "")
