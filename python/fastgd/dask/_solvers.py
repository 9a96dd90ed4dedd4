"""The three solvers, on the driver: each round sends the model to every worker once, runs one
task per partition (fastgd's kernels on that partition) and sums the results in a tree; the
driver then takes the step.

- ``gd``: full-batch gradient descent, the step of the local estimators' ``batch_size=None``
  (``fastgd.ops.sgd_epoch`` with one batch of all rows): w ← w − lr·(g + l2·w) (w zeroed first
  when lr·l2 ≥ 1), then the L1 proximal step, b ← b − lr·g_b, with g the mean over all rows of
  s_i·L'_i·x_i. The same iterates as a local fit, to rounding.
- ``lbfgs``: scipy's L-BFGS-B on the driver, on the reduced objective and gradient. With an L1
  part, w is split as u − v with u, v ≥ 0, so that ρα‖w‖₁ = ρα·Σ(u + v) is smooth and L-BFGS-B's
  bounds hold the zeros: the exact L1-penalized optimum, without OWL-QN's orthant projection
  (which scipy lacks).
- ``local_sgd``: each partition trains ``local_epochs`` epochs of minibatch SGD from the round's
  model (fastgd's epoch kernel), then the models and optimizer states are averaged, weighted by
  rows (local SGD, Stich 2019); the schedule runs on across rounds.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .. import _solver, schedules
from . import _rounds

SOLVERS = ("gd", "lbfgs", "local_sgd")
# Tries of a round that meets a lost worker before the fit stops with LostWorkerError.
_ROUND_ATTEMPTS = 4


def penalty_weights(penalty: str, alpha: float, l1_ratio: float) -> tuple[float, float]:
    """(l2, l1): the coefficients of ½‖w‖² and ‖w‖₁, as ``make_penalty`` (penalties.hpp)."""
    rho = {"none": 0.0, "l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio}[penalty]
    a = 0.0 if penalty == "none" else alpha
    return a * (1.0 - rho), a * rho


class LostWorkerError(RuntimeError):
    """A round could not complete: workers were lost and their partitions not recomputed."""


@dataclass
class Cluster:
    """The persisted partitions (futures, one per partition, in order) and how rounds run."""

    client: Any
    parts: list
    fan_in: int

    def round(self, fn: Any, model: Any, spec: dict, number: int) -> list[np.ndarray]:
        """``fn(partition, model, spec)`` on every partition, summed: the model sent once (a task
        holding it, which the workers fetch from each other, and which the scheduler can
        recompute, unlike scattered data), one task per partition, a tree of sums, one gather.
        A round that meets a worker lost since the last one (its connection closed) is run
        again once the scheduler knows: the lost partitions are recomputed from their source."""
        from distributed.client import FutureCancelledError
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        for attempt in range(_ROUND_ATTEMPTS):
            try:
                shared = self.client.submit(_rounds.identity, model)
                results = [self.client.submit(fn, part, shared, spec) for part in self.parts]
                return self.client.gather(_rounds.tree_sum(self.client, results, self.fan_in))
            except (CommClosedError, FutureCancelledError) as exc:
                if attempt + 1 == _ROUND_ATTEMPTS:
                    raise LostWorkerError(_lost(number, exc)) from exc
                time.sleep(0.5 * (attempt + 1))  # for the scheduler to remove the lost worker
            except KilledWorker as exc:
                raise LostWorkerError(_lost(number, exc)) from exc
        raise AssertionError("unreachable")


def _lost(number: int, exc: BaseException) -> str:
    return (
        f"round {number} failed: workers were lost and Dask could not recompute their "
        f"partitions ({exc}); the estimator keeps its previous model"
    )


@dataclass
class Fit:
    """What the solvers need besides the data and the tasks (see the estimators' parameters)."""

    settings: _solver.Settings  # the local solver's settings: loss, penalty, stopping, ...
    options: dict  # the prepared problem's options on the workers (fastgd.ops._prepare)
    n_jobs: int | None
    intercept_decay: float
    local_epochs: int
    seed: int
    progress: Any = None  # a fastgd._progress reporter, told of each round


def _check_round(task: _solver.Task, fit: Fit, number: int, dtype: Any) -> None:
    _solver._check_divergence(task, fit.settings, number, limit=float(np.finfo(dtype).max))


def _end_of_round(tasks: list, fit: Fit, number: int, curve: list, dtype: Any) -> bool:
    """The local solver's bookkeeping after an epoch: divergence, loss curve, stopping rule,
    callbacks. Returns whether to go on."""
    s = fit.settings
    active = [t for t in tasks if t.active]
    for task in active:
        _check_round(task, fit, number, dtype)
    loss = float(sum(t.last_loss for t in tasks))
    curve.append(loss)
    for task in active:
        _solver._update_stopping(None, task, s)
    _report(fit, number, loss)
    if any(cb(number + 1, loss) is False for cb in s.callbacks):
        return False
    return any(t.active for t in tasks)


def _report(fit: Fit, number: int, loss: float) -> None:
    if fit.progress is not None:
        fit.progress.update(number + 1, loss)
        fit.progress.write(f"-- Round {number + 1}: avg. loss {loss:.6g}")


def _intercept_arg(task: _solver.Task) -> Any:
    # Problem.loss_and_grad takes a pointwise model's intercept as a number, a softmax's as K.
    return task.intercept.copy() if task.coef.ndim == 2 else float(task.intercept[0])


def _warn_max_iter(s: _solver.Settings, n_iter: int, stopped: bool) -> None:
    if s.tol is not None and n_iter == s.max_iter and not stopped:
        warnings.warn(
            "Maximum number of iteration reached before convergence. Consider increasing "
            "max_iter to improve the fit.",
            ConvergenceWarning,
            stacklevel=4,
        )


def gradient_descent(cluster: Cluster, tasks: list, fit: Fit) -> _solver.Result:
    """Full-batch GD: one reduced loss and gradient per step (module docstring)."""
    s = fit.settings
    l2, l1 = penalty_weights(s.penalty, s.alpha, s.l1_ratio)
    result = _solver.Result(n_iter=0)
    for number in range(s.max_iter):
        active = [k for k, t in enumerate(tasks) if t.active]
        model = [(tasks[k].coef.copy(), _intercept_arg(tasks[k])) for k in active]
        spec = {"options": fit.options, "n_jobs": fit.n_jobs, "tasks": active}
        sums = cluster.round(_rounds.loss_and_grad_sums, model, spec, number)
        n = float(sums[0])
        for j, k in enumerate(active):
            task = tasks[k]
            loss, grad, grad_b = (a / n for a in sums[1 + 3 * j : 4 + 3 * j])
            lr = float(schedules.rates(task.schedule, task.step, 1)[0])
            w = np.zeros(task.coef.shape) if not 1.0 - lr * l2 > 0.0 else task.coef.astype(float)
            w -= lr * (grad + l2 * w)
            if l1 > 0.0:
                w = np.sign(w) * np.maximum(np.abs(w) - lr * l1, 0.0)
            task.coef[...] = w
            if s.fit_intercept:
                b = task.intercept.astype(float) - lr * grad_b * fit.intercept_decay
                task.intercept[...] = b
            task.last_loss = float(loss)
            task.step += 1
            task.n_iter += 1
        result.n_iter = number + 1
        if not _end_of_round(tasks, fit, number, result.loss_curve, tasks[0].coef.dtype):
            result.stopped_by_callback = any(t.active for t in tasks)
            break
    _warn_max_iter(s, result.n_iter, result.stopped_by_callback)
    return result


def local_sgd(cluster: Cluster, tasks: list, fit: Fit, steps_per_epoch: int) -> _solver.Result:
    """Periodic model averaging: ``local_epochs`` local epochs per round on every partition from
    the round's model, then the row-weighted mean of the models and optimizer states.
    ``steps_per_epoch``: the steps of the largest partition's epoch, by which the schedule's
    global step advances each local epoch."""
    s = fit.settings
    result = _solver.Result(n_iter=0)
    steps = fit.local_epochs * steps_per_epoch
    for number in range(s.max_iter):
        active = [k for k, t in enumerate(tasks) if t.active]
        model = [
            {
                "coef": tasks[k].coef.copy(),
                "intercept": tasks[k].intercept.copy(),
                "optimizer": tasks[k].optimizer,
                "rates": schedules.rates(tasks[k].schedule, tasks[k].step, steps),
            }
            for k in active
        ]
        spec = {
            "options": fit.options,
            "n_jobs": fit.n_jobs,
            "tasks": active,
            "local_epochs": fit.local_epochs,
            "shuffle": s.shuffle,
            "seed": [fit.seed, number],
        }
        sums = cluster.round(_rounds.local_epochs, model, spec, number)
        n = float(sums[0])
        at = 1
        for k in active:
            task = tasks[k]
            task.coef[...] = sums[at] / n
            task.intercept[...] = sums[at + 1] / n
            at += 2
            state = None if task.optimizer is None else task.optimizer.state_for(task.coef)
            if state is not None:
                state.coef[...] = sums[at] / n
                state.intercept[...] = sums[at + 1] / n
                state.step[0] = task.step + steps
                at += 2
            task.last_loss = float(sums[at]) / (n * fit.local_epochs)
            at += 1
            task.step += steps
            task.n_iter += 1
        result.n_iter = number + 1
        if not _end_of_round(tasks, fit, number, result.loss_curve, tasks[0].coef.dtype):
            result.stopped_by_callback = any(t.active for t in tasks)
            break
    _warn_max_iter(s, result.n_iter, result.stopped_by_callback)
    return result


def lbfgs(cluster: Cluster, tasks: list, fit: Fit) -> _solver.Result:
    """scipy's L-BFGS-B on all tasks' coefficients (and intercepts) at once: their objectives
    are separate, so the sum's optimum is each one's. ``tol`` is L-BFGS-B's ``gtol``."""
    from scipy.optimize import minimize

    s = fit.settings
    l2, l1 = penalty_weights(s.penalty, s.alpha, s.l1_ratio)
    shapes = [t.coef.shape for t in tasks]
    sizes = [int(np.prod(shape)) for shape in shapes]
    n_b = sum(t.intercept.size for t in tasks) if s.fit_intercept else 0
    d_all = sum(sizes)
    split = l1 > 0.0
    everything = list(range(len(tasks)))
    curve: list[float] = []
    last = {"value": np.nan}

    def unpack(x: np.ndarray) -> np.ndarray:
        w = x[:d_all] - x[d_all : 2 * d_all] if split else x[:d_all]
        at = 0
        for t, size in zip(tasks, sizes):
            t.coef[...] = w[at : at + size].reshape(t.coef.shape)
            at += size
        if s.fit_intercept:
            b = x[x.size - n_b :]
            at = 0
            for t in tasks:
                t.intercept[...] = b[at : at + t.intercept.size]
                at += t.intercept.size
        return w

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        w = unpack(x)
        model = [(t.coef.copy(), _intercept_arg(t)) for t in tasks]
        spec = {"options": fit.options, "n_jobs": fit.n_jobs, "tasks": everything}
        sums = cluster.round(_rounds.loss_and_grad_sums, model, spec, len(curve))
        n = float(sums[0])
        loss = sum(float(sums[1 + 3 * j]) for j in everything) / n
        g = np.concatenate([sums[2 + 3 * j].ravel() for j in everything]) / n + l2 * w
        gb = np.concatenate([np.ravel(sums[3 + 3 * j]) for j in everything]) / n
        value = loss + 0.5 * l2 * float(w @ w)
        if split:
            value += l1 * float(x[: 2 * d_all].sum())
            g = np.concatenate([g + l1, -g + l1])
        last["value"] = value
        return value, (np.concatenate([g, gb]) if s.fit_intercept else g)

    def iteration_done() -> None:
        curve.append(last["value"])
        _report(fit, len(curve) - 1, curve[-1])

    w0 = np.concatenate([t.coef.astype(float).ravel() for t in tasks])
    parts = [np.maximum(w0, 0.0), np.maximum(-w0, 0.0)] if split else [w0]
    if s.fit_intercept:
        parts.append(np.concatenate([t.intercept.astype(float) for t in tasks]))
    x0 = np.concatenate(parts)
    bounds = [(0.0, None)] * (2 * d_all) + [(None, None)] * n_b if split else None
    res = minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=lambda xk: iteration_done(),
        options={
            "maxiter": s.max_iter,
            "gtol": 0.0 if s.tol is None else s.tol,
            "ftol": 0.0,  # no stop on the objective's change: tol alone sets the accuracy
            "maxfun": 4 * s.max_iter + 20,
        },
    )
    if not (np.isfinite(res.x).all() and np.isfinite(res.fun)):
        raise _solver.DivergenceError(
            f"L-BFGS reached a non-finite objective or weight. {_solver.DIVERGENCE_ADVICE}"
        )
    unpack(res.x)
    for t in tasks:
        t.n_iter = t.step = int(res.nit)
    if res.status == 1 and s.tol is not None:
        _warn_max_iter(s, s.max_iter, False)
    return _solver.Result(n_iter=int(res.nit), loss_curve=curve)
