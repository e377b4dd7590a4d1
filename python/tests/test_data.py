import numpy as np
import pytest

import clgrad


def test_float64_and_fortran_order(ctx):
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.normal(size=(50, 3)))  # float64, Fortran order
    y = rng.normal(size=50)
    ds = clgrad.Dataset(ctx, X, y)
    assert (len(ds), ds.features, ds.targets, ds.classes) == (50, 3, 1, 0)
    Xd, Yd = ds.numpy()
    assert np.array_equal(Xd, X.astype(np.float32)) and np.array_equal(Yd[:, 0],
                                                                       y.astype(np.float32))
    Xs = rng.normal(size=(50, 6))[:, ::2]  # non-contiguous view
    assert np.array_equal(clgrad.Dataset(ctx, Xs, y).numpy()[0], Xs.astype(np.float32))


def test_shapes_are_checked_before_c(ctx):
    X = np.zeros((10, 2), np.float32)
    with pytest.raises(ValueError, match="y must have shape"):
        clgrad.Dataset(ctx, X, np.zeros(9, np.float32))
    with pytest.raises(ValueError, match="2-D"):
        clgrad.Dataset(ctx, np.zeros((2, 2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="at least one row"):
        clgrad.Dataset(ctx, np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match="labels must have shape"):
        clgrad.Dataset(ctx, X, np.zeros(11, np.int64))
    with pytest.raises(ValueError, match="integers"):
        clgrad.Dataset(ctx, X, np.full(10, 0.5), classes=3)
    with pytest.raises(ValueError, match="numeric"):
        clgrad.Dataset(ctx, [["a", "b"]], [1.0])


def test_nonfinite_raises_from_c(ctx):
    X = np.zeros((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(clgrad.NonFiniteError) as ei:
        clgrad.Dataset(ctx, X, np.zeros(4))
    assert "CLG_ERR_NONFINITE" in str(ei.value) and ei.value.message
    net = clgrad.Model(ctx).add_linear(2, 1)
    with pytest.raises(clgrad.NonFiniteError):
        clgrad.predict(net, X)


def test_labels_and_split(ctx):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = np.repeat(np.arange(4), 25)
    ds = clgrad.Dataset(ctx, X, y)
    assert ds.classes == 4 and ds.targets == 1
    assert clgrad.Dataset(ctx, X, y, classes=6).classes == 6
    assert clgrad.Dataset(ctx, X, y, classes=False).classes == 0
    tr, te = ds.split(0.2, seed=3, stratified=True)
    assert (len(tr), len(te)) == (80, 20)
    assert np.bincount(te.numpy()[1][:, 0].astype(int)).tolist() == [5, 5, 5, 5]
    tr2, te2 = ds.split(0.2, seed=3)
    assert len(te2) == 20
    with pytest.raises(clgrad.InvalidArgumentError):
        ds.split(1.5)
    with pytest.raises(clgrad.InvalidArgumentError):  # class id beyond classes
        clgrad.Dataset(ctx, X, y, classes=3)


def test_csv(ctx, tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n")
    ds = clgrad.Dataset.from_csv(ctx, p, classes=True)
    assert ds.classes == 2 and ds.class_names == ["cat", "dog"] and ds.features == 2
    q = tmp_path / "r.csv"
    q.write_text("1,2,3.5\n3,4,4.5\n")
    r = clgrad.Dataset.from_csv(ctx, q)
    assert r.classes == 0 and len(r) == 2
    assert np.array_equal(r.numpy()[1][:, 0], [3.5, 4.5])
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n4,x,6\n")
    with pytest.raises(clgrad.FormatError, match="CLG_ERR_FORMAT"):
        clgrad.Dataset.from_csv(ctx, bad)
    with pytest.raises(clgrad.FileError, match="CLG_ERR_IO"):
        clgrad.Dataset.from_csv(ctx, tmp_path / "missing.csv")


def test_standardize(ctx):
    rng = np.random.default_rng(2)
    ds = clgrad.Dataset(ctx, rng.normal(3, 2, size=(200, 2)), rng.normal(size=200))
    m, s = ds.standardize()
    X, _ = ds.numpy()
    assert np.allclose(X.mean(0), 0, atol=1e-5) and np.allclose(X.std(0), 1, atol=1e-4)


def test_file_streamed_datasets(ctx, tmp_path):
    """stream_npy/stream_csv keep the rows in the file; trained without shuffling they
    give the in-memory dataset's parameters (docs/streaming.md: file order, same floats)."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = np.arange(300) % 3
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y.astype(np.int64))
    with open(tmp_path / "d.csv", "w") as f:
        f.write("a,b,c,label\n")
        for row, c in zip(X, y):
            f.write("%r,%r,%r,%s\n" % (float(row[0]), float(row[1]), float(row[2]),
                                       "abc"[c]))
    mem = clgrad.Dataset(ctx, X, y)
    sn = clgrad.Dataset.stream_npy(ctx, tmp_path / "X.npy", tmp_path / "y.npy", True,
                                   chunk_rows=64)
    sc = clgrad.Dataset.stream_csv(ctx, tmp_path / "d.csv", classes=True, chunk_rows=50,
                                   buffer_chunks=2)
    assert (mem.storage, sn.storage, sc.storage) == ("device", "file", "file")
    assert (sn.chunk_rows, sc.chunk_rows, mem.chunk_rows) == (64, 50, 0)
    assert sc.class_names == ["a", "b", "c"] and sn.classes == sc.classes == 3
    assert np.array_equal(sn.numpy()[0], X) and np.array_equal(sc.numpy()[0], X)
    params = []
    for ds in (mem, sn, sc):
        net = clgrad.Model(ctx).add_linear(3, 3, seed=5)
        clgrad.fit(net, ds, epochs=2, batch_size=32, lr=0.1, shuffle=False, verbose=False)
        params.append(net.get_param(0))
    assert np.array_equal(params[0], params[1]) and np.array_equal(params[0], params[2])
    with pytest.raises(clgrad.UnsupportedError):
        sn.split(0.2)
    with pytest.raises(clgrad.FileError):
        clgrad.Dataset.stream_npy(ctx, tmp_path / "missing.npy", tmp_path / "y.npy")
    with pytest.raises(clgrad.InvalidArgumentError):
        clgrad.Dataset.stream_npy(ctx, tmp_path / "X.npy", tmp_path / "y.npy", True,
                                  buffer_chunks=0)
