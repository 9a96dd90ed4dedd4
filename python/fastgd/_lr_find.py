"""The learning-rate range test: :func:`lr_find` and its result, :class:`LRFinder`.

Smith, "Cyclical Learning Rates for Training Neural Networks" (2017), as fastai's ``lr_find`` and
torch-lr-finder run it: minibatch steps from a fresh model at rates growing exponentially from
``start`` to ``stop`` (each rate held for a few steps at small batches once the loss descends),
the loss after each rate smoothed by an exponential moving average, stopping once the smoothed
loss exceeds 4× its best; the suggestion is the rate where the smoothed loss falls fastest (the
steepest descent against log(rate)). Unlike fastai, the loss is measured on a fixed sample of
rows rather than on each step's batch (PROBE_ROWS says why).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _solver, ops
from ._orders import BlockOrder, shuffle
from ._validation import check_int, check_real

# The loss of each step is the objective on the same sample of rows (the first PROBE_ROWS of the
# fit's first order): a batch's own loss varies from batch to batch by more than a step changes
# it (per-sample steps most), which buries the descent; on fixed rows the curve moves only with
# the model. The moving average's weight of the past is then low, so that its lag (about
# 1/(1−β) steps, a fraction of a decade) does not shift the suggestion; and the divergence
# threshold.
PROBE_ROWS = 1024
SMOOTHING = 0.8
DIVERGENCE_FACTOR = 4.0
# The first steps' losses move with the smoothing's start more than with the rate, and the last
# ones with the divergence: the steepest descent is looked for between them (torch-lr-finder's
# skip_start=10, skip_end=5 of 100 steps).
SKIP_START = 0.1
SKIP_END = 0.05
# Once the loss descends, each rate is held for ⌈STEPS_AT_BATCH_1/√B⌉ steps of B rows (64
# per-sample steps, 4 steps of 256, one step from B = 4,096). With one step per rate, the loss
# falls fastest only near the divergence, 4-8× above the best constant rate of a fit
# (bench/test_bench_learning_rate.py): few rows have been seen by then, and small batches' steps
# move the loss by less than their noise. The 1/√B follows the batch gradient's noise; the
# constant was calibrated at B = 1 and 256 on the bench's problems (docs/learning_rate.md).
STEPS_AT_BATCH_1 = 64
# The rates before the smoothed loss has fallen DESCENT_START below its first value are too small
# to move the model: they get one step each, and the test's budget of about one epoch (past it,
# the model converges at the low rates and the test no longer probes a fresh one) goes to the
# rates where the loss moves.
DESCENT_START = 0.01


@dataclass
class LRFinder:
    """The range test's record: ``lrs`` (the rates tried, in order), ``losses`` (the smoothed
    loss after each), ``raw_losses`` (the objective after each rate's steps, on the probe
    rows), ``steps`` (how many steps each rate was held for) and ``suggestion`` (the rate of the
    steepest descent of the smoothed loss; NaN when the test ran fewer than 3 steps).
    ``plot(ax=None)`` draws losses against rates."""

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float
    diverged: bool = False
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ax_: Any = field(default=None, repr=False)
    figure_: Any = field(default=None, repr=False)
    line_: Any = field(default=None, repr=False)

    def plot(self, ax: Any = None) -> LRFinder:
        """The smoothed loss against the rate (log scale), the suggestion marked; on ``ax``, or
        on a new figure's axes (:class:`fastgd.display.LRFinderDisplay`, which needs matplotlib).
        Returns self, with ``ax_``, ``figure_`` and ``line_`` set (the display's artists)."""
        from .display import LRFinderDisplay

        shown = LRFinderDisplay.from_result(self, ax=ax)
        self.ax_, self.figure_, self.line_ = shown.ax_, shown.figure_, shown.line_
        return self


def steps_for_rate(batch: int, steps_left: int, rates_left: int, descending: bool) -> int:
    """The steps the next rate of the test is held for, at a batch of ``batch`` rows: one until
    the loss descends, then ⌈STEPS_AT_BATCH_1/√batch⌉, no more than an equal share of the
    ``steps_left`` of the test's budget among the ``rates_left`` rates (at least one)."""
    if not descending:
        return 1
    wanted = math.ceil(STEPS_AT_BATCH_1 / math.sqrt(batch))
    return max(1, min(wanted, steps_left // max(rates_left, 1)))


def suggest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate where the smoothed loss falls fastest against log(rate) (NaN below 3 points)."""
    n = len(lrs)
    if n < 3:
        return math.nan
    lo = int(n * SKIP_START) if n >= 20 else 0
    hi = n - (int(n * SKIP_END) if n >= 20 else 0)
    slope = np.gradient(losses[lo:hi], np.log(lrs[lo:hi]))
    return float(lrs[lo + int(np.argmin(slope))])


def lr_find(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    start: float = 1e-6,
    stop: float = 10.0,
    n_steps: int = 100,
    sample_weight: Any = None,
) -> LRFinder:
    """The learning-rate range test of ``estimator`` (a fastgd SGDRegressor or SGDClassifier) on
    (X, y): minibatch steps (of its ``batch_size``, with its loss, penalty, optimizer and
    threads) from a fresh model, at ``n_steps`` rates growing geometrically from ``start`` to
    ``stop``: one step each until the loss has fallen 1% below its first value, then
    ⌈64/√batch_size⌉ steps each (64 per-sample steps, 4 of 256 rows, one from 4,096 rows),
    fewer where the test would then read more than about one epoch of X.

    After each rate's steps the objective (loss and penalty) is measured on the same up to 1,024
    rows (the first of the fit's first row order; a copy of them is the test's only copy of
    data) and smoothed by an exponential moving average (weight 0.8 of the past, debiased); the
    test stops once the smoothed loss exceeds 4× its lowest value or becomes non-finite. Returns
    an :class:`LRFinder` whose ``suggestion`` is the rate of the steepest descent of the smoothed
    loss. ``estimator`` is never modified: a clone (scikit-learn's ``clone``) is trained. Costs
    about one epoch at most (``batch_size=None``: ``n_steps`` passes over X).
    """
    from sklearn.base import clone

    from .linear_model._base import _BaseSGD

    if not isinstance(estimator, _BaseSGD):
        raise TypeError(
            f"estimator must be a fastgd SGDRegressor or SGDClassifier, got "
            f"{type(estimator).__name__}"
        )
    start = check_real(start, "start", low=0.0, low_open=True)
    stop = check_real(stop, "stop", low=0.0, low_open=True)
    if not stop > start:
        raise ValueError(f"stop must be > start, got start={start!r}, stop={stop!r}")
    n_steps = check_int(n_steps, "n_steps", low=2)
    lrs = np.geomspace(start, stop, n_steps)
    probe = clone(estimator)
    # A fresh model on all rows: no warm start, no validation split; the rates are the test's.
    probe.set_params(
        learning_rate="constant", eta0=start, warm_start=False, early_stopping=False, max_iter=1
    )
    found: list[LRFinder] = []

    def range_test(X, tasks, settings, rng, train_rows, orders):
        # The fit's first order (the one its first epoch would take), then, when the test runs
        # past an epoch, the next ones drawn as the fit draws them; storage order without shuffle.
        first = None
        if orders is not None:
            first = orders.next()  # the last order it draws (max_iter=1): nothing left in flight
            orders.close()
            if isinstance(first, BlockOrder):  # shuffle="block": its rows (later epochs shuffled)
                first = first.rows

        def epoch_order(epoch: int) -> np.ndarray:
            if first is None:
                return np.arange(X.shape[0], dtype=np.int64)
            if epoch > 0:
                shuffle(rng, first)
            return first.copy()

        found.append(_range_test(X, tasks, settings, epoch_order, lrs))
        return _solver.Result(n_iter=0)

    probe._run = range_test
    probe.fit(X, y, sample_weight=sample_weight)
    return found[0]


def _range_test(X, tasks, s: _solver.Settings, epoch_order, lrs) -> LRFinder:
    """The steps of the range test on the fit's prepared tasks (fresh models, trained in place)."""
    m = X.shape[0]
    batch = m if s.batch_size is None else min(s.batch_size, m)
    threads = max(1, s.n_threads // len(tasks))
    _solver._prepare_problems(X, tasks, s, batch, threads)
    order, epoch = epoch_order(0), 0
    probes = _probe_problems(X, tasks, s, np.sort(order[:PROBE_ROWS]), threads)
    tried, smoothed, raw, held = [], [], [], []
    average, best, diverged = 0.0, math.inf, False
    # About one epoch of steps, at least one per rate.
    steps_left = max(len(lrs), ops.n_steps(m, batch))
    for k, lr in enumerate(lrs):
        rate = np.full(1, lr)
        descending = bool(smoothed) and best < (1.0 - DESCENT_START) * smoothed[0]
        steps = steps_for_rate(batch, steps_left, len(lrs) - k, descending)
        steps_left -= steps
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(steps):
                if len(order) == 0:  # as the fit, an epoch's last batch may be smaller
                    epoch += 1
                    order = epoch_order(epoch)
                rows, order = order[:batch], order[batch:]
                for task in tasks:
                    task.problem.run(
                        task.coef,
                        task.intercept,
                        rate,
                        rows,
                        check_order=False,
                        **ops._model_state(task.optimizer, task.average, task.coef),
                    )
            finite = all(
                np.isfinite(t.coef).all() and np.isfinite(t.intercept).all() for t in tasks
            )
            loss = sum(_objective(p, t) for p, t in zip(probes, tasks)) if finite else math.nan
        if not math.isfinite(loss):
            diverged = True
            break
        average = SMOOTHING * average + (1.0 - SMOOTHING) * loss
        value = average / (1.0 - SMOOTHING ** (k + 1))
        tried.append(lr)
        smoothed.append(value)
        raw.append(loss)
        held.append(steps)
        if value > DIVERGENCE_FACTOR * best:
            diverged = True
            break
        best = min(best, value)
    lrs_arr, losses = np.array(tried), np.array(smoothed)
    return LRFinder(
        lrs=lrs_arr,
        losses=losses,
        raw_losses=np.array(raw),
        suggestion=suggest(lrs_arr, losses),
        diverged=diverged,
        steps=np.array(held, dtype=np.int64),
    )


def _probe_problems(X, tasks, s: _solver.Settings, rows: np.ndarray, threads: int) -> list:
    """Each task's problem on the probe rows (a copy of at most PROBE_ROWS rows of X)."""
    Xp = X[rows]
    out = []
    for task in tasks:
        sw = None if task.sample_weight is None else task.sample_weight[rows]
        out.append(
            _solver.prepare_problem(
                Xp,
                task.y[rows],
                sw,
                s,
                task.coef,
                n_threads=threads,
                check_input=False,  # rows of the X the fit's problem checked
            )
        )
    return out


def _objective(problem, task) -> float:
    """The task's objective on the probe rows (loss and penalty)."""
    coef = np.ascontiguousarray(task.coef)
    intercept = task.intercept if coef.ndim == 2 else float(task.intercept[0])
    return float(problem.loss_and_grad(coef, intercept)[0])
