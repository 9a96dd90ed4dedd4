"""Tests of fastgd.schedules.

Every schedule is compared with its closed form, written out again here as a plain per-step
Python loop over ``math`` (the independent reference), then the edge cases: scalar input,
repr, argument validation, ``rates()`` checks, Warmup around callables, Adaptive's updates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fastgd import schedules
from fastgd.schedules import (
    Adaptive,
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseScaling,
    LinearDecay,
    OneCycle,
    Optimal,
    Schedule,
    StepDecay,
    Warmup,
    rates,
)

STEPS = np.arange(301, dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Independent references: one Python float per step
# --------------------------------------------------------------------------------------------


def ref_exponential(lr, decay_rate, decay_steps=1, staircase=False):
    def f(t):
        e = math.floor(t / decay_steps) if staircase else t / decay_steps
        return lr * decay_rate**e

    return f


def ref_step(lr, step_size, gamma=0.1):
    return lambda t: lr * gamma ** math.floor(t / step_size)


def ref_polynomial(lr, decay_steps, final_lr=0.0, power=1.0):
    return lambda t: (lr - final_lr) * (1 - min(t, decay_steps) / decay_steps) ** power + final_lr


def ref_invscaling(lr, power_t=0.25):
    return lambda t: lr / (t + 1) ** power_t


def ref_optimal_sklearn_t0(alpha):
    # scikit-learn's heuristic with max(1, dloss) == 1 (see test_optimal_t0_heuristic_*).
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    return 1.0 / (typw * alpha)


def ref_optimal(alpha, t0=None):
    t0 = ref_optimal_sklearn_t0(alpha) if t0 is None else t0
    return lambda t: 1.0 / (alpha * (t0 + t))


def ref_cosine(lr, decay_steps, final_lr=0.0):
    return lambda t: (
        final_lr
        + 0.5 * (lr - final_lr) * (1 + math.cos(math.pi * min(t, decay_steps) / decay_steps))
    )


def ref_one_cycle(lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """PyTorch's OneCycleLR.get_lr (two phases, cos), clamped to min_lr past the end."""
    initial = lr / div_factor
    min_lr = initial / final_div_factor
    phases = [
        (float(pct_start * total_steps) - 1, initial, lr),
        (total_steps - 1, lr, min_lr),
    ]

    def anneal(start, end, pct):
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)

    def f(t):
        if t >= total_steps:
            return min_lr
        start_step = 0.0
        for i, (end_step, start_lr, end_lr) in enumerate(phases):
            if t <= end_step or i == len(phases) - 1:
                return anneal(start_lr, end_lr, (t - start_step) / (end_step - start_step))
            start_step = end_step

    return f


def ref_warmup(inner, warmup_steps, start_factor=0.0):
    def f(t):
        if t < warmup_steps:
            return inner(0) * (start_factor + (1 - start_factor) * t / warmup_steps)
        return inner(t - warmup_steps)

    return f


CLOSED_FORM = [
    pytest.param(Constant(0.05), lambda t: 0.05, id="constant"),
    pytest.param(ExponentialDecay(0.1, 0.96), ref_exponential(0.1, 0.96), id="exp"),
    pytest.param(
        ExponentialDecay(0.1, 0.5, decay_steps=40),
        ref_exponential(0.1, 0.5, 40),
        id="exp-decay_steps",
    ),
    pytest.param(
        ExponentialDecay(0.1, 0.5, decay_steps=40, staircase=True),
        ref_exponential(0.1, 0.5, 40, True),
        id="exp-staircase",
    ),
    pytest.param(ExponentialDecay(0.1, 1.0), ref_exponential(0.1, 1.0), id="exp-rate1"),
    pytest.param(StepDecay(0.5, 30), ref_step(0.5, 30), id="step"),
    pytest.param(StepDecay(0.5, 7, gamma=0.8), ref_step(0.5, 7, 0.8), id="step-gamma"),
    pytest.param(LinearDecay(0.2, 250), ref_polynomial(0.2, 250), id="linear"),
    pytest.param(
        LinearDecay(0.2, 100, final_lr=0.01), ref_polynomial(0.2, 100, 0.01), id="linear-final_lr"
    ),
    pytest.param(
        LinearDecay(0.2, 100, final_lr=0.01, power=2.5),
        ref_polynomial(0.2, 100, 0.01, 2.5),
        id="poly-power2.5",
    ),
    pytest.param(
        LinearDecay(0.2, 100, final_lr=0.2), ref_polynomial(0.2, 100, 0.2), id="linear-final_eq_lr"
    ),
    pytest.param(InverseScaling(0.01), ref_invscaling(0.01), id="invscaling"),
    pytest.param(
        InverseScaling(0.01, power_t=0.5), ref_invscaling(0.01, 0.5), id="invscaling-power0.5"
    ),
    pytest.param(
        InverseScaling(0.01, power_t=0.0), ref_invscaling(0.01, 0.0), id="invscaling-power0"
    ),
    pytest.param(Optimal(1e-4), ref_optimal(1e-4), id="optimal"),
    pytest.param(Optimal(0.5), ref_optimal(0.5), id="optimal-alpha0.5"),
    pytest.param(Optimal(1e-3, t0=7.5), ref_optimal(1e-3, 7.5), id="optimal-t0"),
    pytest.param(CosineDecay(0.1, 200), ref_cosine(0.1, 200), id="cosine"),
    pytest.param(
        CosineDecay(0.1, 120, final_lr=0.001), ref_cosine(0.1, 120, 0.001), id="cosine-final_lr"
    ),
    pytest.param(OneCycle(0.1, 100), ref_one_cycle(0.1, 100), id="onecycle"),
    pytest.param(
        OneCycle(0.1, 37, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
        ref_one_cycle(0.1, 37, 0.25, 10.0, 100.0),
        id="onecycle-fractional-end1",
    ),
    pytest.param(
        OneCycle(0.1, 250, pct_start=0.0), ref_one_cycle(0.1, 250, 0.0), id="onecycle-pct0"
    ),
    pytest.param(
        OneCycle(0.1, 250, pct_start=1.0), ref_one_cycle(0.1, 250, 1.0), id="onecycle-pct1"
    ),
    pytest.param(OneCycle(0.1, 1), ref_one_cycle(0.1, 1), id="onecycle-1step"),
    pytest.param(
        Warmup(ExponentialDecay(0.1, 0.9, decay_steps=7), 20, start_factor=0.1),
        ref_warmup(ref_exponential(0.1, 0.9, 7), 20, 0.1),
        id="warmup-exp",
    ),
    pytest.param(
        Warmup(CosineDecay(0.1, 100), 1), ref_warmup(ref_cosine(0.1, 100), 1), id="warmup-1step"
    ),
]


@pytest.mark.parametrize("schedule, reference", CLOSED_FORM)
def test_matches_closed_form(schedule, reference):
    expected = [reference(int(t)) for t in STEPS]
    got = schedule(STEPS)
    assert got.dtype == np.float64 and got.shape == STEPS.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    # The training loop's path gives the same numbers, for any window of steps.
    np.testing.assert_allclose(rates(schedule, 17, 50), expected[17:67], rtol=1e-12, atol=0)


def test_onecycle_endpoints():
    s = OneCycle(1.0, 100, pct_start=0.3, div_factor=25.0, final_div_factor=1e4)
    assert s(0) == pytest.approx(1.0 / 25.0, rel=1e-15)
    assert s(29) == pytest.approx(1.0, rel=1e-15)  # end1 = 0.3 * 100 - 1 = 29
    assert s(99) == pytest.approx(1.0 / 25.0 / 1e4, rel=1e-12)
    assert s(100) == s(10**9) == 1.0 / 25.0 / 1e4  # clamped past total_steps


def test_onecycle_matches_torch():
    torch = pytest.importorskip("torch", reason="torch not installed; closed form tested above")
    for total, pct, div, fdiv in [(100, 0.3, 25.0, 1e4), (37, 0.25, 10.0, 100.0)]:
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=0.1)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=0.1,
            total_steps=total,
            pct_start=pct,
            anneal_strategy="cos",
            div_factor=div,
            final_div_factor=fdiv,
            three_phase=False,
            cycle_momentum=False,
        )
        expected = []
        for _ in range(total):
            expected.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        got = OneCycle(0.1, total, pct, div, fdiv)(np.arange(total))
        np.testing.assert_allclose(got, expected, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Optimal vs scikit-learn
# --------------------------------------------------------------------------------------------


# dL/dp of every loss scikit-learn's SGD estimators offer, transcribed from its sources
# (sklearn/linear_model/_sgd_fast.pyx.tp and sklearn/_loss), with their default parameters.
def _dloss_references(eps=0.1):
    return {
        "hinge": lambda p, y: -y if p * y <= 1.0 else 0.0,
        "perceptron": lambda p, y: -y if p * y <= 0.0 else 0.0,
        "squared_hinge": lambda p, y: -2 * y * (1.0 - p * y) if 1.0 - p * y > 0 else 0.0,
        "modified_huber": lambda p, y: (
            0.0 if p * y >= 1 else -2 * y * (1 - p * y) if p * y >= -1 else -4 * y
        ),
        "log_loss": lambda p, y: 1 / (1 + math.exp(-p)) - y,  # half binomial, y in {0, 1}
        "squared_error": lambda p, y: p - y,  # half squared error
        "huber": lambda p, y: (p - y) if abs(p - y) <= eps else math.copysign(eps, p - y),
        "epsilon_insensitive": lambda p, y: -1.0 if y - p > eps else 1.0 if p - y > eps else 0.0,
        "squared_epsilon_insensitive": lambda p, y: (
            -2 * (y - p - eps) if y - p > eps else 2 * (p - y - eps) if p - y > eps else 0.0
        ),
    }


ALPHAS = [1e-6, 1e-4, 0.01, 1.0, 30.0]


@pytest.mark.parametrize("alpha", ALPHAS)
def test_optimal_t0_heuristic(alpha):
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    for name, dloss in _dloss_references().items():
        # scikit-learn's formula (_sgd_fast.pyx.tp), verbatim:
        initial_eta0 = typw / max(1.0, dloss(-typw, 1.0))
        optimal_init = 1.0 / (initial_eta0 * alpha)
        assert Optimal(alpha).t0_ == pytest.approx(optimal_init, rel=1e-14), name
    # scikit-learn's first rate (its t=1) is typw; ours is step 0.
    assert Optimal(alpha)(0) == pytest.approx(typw, rel=1e-14)


def _sklearn_dloss(loss, p, y):
    """dL/dp at (p, y) through scikit-learn's private loss objects (two APIs in 1.9)."""
    if hasattr(loss, "py_dloss"):
        return loss.py_dloss(p, y)
    out = np.empty(1)
    loss.gradient(np.array([y]), np.array([p]), None, out, 1)
    return float(out[0])


@pytest.mark.slow  # importing scikit-learn takes about a second
def test_optimal_t0_heuristic_with_sklearn_losses():
    sklearn_lm = pytest.importorskip("sklearn.linear_model")
    losses = {**sklearn_lm.SGDClassifier.loss_functions, **sklearn_lm.SGDRegressor.loss_functions}
    assert set(losses) <= set(_dloss_references())  # a new loss would need a look
    for alpha in ALPHAS:
        typw = math.sqrt(1.0 / math.sqrt(alpha))
        for name, (cls, *args) in losses.items():
            try:
                dloss = _sklearn_dloss(cls(*args), -typw, 1.0)
            except (AttributeError, TypeError) as exc:  # private API moved
                pytest.skip(f"cannot evaluate scikit-learn's {name} loss: {exc}")
            assert dloss == pytest.approx(_dloss_references()[name](-typw, 1.0), rel=1e-12), name
            initial_eta0 = typw / max(1.0, dloss)
            assert Optimal(alpha).t0_ == pytest.approx(1.0 / (initial_eta0 * alpha), rel=1e-14), (
                name
            )


def test_optimal_keeps_given_t0():
    assert Optimal(0.1).t0 is None
    assert Optimal(0.1, t0=3).t0 == Optimal(0.1, t0=3).t0_ == 3.0


# --------------------------------------------------------------------------------------------
# Steps: scalars, shapes, dtypes, validation
# --------------------------------------------------------------------------------------------


def test_scalar_step_returns_float64():
    s = ExponentialDecay(0.1, 0.5, decay_steps=2)
    for step in (5, np.int32(5), np.uint8(5), np.array(5)):
        out = s(step)
        assert type(out) is np.float64
        assert out == s(np.array([5]))[0] == 0.1 * 0.5**2.5


def test_shape_and_dtype_preserved():
    s = CosineDecay(0.1, 10)
    steps = np.arange(12, dtype=np.int32).reshape(3, 4)
    out = s(steps)
    assert out.shape == (3, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out.ravel(), s(np.arange(12)))
    assert s(np.array([], dtype=np.int64)).shape == (0,)
    assert s([3, 4]).shape == (2,)  # lists of ints are fine


@pytest.mark.parametrize(
    "steps",
    [1.5, np.array([0.0, 1.0]), True, np.array([True]), "3", [], [1, 2.0]],
    ids=["float", "float-array", "bool", "bool-array", "str", "empty-list", "mixed-list"],
)
def test_non_integer_steps_rejected(steps):
    with pytest.raises(TypeError, match="steps"):
        Constant(0.1)(steps)


@pytest.mark.parametrize(
    "steps", [-1, np.array([0, 5, -3]), np.array([-(2**40)])], ids=["scalar", "array", "large"]
)
def test_negative_steps_rejected(steps):
    with pytest.raises(ValueError, match="steps"):
        StepDecay(0.1, 3)(steps)


def test_huge_uint64_steps_rejected():
    with pytest.raises(ValueError, match="steps"):
        Constant(0.1)(np.array([2**63], dtype=np.uint64))


# --------------------------------------------------------------------------------------------
# repr
# --------------------------------------------------------------------------------------------

REPR_CASES = [
    (Constant(1), "Constant(lr=1.0)"),
    (Constant(np.float64(0.1)), "Constant(lr=0.1)"),
    (
        ExponentialDecay(0.1, 0.5),
        "ExponentialDecay(lr=0.1, decay_rate=0.5, decay_steps=1, staircase=False)",
    ),
    (StepDecay(0.1, np.int64(30)), "StepDecay(lr=0.1, step_size=30, gamma=0.1)"),
    (LinearDecay(0.1, 100), "LinearDecay(lr=0.1, decay_steps=100, final_lr=0.0, power=1.0)"),
    (InverseScaling(0.01), "InverseScaling(lr=0.01, power_t=0.25)"),
    (Optimal(1e-4), "Optimal(alpha=0.0001, t0=None)"),
    (CosineDecay(0.1, 50, final_lr=0.001), "CosineDecay(lr=0.1, decay_steps=50, final_lr=0.001)"),
    (
        OneCycle(0.1, 100),
        "OneCycle(lr=0.1, total_steps=100, pct_start=0.3, div_factor=25.0, "
        "final_div_factor=10000.0)",
    ),
    (
        Warmup(Constant(0.1), 10),
        "Warmup(schedule=Constant(lr=0.1), warmup_steps=10, start_factor=0.0)",
    ),
    (
        Adaptive(0.1),
        "Adaptive(lr=0.1, factor=5.0, patience=5, tol=0.001, min_lr=1e-06, decay_from=None, "
        "decay_steps=0)",
    ),
]


REPR_IDS = [f"{i}-{text.split('(')[0]}" for i, (_, text) in enumerate(REPR_CASES)]


@pytest.mark.parametrize("schedule, text", REPR_CASES, ids=REPR_IDS)
def test_repr(schedule, text):
    assert repr(schedule) == text


class HalfEvery(Schedule):
    """The custom schedule of the module docstring."""

    def __init__(self, lr, every):
        self.lr = lr
        self.every = every

    def _rates(self, steps):
        return self.lr * 0.5 ** (steps // self.every)


def test_custom_subclass():
    s = HalfEvery(0.8, every=10)
    assert repr(s) == "HalfEvery(lr=0.8, every=10)"
    np.testing.assert_array_equal(rates(s, 0, 30), np.repeat([0.8, 0.4, 0.2], 10))
    assert s(25) == 0.2
    assert s.update(1.0) is False and s.reset() is None


# --------------------------------------------------------------------------------------------
# Constructor validation: the message names the parameter and shows the bad value
# --------------------------------------------------------------------------------------------

BAD_ARGS = [
    # (factory, exception, parameter, bad value as shown)
    (lambda: Constant(0), ValueError, "lr", "0"),
    (lambda: Constant(-0.1), ValueError, "lr", "-0.1"),
    (lambda: Constant(float("nan")), ValueError, "lr", "nan"),
    (lambda: Constant(float("inf")), ValueError, "lr", "inf"),
    (lambda: Constant("0.1"), TypeError, "lr", "'0.1'"),
    (lambda: Constant(True), TypeError, "lr", "True"),
    (lambda: Constant(None), TypeError, "lr", "None"),
    (lambda: ExponentialDecay(0.1, 0), ValueError, "decay_rate", "0"),
    (lambda: ExponentialDecay(0.1, 1.5), ValueError, "decay_rate", "1.5"),
    (lambda: ExponentialDecay(0.1, -0.5), ValueError, "decay_rate", "-0.5"),
    (lambda: ExponentialDecay(0.1, 0.5, decay_steps=0), ValueError, "decay_steps", "0"),
    (lambda: ExponentialDecay(0.1, 0.5, decay_steps=10.0), TypeError, "decay_steps", "10.0"),
    (lambda: ExponentialDecay(0.1, 0.5, decay_steps=True), TypeError, "decay_steps", "True"),
    (lambda: ExponentialDecay(0.1, 0.5, staircase=1), TypeError, "staircase", "1"),
    (lambda: ExponentialDecay(-1, 0.5), ValueError, "lr", "-1"),
    (lambda: StepDecay(0.1, 0), ValueError, "step_size", "0"),
    (lambda: StepDecay(0.1, -3), ValueError, "step_size", "-3"),
    (lambda: StepDecay(0.1, 2.5), TypeError, "step_size", "2.5"),
    (lambda: StepDecay(0.1, 10, gamma=0), ValueError, "gamma", "0"),
    (lambda: StepDecay(0.1, 10, gamma=1.1), ValueError, "gamma", "1.1"),
    (lambda: LinearDecay(0.1, 0), ValueError, "decay_steps", "0"),
    (lambda: LinearDecay(0.1, 10, final_lr=-0.01), ValueError, "final_lr", "-0.01"),
    (lambda: LinearDecay(0.1, 10, final_lr=0.2), ValueError, "final_lr", "0.2"),
    (lambda: LinearDecay(0.1, 10, final_lr=float("nan")), ValueError, "final_lr", "nan"),
    (lambda: LinearDecay(0.1, 10, power=0), ValueError, "power", "0"),
    (lambda: LinearDecay(0.1, 10, power=-1.0), ValueError, "power", "-1.0"),
    (lambda: InverseScaling(0.1, power_t=float("nan")), ValueError, "power_t", "nan"),
    (lambda: InverseScaling(0, power_t=0.25), ValueError, "lr", "0"),
    (lambda: Optimal(0), ValueError, "alpha", "0"),
    (lambda: Optimal(-1e-4), ValueError, "alpha", "-0.0001"),
    (lambda: Optimal(float("inf")), ValueError, "alpha", "inf"),
    (lambda: Optimal(1e-4, t0=0), ValueError, "t0", "0"),
    (lambda: Optimal(1e-4, t0=-5.0), ValueError, "t0", "-5.0"),
    (lambda: Optimal(1e-4, t0="auto"), TypeError, "t0", "'auto'"),
    (lambda: CosineDecay(0.1, 0), ValueError, "decay_steps", "0"),
    (lambda: CosineDecay(0.1, 10, final_lr=0.5), ValueError, "final_lr", "0.5"),
    (lambda: OneCycle(0.1, 0), ValueError, "total_steps", "0"),
    (lambda: OneCycle(0.1, 100.0), TypeError, "total_steps", "100.0"),
    (lambda: OneCycle(0.1, 100, pct_start=1.5), ValueError, "pct_start", "1.5"),
    (lambda: OneCycle(0.1, 100, pct_start=-0.1), ValueError, "pct_start", "-0.1"),
    (lambda: OneCycle(0.1, 2, pct_start=0.5), ValueError, "pct_start", "0.5"),
    (lambda: OneCycle(0.1, 100, div_factor=0), ValueError, "div_factor", "0"),
    (lambda: OneCycle(0.1, 100, final_div_factor=-1.0), ValueError, "final_div_factor", "-1.0"),
    (lambda: Warmup(0.1, 10), TypeError, "schedule", "0.1"),
    (lambda: Warmup(Constant(0.1), 0), ValueError, "warmup_steps", "0"),
    (lambda: Warmup(Constant(0.1), 10, start_factor=1.5), ValueError, "start_factor", "1.5"),
    (lambda: Warmup(Constant(0.1), 10, start_factor=-0.5), ValueError, "start_factor", "-0.5"),
    (lambda: Adaptive(0.1, factor=1.0), ValueError, "factor", "1.0"),
    (lambda: Adaptive(0.1, factor=0.2), ValueError, "factor", "0.2"),
    (lambda: Adaptive(0.1, patience=0), ValueError, "patience", "0"),
    (lambda: Adaptive(0.1, patience=1.5), TypeError, "patience", "1.5"),
    (lambda: Adaptive(0.1, tol=-1e-3), ValueError, "tol", "-0.001"),
    (lambda: Adaptive(0.1, tol=float("inf")), ValueError, "tol", "inf"),
    (lambda: Adaptive(0.1, min_lr=0.5), ValueError, "min_lr", "0.5"),
    (lambda: Adaptive(0.1, min_lr=-1.0), ValueError, "min_lr", "-1.0"),
    (lambda: Adaptive(0.1, decay_from=0.05), ValueError, "decay_from", "0.05"),
    (lambda: Adaptive(0.1, decay_from=float("inf")), ValueError, "decay_from", "inf"),
    (lambda: Adaptive(0.1, decay_steps=-1), ValueError, "decay_steps", "-1"),
    (lambda: Adaptive(0.1, decay_steps=2.5), TypeError, "decay_steps", "2.5"),
]


def _bad_arg_id(case):
    return f"{case[2]}={case[3]}"


@pytest.mark.parametrize(
    "factory, exc, name, shown",
    BAD_ARGS,
    ids=[f"{i}-{_bad_arg_id(c)}" for i, c in enumerate(BAD_ARGS)],
)
def test_invalid_constructor_argument(factory, exc, name, shown):
    with pytest.raises(exc, match=name) as info:
        factory()
    assert shown in str(info.value)


# --------------------------------------------------------------------------------------------
# rates(): the training loop's entry point
# --------------------------------------------------------------------------------------------


def test_rates_window():
    s = StepDecay(1.0, 10, gamma=0.5)
    out = rates(s, 15, 10)
    assert out.dtype == np.float64 and out.shape == (10,)
    np.testing.assert_array_equal(out, [0.5] * 5 + [0.25] * 5)
    assert rates(s, 3, 0).shape == (0,)
    assert rates(s, np.int64(3), np.int32(2)).shape == (2,)


def test_rates_plain_callables():
    np.testing.assert_array_equal(rates(lambda t: 0.01, 5, 4), [0.01] * 4)  # 0-d broadcast
    np.testing.assert_array_equal(rates(lambda t: 1.0 / (t + 1), 0, 3), [1.0, 0.5, 1 / 3])
    out = rates(np.ones_like, 0, 3)  # integer results become float64
    assert out.dtype == np.float64 and list(out) == [1.0, 1.0, 1.0]
    assert rates(lambda t: np.zeros(t.shape), 0, 2).tolist() == [0.0, 0.0]  # 0 is allowed


class Broken(Schedule):
    def __init__(self, lr):
        self.lr = lr

    def _rates(self, steps):
        return np.where(steps >= 3, -self.lr, self.lr)


@pytest.mark.parametrize(
    "schedule, start, exc, parts",
    [
        (lambda t: np.ones(3), 0, ValueError, ["shape (3,)", "(10,)"]),
        (lambda t: np.ones((10, 1)), 0, ValueError, ["shape (10, 1)"]),
        (lambda t: np.where(t == 7, np.nan, 0.1), 5, ValueError, ["nan", "step 7"]),
        (lambda t: np.where(t >= 12, np.inf, 0.1), 5, ValueError, ["inf", "step 12"]),
        (lambda t: 0.5 - 0.125 * t, 0, ValueError, ["-0.125", "step 5", ">= 0"]),
        (lambda t: float("nan"), 0, ValueError, ["nan", "step 0"]),
        (Broken(0.1), 0, ValueError, ["Broken(lr=0.1)", "-0.1", "step 3"]),
        (lambda t: t > 3, 0, TypeError, ["bool"]),
        (lambda t: np.full(t.shape, 0.1 + 0j), 0, TypeError, ["complex"]),
        (lambda t: "0.1", 0, TypeError, ["<U3"]),
        (lambda t: None, 0, TypeError, ["object"]),
    ],
    ids=[
        "short",
        "2d",
        "nan",
        "inf",
        "negative",
        "scalar-nan",
        "schedule-repr",
        "bool",
        "complex",
        "str",
        "none",
    ],
)
def test_rates_rejects_bad_output(schedule, start, exc, parts):
    with pytest.raises(exc, match="schedule") as info:
        rates(schedule, start, 10)
    for part in parts:
        assert part in str(info.value)


@pytest.mark.parametrize(
    "args, exc, name",
    [
        ((0.1, 0, 5), TypeError, "schedule"),
        ((None, 0, 5), TypeError, "schedule"),
        ((Constant(0.1), -1, 5), ValueError, "start"),
        ((Constant(0.1), 1.0, 5), TypeError, "start"),
        ((Constant(0.1), True, 5), TypeError, "start"),
        ((Constant(0.1), 0, -1), ValueError, "n_steps"),
        ((Constant(0.1), 0, 5.0), TypeError, "n_steps"),
    ],
    ids=[
        "float-schedule",
        "none-schedule",
        "negative-start",
        "float-start",
        "bool-start",
        "negative-n_steps",
        "float-n_steps",
    ],
)
def test_rates_rejects_bad_arguments(args, exc, name):
    with pytest.raises(exc, match=name):
        rates(*args)


# --------------------------------------------------------------------------------------------
# Warmup around plain callables
# --------------------------------------------------------------------------------------------


def test_warmup_around_lambda():
    inner = lambda t: 0.1 * 0.5 ** (t // 10)  # noqa: E731 - the point is a plain callable
    s = Warmup(inner, 5, start_factor=0.2)
    ref = ref_warmup(lambda t: 0.1 * 0.5 ** (t // 10), 5, 0.2)
    np.testing.assert_allclose(s(STEPS), [ref(int(t)) for t in STEPS], rtol=1e-12, atol=0)
    assert s(0) == pytest.approx(0.02) and s(5) == 0.1 and s(15) == 0.05
    assert s.update(3.0) is False and s.reset() is None  # nothing to forward to


def test_warmup_around_scalar_lambda():
    s = Warmup(lambda t: 0.05, 4)
    np.testing.assert_allclose(rates(s, 0, 6), [0.0, 0.0125, 0.025, 0.0375, 0.05, 0.05], rtol=1e-15)


def test_warmup_reports_bad_inner_schedule():
    with pytest.raises(ValueError, match="step 3"):
        Warmup(lambda t: 0.3 - 0.1 * t, 2)(np.arange(10))


def test_warmup_forwards_update_and_reset():
    inner = Adaptive(1.0, factor=2.0, patience=1, tol=0.5)
    s = Warmup(inner, 4)
    assert s.update(1.0) is False
    assert s.update(1.0) is True  # 1.0 > 1.0 - 0.5: no improvement -> halved
    assert inner.lr_ == 0.5
    np.testing.assert_array_equal(s(np.arange(6)), [0.0, 0.125, 0.25, 0.375, 0.5, 0.5])
    s.reset()
    assert inner.lr_ == 1.0


# --------------------------------------------------------------------------------------------
# Adaptive
# --------------------------------------------------------------------------------------------


def test_adaptive_update_sequence():
    # Values exact in binary, so "loss > best - tol" has no rounding borderline.
    s = Adaptive(1.0, factor=2.0, patience=2, tol=0.25)
    steps = np.arange(4)
    expected = [
        # (epoch loss, rate afterwards, counter, best)
        (8.0, 1.0, 0, 8.0),  # first epoch: best was inf, so it improved
        (7.875, 1.0, 1, 7.875),  # 7.875 > 8 - 0.25: no improvement, but best still moves
        (7.75, 0.5, 0, 7.75),  # 7.75 > 7.875 - 0.25: 2nd in a row -> halve, counter reset
        (7.0, 0.5, 0, 7.0),  # improved by more than tol
        (7.5, 0.5, 1, 7.0),
        (7.0, 0.25, 0, 7.0),  # 7.0 > 7.0 - 0.25 -> 2nd in a row -> halve
        (6.0, 0.25, 0, 6.0),
    ]
    assert s.lr_ == 1.0
    for loss, lr, count, best in expected:
        before = s.lr_
        assert s.update(loss) is (lr != before)  # True exactly when the rate was lowered
        assert (s.lr_, s.n_no_improvement_, s.best_loss_) == (lr, count, best), loss
        np.testing.assert_array_equal(s(steps), np.full(4, lr))
        np.testing.assert_array_equal(rates(s, 1000, 3), np.full(3, lr))
    # The other possible rule (best only moves on an improvement > tol) would have kept
    # best at 8.0 after 7.875, counted 7.75 as an improvement and never halved at epoch 3.


def test_adaptive_min_lr_and_reset():
    s = Adaptive(1.0, factor=4.0, patience=1, tol=0.5, min_lr=0.1)
    got = [(s.update(loss), s.lr_) for loss in [1.0, 1.0, 1.0, 1.0, 1.0]]
    # Divided while above min_lr (once below it, as scikit-learn's eta > 1e-6 test), then
    # update reports that it can lower no further.
    assert got == [(False, 1.0), (True, 0.25), (True, 0.0625), (False, 0.0625), (False, 0.0625)]
    s.reset()
    assert (s.lr_, s.n_no_improvement_, s.best_loss_) == (1.0, 0, math.inf)
    s.update(123.0)  # history forgotten: a worse loss than before still counts as a first
    assert s.lr_ == 1.0 and s.n_no_improvement_ == 0


def test_adaptive_first_decay_is_geometric_and_scales_with_the_halvings():
    s = Adaptive(0.5, factor=2.0, patience=1, tol=0.0, decay_from=8.0, decay_steps=4)
    # 8·(0.5/8)^(t/4): 8, 4, 2, 1, then 0.5 from step 4 on.
    np.testing.assert_allclose(s(np.arange(7)), [8, 4, 2, 1, 0.5, 0.5, 0.5], rtol=1e-15)
    s.update(1.0)
    assert s.update(2.0) is True and s.lr_ == 0.25  # a halving scales the decay with it
    np.testing.assert_allclose(s(np.arange(6)), [4, 2, 1, 0.5, 0.25, 0.25], rtol=1e-15)
    s.reset()
    np.testing.assert_allclose(s(np.array([0, 4])), [8, 0.5], rtol=1e-15)
    # No decay: decay_from at lr, or no steps.
    for plain in (Adaptive(0.5, decay_from=0.5, decay_steps=4), Adaptive(0.5, decay_from=8.0)):
        np.testing.assert_array_equal(plain(np.arange(5)), np.full(5, 0.5))


@pytest.mark.parametrize(
    "loss, exc",
    [(float("nan"), ValueError), (float("inf"), ValueError), ("1.0", TypeError), (None, TypeError)],
    ids=["nan", "inf", "str", "none"],
)
def test_adaptive_rejects_bad_loss(loss, exc):
    s = Adaptive(0.1)
    with pytest.raises(exc, match="epoch_loss"):
        s.update(loss)
    assert s.lr_ == 0.1 and s.n_no_improvement_ == 0


def test_stateless_update_is_noop():
    s = ExponentialDecay(0.1, 0.5)
    before = s(STEPS)
    assert s.update(1.0) is False and s.reset() is None
    np.testing.assert_array_equal(s(STEPS), before)


def test_all_exported():
    for name in schedules.__all__:
        assert getattr(schedules, name).__doc__
