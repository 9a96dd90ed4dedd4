"""fastgd.display: each display draws its data (the artists' data are the inputs), labels its
axes, honours ax=, keeps its artists; matplotlib is not imported by `import fastgd`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastgd  # noqa: E402
from fastgd import schedules  # noqa: E402
from fastgd.display import (  # noqa: E402
    CoefficientDisplay,
    LossCurveDisplay,
    LRFinderDisplay,
    RegularizationPathDisplay,
    ScheduleDisplay,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _regression(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ np.arange(1.0, d + 1) + 0.1 * rng.standard_normal(n)
    return X, y


def test_import_fastgd_does_not_import_matplotlib():
    code = (
        "import sys, fastgd, fastgd.display, fastgd.inspection; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_loss_curve():
    X, y = _regression()
    est = fastgd.SGDRegressor(max_iter=7, tol=None, random_state=0).fit(X, y)
    shown = LossCurveDisplay.from_estimator(est)
    np.testing.assert_array_equal(shown.line_.get_xdata(), np.arange(1, 8))
    np.testing.assert_array_equal(shown.line_.get_ydata(), est.loss_curve_)
    assert shown.validation_line_ is None and shown.validation_ax_ is None
    assert shown.ax_.get_xlabel() == "epoch"
    assert shown.figure_ is shown.ax_.figure
    assert "SGDRegressor" in shown.line_.get_label()


def test_loss_curve_with_validation_on_given_axes():
    X, y = _regression()
    est = fastgd.SGDRegressor(
        early_stopping=True, max_iter=30, tol=None, random_state=0, n_iter_no_change=3
    ).fit(X, y)
    _, ax = plt.subplots()
    shown = LossCurveDisplay.from_estimator(est, ax=ax)
    assert shown.ax_ is ax
    np.testing.assert_array_equal(shown.validation_line_.get_ydata(), est.validation_scores_)
    assert shown.validation_ax_.get_ylabel() == "validation score"
    # plot() again on other axes: new artists there
    _, other = plt.subplots()
    assert shown.plot(ax=other).ax_ is other
    assert shown.line_.axes is other


def test_loss_curve_needs_a_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(fastgd.SGDRegressor())


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.CosineDecay(0.1, 100),
        schedules.Warmup(schedules.Constant(0.05), 10),
        lambda t: 0.1 / (1.0 + t),
    ],
    ids=["cosine", "warmup", "callable"],
)
def test_schedule(schedule):
    shown = ScheduleDisplay.from_schedule(schedule, 120, start=5)
    np.testing.assert_array_equal(shown.line_.get_xdata(), np.arange(5, 125))
    np.testing.assert_array_equal(shown.line_.get_ydata(), schedules.rates(schedule, 5, 120))
    assert shown.ax_.get_ylabel() == "learning rate" and shown.ax_.get_xlabel() == "step"


def test_schedule_log_scale_and_ax():
    _, ax = plt.subplots()
    shown = ScheduleDisplay.from_schedule(schedules.ExponentialDecay(1.0, 0.9), 50, ax=ax, log=True)
    assert shown.ax_ is ax and ax.get_yscale() == "log"


def test_coefficients_by_name():
    pd = pytest.importorskip("pandas")
    X, y = _regression()
    names = ["a", "b", "c", "d"]
    est = fastgd.SGDRegressor(random_state=0).fit(pd.DataFrame(X, columns=names), y)
    shown = CoefficientDisplay.from_estimator(est, max_features=3)
    (bars,) = shown.bars_
    order = np.argsort(-np.abs(est.coef_))[:3]
    widths = [patch.get_width() for patch in bars]
    np.testing.assert_array_equal(widths, est.coef_[order])
    ticks = shown.ax_.get_yticks()
    labels = [t.get_text() for t in shown.ax_.get_yticklabels()]
    top_down = [label for _, label in sorted(zip(ticks, labels), reverse=True)]
    assert top_down == [names[j] for j in order]  # the largest at the top
    assert shown.ax_.get_xlabel() == "coefficient"


def test_coefficients_standardized_multiclass():
    X, y = _regression(n=300)
    X = X * [1.0, 10.0, 0.1, 1.0]
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    est = fastgd.SGDClassifier(loss="log_loss", random_state=0).fit(
        StandardScaler().fit_transform(X), labels
    )
    Xs = StandardScaler().fit_transform(X)
    _, ax = plt.subplots()
    shown = CoefficientDisplay.from_estimator(est, Xs, standardized=True, ax=ax)
    assert shown.ax_ is ax and len(shown.bars_) == 3
    expected = np.atleast_2d(shown.coefficients.values)
    for k, bars in enumerate(shown.bars_):
        np.testing.assert_allclose([p.get_width() for p in bars], expected[k])
    assert "standardized" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


def test_lr_finder_display_and_plot_method():
    X, y = _regression(n=300)
    found = fastgd.lr_find(fastgd.SGDRegressor(batch_size=8, random_state=0), X, y, n_steps=40)
    shown = LRFinderDisplay.from_result(found)
    np.testing.assert_array_equal(shown.line_.get_xdata(), found.lrs)
    np.testing.assert_array_equal(shown.line_.get_ydata(), found.losses)
    assert shown.suggestion_line_.get_xdata()[0] == found.suggestion
    assert shown.ax_.get_xscale() == "log"
    _, ax = plt.subplots()
    assert found.plot(ax=ax) is found and found.ax_ is ax  # LRFinder.plot: the same drawing
    np.testing.assert_array_equal(found.line_.get_ydata(), found.losses)
    via_estimator = LRFinderDisplay.from_estimator(
        fastgd.SGDRegressor(batch_size=8, random_state=0), X, y, n_steps=40
    )
    np.testing.assert_array_equal(via_estimator.losses, found.losses)


def test_regularization_path():
    X, y = _regression(d=5)
    result = fastgd.path(X, y, n_alphas=12)
    shown = RegularizationPathDisplay.from_path(result)
    assert len(shown.lines_) == 5
    for j, line in enumerate(shown.lines_):
        np.testing.assert_array_equal(line.get_xdata(), result.alphas)
        np.testing.assert_array_equal(line.get_ydata(), result.coefs[j])
        assert line.get_label() == f"x{j}"
    lo, hi = shown.ax_.get_xlim()
    assert lo > hi  # α decreasing to the right, as the path runs
    _, ax = plt.subplots()
    assert result.plot(ax=ax).ax_ is ax


def test_regularization_path_of_a_classifier():
    X, y = _regression(n=240, d=3)
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    result = fastgd.path(X, labels, loss="log_loss", n_alphas=6, eps=0.05)
    shown = result.plot(output=2)
    np.testing.assert_array_equal(shown.lines_[1].get_ydata(), result.coefs[2, 1])


def test_clear_error_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="ScheduleDisplay needs matplotlib"):
        ScheduleDisplay.from_schedule(schedules.Constant(0.1), 10)
