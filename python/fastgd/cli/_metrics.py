"""The metrics ``fastgd evaluate`` prints, in NumPy (float64): scikit-learn's definitions."""

from __future__ import annotations

import numpy as np


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """Coefficient of determination ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` (1.0 for a constant y
    predicted exactly, 0.0 for a constant y predicted otherwise: scikit-learn's r2_score)."""
    y = np.asarray(y, dtype=np.float64)
    residual = float(np.sum((y - pred) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


def regression(y: np.ndarray, pred: np.ndarray) -> dict:
    """R², MSE, RMSE and MAE of predictions."""
    err = np.asarray(pred, dtype=np.float64) - y
    mse = float(np.mean(err**2))
    return {"r2": r2(y, pred), "mse": mse, "rmse": mse**0.5, "mae": float(np.mean(np.abs(err)))}


def classification(
    y: np.ndarray, pred: np.ndarray, classes: np.ndarray, proba: np.ndarray | None
) -> dict:
    """Accuracy, the confusion counts (rows: true class, columns: predicted, over ``classes``
    and any other label in y), each class's precision, recall, F1 and support, and the log-loss
    when probabilities are given and every label of y is a class."""
    labels = np.union1d(classes, y)
    true = np.searchsorted(labels, y)
    predicted = np.searchsorted(labels, pred)
    k = labels.size
    confusion = np.bincount(true * k + predicted, minlength=k * k).reshape(k, k)
    hits = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(confusion.sum(0) > 0, hits / confusion.sum(0), 0.0)
        recall = np.where(confusion.sum(1) > 0, hits / confusion.sum(1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    out = {
        "accuracy": float(hits.sum() / y.size),
        "labels": labels,
        "confusion": confusion,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "support": confusion.sum(1),
    }
    if proba is not None and np.isin(y, classes).all():
        p = proba[np.arange(y.size), np.searchsorted(classes, y)]
        out["log_loss"] = float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    return out
