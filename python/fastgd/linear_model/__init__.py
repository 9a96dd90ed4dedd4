"""scikit-learn-compatible estimators on fastgd's kernels (needs scikit-learn installed)."""

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError(
        "fastgd.linear_model needs scikit-learn: pip install 'fastgd[sklearn]'"
    ) from exc

from ._sgd import SGDClassifier, SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor"]
