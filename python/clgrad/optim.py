"""Optimizers (SGD, Adam, AdamW, RMSprop) with parameter groups."""
import ctypes

from . import _lib
from .core import _Handle
from .nn import Model

_L = _lib.lib

KINDS = {"sgd": 0, "adam": 1, "adamw": 2, "rmsprop": 3}
_FIELDS = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "beta1", "beta2", "eps",
           "alpha", "amsgrad", "centered")


def _kind(kind):
    k = kind.lower() if isinstance(kind, str) else None  # a str Enum by its value
    if k not in KINDS:
        raise ValueError("optimizer must be one of %s, not %r" % (sorted(KINDS), kind))
    return KINDS[k]


def options(kind="sgd", base=None, **kw):
    """A clg_optimizer_options of kind with PyTorch's defaults (or a copy of base), the
    keyword options set: lr, momentum, dampening, weight_decay, nesterov, betas=(b1, b2)
    or beta1/beta2, eps, alpha, amsgrad, centered."""
    if base is not None:
        o = _lib.OptimizerOptions.from_buffer_copy(base)
    else:
        o = _L.clg_optimizer_defaults(_kind(kind))
    if "betas" in kw:
        kw["beta1"], kw["beta2"] = kw.pop("betas")
    for k, v in kw.items():
        if k not in _FIELDS:
            raise TypeError("unknown optimizer option %r (known: %s)" % (k, ", ".join(_FIELDS)
                                                                        + ", betas"))
        if v is None:
            continue
        setattr(o, k, int(bool(v)) if k in ("nesterov", "amsgrad", "centered") else float(v))
    return o


def _as_dict(o):
    d = {k: getattr(o, k) for k in _FIELDS}
    for k in ("nesterov", "amsgrad", "centered"):
        d[k] = bool(d[k])
    return d


class Optimizer(_Handle):
    """Optimizer(model, kind="sgd", **options): PyTorch's defaults of the kind
    (clg_optimizer_defaults; SGD lr 0.03), options as keywords. repr() is PyTorch's
    print(optimizer) (clg_optimizer_describe)."""

    _destroy = _L.clg_optimizer_destroy

    def __init__(self, model, kind="sgd", **kw):
        if not isinstance(model, Model):
            raise TypeError("model must be a clgrad.Model")
        self._opts = options(kind, **kw)
        ptr = ctypes.c_void_p()
        model._check(_L.clg_optimizer_create(model._h, ctypes.byref(self._opts),
                                             ctypes.byref(ptr)), "clg_optimizer_create")
        self.model = model
        self.ctx = model.ctx
        _Handle.__init__(self, ptr.value, model)

    def _check(self, status, fn):
        self.ctx._check(status, fn)

    @property
    def kind(self):
        return _L.clg_optimizer_kind_name(_L.clg_optimizer_get_kind(self._h)).decode()

    def add_group(self, params, **kw):
        """Moves parameters (names or indices) into a new group; options not given are the
        constructor's."""
        idx = [self.model._index(p)[0] for p in params]
        arr = (ctypes.c_size_t * max(len(idx), 1))(*idx)
        o = options(base=self._opts, **kw)
        self._check(_L.clg_optimizer_add_group(self._h, arr, len(idx), ctypes.byref(o)),
                    "clg_optimizer_add_group")
        return self.group_count - 1

    def add_group_by_kind(self, biases=True, **kw):
        """Moves every bias (biases=True) or every weight into a new group."""
        o = options(base=self._opts, **kw)
        self._check(_L.clg_optimizer_add_group_by_kind(self._h, int(bool(biases)),
                                                       ctypes.byref(o)),
                    "clg_optimizer_add_group_by_kind")
        return self.group_count - 1

    @property
    def group_count(self):
        return _L.clg_optimizer_group_count(self._h)

    def group(self, g):
        o = _lib.OptimizerOptions()
        self._check(_L.clg_optimizer_group(self._h, g, ctypes.byref(o)), "clg_optimizer_group")
        return _as_dict(o)

    @property
    def groups(self):
        """The options of each parameter group, as dicts."""
        return [self.group(g) for g in range(self.group_count)]

    def get_lr(self, group=0):
        lr = ctypes.c_float()
        self._check(_L.clg_optimizer_get_lr(self._h, group, ctypes.byref(lr)),
                    "clg_optimizer_get_lr")
        return lr.value

    def set_lr(self, lr, group=None):
        """Sets group's learning rate (None: every group's)."""
        gs = range(self.group_count) if group is None else [group]
        for g in gs:
            self._check(_L.clg_optimizer_set_lr(self._h, g, float(lr)), "clg_optimizer_set_lr")

    @property
    def lr(self):
        """Group 0's learning rate; setting it sets every group's."""
        return self.get_lr(0)

    @lr.setter
    def lr(self, value):
        self.set_lr(value)

    @property
    def steps(self):
        return _L.clg_optimizer_steps(self._h)

    def step(self, grad_scale=1.0):
        self._check(_L.clg_optimizer_step(self._h, float(grad_scale)), "clg_optimizer_step")

    def __repr__(self):
        if self.closed:
            return "<clgrad.Optimizer (closed)>"
        n = _L.clg_optimizer_describe(self._h, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        _L.clg_optimizer_describe(self._h, buf, n + 1)
        return buf.value.decode()
