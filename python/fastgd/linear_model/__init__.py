"""SGDRegressor and SGDClassifier: scikit-learn's estimators on fastgd's fused kernels (they need
scikit-learn installed).

Same parameters, attributes and results as scikit-learn's (with ``batch_size=1``, the default),
plus minibatches and full-batch gradient descent (``batch_size``), schedule objects
(``learning_rate=fastgd.schedules.…``), threads (``n_jobs``), a loss history (``loss_curve_``)
and per-epoch ``callbacks``. float32 data trains and predicts in float32; a C-contiguous X is
used in place, never copied. The training loop itself is fastgd._solver.

Modules: _base (what both share: parameters, schedule, data checks, the fit), _regressor,
_classifier, _targets (classes, soft labels, one-vs-rest targets, class weights).
"""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "fastgd.linear_model needs scikit-learn: pip install 'fastgd[sklearn]'"
    ) from exc

from ._classifier import SGDClassifier
from ._regressor import SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor"]
