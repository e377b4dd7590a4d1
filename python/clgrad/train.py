"""fit, evaluate, predict and the closed-form solve."""
import ctypes
import math
import threading

import numpy as np

from . import _lib
from .data import Dataset, _f32, _fp
from .errors import CancelledError, make_error
from .nn import Model
from .optim import KINDS, Optimizer, options

_L = _lib.lib

LOSSES = {"squared": 0, "mse": 1, "xent": 2, "cross_entropy": 2, "softmax_xent": 2}
REDUCTIONS = {"mean": 0, "sum": 1}
SCHEDULES = {"constant": 0, "step": 1, "cosine": 2}


def _loss(loss, ds):
    if loss is None:
        return 2 if ds.classes else 0
    if loss not in LOSSES:
        raise ValueError("loss must be one of %s, not %r" % (sorted(LOSSES), loss))
    return LOSSES[loss]


def _schedule(schedule):
    s = _L.clg_schedule_defaults()
    if schedule is None:
        return s
    if isinstance(schedule, str):
        schedule = {"kind": schedule}
    schedule = dict(schedule)
    kind = schedule.pop("kind", "constant")
    if kind not in SCHEDULES:
        raise ValueError("schedule kind must be one of %s" % sorted(SCHEDULES))
    s.kind = SCHEDULES[kind]
    for k, v in schedule.items():
        if k not in ("step_size", "gamma", "t_max", "eta_min", "warmup", "warmup_start"):
            raise TypeError("unknown schedule option %r" % k)
        setattr(s, k, v if k in ("gamma", "eta_min", "warmup_start") else int(v))
    return s


class History(dict):
    """fit's history: numpy arrays under "epoch", "train_loss" and, when validating,
    "val_loss" and "val_accuracy" (-1 for regression). Attributes: epochs_run, steps,
    final_loss and, when validating, best_epoch, best_loss, best_accuracy, stopped_early."""


def _fmt(x):
    return "%f" % x


def fit(model, dataset, epochs=3, batch_size=10, lr=None, optimizer=None, loss=None,
        reduction="mean", shuffle=True, drop_last=False, seed=0, schedule=None,
        validation=None, validation_fraction=0.0, early_stop=0, epoch_loss=True,
        diverge_factor=None, first_epoch=0, callback=None, verbose=True):
    """Trains model on dataset with clg_fit; returns a History.

    optimizer: an Optimizer (kept across calls), or a kind name ("sgd", "adam", "adamw",
    "rmsprop"; default "sgd", d2l's lr 0.03) for one made for the call; lr overrides its
    learning rate (for an Optimizer object, lr must be None). loss: "squared" (d2l),
    "mse" or "xent" (default: xent for class data, squared otherwise); reduction "mean"
    or "sum" (sum steps with grad_scale 1/|B|, d2l's from-scratch sgd). schedule: None,
    "cosine", or a dict {"kind": "step", "step_size": 2, "gamma": 0.5, "warmup": 1, ...}.
    validation: a Dataset, or validation_fraction in (0, 1); early_stop: patience.
    callback(epoch, logs) is called after each epoch (after its validation when
    validating) with logs {"train_loss": ..., ["val_loss": ..., "val_accuracy": ...]}.
    verbose prints the C library's epoch lines ("epoch 1, loss 0.000203") from Python.
    Ctrl-C cancels the fit at the next minibatch and re-raises KeyboardInterrupt; the model
    keeps the last whole epoch's parameters.
    """
    if not isinstance(model, Model):
        raise TypeError("model must be a clgrad.Model")
    if not isinstance(dataset, Dataset):
        raise TypeError("dataset must be a clgrad.Dataset")
    o = _L.clg_fit_defaults()
    o.epochs = int(epochs)
    o.batch_size = int(batch_size)
    o.shuffle = int(bool(shuffle))
    o.drop_last = int(bool(drop_last))
    o.seed = int(seed)
    o.loss = _loss(loss, dataset)
    if reduction not in REDUCTIONS:
        raise ValueError("reduction must be 'mean' or 'sum'")
    o.reduction = REDUCTIONS[reduction]
    opt_h = None
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            raise ValueError("give lr to the Optimizer, not to fit, when passing one")
        if optimizer.model is not model:
            raise ValueError("the optimizer belongs to another model")
        opt_h = optimizer._h
    else:
        o.optimizer = options(optimizer or "sgd", lr=lr)
    o.epoch_loss = int(bool(epoch_loss))
    if diverge_factor is not None:
        o.diverge_factor = float(diverge_factor)
    o.schedule = _schedule(schedule)
    o.first_epoch = int(first_epoch)
    vr = _lib.ValidationResult()
    validating = validation is not None or validation_fraction
    if validation is not None:
        if not isinstance(validation, Dataset):
            raise TypeError("validation must be a clgrad.Dataset")
        o.validation = validation._h
    o.validation_fraction = float(validation_fraction)
    o.early_stop = int(early_stop)
    o.validation_result = ctypes.pointer(vr)

    hist = {"epoch": [], "train_loss": [], "val_loss": [], "val_accuracy": []}
    errors = []
    cancel = ctypes.c_int(0)
    o.cancel = ctypes.pointer(cancel)

    def user_cb(e):
        if callback is None or errors:
            return
        logs = {"train_loss": hist["train_loss"][-1]}
        if validating:
            logs["val_loss"] = hist["val_loss"][-1]
            logs["val_accuracy"] = hist["val_accuracy"][-1]
        try:
            callback(e, logs)
        except BaseException as ex:  # stop the fit, re-raise in the caller
            errors.append(ex)
            cancel.value = 1

    def on_epoch(e, l, user):
        hist["epoch"].append(e)
        hist["train_loss"].append(l)
        if verbose:
            print("epoch %d" % e if math.isnan(l) else "epoch %d, loss %s" % (e, _fmt(l)),
                  flush=True)
        if not validating:
            user_cb(e)

    def on_validation(e, l, acc, user):
        hist["val_loss"].append(l)
        hist["val_accuracy"].append(acc)
        if verbose:
            if acc >= 0:
                print("epoch %d, validation loss %s, accuracy %.4f" % (e, _fmt(l), acc),
                      flush=True)
            else:
                print("epoch %d, validation loss %s" % (e, _fmt(l)), flush=True)
        user_cb(e)

    cb_e = _lib.EPOCH_CB(on_epoch)
    cb_v = _lib.VALIDATION_CB(on_validation)
    o.on_epoch = cb_e
    o.on_validation = cb_v
    rep = _lib.FitReport()
    result = {}
    keep = (model, dataset, validation, optimizer, cb_e, cb_v, cancel, vr, o)  # alive in call
    mh, dh = model._h, dataset._h
    ctx = model.ctx

    def work():
        result["status"] = _L.clg_fit(mh, dh, ctypes.byref(o), opt_h, ctypes.byref(rep))

    t = threading.Thread(target=work, name="clgrad.fit", daemon=True)
    interrupted = False
    t.start()
    while True:
        try:
            t.join(0.05)
            if not t.is_alive():
                break
        except KeyboardInterrupt:
            interrupted = True
            cancel.value = 1
    del keep
    st = result.get("status", 0)
    if errors:
        raise errors[0]
    if interrupted:
        raise KeyboardInterrupt
    if st != 0:
        err = make_error(st, ctx._ptr, "clg_fit")
        raise err
    h = History()
    h["epoch"] = np.asarray(hist["epoch"], dtype=np.int64)
    h["train_loss"] = np.asarray(hist["train_loss"], dtype=np.float64)
    if validating:
        h["val_loss"] = np.asarray(hist["val_loss"], dtype=np.float64)
        h["val_accuracy"] = np.asarray(hist["val_accuracy"], dtype=np.float64)
        h.best_epoch = vr.best_epoch
        h.best_loss = vr.best_loss
        h.best_accuracy = vr.best_accuracy
        h.stopped_early = bool(vr.stopped_early)
    h.epochs_run = rep.epochs_run
    h.steps = rep.steps
    h.final_loss = rep.final_loss
    return h


def evaluate(model, dataset, loss=None):
    """(loss, accuracy) of model over dataset; accuracy is None for regression data."""
    r = _lib.EvalResult()
    model._check(_L.clg_evaluate(model._h, dataset._h, _loss(loss, dataset), ctypes.byref(r)),
                 "clg_evaluate")
    return r.loss, (None if r.accuracy < 0 else r.accuracy)


def predict(model, X):
    """Model outputs for host rows X (n×inputs, or one row of inputs values) as float32
    n×outputs (raw logits for a classifier)."""
    X = np.asarray(X)
    d = model.inputs
    if X.ndim == 1 and X.shape[0] == d:
        X = X.reshape(1, d)
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError("X must have shape (n, %d), not %s" % (d, X.shape))
    if X.shape[0] == 0:
        raise ValueError("X has no rows")
    Xf = _f32(X, "X")
    out = np.empty((X.shape[0], model.outputs), np.float32)
    model._check(_L.clg_predict(model._h, _fp(Xf), X.shape[0], _fp(out)), "clg_predict")
    return out


def solve(ctx, dataset, ridge=0.0):
    """Least squares with a bias (clg_solve_normal): (w d×q, b q) minimising
    |X·w + b − y|² + ridge·|w|²."""
    d, q = dataset.features, dataset.targets
    w = np.empty((d, q), np.float32)
    b = np.empty(q, np.float32)
    ctx._check(_L.clg_solve_normal(ctx._h, dataset._h, float(ridge), _fp(w), _fp(b)),
               "clg_solve_normal")
    return w, b
