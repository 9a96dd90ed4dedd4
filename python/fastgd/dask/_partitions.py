"""One partition of the training data, as a worker holds it: X's rows (dense or CSR), the
targets and sample weights of each model to train, and the prepared problems (``_core.Problem``)
that the rounds run, built on first use and kept on that worker.

Everything here runs on the workers, one task per partition; nothing imports dask.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from .._validation import as_csr, is_sparse
from ..linear_model import _targets

# Rows per block of the finiteness scan: bounded temporaries, whatever the partition's size.
_SCAN_ROWS = 8192


def aligned(a: Any) -> Any:
    """``a`` as the kernels read it, a C-contiguous array aligned for its dtype (a CSR matrix:
    its three arrays): what a worker receives may lie at any offset of a message's buffer, and
    reading it as T* would need T's alignment. Copies only what is not so already."""
    if is_sparse(a):
        parts = [np.require(x, requirements=["C", "A"]) for x in (a.data, a.indices, a.indptr)]
        if all(p is x for p, x in zip(parts, (a.data, a.indices, a.indptr))):
            return a
        return type(a)(tuple(parts), shape=a.shape, copy=False)
    return None if a is None else np.require(a, requirements=["C", "A"])


class Partition:
    """X's rows, the raw y and sample weights, and (once the classes are known) the targets and
    weights of each model (``targets``, ``weights``: one entry per task)."""

    def __init__(self, index: int, X: Any, y: np.ndarray, sample_weight: np.ndarray | None):
        self.index = index
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.targets: list[np.ndarray] = [y]
        self.weights: list[np.ndarray | None] = [sample_weight]
        self._problems: dict[Any, list[Any]] = {}

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # Prepared problems hold pointers into this process's arrays: a partition moved to
        # another worker prepares its own.
        state = dict(self.__dict__)
        state["_problems"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.X, self.y, self.sample_weight = (
            aligned(self.X), aligned(self.y), aligned(self.sample_weight)
        )
        self.targets = [aligned(t) for t in self.targets]
        self.weights = [aligned(w) for w in self.weights]

    def problems(self, options: dict[str, Any], coef: np.ndarray) -> list[Any]:
        """One prepared problem per task for these options (checked once, then cached): the
        first checks X and the options, the others share it with their own targets."""
        key = repr(sorted(options.items()))
        cached = self._problems.get(key)
        if cached is None:
            first = ops._prepare(
                self.X,
                self.targets[0],
                self.weights[0],
                coef=coef,
                check_input=False,  # load_partition scanned X once
                **options,
            )
            cached = [first] + [
                first.with_targets(y, w) for y, w in zip(self.targets[1:], self.weights[1:])
            ]
            self._problems = {key: cached}  # one set of options per fit: drop the others
        return cached


def _features(X: Any) -> Any:
    """A partition's X as the kernels take it: float32 stays float32, other numbers become
    float64 (a one-time conversion of that partition, as the local estimators convert X);
    a float C-contiguous block or a float CSR block is used as it is."""
    if hasattr(X, "to_numpy"):  # a pandas DataFrame partition
        X = X.to_numpy()
    if is_sparse(X):
        return aligned(as_csr(X))
    X = np.asarray(X)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    return aligned(np.asarray(X, dtype=dtype))


def _vector(a: Any) -> np.ndarray:
    return np.asarray(a.to_numpy() if hasattr(a, "to_numpy") else a)


def _all_finite(X: Any) -> bool:
    if is_sparse(X):
        return bool(np.isfinite(X.data).all())
    return all(np.isfinite(X[i : i + _SCAN_ROWS]).all() for i in range(0, X.shape[0], _SCAN_ROWS))


def load_partition(index: int, X: Any, y: Any, sample_weight: Any, numeric_y: bool) -> Partition:
    """Partition ``index`` from its blocks of X, y and sample weights, checked before any step:
    the same number of rows, finite X, y (when ``numeric_y``) and weights, weights >= 0. Every
    error names the partition."""
    X = _features(X)
    y = _vector(y)
    sw = None if sample_weight is None else _vector(sample_weight)
    where = f"partition {index}"
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape} in {where}")
    if y.shape[0] != X.shape[0] or (sw is not None and sw.shape != y.shape):
        raise ValueError(
            f"{where}: X has {X.shape[0]} rows, y {y.shape[0]}"
            + ("" if sw is None else f", sample_weight {sw.shape[0]}")
            + "; X, y and sample_weight must be partitioned the same way"
        )
    if not _all_finite(X):
        raise ValueError(f"X contains NaN or infinity in {where}")
    if numeric_y:
        if y.dtype.kind not in "iuf":
            raise TypeError(f"y must hold real numbers, got dtype {y.dtype} in {where}")
        if not np.isfinite(y).all():
            raise ValueError(f"y contains NaN or infinity in {where}")
        y = aligned(np.asarray(y, dtype=X.dtype))
    if sw is not None:
        if sw.dtype.kind not in "iuf":
            raise TypeError(f"sample_weight must hold real numbers, got dtype {sw.dtype}")
        sw = aligned(np.asarray(sw, dtype=X.dtype))
        if not np.isfinite(sw).all() or (sw < 0).any():
            raise ValueError(f"sample_weight must be finite and >= 0, not so in {where}")
    return Partition(index, X, y, sw)


def summary(part: Partition, classification: bool) -> dict[str, Any]:
    """What the driver needs before the first step: rows, weights, dtype, sparsity and, for a
    classifier, the partition's labels and their counts."""
    out: dict[str, Any] = {
        "n_rows": part.n_rows,
        "weight_sum": float(
            part.n_rows if part.sample_weight is None else part.sample_weight.sum()
        ),
        "dtype": part.X.dtype,
        "sparse": is_sparse(part.X),
        "n_features": int(part.X.shape[1]),
    }
    if classification:
        labels, counts = np.unique(part.y, return_counts=True)
        out["labels"], out["counts"] = labels, counts
    return out


def with_targets(
    part: Partition, classes: np.ndarray, multi_class: str, class_weight: Any
) -> Partition:
    """The partition with each classifier task's targets and weights, built once by the local
    estimator's rules (``class_weight`` is a dict here: 'balanced' needs all partitions' counts,
    which the driver turned into one)."""
    out = Partition(part.index, part.X, part.y, part.sample_weight)
    out.targets, out.weights = _targets.targets_and_weights(
        part.y, part.sample_weight, part.X.dtype, classes, multi_class, class_weight
    )
    return out
