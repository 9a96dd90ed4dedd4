"""What one round runs on each partition, and the tree that sums the partitions' results.

A round's result from a partition is a list of float64 arrays (sums over its rows) that add up
elementwise; ``tree_sum`` adds them in a tree of ``fan_in`` children per node, in partition
order, so the total does not depend on which worker holds which partition.

The functions taking a :class:`Partition` run on the workers, one task per partition.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ._partitions import Partition, aligned


def _worker_threads(n_jobs: int | None) -> int:
    """Kernel threads on this worker: n_jobs, or else the worker's own thread count (not all the
    machine's cores: several workers may share a machine)."""
    if n_jobs is not None:
        return n_jobs
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError):  # not inside a worker (the synchronous scheduler)
        return 1


def loss_and_grad_sums(part: Partition, model: list[tuple[np.ndarray, Any]], spec: dict) -> list:
    """[rows, then per task: Σ s_i·L_i, Σ s_i·L'_i·x_i, Σ s_i·L'_i] over this partition, from the
    core's fused pass (``Problem.loss_and_grad``, without the penalty: the driver adds it once).
    ``model``: per task, its coefficients in X's dtype and its intercept."""
    options = dict(spec["options"], n_threads=_worker_threads(spec["n_jobs"]))
    problems = part.problems(options, aligned(model[0][0]))
    n = part.n_rows
    out: list[Any] = [np.array(float(n))]
    for k, (coef, intercept) in zip(spec["tasks"], model):
        loss, grad, grad_b = problems[k].loss_and_grad(aligned(coef), intercept)
        out += [np.array(loss * n), np.asarray(grad, np.float64) * n, np.asarray(grad_b, float) * n]
    return out


def local_epochs(part: Partition, model: list[dict], spec: dict) -> list:
    """``spec["local_epochs"]`` epochs of minibatch SGD on this partition from the round's model,
    each in a fresh order drawn from the round's seed and the partition's index. Returns
    [rows, then per task: rows·coef, rows·intercept, rows·optimizer state (if any), the epochs'
    progressive loss sum]: the summands of the row-weighted average."""
    n = part.n_rows
    options = dict(spec["options"], n_threads=_worker_threads(spec["n_jobs"]))
    if options["batch_size"] is None:  # full batch: one step per local epoch
        options["batch_size"] = n
    problems = part.problems(options, model[0]["coef"])
    rng = np.random.default_rng([spec["seed"], part.index])
    out: list[Any] = [np.array(float(n))]
    for k, task in zip(spec["tasks"], model):
        problem = problems[k]
        coef, intercept = task["coef"].copy(), task["intercept"].copy()
        optimizer = copy.deepcopy(task["optimizer"])
        steps = -(-n // options["batch_size"])
        loss, state = 0.0, None
        for epoch in range(spec["local_epochs"]):
            order = rng.permutation(n) if spec["shuffle"] else None
            lrs = task["rates"][epoch * steps : (epoch + 1) * steps]
            state = None if optimizer is None else optimizer.state_for(coef)
            loss += problem.run(
                coef,
                intercept,
                aligned(lrs),
                order,
                optimizer_state=None
                if state is None
                else (state.coef, state.intercept, state.step),
                average=None,
            )
        out += [coef.astype(np.float64) * n, intercept.astype(np.float64) * n]
        if state is not None:  # the optimizers that keep state: theirs is averaged too
            out += [state.coef.astype(np.float64) * n, state.intercept.astype(np.float64) * n]
        out.append(np.array(loss))
    return out


def identity(model: Any) -> Any:
    """The round's model, as a task's result on one worker, fetched by the others."""
    return model


def add(*results: list) -> list:
    """Elementwise sum of partitions' results (float64, in the order given)."""
    total = [np.array(a, dtype=np.float64, copy=True) for a in results[0]]
    for result in results[1:]:
        for acc, a in zip(total, result):
            acc += a
    return total


def tree_sum(client: Any, futures: list, fan_in: int) -> Any:
    """The future of the sum of ``futures``: a tree of ``add`` tasks with ``fan_in`` children
    each; the scheduler runs each node where most of its inputs are."""
    while len(futures) > 1:
        futures = [
            client.submit(add, *futures[i : i + fan_in]) for i in range(0, len(futures), fan_in)
        ]
    return futures[0]
