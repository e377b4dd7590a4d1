"""Sequential models of Linear, ReLU and PHM layers."""
import ctypes
import os

import numpy as np

from . import _lib
from .core import Context, _Handle
from .data import _f32, _fp

_L = _lib.lib

INITS = {"normal": 0, "torch": 1, "xavier_uniform": 2, "xavier_normal": 3,
         "kaiming_uniform": 4, "kaiming_normal": 5}


def _init(init, seed, weight_std, weight=None, bias=None, keep=None):
    o = _L.clg_linear_init_defaults()
    if init not in INITS:
        raise ValueError("init must be one of %s, not %r" % (sorted(INITS), init))
    o.kind = INITS[init]
    o.seed = int(seed)
    if weight_std is not None:
        o.weight_std = float(weight_std)
    if weight is not None:
        keep.append(weight)
        o.weight = _fp(weight)
    if bias is not None:
        keep.append(bias)
        o.bias = _fp(bias)
    return o


class Model(_Handle):
    """A Sequential model (clg_model). Model(ctx, layers=None): layers is a list of specs,
    each ("linear", in, out[, {init options}]), ("relu",) or "relu", ("phm", in, out, n[, {..}]).
    repr(model) is PyTorch's print(net) (clg_model_describe)."""

    _destroy = _L.clg_model_destroy

    def __init__(self, ctx, layers=None):
        if not isinstance(ctx, Context):
            raise TypeError("ctx must be a clgrad.Context")
        ptr = ctypes.c_void_p()
        ctx._check(_L.clg_model_create(ctx._h, ctypes.byref(ptr)), "clg_model_create")
        self._init(ctx, ptr.value)
        try:
            for spec in layers or ():
                if isinstance(spec, str):
                    spec = (spec,)
                kind, args = spec[0].lower(), list(spec[1:])
                kw = args.pop() if args and isinstance(args[-1], dict) else {}
                if kind == "linear":
                    self.add_linear(*args, **kw)
                elif kind == "relu":
                    self.add_relu()
                elif kind == "phm":
                    self.add_phm(*args, **kw)
                else:
                    raise ValueError("unknown layer kind %r" % spec[0])
        except BaseException:
            self.close()
            raise

    def _init(self, ctx, ptr, meta=None):
        self.ctx = ctx
        self.meta = meta
        _Handle.__init__(self, ptr, ctx)

    def _check(self, status, fn):
        self.ctx._check(status, fn)

    def add_linear(self, in_features, out_features, init="normal", seed=0, weight_std=None,
                   weight=None, bias=None):
        """Appends Linear(in → out). init: normal (N(0, weight_std²), std 0.01), torch,
        xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal. weight (in×out,
        W of Y = X·W + b) and bias (out) copy given values instead."""
        keep = []
        if weight is not None:
            weight = _f32(weight, "weight")
            if weight.shape != (in_features, out_features):
                raise ValueError("weight must have shape (%d, %d), not %s"
                                 % (in_features, out_features, weight.shape))
        if bias is not None:
            bias = _f32(np.ravel(bias), "bias")
            if bias.size != out_features:
                raise ValueError("bias must have %d values" % out_features)
        o = _init(init, seed, weight_std, weight, bias, keep)
        self._check(_L.clg_model_add_linear(self._h, int(in_features), int(out_features),
                                            ctypes.byref(o)), "clg_model_add_linear")
        return self

    def add_relu(self):
        self._check(_L.clg_model_add_relu(self._h), "clg_model_add_relu")
        return self

    def add_phm(self, in_features, out_features, n, init="normal", seed=0, weight_std=None):
        """Appends a PHM layer in → out with n factors (docs/layers.md "PHM")."""
        o = _init(init, seed, weight_std)
        self._check(_L.clg_model_add_phm(self._h, int(in_features), int(out_features), int(n),
                                         ctypes.byref(o)), "clg_model_add_phm")
        return self

    @property
    def inputs(self):
        return _L.clg_model_inputs(self._h)

    @property
    def outputs(self):
        return _L.clg_model_outputs(self._h)

    def layers(self):
        """One dict per layer: type, in, out, params, repr."""
        out = []
        for i in range(_L.clg_model_layer_count(self._h)):
            li = _lib.LayerInfo()
            self._check(_L.clg_model_layer_info(self._h, i, ctypes.byref(li)),
                        "clg_model_layer_info")
            out.append({"type": li.type.decode(), "in": li.in_, "out": li.out,
                        "params": li.params, "repr": li.repr.decode()})
        return out

    def param_info(self):
        """One dict per parameter tensor: name, layer, is_bias, shape."""
        out = []
        for i in range(_L.clg_model_param_count(self._h)):
            pi = _lib.ParamInfo()
            self._check(_L.clg_model_param_info(self._h, i, ctypes.byref(pi)),
                        "clg_model_param_info")
            out.append({"name": pi.name.decode(), "layer": pi.layer,
                        "is_bias": bool(pi.is_bias), "shape": (pi.rows, pi.cols)})
        return out

    def param_names(self):
        return [p["name"] for p in self.param_info()]

    def _index(self, key):
        info = self.param_info()
        if isinstance(key, str):
            for i, p in enumerate(info):
                if p["name"] == key:
                    return i, p
            raise KeyError("no parameter %r; the model has %s" % (key, [p["name"] for p in info]))
        i = int(key)
        if not 0 <= i < len(info):
            raise IndexError("parameter index %d out of range (%d parameters)" % (i, len(info)))
        return i, info[i]

    def get_param(self, key):
        """Parameter (name such as "0.weight", or index) as a float32 array of its
        (rows, cols) shape; a bias is 1×out, returned as (out,)."""
        i, p = self._index(key)
        a = np.empty(p["shape"], np.float32)
        self._check(_L.clg_model_get_param(self._h, i, _fp(a), a.size), "clg_model_get_param")
        return a.reshape(-1) if p["is_bias"] else a

    def get_grad(self, key):
        i, p = self._index(key)
        a = np.empty(p["shape"], np.float32)
        self._check(_L.clg_model_get_grad(self._h, i, _fp(a), a.size), "clg_model_get_grad")
        return a.reshape(-1) if p["is_bias"] else a

    def set_param(self, key, value):
        i, p = self._index(key)
        a = _f32(value, "value")
        rows, cols = p["shape"]
        if a.shape != (rows, cols) and not (a.size == rows * cols and (
                p["is_bias"] or a.ndim <= 1 or rows == 1 or cols == 1)):
            raise ValueError("parameter %s has shape %s, not %s" % (p["name"], p["shape"],
                                                                    a.shape))
        self._check(_L.clg_model_set_param(self._h, i, _fp(a), a.size), "clg_model_set_param")

    def params(self):
        """{name: array} of every parameter, in layer order (PyTorch's state_dict names)."""
        return {p["name"]: self.get_param(i) for i, p in enumerate(self.param_info())}

    def load_params(self, params):
        for k, v in params.items():
            self.set_param(k, v)

    @property
    def num_parameters(self):
        return sum(int(np.prod(p["shape"])) for p in self.param_info())

    def save(self, path, optimizer=None, meta=""):
        """Saves a checkpoint (clg_model_save): architecture, parameters and, with an
        optimizer, its state."""
        op = None
        if optimizer is not None:
            op = optimizer._h
        self._check(_L.clg_model_save(self._h, op, (meta or "").encode(), os.fsencode(path)),
                    "clg_model_save")

    @classmethod
    def load(cls, ctx, path):
        """A model from a checkpoint; its meta text is in .meta."""
        ptr = ctypes.c_void_p()
        buf = ctypes.create_string_buffer(4096)
        ctx._check(_L.clg_model_load(ctx._h, os.fsencode(path), ctypes.byref(ptr), buf,
                                     len(buf)), "clg_model_load")
        m = cls.__new__(cls)
        m._init(ctx, ptr.value, buf.value.decode("utf-8", "replace"))
        return m

    def load_into(self, path, optimizer=None):
        """Loads a checkpoint's parameters (and optimizer state) into this model."""
        self._check(_L.clg_model_load_into(self._h, optimizer._h if optimizer else None,
                                           os.fsencode(path)), "clg_model_load_into")

    def __repr__(self):
        if self.closed:
            return "<clgrad.Model (closed)>"
        n = _L.clg_model_describe(self._h, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        _L.clg_model_describe(self._h, buf, n + 1)
        return buf.value.decode()


Sequential = Model
