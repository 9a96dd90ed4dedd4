"""Lazy predictions and scores of a fitted cluster estimator: the local estimator's methods
(``to_local()``) on each block of rows, as dask arrays; scores as sums per block, combined."""

from __future__ import annotations

from typing import Any

import dask.array as da
import dask.dataframe as dd
import numpy as np
from dask import delayed

from . import _data


def _block_model(est: Any) -> Any:
    """The local model the blocks run: without feature names, since the driver checked the
    columns once and the blocks are arrays."""
    local = est.to_local()
    if hasattr(local, "feature_names_in_"):
        del local.feature_names_in_
    return local


def _rows(est: Any, X: Any) -> da.Array:
    """X as a dask array of rows, its columns checked against the fitted ones."""
    if isinstance(X, dd.DataFrame):
        names = getattr(est, "feature_names_in_", None)
        if names is not None and list(map(str, X.columns)) != list(names):
            raise ValueError(
                f"X's columns {list(X.columns)} differ from the fitted feature names {list(names)}"
            )
        X = X.to_dask_array()
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise TypeError(f"X must be a 2-D dask array or a dask DataFrame, got {type(X).__name__}")
    if X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, the model {est.n_features_in_}")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})  # a row's prediction needs all its columns
    return X


def _call(block: Any, model: Any, method: str) -> np.ndarray:
    return np.asarray(getattr(model, method)(block))


def apply(est: Any, X: Any, method: str) -> da.Array:
    """``method`` of the local model on each block of rows of X (lazy)."""
    X = _rows(est, X)
    model = _block_model(est)
    probe = _call(np.zeros((1, est.n_features_in_), est.coef_.dtype), model, method)
    if probe.ndim == 1:
        return X.map_blocks(
            _call, model, method, drop_axis=1, dtype=probe.dtype, meta=np.empty((0,), probe.dtype)
        )
    return X.map_blocks(
        _call,
        model,
        method,
        chunks=(X.chunks[0], (probe.shape[1],)),
        dtype=probe.dtype,
        meta=np.empty((0, 0), probe.dtype),
    )


def _block_score(model: Any, kind: str, X: Any, y: Any, sw: Any) -> np.ndarray:
    """Per block: [Σw, and for 'accuracy' Σw·[ŷ = y]; for 'r2' Σw·(y − ŷ)², Σw·y, and
    Σw·(y − ȳ_block)²] (combined exactly across blocks by ``_combine``)."""
    X = X.to_numpy() if hasattr(X, "to_numpy") else X
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    w = np.ones(len(y)) if sw is None else np.asarray(sw, dtype=np.float64).reshape(-1)
    p = model.predict(X)
    if kind == "accuracy":
        return np.array([w.sum(), w @ (p == y)])
    y = y.astype(np.float64)
    mean = (w @ y) / w.sum() if w.sum() > 0 else 0.0
    return np.array([w.sum(), w @ (y - p) ** 2, w @ y, w @ (y - mean) ** 2])


def _combine(kind: str, *blocks: np.ndarray) -> np.float64:
    """The score from the blocks' sums: the total squares about the overall mean by Chan's
    pairwise rule (no cancellation of Σy² − (Σy)²/n)."""
    if kind == "accuracy":
        total = np.sum(blocks, axis=0)
        return np.float64(total[1] / total[0])
    n = ss_res = mean = m2 = 0.0
    for w, res, wy, block_m2 in blocks:
        if w == 0:
            continue
        block_mean = wy / w
        delta = block_mean - mean
        m2 += block_m2 + delta**2 * n * w / (n + w)
        mean += delta * w / (n + w)
        n += w
        ss_res += res
    return np.float64(1.0 - ss_res / m2 if m2 > 0 else 0.0)


def score(est: Any, X: Any, y: Any, sample_weight: Any, kind: str) -> da.Array:
    """Accuracy or R² of the local model over the blocks of (X, y, sample_weight), lazy."""
    model = _block_model(est)
    _rows(est, X)  # the columns' checks
    xs, x_rows = _data._row_blocks(X, "X", matrix=True)
    ys, y_rows = _data._row_blocks(y, "y", matrix=False)
    ws = [None] * len(xs)
    if sample_weight is not None:
        ws, _ = _data._row_blocks(sample_weight, "sample_weight", matrix=False)
    if len(ys) != len(xs) or len(ws) != len(xs) or (x_rows and y_rows and x_rows != y_rows):
        raise ValueError("y and sample_weight must be chunked like X along rows")
    block = delayed(_block_score, pure=True)
    parts = [block(model, kind, x, yy, w) for x, yy, w in zip(xs, ys, ws)]
    return da.from_delayed(delayed(_combine, pure=True)(kind, *parts), shape=(), dtype=float)
