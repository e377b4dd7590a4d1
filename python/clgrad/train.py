"""fit, evaluate, predict and the closed-form solve."""
import ctypes
from ctypes import c_void_p
import math
import signal
import threading
import types

import numpy as np

from . import _lib
from . import _block
from .core import _Handle, _mark_busy, _using
from .data import Dataset, _f32, _fp
from .dist import Comm
from .errors import make_error
from .nn import Model
from .optim import Optimizer, options

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

    # fit's clg_fit_report (the fit block, or a copy), read when asked: each read is a ctypes
    # operation, 3-4 times dearer just after clg_fit, when fit returns
    _report = types.SimpleNamespace(epochs_run=0, steps=0, final_loss=math.nan)
    epochs_run = property(lambda self: self._report.epochs_run)
    steps = property(lambda self: self._report.steps)
    final_loss = property(lambda self: self._report.final_loss)

    def __getstate__(self):  # pickle and deepcopy: the report as plain numbers
        state = dict(self.__dict__)
        r = state.get("_report")
        if r is not None:
            state["_report"] = types.SimpleNamespace(
                epochs_run=r.epochs_run, steps=r.steps, final_loss=r.final_loss)
        return state


_RECORD = _lib.EPOCH_CB(ctypes.cast(_L.clg_record_epoch, c_void_p).value)  # C, no Python
_NO_VALIDATION_CB = _lib.VALIDATION_CB(0)  # NULL


def _fit_template():
    """clg_fit_defaults() with the silent recorder: a silent fit without a callback records
    its losses in C (clg_record_epoch), no Python per epoch, and on_epoch_records_only keeps
    the overlapped loss; _Epochs replaces them for the other fits."""
    o = _L.clg_fit_defaults()
    o.on_epoch = _RECORD
    o.on_epoch_records_only = 1
    return bytes(o)


_FIT_TEMPLATE = _fit_template()  # copied per fit: cheaper than calling C and setting both


def _fmt(x):
    return "%f" % x


# Below this much work (epochs × rows × max(inputs × outputs, 64)) a fit takes a few ms at
# most, less than starting and joining the thread that lets Ctrl-C cancel between
# minibatches (0.1-0.3 ms on a 2-core host, against 0.5 ms for the d2l seeds' whole fit): it
# runs on the calling thread, where Ctrl-C cancels it at the next epoch's report.
_INLINE_WORK = 1 << 22


def _small(epochs, dataset):
    rows, features, outputs, _ = dataset._dims
    return epochs * rows * max(features * outputs, 64) <= _INLINE_WORK


_MAIN = threading.main_thread().ident


class _SigintCancels:
    """During a fit, on the main thread with Python's own SIGINT handler: Ctrl-C sets the
    fit's cancel flag (clg_fit stops at its next minibatch) instead of raising
    KeyboardInterrupt wherever Python happens to be (in a ctypes callback, which would
    swallow it, or in the wait for the worker); fit raises it once clg_fit has returned."""

    def __init__(self, cancel):
        self.cancel, self.hit, self.prev = cancel, False, None

    def _on(self, signum, frame):
        self.hit = True
        self.cancel.value = 1

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread() and
                signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.prev = signal.signal(signal.SIGINT, self._on)
        return self

    def __exit__(self, *exc):
        if self.prev is not None:
            signal.signal(signal.SIGINT, self.prev)


class _Epochs:
    """The Python side of a fit's epoch reports when it has any (verbose, a callback or
    validation): prints, keeps the validation figures, calls the caller's callback. ctypes
    swallows what a callback raises: a Ctrl-C in one (a fit on the calling thread) or a
    failed print is kept, cancels the fit and is raised when it returns."""

    def __init__(self, o, callback, verbose, validating):
        self.block = o
        self.callback, self.verbose, self.validating = callback, verbose, validating
        self.val = {"val_loss": [], "val_accuracy": []}
        self.errors = []
        self.cancel = None  # the fit's cancel flag, set by fit
        o.on_epoch = self.on_epoch_cb = _lib.EPOCH_CB(self.on_epoch)
        o.on_validation = self.on_validation_cb = (_lib.VALIDATION_CB(self.on_validation)
                                                   if validating else _NO_VALIDATION_CB)
        # the printer only records: the next epoch may run meanwhile (the overlapped loss)
        o.on_epoch_records_only = int(callback is None)

    def _failed(self, ex):
        self.errors.append(ex)
        self.cancel.value = 1

    def _user(self, e):
        if self.callback is None or self.errors:
            return
        count = self.block.count
        logs = {"train_loss": self.block.data[count - 1] if count else math.nan}
        if self.validating:
            logs["val_loss"] = self.val["val_loss"][-1]
            logs["val_accuracy"] = self.val["val_accuracy"][-1]
        try:
            self.callback(e, logs)
        except BaseException as ex:  # stop the fit, re-raise in the caller
            self._failed(ex)

    def on_epoch(self, e, l, user):
        try:
            _L.clg_record_epoch(e, l, user)
            if self.verbose:
                print("epoch %d" % e if math.isnan(l) else "epoch %d, loss %s" % (e, _fmt(l)),
                      flush=True)
            if not self.validating:
                self._user(e)
        except BaseException as ex:
            self._failed(ex)

    def on_validation(self, e, l, acc, user):
        try:
            self.val["val_loss"].append(l)
            self.val["val_accuracy"].append(acc)
            if self.verbose:
                if acc >= 0:
                    print("epoch %d, validation loss %s, accuracy %.4f" % (e, _fmt(l), acc),
                          flush=True)
                else:
                    print("epoch %d, validation loss %s" % (e, _fmt(l)), flush=True)
            self._user(e)
        except BaseException as ex:
            self._failed(ex)


_IMAGES = {}  # fit's arguments -> (block type, the block's bytes, quiet): see fit


def _fit_quiet(model, dataset, b):
    """clg_fit of the block b on this thread, nothing in Python until it returns: a Ctrl-C
    meanwhile is raised after it (no cancel flag or SIGINT handler: 3% of the seeds' fit)."""
    address = _block.point(b)
    busy = (model, dataset)
    _mark_busy(busy, 1)
    try:
        st = _L.clg_fit(model._ptr, dataset._ptr, address, None, address + _block.REPORT)
        if st != 0:  # while marked: the context's message cannot go meanwhile
            raise make_error(st, model.ctx._ptr, "clg_fit")
    finally:
        _mark_busy(busy, -1)
    h = History()
    h["epoch"], h["train_loss"] = _block.arrays(b)
    h._report = b  # the block: its report's fields are its own
    return h


def _build_options(model, dataset, epochs, batch_size, lr, optimizer, loss, reduction, shuffle,
                   drop_last, seed, schedule, validation, validation_fraction, early_stop,
                   epoch_loss, diverge_factor, first_epoch, comm, average_every):
    o = _lib.FitOptions.from_buffer_copy(_FIT_TEMPLATE)
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
    if validation is not None:
        if not isinstance(validation, Dataset):
            raise TypeError("validation must be a clgrad.Dataset")
        o.validation = validation._h
    o.validation_fraction = float(validation_fraction)
    o.early_stop = int(early_stop)
    if comm is not None:
        if not isinstance(comm, Comm):
            raise TypeError("comm must be a clgrad.Comm")
        o.comm = comm._h
    o.average_every = int(average_every)
    return o, opt_h


def fit(model, dataset, epochs=3, batch_size=10, lr=None, optimizer=None, loss=None,
        reduction="mean", shuffle=True, drop_last=False, seed=0, schedule=None,
        validation=None, validation_fraction=0.0, early_stop=0, epoch_loss=True,
        diverge_factor=None, first_epoch=0, callback=None, verbose=True, comm=None,
        average_every=0):
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
    comm: a clgrad.Comm, this process one rank of a data-parallel fit under mpirun
    (docs/distributed.md): every rank calls fit alike; average_every=K averages the ranks'
    models every K local steps instead of summing gradients every step. It runs on the
    calling thread, where Ctrl-C cancels it on every rank.
    """
    if not isinstance(model, Model):
        raise TypeError("model must be a clgrad.Model")
    if not isinstance(dataset, Dataset):
        raise TypeError("dataset must be a clgrad.Dataset")
    # The arguments' block is made once (up to 4096 epochs) and copied per call: one copy
    # instead of some thirty ctypes operations. A fit's Python is 3-4 times dearer than warm
    # (after clg_fit, or after model creation: the device's threads have run on this core
    # and evicted the interpreter), so a quiet one (no callback, print or validation) does
    # a lookup, a copy and the call.
    args = (epochs, batch_size, lr, optimizer, loss, reduction, shuffle, drop_last, seed,
            schedule, validation, validation_fraction, early_stop, epoch_loss, diverge_factor,
            first_epoch, comm, average_every, dataset._dims, callback is None and not verbose)
    try:
        image = _IMAGES.get(args)
    except TypeError:  # unhashable: a schedule given as a dict
        image = False
    if image:
        b = image[0].from_buffer_copy(image[1])
        if image[2]:
            return _fit_quiet(model, dataset, b)
        return _fit(model, dataset, b, optimizer, callback, verbose, validation,
                    validation_fraction, comm)
    o, opt_h = _build_options(model, dataset, *args[:18])
    b = _block.new(o, int(first_epoch))
    quiet = (args[19] and validation is None and not validation_fraction and opt_h is None and
             comm is None and _small(b.epochs, dataset))
    if (image is None and validation is None and comm is None and
            (optimizer is None or isinstance(optimizer, str)) and o.epochs <= 4096):
        if len(_IMAGES) >= 256:
            _IMAGES.clear()
        _IMAGES[args] = (type(b), bytes(b), quiet)  # no handle in args: none kept alive
    if quiet:
        return _fit_quiet(model, dataset, b)
    return _fit(model, dataset, b, optimizer, callback, verbose, validation,
                validation_fraction, comm)


def _fit(model, dataset, b, optimizer, callback, verbose, validation, validation_fraction, comm):
    """fit of the block b with what the quiet path leaves out: Python per epoch (prints,
    callback, validation), another thread, an optimizer, validation data or MPI."""
    address = _block.point(b)
    validating = validation is not None or validation_fraction
    if validating:
        vr = _lib.ValidationResult()
        b.validation_result = ctypes.pointer(vr)
    epochs_py = None  # silent without a callback: b records the losses in C (_FIT_TEMPLATE)
    if verbose or callback is not None or validating:
        epochs_py = _Epochs(b, callback, verbose, validating)
    # on the calling thread when small, or when not the main thread (Ctrl-C reaches the main
    # thread only: a thread buys nothing there); a model of other outputs is refused by C
    inline = (_small(b.epochs, dataset) or
              threading.get_ident() != _MAIN or comm is not None)  # MPI: one thread
    busy = [x for x in (model, dataset, validation, optimizer, comm) if isinstance(x, _Handle)]
    _mark_busy(busy, 1)
    try:
        opt_h = optimizer._ptr if isinstance(optimizer, Optimizer) else None
        if inline and epochs_py is None and comm is None:  # as _fit_quiet's call
            st, interrupted = _L.clg_fit(model._ptr, dataset._ptr, address, opt_h,
                                         address + _block.REPORT), False
        else:
            st, interrupted = _run_cancellable(model, dataset, b, opt_h, inline, epochs_py)
        # while marked: the context, and its message, cannot be closed meanwhile
        error = make_error(st, model.ctx._ptr, "clg_fit") if st != 0 else None
    finally:
        _mark_busy(busy, -1)
    if epochs_py is not None and epochs_py.errors:
        raise epochs_py.errors[0]
    if interrupted:
        raise KeyboardInterrupt
    if error is not None:
        raise error
    h = History()
    h["epoch"], h["train_loss"] = _block.arrays(b)
    h._report = b  # the block: its report's fields are its own
    if epochs_py is not None:
        # the block holds the callbacks, which hold the caller's: keep copies, not the block
        h["epoch"], h["train_loss"] = h["epoch"].copy(), h["train_loss"].copy()
        h._report = _lib.FitReport.from_buffer_copy(b, _block.REPORT)
    if validating:
        val = epochs_py.val
        h["val_loss"] = np.asarray(val["val_loss"], dtype=np.float64)
        h["val_accuracy"] = np.asarray(val["val_accuracy"], dtype=np.float64)
        h.best_epoch = vr.best_epoch
        h.best_loss = vr.best_loss
        h.best_accuracy = vr.best_accuracy
        h.stopped_early = bool(vr.stopped_early)
    return h


def _run_cancellable(model, dataset, b, opt_h, inline, epochs_py):
    """clg_fit of the fit block b with a cancel flag that Ctrl-C sets, on this thread (inline)
    or on a worker while this one waits; (status, interrupted). The wait ends only when
    clg_fit has returned: an exception meanwhile (a program's own SIGINT handler, SystemExit
    from another signal's) cancels the fit and is raised after it, so nothing clg_fit uses
    is unmarked or freed under it."""
    cancel = ctypes.c_int(0)
    b.cancel = ctypes.pointer(cancel)
    if epochs_py is not None:
        epochs_py.cancel = cancel
    result = {}
    mh, dh, address = model._ptr, dataset._ptr, ctypes.addressof(b)
    done = threading.Event()

    def work(block=b):  # the block, and the flag it points to, live until C is done
        try:
            result["status"] = _L.clg_fit(mh, dh, address, opt_h, address + _block.REPORT)
        finally:
            done.set()

    interrupted, raised = False, None
    with _SigintCancels(cancel) as sigint:
        if inline:
            work()
        else:
            # not Thread.join: a join that an exception interrupts marks the thread stopped
            # (Python 3.9-3.12) while it still runs
            threading.Thread(target=work, name="clgrad.fit", daemon=True).start()
            while not done.is_set():
                try:
                    done.wait(0.05)
                except BaseException as ex:
                    cancel.value = 1
                    if isinstance(ex, KeyboardInterrupt):
                        interrupted = True
                    elif raised is None:
                        raised = ex
    if raised is not None:
        raise raised
    return result.get("status", 0), interrupted or sigint.hit


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
