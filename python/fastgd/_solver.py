"""The training loop shared by every estimator: epochs over the fused kernel.

Per epoch: draw the row order from the seeded Generator, ask each task's schedule for the rates
of that epoch's global steps, run one kernel call per task (the whole epoch), record the epoch
loss, check for divergence, then decide whether to stop. No per-step Python work.

A *task* is one linear model trained on X: a regressor has one, a binary classifier one, a
one-vs-rest classifier one per class. Tasks share X and the row order; each has its own targets,
sample weights, coefficients, schedule and stopping state, as scikit-learn's one-vs-rest does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _progress, ops, schedules
from ._orders import BlockOrder, BlockOrders, ShuffledOrders, row_bytes
from ._validation import as_vector
from .schedules import Plateau

# Rows per block when scoring the validation split, so that no copy of X[validation] is made.
_SCORE_BLOCK = 8192
# Steps per kernel call: an epoch of many small steps runs as a few calls, so the schedule's
# rates (and its temporaries) take O(this) memory instead of O(n_samples). Results do not depend
# on it: steps are sequential either way.
STEPS_PER_CALL = 1 << 14

DIVERGENCE_ADVICE = (
    "Scale the features (e.g. sklearn.preprocessing.StandardScaler) or lower the learning rate "
    "(eta0)."
)


@dataclass
class Task:
    """One linear model: coef (d,) and intercept (1,) are updated in place."""

    y: np.ndarray
    sample_weight: np.ndarray | None
    coef: np.ndarray
    intercept: np.ndarray
    schedule: Callable[[np.ndarray], Any]
    optimizer: Any = None  # a fastgd.optimizers object (None: plain SGD); holds its state
    average: Any = None  # a fastgd.optimizers.Average, or None
    step: int = 0  # global index of the next step, for the schedule
    n_iter: int = 0
    active: bool = True
    last_loss: float = np.nan  # mean progressive loss of the last epoch
    objective: float = np.nan  # last_loss + the penalty at the end of the epoch
    plateau: Plateau | None = None
    problem: Any = None  # the prepared problem (fastgd._core.Problem) of this fit
    validation_score: float = np.nan  # with early stopping: the score after the last epoch


@dataclass
class Settings:
    """Everything about a fit that is not data."""

    loss: str
    penalty: str
    alpha: float
    l1_ratio: float
    epsilon: float
    fit_intercept: bool
    batch_size: int | None  # None: full-batch gradient descent
    max_iter: int
    tol: float | None  # None: no stopping on the loss
    n_iter_no_change: int
    shuffle: bool | str  # True, False or "block"
    n_threads: int
    classification: bool
    callbacks: Sequence[Callable[[int, float], Any]] = ()
    verbose: int = 0
    validation_rows: np.ndarray | None = None  # early stopping on these rows
    label_smoothing: float = 0.0  # loss="multinomial" only
    sparse_updates: str = "auto"  # optimizers on sparse X
    intercept_decay: float = 1.0  # sparse X: the intercept's updates are multiplied by it
    l1_method: str = "proximal"  # how the steps apply L1 (fastgd.ops.sgd_epoch)
    values_checked: bool = False  # X's values were checked this fit (learning_rate="auto")


@dataclass
class Result:
    n_iter: int
    loss_curve: list[float] = field(default_factory=list)
    # With early stopping, per epoch: the mean over the tasks of their validation score.
    validation_scores: list[float] = field(default_factory=list)
    stopped_by_callback: bool = False


class DivergenceError(ValueError):
    """Training produced a non-finite loss or weight."""


@dataclass
class TaskState:
    """What a task carries from one fit call to the next (partial_fit): its schedule, its
    optimizer (with the optimizer's state) and its average."""

    schedule: Callable[[np.ndarray], Any]
    optimizer: Any = None
    average: Any = None


def make_tasks(targets, sample_weights, coef, intercept, states, start_step=0, joint=False):
    """One Task per row of coef (K, d) and entry of intercept (K,), trained in place, each with
    its own TaskState (stateful schedules and optimizers keep one state per task); or, with
    ``joint``, one Task for all of them (a softmax model)."""
    if joint:
        st = states[0]
        return [
            Task(
                y=targets[0],
                sample_weight=sample_weights[0],
                coef=coef,
                intercept=intercept,
                schedule=st.schedule,
                optimizer=st.optimizer,
                average=st.average,
                step=start_step,
            )
        ]
    return [
        Task(
            y=y,
            sample_weight=sw,
            coef=coef[k],
            intercept=intercept[k : k + 1],
            schedule=st.schedule,
            optimizer=st.optimizer,
            average=st.average,
            step=start_step,
        )
        for k, (y, sw, st) in enumerate(zip(targets, sample_weights, states))
    ]


def _validation_score(X, rows, task: Task, classification: bool) -> float:
    """Accuracy (classification, labels ±1) or R² of the task on the validation rows."""
    p = (
        np.concatenate(
            [X[rows[i : i + _SCORE_BLOCK]] @ task.coef.T for i in range(0, len(rows), _SCORE_BLOCK)]
        )
        + task.intercept
    )
    w = None if task.sample_weight is None else task.sample_weight[rows].astype(np.float64)
    if task.coef.ndim == 2:  # softmax: class indices, or probabilities (their argmax)
        y = task.y[rows] if task.y.ndim == 1 else task.y[rows].argmax(1)
        return float(np.average(p.argmax(1) == y, weights=w))
    p = p.reshape(-1)
    y = task.y[rows].astype(np.float64)
    if classification:
        return float(np.average(np.where(p > 0, 1.0, -1.0) == y, weights=w))
    mean = np.average(y, weights=w)
    sw = np.ones_like(y) if w is None else w
    denom = sw @ (y - mean) ** 2
    return float(1.0 - (sw @ (y - p) ** 2) / denom) if denom > 0 else 0.0


def start_orders(
    shuffle: bool | str,
    rng: np.random.Generator,
    X: Any,
    n_rows: int,
    rows: np.ndarray | None = None,
    n_epochs: int | None = None,
) -> ShuffledOrders | BlockOrders:
    """The epochs' orders of ``shuffle`` (True: full permutations; "block": block-shuffled), of
    ``n_rows`` rows or of ``rows``, the first one drawn at once."""
    if shuffle == "block":
        return BlockOrders(rng, n_rows, row_bytes(X), rows, n_epochs=n_epochs)
    return ShuffledOrders(rng, n_rows, rows, n_epochs=n_epochs)


def run(
    X: np.ndarray,
    tasks: list[Task],
    s: Settings,
    rng: np.random.Generator,
    train_rows: np.ndarray | None = None,
    orders: ShuffledOrders | BlockOrders | None = None,
) -> Result:
    """Train the tasks for up to ``s.max_iter`` epochs; coef/intercept change in place.

    ``orders``: the epochs' row orders, when the caller started drawing them from ``rng``
    already (they are closed here); otherwise, with ``s.shuffle``, they start here.

    ``train_rows`` restricts training to those rows (None: all). Raises DivergenceError (a
    ValueError) on a non-finite loss or weight; the caller keeps its previous model by passing
    fresh arrays in the tasks.
    """
    m = X.shape[0] if train_rows is None else len(train_rows)
    batch = m if s.batch_size is None else min(s.batch_size, m)
    n_steps = ops.n_steps(m, batch)
    # A call on sparse X ends with an O(coefficients) pass (the lazy penalty is brought up to
    # date): calls of at least that many steps keep it below O(1) per step.
    steps_per_call = STEPS_PER_CALL
    if not isinstance(X, np.ndarray):
        steps_per_call = max(STEPS_PER_CALL, int(tasks[0].coef.size))
    for task in tasks:
        task.plateau = Plateau(s.tol if s.tol is not None else 0.0)
    # Classes are trained side by side when there are several threads: each kernel then runs on
    # fewer threads, which loses nothing (each task reads all of X either way) and hides the
    # per-epoch Python work of one task behind the kernels of the others.
    workers = min(len(tasks), s.n_threads)
    kernel_threads = max(1, s.n_threads // workers)
    # The first order is drawn while the problem is checked (both release the GIL).
    if orders is None and s.shuffle:
        orders = start_orders(s.shuffle, rng, X, m, train_rows, n_epochs=s.max_iter)
    pool = None
    # A fastgd Schedule is a function of the steps within an epoch (its state changes only
    # between epochs, in update): each call's rates are then evaluated on this thread while the
    # kernel runs the call before (the kernel releases the GIL), instead of between the calls
    # ('invscaling' computes a power per step).
    rates_ahead = None
    if n_steps > steps_per_call and all(isinstance(t.schedule, schedules.Schedule) for t in tasks):
        rates_ahead = ThreadPoolExecutor(1, thread_name_prefix="fastgd-rates")
    progress = _progress.start(s.verbose, total=s.max_iter, rows=m)
    try:
        _prepare_problems(X, tasks, s, batch, kernel_threads)
        pool = ThreadPoolExecutor(workers) if workers > 1 else None
        result = Result(n_iter=0)
        for epoch in range(s.max_iter):
            start = time.perf_counter()
            order = orders.next() if orders is not None else train_rows

            stream = None
            if isinstance(order, BlockOrder):
                order, stream = order

            def one_epoch(task: Task, order=order, stream=stream) -> None:
                total = 0.0
                calls = [
                    (lo, min(n_steps, lo + steps_per_call))
                    for lo in range(0, n_steps, steps_per_call)
                ]

                def rates_of(lo: int, hi: int) -> np.ndarray:
                    return schedules.rates(task.schedule, task.step + lo, hi - lo)

                pending = None
                for k, (lo, hi) in enumerate(calls):
                    lrs = pending.result() if pending is not None else rates_of(lo, hi)
                    ahead = rates_ahead is not None and k + 1 < len(calls)
                    pending = rates_ahead.submit(rates_of, *calls[k + 1]) if ahead else None
                    part = None
                    if order is not None:
                        rows = order[lo * batch : hi * batch]
                        part = None if stream is None else stream[lo * batch : hi * batch]
                    elif n_steps > steps_per_call:
                        rows = np.arange(lo * batch, min(m, hi * batch))
                    else:
                        rows = None  # the whole epoch in storage order
                    total += task.problem.run(
                        task.coef,
                        task.intercept,
                        lrs,
                        rows,
                        check_order=False,  # slices of a permutation made above
                        stream=part,
                        **ops._model_state(task.optimizer, task.average, task.coef),
                    )
                    if task is tasks[0]:  # one task tells the bar how far the epoch is
                        progress.advance(min(m, hi * batch))
                task.last_loss = total / m
                task.step += n_steps
                task.n_iter += 1

            active = [t for t in tasks if t.active]
            if pool is None:
                for task in active:
                    one_epoch(task)
            else:
                list(pool.map(one_epoch, active))
            for task in active:
                _check_divergence(task, s, epoch, limit=float(np.finfo(X.dtype).max))
            result.n_iter = epoch + 1
            epoch_loss = float(sum(t.last_loss for t in tasks))
            result.loss_curve.append(epoch_loss)
            for task in active:
                _update_stopping(X, task, s)
            if s.validation_rows is not None:
                result.validation_scores.append(float(np.mean([t.validation_score for t in tasks])))
            progress.update(epoch + 1, epoch_loss)
            if s.verbose >= 2:
                progress.write(
                    f"-- Epoch {epoch + 1}: avg. loss {epoch_loss:.6g}, "
                    f"{sum(t.active for t in tasks)} of {len(tasks)} task(s) active, "
                    f"{time.perf_counter() - start:.3f} s"
                )
            if any(cb(epoch + 1, epoch_loss) is False for cb in s.callbacks):
                result.stopped_by_callback = True
                break
            if not any(t.active for t in tasks):
                break
    finally:
        progress.close()
        if pool is not None:
            pool.shutdown()
        if rates_ahead is not None:
            rates_ahead.shutdown()
        if orders is not None:
            orders.close()
    return result


def prepare_problem(
    X, y, sample_weight, s: Settings, coef, *, n_threads: int, check_input: bool, **epoch: Any
) -> Any:
    """``ops._prepare`` with the fit's objective (loss, penalty, α, ρ, ε, smoothing); ``epoch``:
    the options of its epochs (batch size, optimizer, ...), for problems that run them."""
    return ops._prepare(
        X,
        y,
        sample_weight,
        loss=s.loss,
        penalty=s.penalty,
        alpha=s.alpha,
        l1_ratio=s.l1_ratio,
        epsilon=s.epsilon,
        n_threads=n_threads,
        check_input=check_input,
        coef=coef,
        label_smoothing=s.label_smoothing,
        **epoch,
    )


def _prepare_problems(X, tasks: list[Task], s: Settings, batch: int, n_threads: int) -> None:
    """Check X, each task's targets and weights, and the options, once for the whole fit: the
    first task's problem checks X, the others share it with their own targets."""
    first = tasks[0]
    first.problem = prepare_problem(
        X,
        first.y,
        first.sample_weight,
        s,
        first.coef,
        n_threads=n_threads,
        check_input=not s.values_checked,  # X's NaN/inf: scanned once per fit, here or there
        batch_size=batch,
        fit_intercept=s.fit_intercept,
        optimizer=first.optimizer,
        average=first.average,
        sparse_updates=s.sparse_updates,
        intercept_decay=s.intercept_decay,
        l1_method=s.l1_method,
    )
    for task in tasks[1:]:
        sw = task.sample_weight
        task.problem = first.problem.with_targets(
            as_vector(task.y, "y", X.dtype),
            None if sw is None else as_vector(sw, "sample_weight", X.dtype),
        )


def _check_divergence(task: Task, s: Settings, epoch: int, limit: float) -> None:
    """Raise DivergenceError when the epoch left a non-finite weight, or an objective that the
    model's dtype cannot represent (float32 weights of 1e35 are finite, and useless: their
    predictions overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        task.objective = task.last_loss + task.problem.penalty_value(task.coef)
    if not (
        abs(task.objective) < limit
        and np.isfinite(task.coef).all()
        and np.isfinite(task.intercept).all()
    ):
        raise DivergenceError(
            f"Training diverged at epoch {epoch + 1}: the loss or the weights became NaN, "
            f"infinite or too large for {task.coef.dtype}. {DIVERGENCE_ADVICE}"
        )


def _update_stopping(X, task: Task, s: Settings) -> None:
    """scikit-learn's rule: n_iter_no_change epochs in a row without an improvement of tol in
    the objective (or the validation score, with early stopping) stop the task, unless the
    schedule lowers its rate in response (learning_rate='adaptive')."""
    if s.validation_rows is not None:
        task.validation_score = _validation_score(X, s.validation_rows, task, s.classification)
        monitor = -task.validation_score
    else:
        monitor = task.objective
    update = getattr(task.schedule, "update", None)
    adapted = bool(update(monitor)) if callable(update) else False
    if s.tol is None:
        return
    stalled = task.plateau.update(monitor) >= s.n_iter_no_change
    if adapted:
        task.plateau.count = 0  # a lower rate gets n_iter_no_change fresh epochs
    elif stalled:
        task.active = False
