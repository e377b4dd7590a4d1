"""fit, evaluate, predict and the closed-form solve."""
import ctypes
from ctypes import c_double, c_void_p
import math
import signal
import threading

import numpy as np

from . import _lib
from .core import _using
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


_RECORD = _lib.EPOCH_CB(ctypes.cast(_L.clg_record_epoch, c_void_p).value)  # C, no Python
_NO_VALIDATION_CB = _lib.VALIDATION_CB(0)  # NULL


def _fmt(x):
    return "%f" % x


# Below this much work (epochs × rows × max(inputs × outputs, 64)) a fit takes a few ms at
# most, less than starting and joining the thread that lets Ctrl-C cancel between
# minibatches (0.1-0.3 ms on a 2-core host, against 0.5 ms for the d2l seeds' whole fit): it
# runs on the calling thread, where Ctrl-C cancels it at the next epoch's report.
_INLINE_WORK = 1 << 22


def _inline(o, dataset, model):
    if threading.current_thread() is not threading.main_thread():
        return True  # Ctrl-C reaches the main thread only: a thread buys nothing here
    work = o.epochs * len(dataset) * max(dataset.features * model.outputs, 64)
    return work <= _INLINE_WORK


class _SigintCancels:
    """During a fit, on the main thread with Python's own SIGINT handler: Ctrl-C sets the
    fit's cancel flag (clg_fit stops at its next minibatch) instead of raising
    KeyboardInterrupt wherever Python happens to be (in a ctypes callback, which would
    swallow it, or in the wait for the worker); fit raises it once clg_fit has returned."""

    def __init__(self, cancel, wanted=True):
        self.cancel, self.hit, self.prev, self.wanted = cancel, False, None, wanted

    def _on(self, signum, frame):
        self.hit = True
        self.cancel.value = 1

    def __enter__(self):
        if (self.wanted and threading.current_thread() is threading.main_thread() and
                signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.prev = signal.signal(signal.SIGINT, self._on)
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            signal.signal(signal.SIGINT, self.prev)


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
    keeps the last whole epoch's parameters. (clg_fit runs in a thread while the GIL is
    free; a fit of under ~4M row-feature-output products, a few ms, runs on the calling
    thread instead, and Ctrl-C stops it at its next epoch when verbose or with a callback,
    else as it ends.)
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
    elif optimizer not in (None, "sgd"):
        o.optimizer = options(optimizer, lr=lr)
    elif lr is not None:  # the defaults' SGD
        o.optimizer.lr = float(lr)
    o.epoch_loss = int(bool(epoch_loss))
    if diverge_factor is not None:
        o.diverge_factor = float(diverge_factor)
    if schedule is not None:
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
    if validating:
        o.validation_result = ctypes.pointer(vr)

    # the losses land in a clg_epoch_log (clg_record_epoch); validation in Python lists
    losses = (c_double * max(o.epochs, 1))()  # a ctypes array: cheaper to make than numpy's
    log = _lib.EpochLog(losses, o.epochs, 0, 0, 0)
    o.user = ctypes.addressof(log)
    val = {"val_loss": [], "val_accuracy": []}
    errors = []
    cancel = ctypes.c_int(0)
    o.cancel = ctypes.pointer(cancel)

    def user_cb(e):
        if callback is None or errors:
            return
        logs = {"train_loss": losses[log.count - 1] if log.count else math.nan}
        if validating:
            logs["val_loss"] = val["val_loss"][-1]
            logs["val_accuracy"] = val["val_accuracy"][-1]
        try:
            callback(e, logs)
        except BaseException as ex:  # stop the fit, re-raise in the caller
            errors.append(ex)
            cancel.value = 1

    # ctypes swallows what a callback raises: a Ctrl-C in one (a fit on the calling thread)
    # or a failed print is kept, cancels the fit and is raised when it returns
    def on_epoch(e, l, user):
        try:
            _L.clg_record_epoch(e, l, user)
            if verbose:
                print("epoch %d" % e if math.isnan(l) else "epoch %d, loss %s" % (e, _fmt(l)),
                      flush=True)
            if not validating:
                user_cb(e)
        except BaseException as ex:
            errors.append(ex)
            cancel.value = 1

    def on_validation(e, l, acc, user):
        try:
            val["val_loss"].append(l)
            val["val_accuracy"].append(acc)
            if verbose:
                if acc >= 0:
                    print("epoch %d, validation loss %s, accuracy %.4f" % (e, _fmt(l), acc),
                          flush=True)
                else:
                    print("epoch %d, validation loss %s" % (e, _fmt(l)), flush=True)
            user_cb(e)
        except BaseException as ex:
            errors.append(ex)
            cancel.value = 1

    # Silent and without a callback, the losses are recorded in C: no Python per epoch.
    # Otherwise the Python printer only records too (the next epoch may run meanwhile, the
    # overlapped loss), unless the caller's callback may read the model.
    quiet = not verbose and callback is None
    cb_e = _RECORD if quiet else _lib.EPOCH_CB(on_epoch)
    cb_v = _lib.VALIDATION_CB(on_validation) if validating else _NO_VALIDATION_CB
    o.on_epoch = cb_e
    o.on_validation = cb_v
    o.on_epoch_records_only = int(callback is None)
    rep = _lib.FitReport()
    result = {}
    keep = (model, dataset, validation, optimizer, cb_e, cb_v, cancel, vr, o, log, losses)
    mh, dh = model._h, dataset._h
    ctx = model.ctx

    def work():
        result["status"] = _L.clg_fit(mh, dh, ctypes.byref(o), opt_h, ctypes.byref(rep))

    interrupted = False
    inline = _inline(o, dataset, model)
    # quiet and inline, no Python runs until clg_fit returns, and a Ctrl-C meanwhile is raised
    # after it: no handler needed (it costs 20 µs, 3% of the d2l seeds' fit)
    with _using(model, dataset, validation, optimizer), \
            _SigintCancels(cancel, not (quiet and inline)) as sigint:
        if inline:
            work()
        else:
            t = threading.Thread(target=work, name="clgrad.fit", daemon=True)
            t.start()
            while t.is_alive():
                try:
                    t.join(0.05)
                except KeyboardInterrupt:  # from a program's own SIGINT handler
                    interrupted = True
                    cancel.value = 1
    interrupted = interrupted or sigint.hit
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
    count = log.count
    h["epoch"] = np.arange(o.first_epoch + 1, o.first_epoch + 1 + count, dtype=np.int64)
    h["train_loss"] = np.frombuffer(losses, np.float64, count).copy()
    if validating:
        h["val_loss"] = np.asarray(val["val_loss"], dtype=np.float64)
        h["val_accuracy"] = np.asarray(val["val_accuracy"], dtype=np.float64)
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
    with _using(model, dataset):
        model._check(_L.clg_evaluate(model._h, dataset._h, _loss(loss, dataset),
                                     ctypes.byref(r)), "clg_evaluate")
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
    with _using(model):
        model._check(_L.clg_predict(model._h, _fp(Xf), X.shape[0], _fp(out)), "clg_predict")
    return out


def solve(ctx, dataset, ridge=0.0):
    """Least squares with a bias (clg_solve_normal): (w d×q, b q) minimising
    |X·w + b − y|² + ridge·|w|²."""
    d, q = dataset.features, dataset.targets
    w = np.empty((d, q), np.float32)
    b = np.empty(q, np.float32)
    with _using(dataset):
        ctx._check(_L.clg_solve_normal(ctx._h, dataset._h, float(ridge), _fp(w), _fp(b)),
                   "clg_solve_normal")
    return w, b
