"""Reading data files: fastgd.io against the field's readers, on the same file.

    python -m pytest bench/test_bench_datafiles.py -o testpaths=bench -s [--bench-scale 0.2]

svmlight: 1,000,000·scale rows of about 10 non-zeros among 100 columns, labels ±1, written by
scikit-learn's dump_svmlight_file; fastgd.io.read_data against sklearn's load_svmlight_file (a
Cython parser). CSV: 1,000,000·scale rows of 10 columns written with 17 digits; read_data
against pandas.read_csv (C parser). Each pair is timed interleaved (A, B, A, B, ...); the test
prints the median ratio, asserts that the two readers give the same arrays, and bounds the
ratio loosely (FASTGD_BENCH_READ_BOUND, default 8×: the readers are NumPy, not compiled, and
the CSV reader is NumPy's loadtxt, several times slower than pandas' C parser).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import pytest

from fastgd.io import read_data

sp = pytest.importorskip("scipy.sparse")
BOUND = float(os.environ.get("FASTGD_BENCH_READ_BOUND", "8"))


def _interleaved(read_a, read_b, pairs=3):
    """Median of read_b's seconds over read_a's, each pair back to back; the last results."""
    ratios = []
    for _ in range(pairs):
        times, results = [], []
        for read in (read_a, read_b):
            start = time.perf_counter()
            results.append(read())
            times.append(time.perf_counter() - start)
        ratios.append(times[0] / times[1])
    return statistics.median(ratios), ratios, results


def test_svmlight_against_scikit_learn(tmp_path, scale):
    datasets = pytest.importorskip("sklearn.datasets")
    n = max(10_000, int(1_000_000 * scale))
    rng = np.random.default_rng(0)
    X = sp.random(n, 100, density=0.1, format="csr", random_state=0, dtype=np.float64)
    X.data = rng.standard_normal(X.nnz)
    path = str(tmp_path / "data.svm")
    datasets.dump_svmlight_file(X, rng.integers(0, 2, n) * 2 - 1, path)
    ratio, ratios, (ours, theirs) = _interleaved(
        lambda: read_data(path), lambda: datasets.load_svmlight_file(path)
    )
    print(
        f"\nsvmlight, {n:,} rows, {X.nnz:,} non-zeros: fastgd.io / load_svmlight_file "
        f"{ratio:.2f}x ({', '.join(f'{r:.2f}' for r in ratios)})"
    )
    assert (ours.X != theirs[0]).nnz == 0 and np.array_equal(ours.y, theirs[1])
    assert ratio <= BOUND


def test_csv_against_pandas(tmp_path, scale):
    pd = pytest.importorskip("pandas")
    n = max(10_000, int(1_000_000 * scale))
    table = np.random.default_rng(1).standard_normal((n, 10))
    path = str(tmp_path / "data.csv")
    header = ",".join([f"x{j}" for j in range(9)] + ["y"])
    np.savetxt(path, table, delimiter=",", fmt="%.17g", header=header, comments="")
    ratio, ratios, (ours, theirs) = _interleaved(lambda: read_data(path), lambda: pd.read_csv(path))
    print(
        f"\nCSV, {n:,} x 10: fastgd.io / pandas.read_csv {ratio:.2f}x "
        f"({', '.join(f'{r:.2f}' for r in ratios)})"
    )
    np.testing.assert_array_equal(ours.X, theirs.to_numpy()[:, :9])
    np.testing.assert_array_equal(ours.y, theirs["y"].to_numpy())
    assert ratio <= BOUND
