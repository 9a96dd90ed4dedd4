"""The training data on the cluster: checks of the dask collections (on the driver, before any
task runs), then one persisted partition per block of rows (``_partitions.load_partition``),
and the summaries the driver needs before the first step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as da
import dask.dataframe as dd
import numpy as np
from dask import delayed

from . import _partitions


@dataclass
class Distributed:
    """The persisted partitions (futures, in row order) and what the driver knows of them."""

    parts: list
    n_rows: list[int]
    n_features: int
    dtype: np.dtype
    sparse: bool
    feature_names: np.ndarray | None
    labels: np.ndarray | None  # a classifier's distinct labels, sorted
    label_counts: np.ndarray | None


def _row_blocks(a: Any, name: str, matrix: bool) -> tuple[list, tuple | None]:
    """The delayed blocks of rows of a dask array or DataFrame/Series, and the rows of each
    block (None where Dask does not know them: a DataFrame's partitions)."""
    if isinstance(a, da.Array):
        if a.ndim != (2 if matrix else 1):
            raise ValueError(f"{name} must be {'2' if matrix else '1'}-D, got shape {a.shape}")
        if any(np.isnan(c) for c in a.chunks[0]):
            raise ValueError(
                f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes() first (or "
                "pass the DataFrame it came from)"
            )
        if matrix and len(a.chunks[1]) != 1:
            raise ValueError(
                f"{name} must be chunked along rows only, got {len(a.chunks[1])} chunks of "
                f"columns; use {name}.rechunk({{1: -1}})"
            )
        if a.dtype.kind not in "biuf" and (matrix or name == "sample_weight"):
            raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
        return list(a.to_delayed().ravel()), tuple(a.chunks[0])
    if isinstance(a, (dd.DataFrame, dd.Series)):
        if matrix and not isinstance(a, dd.DataFrame):
            raise TypeError(f"{name} must be a dask DataFrame or a 2-D dask array, got a Series")
        if matrix:
            bad = [str(c) for c, t in a.dtypes.items() if t.kind not in "biuf"]
            if bad:
                raise TypeError(
                    f"{name} must have numeric columns only; not numeric: {', '.join(bad)}"
                )
        return list(a.to_delayed()), None
    raise TypeError(
        f"{name} must be a dask array or dask DataFrame/Series, got {type(a).__name__}; for "
        "data in memory use fastgd.SGDRegressor / fastgd.SGDClassifier"
    )


def _feature_names(X: Any) -> np.ndarray | None:
    if isinstance(X, dd.DataFrame):
        return np.asarray([str(c) for c in X.columns], dtype=object)
    return None


def distribute(
    client: Any, X: Any, y: Any, sample_weight: Any, classification: bool
) -> Distributed:
    """Check X, y and the sample weights, persist one partition per block of rows, and return
    what the driver needs. Raises (naming the argument, or the partition) before any step."""
    xs, x_rows = _row_blocks(X, "X", matrix=True)
    ys, y_rows = _row_blocks(y, "y", matrix=False)
    ws, w_rows = (
        (None, None)
        if sample_weight is None
        else _row_blocks(sample_weight, "sample_weight", matrix=False)
    )
    for other, rows, blocks in (("y", y_rows, ys), ("sample_weight", w_rows, ws)):
        if blocks is None:
            continue
        if len(blocks) != len(xs) or (rows is not None and x_rows is not None and rows != x_rows):
            shown = rows if rows is not None else f"{len(blocks)} partitions"
            raise ValueError(
                f"{other} must be chunked like X along rows: X has "
                f"{x_rows if x_rows is not None else f'{len(xs)} partitions'}, {other} {shown}; "
                f"rechunk {other} to X's row chunks (e.g. {other}.rechunk(X.chunks[0]))"
            )
    load = delayed(_partitions.load_partition, pure=True)
    tasks = [
        load(i, xs[i], ys[i], None if ws is None else ws[i], not classification)
        for i in range(len(xs))
    ]
    parts = client.compute(tasks)  # persisted: the futures keep them on the workers
    summaries = client.gather(
        [client.submit(_partitions.summary, p, classification) for p in parts]
    )
    keep = [i for i, sm in enumerate(summaries) if sm["n_rows"] > 0]
    if not keep:
        raise ValueError("X has no rows")
    if sum(summaries[i]["weight_sum"] for i in keep) <= 0:
        raise ValueError("sample_weight must contain at least one non-zero weight")
    first = summaries[keep[0]]
    for i in keep:
        if summaries[i]["dtype"] != first["dtype"] or summaries[i]["sparse"] != first["sparse"]:
            raise TypeError(
                f"partition {i} holds {summaries[i]['dtype']} "
                f"{'sparse' if summaries[i]['sparse'] else 'dense'} rows, partition {keep[0]} "
                f"{first['dtype']} {'sparse' if first['sparse'] else 'dense'}: all partitions "
                "must have the same kind of rows"
            )
    labels = counts = None
    if classification:
        labels = np.unique(np.concatenate([summaries[i]["labels"] for i in keep]))
        counts = np.zeros(len(labels), dtype=np.int64)
        for i in keep:
            counts[np.searchsorted(labels, summaries[i]["labels"])] += summaries[i]["counts"]
    return Distributed(
        parts=[parts[i] for i in keep],
        n_rows=[summaries[i]["n_rows"] for i in keep],
        n_features=int(first["n_features"]),
        dtype=np.dtype(first["dtype"]),
        sparse=bool(first["sparse"]),
        feature_names=_feature_names(X),
        labels=labels,
        label_counts=counts,
    )


def with_targets(client: Any, data: Distributed, classes, multi_class: str, class_weight) -> None:
    """Replace each partition by one holding its classifier targets (built once, on its
    worker)."""
    data.parts = [
        client.submit(_partitions.with_targets, p, classes, multi_class, class_weight)
        for p in data.parts
    ]
