"""The commands: ``train``, ``predict``, ``evaluate``, ``inspect``, ``info``."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core, ops
from ..io import DataFileError, Dataset, read_data
from . import _learning_rate, _metrics
from ._parsers import UsageError, zero_based

SKLEARN_HINT = 'the estimators need scikit-learn: pip install "fastgd[sklearn]"'


def _estimators() -> Any:
    try:
        from .. import linear_model
    except ImportError as exc:
        if "sklearn" not in str(exc):
            raise
        raise ImportError(f"{SKLEARN_HINT} ({exc})") from None
    return linear_model


def _read(args: Any, n_features: Any = None) -> Dataset:
    return read_data(
        args.data,
        format=args.format,
        target=args.target,
        n_features=n_features,
        zero_based=zero_based(args.zero_based),
    )


def _task(args: Any, y: np.ndarray) -> str:
    """regression or classification: --task, else the loss's kind, else two values of y."""
    if args.task is not None:
        return args.task
    if args.loss is not None:
        member = _core.Loss.__members__.get(args.loss)
        if member is None:
            raise UsageError(
                f"--loss must be one of {sorted(_core.Loss.__members__)}, got {args.loss!r}"
            )
        real = _core.loss_targets(member) == _core.Targets.real
        return "regression" if real else "classification"
    return "classification" if np.unique(y).size == 2 else "regression"


def _holdout(n: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows), each in file order: a seeded draw of round(share·n) rows."""
    held = np.sort(np.random.default_rng(seed).permutation(n)[: round(share * n)])
    return np.setdiff1d(np.arange(n), held), held


@contextlib.contextmanager
def _without_name_warning() -> Iterator[None]:
    # The CLI attaches a CSV header's names to the model, then predicts on arrays in the same
    # column order (checked by _check_names); scikit-learn would warn that they carry no names.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        yield


def _check_names(model: Any, data: Dataset) -> None:
    expected = getattr(model, "feature_names_in_", None)
    if expected is not None and data.feature_names is not None:
        if list(expected) != list(data.feature_names):
            raise DataFileError(
                data.path,
                f"the columns {data.feature_names} are not the model's features {list(expected)}",
                1,
            )


def train(args: Any) -> int:
    """``fastgd train DATA -o MODEL``: fit, score the held-out rows, save."""
    rate = _parse_rate(args.learning_rate)
    linear_model = _estimators()
    from sklearn.exceptions import ConvergenceWarning

    data = _read(args)
    task = _task(args, data.y)
    train_rows, held = _holdout(data.X.shape[0], args.holdout, args.seed)
    if train_rows.size == 0:
        raise UsageError(f"--holdout {args.holdout} leaves no training rows")
    per_epoch = 1 if args.batch_size is None else ops.n_steps(train_rows.size, args.batch_size)
    params = {
        "loss": args.loss or ("squared_error" if task == "regression" else "log_loss"),
        "penalty": None if args.penalty == "none" else args.penalty,
        "alpha": args.alpha,
        "l1_ratio": args.l1_ratio,
        "batch_size": args.batch_size,
        "max_iter": args.epochs,
        "tol": args.tol,
        "random_state": args.seed,
        "n_jobs": args.threads,
        "optimizer": args.optimizer,
    }
    try:
        params.update(_learning_rate.estimator_params(rate, args.epochs * per_epoch))
        cls = linear_model.SGDRegressor if task == "regression" else linear_model.SGDClassifier
        model = cls(**params)
        model._check_params()
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    # The estimators' own progress report; the saved model keeps the default, silence.
    model.set_params(verbose=0 if args.quiet else 1)
    X, y = (data.X, data.y) if held.size == 0 else (data.X[train_rows], data.y[train_rows])
    shape = f"{data.X.shape[0]:,} rows x {data.X.shape[1]:,} features"
    print(
        f"{data.path}: {shape} ({data.format}); {task} by {type(model).__name__}"
        f"(loss={params['loss']!r}), {train_rows.size:,} rows to train, {held.size:,} held out"
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)  # said in one line below
        model.fit(X, y)
    elapsed = time.perf_counter() - start
    model.set_params(verbose=0)
    if data.feature_names is not None:
        model.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    print(f"trained: {model.n_iter_} epochs in {elapsed:.3f} s")
    if args.tol is not None and model.n_iter_ == args.epochs:
        print(f"note: the loss was still improving after {args.epochs} epochs (--epochs)")
    if held.size:
        with _without_name_warning():
            score = model.score(data.X[held], data.y[held])
        print(
            f"held-out {'R^2' if task == 'regression' else 'accuracy'}: {score:.6f} "
            f"({held.size:,} rows)"
        )
    model.save(args.output)
    print(f"saved {args.output}")
    return 0


def _parse_rate(spec: str) -> Any:
    try:
        return _learning_rate.parse(spec)
    except ValueError as exc:
        raise UsageError(f"--learning-rate: {exc}") from None


def _load(path: str) -> Any:
    _estimators()
    from .. import load

    return load(path)


def predict(args: Any) -> int:
    """``fastgd predict MODEL DATA``: one prediction (or row of probabilities) per line."""
    model = _load(args.model)
    if args.proba and not hasattr(model, "predict_proba"):
        raise UsageError(
            f"--proba needs a classifier with loss log_loss or modified_huber; "
            f"{args.model} holds a {type(model).__name__}"
            f"(loss={getattr(model, 'loss', None)!r})"
        )
    data = _read(args, n_features=model.n_features_in_)
    _check_names(model, data)
    with _without_name_warning():
        out = model.predict_proba(data.X) if args.proba else model.predict(data.X)
    header = ",".join(f"{c:.17g}" for c in model.classes_) if args.proba else ""
    if args.output is None:
        np.savetxt(sys.stdout, out, fmt="%.17g", delimiter=",", header=header, comments="")
        return 0
    target = Path(args.output)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        np.savetxt(tmp, out, fmt="%.17g", delimiter=",", header=header, comments="")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {out.shape[0]:,} predictions to {args.output}", file=sys.stderr)
    return 0


def evaluate(args: Any) -> int:
    """``fastgd evaluate MODEL DATA``: the usual metrics of the model on labelled data."""
    model = _load(args.model)
    data = _read(args, n_features=model.n_features_in_)
    _check_names(model, data)
    if data.y is None:
        raise ValueError(
            f"{data.path}: evaluate needs the target column; the file has the "
            f"model's {model.n_features_in_} feature columns only"
        )
    with _without_name_warning():
        pred = model.predict(data.X)
        proba = model.predict_proba(data.X) if hasattr(model, "predict_proba") else None
    print(f"{args.model} on {data.path} ({data.y.size:,} rows)")
    if not hasattr(model, "classes_"):
        for name, value in _metrics.regression(data.y, pred).items():
            print(f"{name:>9}  {value:.6g}")
        return 0
    m = _metrics.classification(data.y, pred, model.classes_, proba)
    print(f" accuracy  {m['accuracy']:.6g}")
    if "log_loss" in m:
        print(f" log_loss  {m['log_loss']:.6g}")
    print(f"{'class':>10} {'precision':>10} {'recall':>10} {'f1':>10} {'support':>9}")
    for i, label in enumerate(m["labels"]):
        print(
            f"{label:>10.6g} {m['precision'][i]:>10.4f} {m['recall'][i]:>10.4f} "
            f"{m['f1'][i]:>10.4f} {m['support'][i]:>9}"
        )
    print("confusion (rows: true class, columns: predicted)")
    print(" " * 10 + "".join(f"{label:>10.6g}" for label in m["labels"]))
    for i, label in enumerate(m["labels"]):
        print(f"{label:>10.6g}" + "".join(f"{c:>10}" for c in m["confusion"][i]))
    return 0


def inspect(args: Any) -> int:
    """``fastgd inspect MODEL``: the class, its parameters, and the largest coefficients."""
    model = _load(args.model)
    print(
        f"{args.model}: {type(model).__name__}, {model.n_features_in_} features, "
        f"{model.n_iter_} epochs"
    )
    params = {k: v for k, v in model.get_params().items() if k != "callbacks"}
    print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())))
    coef = np.atleast_2d(model.coef_)
    names = getattr(model, "feature_names_in_", None)
    names = list(names) if names is not None else [f"x{j}" for j in range(coef.shape[1])]
    heads = (
        [f"{c:.6g}" for c in model.classes_]
        if coef.shape[0] > 1 and hasattr(model, "classes_")
        else ["coef"]
    )
    print("intercept: " + ", ".join(f"{b:.6g}" for b in np.atleast_1d(model.intercept_)))
    if hasattr(model, "classes_"):
        print("classes: " + ", ".join(f"{c:.6g}" for c in model.classes_))
    nonzero = int(np.count_nonzero(np.abs(coef).max(0)))
    order = np.argsort(-np.abs(coef).max(0), kind="stable")[: args.top]
    print(f"largest {order.size} of {coef.shape[1]} coefficients ({nonzero} non-zero):")
    width = max(len(str(names[j])) for j in order) if order.size else 7
    print(f"{'feature':<{width}}" + "".join(f" {h:>12}" for h in heads))
    for j in order:
        print(f"{names[j]!s:<{width}}" + "".join(f" {v:>12.6g}" for v in coef[:, j]))
    return 0


def info(args: Any) -> int:
    """``fastgd info``: how this installation was built, and the optional packages it finds."""
    from importlib.util import find_spec

    from .._backend import build_info

    for key, value in build_info().items():
        print(f"{key:>16}  {value}")
    found = {
        name: find_spec(module) is not None
        for name, module in [
            ("scikit-learn", "sklearn"),
            ("scipy", "scipy"),
            ("pyarrow", "pyarrow"),
            ("pandas", "pandas"),
        ]
    }
    print(
        f"{'optional':>16}  " + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in found.items())
    )
    return 0


COMMANDS = {
    "train": train,
    "predict": predict,
    "evaluate": evaluate,
    "inspect": inspect,
    "info": info,
}
