"""fastgd.io's readers against scikit-learn's load_svmlight_file, NumPy and pandas on the same
files, and their errors (file, line, column) on malformed ones."""

from __future__ import annotations

import numpy as np
import pytest

from fastgd.io import DataFileError, format_of, read_data

sp = pytest.importorskip("scipy.sparse")


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------- svmlight


@pytest.mark.parametrize("zero_based", [True, False])
def test_svmlight_matches_scikit_learn(tmp_path, zero_based):
    from sklearn.datasets import dump_svmlight_file, load_svmlight_file

    rng = np.random.default_rng(0)
    X = sp.random(300, 40, density=0.2, format="lil", random_state=1)
    X[5] = 0.0  # an empty row
    X = X.tocsr()
    X.data = rng.standard_normal(X.nnz) * 10.0 ** rng.integers(-5, 5, X.nnz)
    y = rng.integers(-1, 3, 300).astype(np.float64)
    path = tmp_path / "data.svm"
    dump_svmlight_file(X, y, str(path), zero_based=zero_based)
    data = read_data(path)
    X_ref, y_ref = load_svmlight_file(str(path))  # zero_based="auto", as read_data
    assert data.format == "svmlight" and data.feature_names is None
    assert sp.issparse(data.X) and data.X.format == "csr" and data.X.dtype == np.float64
    assert data.X.shape == X_ref.shape
    np.testing.assert_array_equal(data.X.indptr, X_ref.indptr)
    np.testing.assert_array_equal(data.X.indices, X_ref.indices)
    np.testing.assert_array_equal(data.X.data, X_ref.data)  # the same parse of each number
    np.testing.assert_array_equal(data.y, y_ref)


def test_svmlight_comments_blank_lines_and_explicit_base(tmp_path):
    path = _write(tmp_path, "d.txt", "# a header comment\n1 1:2.5 3:-1 # trailing\n\n-1 2:4\r\n")
    data = read_data(path)
    np.testing.assert_array_equal(data.X.toarray(), [[2.5, 0, -1], [0, 4, 0]])
    np.testing.assert_array_equal(data.y, [1, -1])
    zero = read_data(path, zero_based=True)  # the same indices taken as 0-based
    np.testing.assert_array_equal(zero.X.toarray(), [[0, 2.5, 0, -1], [0, 0, 4, 0]])
    wide = read_data(path, n_features=5)
    assert wide.X.shape == (2, 5)


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("1 1:2\n1 2:x\n", 2, 5, "the value 'x' is not a finite number"),
        ("1 1:2\n1 22:nan\n", 2, 6, "not a finite number"),
        ("1 1:2\nfoo 2:1\n", 2, 1, "the label 'foo'"),
        ("1 1:2\n1,2 2:1\n", 2, 1, "multi-label"),
        ("1 1:2 3\n", 1, 7, "'3' is not an index:value pair"),
        ("1 1:2:3\n", 1, 3, "not an index:value pair"),
        ("1 1:2\n\n1 2: 3\n", 3, 3, "not an index:value pair"),
        ("1 1.5:2\n", 1, 3, "the index '1.5' is not an integer"),
        ("1 1:2\n1 3:1 2:1\n", 2, 7, "strictly increasing"),
        ("1 1:2\n1 2:1 2:1\n", 2, 7, "strictly increasing"),
        ("1 0:2\n1 -1:1\n", 2, 3, "the index -1 is out of range"),
        ("1 1:2 qid:3\n", 1, 7, "qid"),
        ("\n\n", None, None, "no data"),
    ],
)
def test_svmlight_errors_name_the_line_and_column(tmp_path, text, line, column, words):
    path = _write(tmp_path, "bad.svm", text)
    with pytest.raises(DataFileError) as info:
        read_data(path)
    err = info.value
    assert (err.path, err.line, err.column) == (str(path), line, column)
    assert words in str(err)
    place = f"{path}:{line}:{column}: " if line else f"{path}: "
    assert str(err).startswith(place)


def test_svmlight_index_past_the_models_features(tmp_path):
    path = _write(tmp_path, "bad.svm", "1 1:2\n1 2:1 7:1\n")
    with pytest.raises(DataFileError, match=r":2:7: the index 7 is out of range: the data has 4 "):
        read_data(path, n_features=4)


# ---------------------------------------------------------------- CSV


def test_csv_matches_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.standard_normal((200, 4)) * 1e3, columns=["a", "b c", "d", "y"])
    frame["d"] = rng.integers(0, 5, 200)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    data = read_data(path)
    ref = pd.read_csv(path)
    assert data.feature_names == ["a", "b c", "d"] and data.target_name == "y"
    np.testing.assert_array_equal(data.X, ref[["a", "b c", "d"]].to_numpy(np.float64))
    np.testing.assert_array_equal(data.y, ref["y"].to_numpy())
    assert data.X.flags.c_contiguous
    by_name = read_data(path, target="a")
    np.testing.assert_array_equal(by_name.y, ref["a"].to_numpy())
    assert by_name.feature_names == ["b c", "d", "y"]
    by_index = read_data(path, target="0")
    np.testing.assert_array_equal(by_index.X, by_name.X)


def test_csv_without_header_and_blank_lines(tmp_path):
    path = _write(tmp_path, "t.csv", "1,2,3\n\n4,5e-1,-6\n")
    data = read_data(path)
    assert data.feature_names is None
    np.testing.assert_array_equal(data.X, [[1, 2], [4, 0.5]])
    np.testing.assert_array_equal(data.y, [3, -6])
    features_only = read_data(path, n_features=3)  # a model's features: no target column
    assert features_only.y is None and features_only.X.shape == (2, 3)


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("a,b,y\n1,2,3\n4,5\n", 3, 4, "ragged row: 2 fields where the header has 3"),
        ("a,b,y\n1,2,3\n4,5,6,7\n", 3, 7, "ragged row: 4 fields"),
        ("a,b,y\n1,2,3\n4,zz,6\n", 3, 3, "column 'b' (field 2): 'zz' is not a finite number"),
        ("a,b,y\n1,2,3\n4,,6\n", 3, 3, "an empty field"),
        ("1,2,3\n4,5,inf\n", 2, 5, "field 3"),
        ("a,b,y\n", None, None, "no rows"),
    ],
)
def test_csv_errors_name_the_line_and_column(tmp_path, text, line, column, words):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(DataFileError) as info:
        read_data(path)
    assert (info.value.line, info.value.column) == (line, column)
    assert words in str(info.value)


def test_csv_unknown_target(tmp_path):
    path = _write(tmp_path, "t.csv", "a,b\n1,2\n")
    with pytest.raises(DataFileError, match=r"t.csv:1: no target column 'c'"):
        read_data(path, target="c")


# ---------------------------------------------------------------- NumPy and Parquet


def test_npy_and_npz(tmp_path):
    rng = np.random.default_rng(3)
    table = rng.standard_normal((50, 4)).astype(np.float32)
    np.save(tmp_path / "t.npy", table)
    data = read_data(tmp_path / "t.npy")
    assert data.X.dtype == np.float32  # float32 stays float32
    np.testing.assert_array_equal(data.X, table[:, :3])
    np.testing.assert_array_equal(data.y, table[:, 3])
    first = read_data(tmp_path / "t.npy", target=0)
    np.testing.assert_array_equal(first.X, table[:, 1:])
    names = np.array(["p", "q", "r"])
    np.savez(tmp_path / "t.npz", X=table[:, :3], y=table[:, 3], feature_names=names)
    data = read_data(tmp_path / "t.npz")
    np.testing.assert_array_equal(data.X, table[:, :3])
    np.testing.assert_array_equal(data.y, table[:, 3])
    assert data.feature_names == ["p", "q", "r"]


def test_numpy_files_refuse_pickles_and_bad_shapes(tmp_path):
    np.save(tmp_path / "o.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    with pytest.raises(DataFileError, match="o.npy: not a NumPy file"):
        read_data(tmp_path / "o.npy")
    np.save(tmp_path / "v.npy", np.zeros(3))
    with pytest.raises(DataFileError, match="2-D table"):
        read_data(tmp_path / "v.npy")
    np.savez(tmp_path / "n.npz", A=np.zeros((2, 2)))
    with pytest.raises(DataFileError, match="arrays 'X' and 'y'"):
        read_data(tmp_path / "n.npz")
    np.savez(tmp_path / "x.npz", X=np.zeros((2, 2)))
    with pytest.raises(DataFileError, match="x.npz: no array 'y'"):
        read_data(tmp_path / "x.npz")
    assert read_data(tmp_path / "x.npz", n_features=2).y is None  # prediction needs none
    np.savez(tmp_path / "m.npz", X=np.zeros((2, 2)), y=np.zeros(3))
    with pytest.raises(DataFileError, match=r"y must have shape \(2,\)"):
        read_data(tmp_path / "m.npz")
    table = np.ones((3, 3))
    table[1, 2] = np.nan
    np.save(tmp_path / "nan.npy", table)
    with pytest.raises(DataFileError, match=r"the array\[1, 2\] is nan"):
        read_data(tmp_path / "nan.npy")


def test_parquet_matches_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "a": rng.standard_normal(30),
            "k": rng.integers(0, 3, 30),
            "flag": rng.random(30) > 0.5,
            "y": rng.standard_normal(30),
        }
    )
    frame.to_parquet(tmp_path / "t.parquet")
    data = read_data(tmp_path / "t.parquet")
    assert data.feature_names == ["a", "k", "flag"]
    np.testing.assert_array_equal(data.X, frame[["a", "k", "flag"]].to_numpy(np.float64))
    np.testing.assert_array_equal(data.y, frame["y"].to_numpy())
    frame["s"] = "text"
    frame.to_parquet(tmp_path / "s.parquet")
    with pytest.raises(DataFileError, match="column 's' .* numeric columns only"):
        read_data(tmp_path / "s.parquet")


def test_format_from_the_extension_or_named(tmp_path):
    assert format_of("a.libsvm") == "svmlight" and format_of("B.CSV") == "csv"
    assert format_of("a.data", "csv") == "csv"
    with pytest.raises(ValueError, match="cannot tell the format of 'a.data'"):
        format_of("a.data")
    with pytest.raises(ValueError, match="format must be one of"):
        format_of("a.csv", "xls")
    path = _write(tmp_path, "t.data", "1,2\n3,4\n")
    np.testing.assert_array_equal(read_data(path, format="csv").y, [2, 4])
    with pytest.raises(FileNotFoundError, match="nothere.csv: no such file"):
        read_data(tmp_path / "nothere.csv")
