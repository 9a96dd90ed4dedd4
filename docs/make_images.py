"""Render the images of the README and docs/inspection.md into docs/images/.

    python docs/make_images.py

Needs matplotlib and scikit-learn (its diabetes data set: 442 patients, 10 features). Small PNGs
(about 100 dpi), drawn with the Agg backend, deterministic given the seeds.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastgd  # noqa: E402
from fastgd import schedules  # noqa: E402
from fastgd.display import (  # noqa: E402
    CoefficientDisplay,
    LossCurveDisplay,
    ScheduleDisplay,
)

IMAGES = Path(__file__).parent / "images"
SIZE = (6.0, 3.6)
DPI = 100


def save(figure, name: str) -> None:
    figure.tight_layout()
    figure.savefig(IMAGES / name, dpi=DPI)
    plt.close(figure)
    print("wrote", IMAGES / name)


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    Xs = StandardScaler().set_output(transform="pandas").fit_transform(X)

    _, ax = plt.subplots(figsize=SIZE)
    est = fastgd.SGDRegressor(early_stopping=True, n_iter_no_change=10, random_state=0)
    LossCurveDisplay.from_estimator(est.fit(Xs, y), ax=ax)
    ax.get_legend().set_loc("center right")
    ax.set_title("SGDRegressor on the diabetes data: loss and validation R²")
    save(ax.figure, "loss_curve.png")

    _, ax = plt.subplots(figsize=SIZE)
    n = 2000
    for schedule, name in [
        (schedules.CosineDecay(0.1, n), "CosineDecay(0.1, 2000)"),
        (schedules.Warmup(schedules.CosineDecay(0.1, n - 200), 200), "Warmup(CosineDecay, 200)"),
        (schedules.OneCycle(0.1, n), "OneCycle(0.1, 2000)"),
        (schedules.InverseScaling(0.1, 0.25), "InverseScaling(0.1, 0.25)"),
    ]:
        shown = ScheduleDisplay.from_schedule(schedule, n, ax=ax)
        shown.line_.set_label(name)
    ax.legend(fontsize="small")
    ax.set_title("Learning-rate schedules")
    save(ax.figure, "schedule.png")

    _, ax = plt.subplots(figsize=SIZE)
    model = make_pipeline(StandardScaler(), fastgd.SGDRegressor(random_state=0)).fit(X, y)
    CoefficientDisplay.from_estimator(model, standardized=True, ax=ax)
    ax.set_title("Coefficients by feature (standardized)")
    save(ax.figure, "coefficients.png")

    _, ax = plt.subplots(figsize=(SIZE[0] + 1.0, SIZE[1]))
    result = fastgd.path(Xs, y, n_alphas=40, max_iter=5000)
    result.plot(ax=ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small")
    ax.set_title("Lasso path on the diabetes data (fastgd.path)")
    save(ax.figure, "path.png")


if __name__ == "__main__":
    main()
