"""fastgd: linear models trained by gradient descent with fused C++/OpenMP kernels.

- :class:`SGDRegressor`, :class:`SGDClassifier`: scikit-learn-compatible estimators
  (need scikit-learn; imported on first use).
- :mod:`fastgd.ops`: the fused kernels as functions (``loss_and_grad``, ``sgd_epoch``).
- :mod:`fastgd.optimizers`: Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW, averaging.
- :mod:`fastgd.schedules`: learning-rate schedules, evaluated once per epoch, vectorized.
- :func:`lr_find`: the learning-rate range test of an estimator (``learning_rate="auto"`` picks
  a rate from the data's smoothness without one; docs/learning_rate.md).
- :func:`path`: the L1 / elastic-net regularization path, warm-started from the largest α.
- :mod:`fastgd.inspection`: coefficients by feature name; :mod:`fastgd.display`: plots.
- :func:`load`: an estimator saved by its ``save(path)`` method (docs/persistence.md).
- :func:`build_info`: how this installation was built.
"""

from . import display, inspection, ops, optimizers, schedules
from ._backend import HAS_CUDA, build_info
from ._core import __version__

__all__ = [
    "HAS_CUDA",
    "SGDClassifier",
    "SGDRegressor",
    "__version__",
    "build_info",
    "display",
    "inspection",
    "load",
    "lr_find",
    "ops",
    "optimizers",
    "path",
    "schedules",
]


def __getattr__(name: str):
    # The estimators import scikit-learn, an optional dependency: load them on first use so
    # that `import fastgd` works without it.
    if name in ("SGDClassifier", "SGDRegressor"):
        from . import linear_model

        return getattr(linear_model, name)
    if name == "load":
        from ._persistence import load

        return load
    if name == "lr_find":
        from ._lr_find import lr_find

        return lr_find
    if name == "path":
        from ._path import path

        return path
    raise AttributeError(f"module 'fastgd' has no attribute {name!r}")
