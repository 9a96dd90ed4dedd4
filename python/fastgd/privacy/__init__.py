"""Differentially private training: DP-SGD fused into fastgd's kernel, and its accounting.

- :class:`DPSGDClassifier`, :class:`DPSGDRegressor`: scikit-learn estimators trained within a
  privacy budget (ε, δ) (need scikit-learn; imported on first use).
- :func:`epsilon`, :func:`noise_multiplier`: the budget a DP-SGD run spends, and its inverse
  (need Google's ``dp-accounting``: ``pip install 'fastgd[privacy]'``).

docs/privacy.md says what is protected, how, and what leaks anyway.
"""

from ._accounting import epsilon, noise_multiplier, steps_per_epoch

__all__ = ["DPSGDClassifier", "DPSGDRegressor", "epsilon", "noise_multiplier", "steps_per_epoch"]


def __getattr__(name: str):
    # The estimators import scikit-learn, an optional dependency.
    if name in ("DPSGDClassifier", "DPSGDRegressor"):
        from . import _estimators

        return getattr(_estimators, name)
    raise AttributeError(f"module 'fastgd.privacy' has no attribute {name!r}")
