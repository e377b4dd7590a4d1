"""Handles with a lifetime, devices and contexts."""
import ctypes
import threading
import weakref

from . import _lib
from .errors import ClosedError, Error, StateError, check

_L = _lib.lib


_busy_lock = threading.RLock()  # close() against _using: check and mark as one step


def _mark_busy(objs, step):
    """Marks the handles objs busy (step 1: each must be open, else ClosedError) or not
    (step -1): close() from a callback or another thread raises instead of freeing them
    under a running C call. A mark is an entry in the handle's _calls: list.append and
    list.pop are atomic, so only marking (check open, then mark) needs the lock."""
    if step < 0:
        for o in objs:
            o._calls.pop()
        return
    with _busy_lock:
        for o in objs:
            if not o._ptr:
                o._h  # raises ClosedError
        for o in objs:
            o._calls.append(None)


class _using:
    """with _using(a, b, ...): _mark_busy of the handles among the arguments."""

    def __init__(self, *objs):
        self.objs = [o for o in objs if isinstance(o, _Handle)]

    def __enter__(self):
        _mark_busy(self.objs, 1)
        return self

    def __exit__(self, *exc):
        _mark_busy(self.objs, -1)


class _Handle:
    """An owned C handle: close() destroys it (after the handles made from it), a closed
    handle raises ClosedError on use, __del__ closes it too."""

    _destroy = None  # the C destroy function
    _kind = "object"
    _calls = ()  # one entry per C call (fit, evaluation) running with this handle

    def __init__(self, ptr, parent=None):
        self._ptr = ptr
        self._parent = parent  # strong: a parent cannot be freed before its children
        self._children = []    # weak references, closed (newest first) before this
        self._calls = []
        if parent is not None:
            parent._adopt(self)

    def _adopt(self, child):
        self._children = [r for r in self._children if r() is not None]
        self._children.append(weakref.ref(child))

    @property
    def _h(self):
        if not self._ptr:
            raise ClosedError("this clgrad.%s" % type(self).__name__)
        return self._ptr

    @property
    def closed(self):
        return not self._ptr

    def _in_use(self):
        if self._calls:
            return True
        return any(c is not None and c._in_use() for c in (r() for r in self._children))

    def close(self):
        """Destroys the C object (and first every object made from it). Idempotent.
        While a fit or evaluation uses it (or anything made from it), raises
        clgrad.StateError and leaves it open: cancel the fit first."""
        with _busy_lock:
            if not self._ptr:
                return
            if self._in_use():
                e = StateError.__new__(StateError)
                Error.__init__(e, 15, "a fit or evaluation is running on this %s: cancel it "
                               "(Ctrl-C, or an exception from its callback) and close "
                               "afterwards" % type(self).__name__, "close")
                raise e
            for r in reversed(self._children):
                c = r()
                if c is not None:
                    c.close()
            self._children = []
            ptr, self._ptr = self._ptr, None
            type(self)._destroy(ptr)

    def __enter__(self):
        self._h
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _s(b):
    return b.decode("utf-8", "replace") if b is not None else None


def _device_dict(di):
    return {"platform_index": di.platform_index, "device_index": di.device_index,
            "type": _s(_L.clg_device_type_string(di.type)),
            "platform_name": _s(di.platform_name), "device_name": _s(di.device_name),
            "vendor": _s(di.vendor), "driver_version": _s(di.driver_version),
            "opencl_version": _s(di.opencl_version), "compute_units": di.compute_units,
            "global_mem_size": di.global_mem_size, "max_alloc_size": di.max_alloc_size,
            "local_mem_size": di.local_mem_size,
            "max_work_group_size": di.max_work_group_size}


def devices():
    """Every OpenCL device (clg_device_list), as dicts, in clg_device_select's order."""
    n = ctypes.c_size_t()
    check(_L.clg_device_list(None, 0, ctypes.byref(n)), None, "clg_device_list")
    arr = (_lib.DeviceInfo * max(n.value, 1))()
    check(_L.clg_device_list(arr, n.value, ctypes.byref(n)), None, "clg_device_list")
    return [_device_dict(arr[i]) for i in range(n.value)]


def version():
    return _L.clg_version().decode()


_FUSED = {None: 0, "auto": 1, "off": 2, "minibatch": 3, "epoch": 4, "pipeline": 5, "split": 6}
_SETTING = {None: 0, "auto": 1, True: 2, False: 3}


class Context(_Handle):
    """An OpenCL device with its queue and programs (clg_context_create_with).

    device: None ($CLGRAD_DEVICE, else the default), "gpu", "cpu", "P:D" or a name
    substring. cache: None (environment), True, False; cache_dir: a directory or None;
    fused: None, "auto", "off", "minibatch", "epoch", "pipeline", "split".
    Closing a context closes every dataset, model and optimizer made from it first.
    """

    _destroy = _L.clg_context_destroy

    def __init__(self, device=None, *, cache=None, cache_dir=None, fused=None):
        o = _L.clg_context_options_defaults()
        if device is not None:
            if not isinstance(device, str) or not device:
                raise ValueError("device must be a non-empty string or None")
            o.device = device.encode()
        if cache_dir is not None:
            o.cache_dir = str(cache_dir).encode()
        if fused not in _FUSED:
            raise ValueError("fused must be one of %s" % sorted(k for k in _FUSED if k))
        o.fused = _FUSED[fused]
        o.cache = _SETTING[cache]
        ptr = ctypes.c_void_p()
        check(_L.clg_context_create_with(ctypes.byref(ptr), ctypes.byref(o)), None,
              "clg_context_create")
        self._lock = threading.Lock()
        super().__init__(ptr.value)

    def _check(self, status, function=""):
        check(status, self._ptr, function)

    @property
    def device(self):
        di = _lib.DeviceInfo()
        self._check(_L.clg_context_device(self._h, ctypes.byref(di)), "clg_context_device")
        return _device_dict(di)

    @property
    def cache_dir(self):
        return _s(_L.clg_context_cache_dir(self._h))

    def stats(self):
        """Counters of this context (clg_context_get_stats) as a dict: programs_built,
        programs_from_cache, cache_rejected, cache_write_failures, kernels_enqueued,
        blas_tuned_from_cache, blas_tune_rejected."""
        st = _lib.ContextStats()
        self._check(_L.clg_context_get_stats(self._h, ctypes.byref(st)), "clg_context_get_stats")
        return {name: getattr(st, name) for name, _ in st._fields_}

    def finish(self):
        self._check(_L.clg_context_finish(self._h), "clg_context_finish")

    def __repr__(self):
        if self.closed:
            return "<clgrad.Context (closed)>"
        return "<clgrad.Context %s>" % self.device["device_name"]
