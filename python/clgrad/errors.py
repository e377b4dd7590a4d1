"""clgrad.Error and one subclass per clg_status."""
from . import _lib

_L = _lib.lib


class Error(Exception):
    """A clgrad call failed. .status is the clg_status code, .status_name its name
    (e.g. "CLG_ERR_SHAPE"), .message clg_last_error's sentence."""

    status = None

    def __init__(self, status, message="", function=""):
        self.status = status
        self.status_name = _L.clg_status_string(status).decode()
        self.message = message
        self.function = function
        text = "%s: %s" % (self.status_name, message) if message else self.status_name
        if function:
            text = "%s failed: %s" % (function, text)
        super().__init__(text)


class ClosedError(Error, ValueError):
    """Use of a closed (destroyed) object, or of one whose context was closed."""

    def __init__(self, what):
        Exception.__init__(self, "%s is closed" % what)
        self.status = None
        self.status_name = "closed"
        self.message = "%s is closed" % what
        self.function = ""


class InvalidArgumentError(Error): pass
class ShapeError(Error): pass
class NoPlatformError(Error): pass
class NoDeviceError(Error): pass
class OpenCLError(Error): pass
class BuildError(Error): pass
class HostMemoryError(Error, MemoryError): pass
class DeviceMemoryError(Error): pass
class NonFiniteError(Error): pass
class FileError(Error, OSError): pass
class FormatError(Error): pass
class SingularError(Error): pass
class BlasError(Error): pass
class UnsupportedError(Error): pass
class StateError(Error): pass
class DivergedError(Error): pass
class CancelledError(Error): pass
class CommError(Error): pass


_BY_STATUS = {1: InvalidArgumentError, 2: ShapeError, 3: NoPlatformError, 4: NoDeviceError,
              5: OpenCLError, 6: BuildError, 7: HostMemoryError, 8: DeviceMemoryError,
              9: NonFiniteError, 10: FileError, 11: FormatError, 12: SingularError,
              13: BlasError, 14: UnsupportedError, 15: StateError, 16: DivergedError,
              17: CancelledError, 18: CommError}


def make_error(status, ctx_ptr=None, function=""):
    msg = _L.clg_last_error(ctx_ptr)
    msg = msg.decode("utf-8", "replace") if msg else ""
    cls = _BY_STATUS.get(status, Error)
    e = cls.__new__(cls)
    Error.__init__(e, status, msg, function)
    if status == 6 and ctx_ptr:
        log = _L.clg_build_log(ctx_ptr)
        e.build_log = log.decode("utf-8", "replace") if log else ""
    return e


def check(status, ctx_ptr=None, function=""):
    """Raises the Error of a non-OK status; ctx_ptr None reads clg_last_error(NULL)."""
    if status != 0:
        raise make_error(status, ctx_ptr, function)
