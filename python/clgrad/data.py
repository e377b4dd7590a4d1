"""Datasets: from numpy arrays, synthetic, CSV and .npy files."""
import ctypes
import os

import numpy as np

from . import _lib
from .core import Context, _Handle

_L = _lib.lib
_FP = _lib.float_p


def _f32(a, name):
    try:
        arr = np.ascontiguousarray(a, dtype=np.float32)  # copies float64 and Fortran order
    except (TypeError, ValueError) as e:
        raise ValueError("%s must be numeric: %s" % (name, e)) from None
    return arr


def _fp(a):
    return a.ctypes.data_as(_FP)


def _labels(y, n):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError("labels must have shape (%d,) or (%d, 1), not %s" % (n, n, y.shape))
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError("class labels must be integers")
    elif y.dtype.kind not in "iub":
        raise ValueError("class labels must be integers, not %s" % y.dtype)
    if n and (y.min() < 0 or y.max() >= 2 ** 24):
        raise ValueError("class labels must be in [0, 2^24)")
    return np.ascontiguousarray(y, dtype=np.int32)


class Dataset(_Handle):
    """Features X (n×d) and targets (n×q floats, or n class ids) on the device.

    Dataset(ctx, X, y, classes=None): y of an integer dtype (or classes=k) makes a
    classification dataset (clg_dataset_from_host_labels, classes = k or max(y)+1, at
    least 2); classes=False forces regression. X may be float64 or Fortran-ordered (it is
    converted to C-ordered float32). NaN/Inf raise clgrad.NonFiniteError.
    """

    _destroy = _L.clg_dataset_destroy

    def __init__(self, ctx, X, y, classes=None):
        if not isinstance(ctx, Context):
            raise TypeError("ctx must be a clgrad.Context")
        X = np.asarray(X)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2:
            raise ValueError("X must be 2-D (n, d), not of shape %s" % (X.shape,))
        n, d = X.shape
        if n == 0 or d == 0:
            raise ValueError("X must have at least one row and one column, not %s" % (X.shape,))
        Xf = _f32(X, "X")
        y = np.asarray(y)
        is_cls = classes is not None and classes is not False
        if classes is None and y.dtype.kind in "iub":
            is_cls = True
        ptr = ctypes.c_void_p()
        if is_cls:
            lab = _labels(y, n)
            k = int(classes) if classes is not None and classes is not True else max(
                int(lab.max()) + 1, 2)
            ctx._check(_L.clg_dataset_from_host_labels(
                ctx._h, _fp(Xf), lab.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), n, d, k,
                ctypes.byref(ptr)), "clg_dataset_from_host_labels")
        else:
            if y.ndim == 1:
                y = y.reshape(-1, 1)
            if y.ndim != 2 or y.shape[0] != n or y.shape[1] == 0:
                raise ValueError("y must have shape (%d,) or (%d, q), not %s"
                                 % (n, n, y.shape))
            Yf = _f32(y, "y")
            ctx._check(_L.clg_dataset_from_host(ctx._h, _fp(Xf), _fp(Yf), n, d, Yf.shape[1],
                                                ctypes.byref(ptr)), "clg_dataset_from_host")
        self._init(ctx, ptr.value)

    def _init(self, ctx, ptr, class_names=None):
        self.ctx = ctx
        self.class_names = class_names
        _Handle.__init__(self, ptr, ctx)
        # (rows, features, model outputs it needs: classes or targets, classes), fixed for
        # the dataset's life: fit reads them without calling C
        classes = _L.clg_dataset_classes(ptr)
        self._dims = (_L.clg_dataset_size(ptr), _L.clg_dataset_features(ptr),
                      classes or _L.clg_dataset_targets(ptr), classes)

    @classmethod
    def _wrap(cls, ctx, ptr, class_names=None):
        ds = cls.__new__(cls)
        ds._init(ctx, ptr, class_names)
        return ds

    @classmethod
    def synthetic_linear(cls, ctx, n, w, b, noise=0.01, seed=0):
        """d2l's synthetic_data: X ~ N(0,1) n×len(w), y = X·w + b + N(0, noise²)."""
        w = _f32(np.ravel(w), "w")
        if w.size == 0:
            raise ValueError("w must not be empty")
        ptr = ctypes.c_void_p()
        ctx._check(_L.clg_dataset_synthetic_linear(ctx._h, int(n), _fp(w), w.size, float(b),
                                                   float(noise), int(seed), ctypes.byref(ptr)),
                   "clg_dataset_synthetic_linear")
        return cls._wrap(ctx, ptr.value)

    @staticmethod
    def _csv_options(header, label_column, delimiter, skip_columns, max_classes, classes):
        o = _L.clg_csv_defaults()
        o.header = -1 if header is None else int(bool(header))
        o.label_column = int(label_column)
        if len(delimiter) != 1:
            raise ValueError("delimiter must be one character")
        o.delimiter = delimiter.encode()
        if skip_columns is not None:
            if not isinstance(skip_columns, str):
                skip_columns = ",".join(str(c) for c in skip_columns)
            o.skip_columns = skip_columns.encode()
        o.max_classes = int(max_classes)
        if classes is not False and classes is not None and classes is not True:
            o.classes = int(classes)
        return o

    @staticmethod
    def _stream_options(chunk_rows, buffer_chunks, part=0, parts=0, classes=0):
        so = _L.clg_stream_defaults()
        so.chunk_rows = int(chunk_rows)
        if buffer_chunks is not None:
            so.buffer_chunks = int(buffer_chunks)
        so.part, so.parts, so.classes = int(part), int(parts), int(classes)
        return so

    @classmethod
    def _csv(cls, ctx, path, classes, o, stream=None):
        ptr = ctypes.c_void_p()
        bpath = os.fsencode(path)
        if classes is False or classes is None:
            if stream is None:
                ctx._check(_L.clg_dataset_from_csv(ctx._h, bpath, ctypes.byref(o),
                                                   ctypes.byref(ptr)), "clg_dataset_from_csv")
            else:
                ctx._check(_L.clg_dataset_stream_csv(ctx._h, bpath, ctypes.byref(o), 0,
                                                     ctypes.byref(stream), ctypes.byref(ptr),
                                                     None), "clg_dataset_stream_csv")
            return cls._wrap(ctx, ptr.value)
        names = _lib.ClassNames()
        if stream is None:
            ctx._check(_L.clg_dataset_from_csv_classes(ctx._h, bpath, ctypes.byref(o),
                                                       ctypes.byref(ptr), ctypes.byref(names)),
                       "clg_dataset_from_csv_classes")
        else:
            ctx._check(_L.clg_dataset_stream_csv(ctx._h, bpath, ctypes.byref(o), 1,
                                                 ctypes.byref(stream), ctypes.byref(ptr),
                                                 ctypes.byref(names)), "clg_dataset_stream_csv")
        cn = [names.names[i].decode() for i in range(names.count)] or None
        _L.clg_class_names_free(ctypes.byref(names))
        return cls._wrap(ctx, ptr.value, cn)

    @classmethod
    def from_csv(cls, ctx, path, classes=False, *, header=None, label_column=-1,
                 delimiter=",", skip_columns=None, max_classes=0):
        """A CSV file (clg_dataset_from_csv). classes=True: the label column holds class
        ids or names (names land in .class_names); classes=k: exactly k classes."""
        o = cls._csv_options(header, label_column, delimiter, skip_columns, max_classes, classes)
        return cls._csv(ctx, path, classes, o)

    @classmethod
    def stream_csv(cls, ctx, path, classes=False, *, header=None, label_column=-1,
                   delimiter=",", skip_columns=None, max_classes=0, chunk_rows=0,
                   buffer_chunks=None, part=0, parts=0):
        """A CSV file left on disk and read chunk by chunk while training
        (clg_dataset_stream_csv, docs/streaming.md); options as from_csv, chunk_rows 0:
        4 MiB chunks; buffer_chunks: chunks a shuffling loader mixes (default 4).
        part, parts: only the lines that start in part `part` of `parts` byte ranges of the
        file (a rank's shard: part=comm.rank, parts=comm.size; class ids, not names)."""
        o = cls._csv_options(header, label_column, delimiter, skip_columns, max_classes, classes)
        so = cls._stream_options(chunk_rows, buffer_chunks, part, parts)
        return cls._csv(ctx, path, classes, o, so)

    @classmethod
    def from_npy(cls, ctx, X_path, y_path, classification=False):
        ptr = ctypes.c_void_p()
        ctx._check(_L.clg_dataset_from_npy(ctx._h, os.fsencode(X_path), os.fsencode(y_path),
                                           int(bool(classification)), ctypes.byref(ptr)),
                   "clg_dataset_from_npy")
        return cls._wrap(ctx, ptr.value)

    @classmethod
    def stream_npy(cls, ctx, X_path, y_path, classification=False, *, chunk_rows=0,
                   buffer_chunks=None, part=0, parts=0, classes=0):
        """.npy files mapped and read chunk by chunk while training
        (clg_dataset_stream_npy, docs/streaming.md); chunk_rows and buffer_chunks as
        stream_csv. part, parts: only rows [N·part/parts, N·(part+1)/parts) (a rank's shard);
        classes: the class count, so that shards lacking the largest id agree."""
        ptr = ctypes.c_void_p()
        so = cls._stream_options(chunk_rows, buffer_chunks, part, parts, classes)
        ctx._check(_L.clg_dataset_stream_npy(ctx._h, os.fsencode(X_path), os.fsencode(y_path),
                                             int(bool(classification)), ctypes.byref(so),
                                             ctypes.byref(ptr)), "clg_dataset_stream_npy")
        return cls._wrap(ctx, ptr.value)

    # -- properties
    def __len__(self):
        return _L.clg_dataset_size(self._h)

    @property
    def n(self):
        return _L.clg_dataset_size(self._h)

    @property
    def features(self):
        return _L.clg_dataset_features(self._h)

    @property
    def targets(self):
        return _L.clg_dataset_targets(self._h)

    @property
    def classes(self):
        """Number of classes; 0 for regression data."""
        return _L.clg_dataset_classes(self._h)

    @property
    def streamed(self):
        return bool(_L.clg_dataset_streamed(self._h))

    @property
    def storage(self):
        """Where the rows are: "device", "host" (streamed) or "file" (file-streamed)."""
        return ("device", "host", "file")[_L.clg_dataset_storage(self._h)]

    @property
    def chunk_rows(self):
        """Rows per chunk of a file-streamed dataset, else 0."""
        return _L.clg_dataset_chunk_rows(self._h)

    def split(self, test_fraction, seed=0, stratified=False):
        """(train, test): a seeded shuffled split (stratified keeps each class's share)."""
        tr, te = ctypes.c_void_p(), ctypes.c_void_p()
        fn = _L.clg_dataset_split_stratified if stratified else _L.clg_dataset_split
        self.ctx._check(fn(self._h, float(test_fraction), int(seed), ctypes.byref(tr),
                           ctypes.byref(te)), fn.__name__)
        return (Dataset._wrap(self.ctx, tr.value, self.class_names),
                Dataset._wrap(self.ctx, te.value, self.class_names))

    def numpy(self):
        """(X, Y) copied to the host: X n×d float32, Y n×q float32 (class ids as floats)."""
        n, d, q = self.n, self.features, self.targets
        X = np.empty((n, d), np.float32)
        Y = np.empty((n, q), np.float32)
        self.ctx._check(_L.clg_dataset_download(self._h, _fp(X), _fp(Y)), "clg_dataset_download")
        return X, Y

    def feature_stats(self):
        """(mean, scale), each d floats (StandardScaler.fit)."""
        d = self.features
        m, s = np.empty(d, np.float32), np.empty(d, np.float32)
        self.ctx._check(_L.clg_dataset_feature_stats(self._h, _fp(m), _fp(s)),
                        "clg_dataset_feature_stats")
        return m, s

    def standardize(self, mean=None, scale=None):
        """X ← (X − mean)/scale in place; None: this dataset's own statistics. Returns
        (mean, scale) used."""
        if mean is None or scale is None:
            m, s = self.feature_stats()
            mean = m if mean is None else mean
            scale = s if scale is None else scale
        d = self.features
        m, s = _f32(np.ravel(mean), "mean"), _f32(np.ravel(scale), "scale")
        if m.size != d or s.size != d:
            raise ValueError("mean and scale must have %d values" % d)
        self.ctx._check(_L.clg_dataset_standardize(self._h, _fp(m), _fp(s)),
                        "clg_dataset_standardize")
        return m, s

    def __repr__(self):
        if self.closed:
            return "<clgrad.Dataset (closed)>"
        kind = ("%d classes" % self.classes) if self.classes else ("q=%d" % self.targets)
        return "<clgrad.Dataset n=%d d=%d %s>" % (self.n, self.features, kind)
