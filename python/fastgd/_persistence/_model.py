"""An estimator ↔ a model file's metadata and arrays: its parameters and every fitted attribute
(the training state partial_fit continues included), and the checks that a loaded model holds
together."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import _core, _solver, optimizers
from ._archive import FORMAT, FORMAT_VERSION, Invalid
from ._values import Reader, Writer, is_float_array

_COMMON = {
    "coef_": True,
    "intercept_": True,
    "t_": True,
    "n_iter_": True,
    "loss_curve_": True,
    "validation_scores_": False,  # written since the estimators have it; the Dask ones do not
    "n_features_in_": True,
    "feature_names_in_": False,
    "_standard_coef": True,
    "_standard_intercept": True,
    "_task_states": True,
}
_ATTRIBUTES = {
    "SGDRegressor": _COMMON,
    "SGDClassifier": {**_COMMON, "classes_": True, "multi_class_": True, "_soft_labels": True},
}


def check_model(est: Any) -> None:
    """That the fitted attributes hold together: shapes, dtypes, classes and the training state
    that partial_fit continues (each task's schedule, optimizer state and average)."""
    d = _check_features(est)
    _check_history(est)
    joint, n_models, coef_shape, std_shape = _model_shapes(est, d)
    arrays = {
        "coef_": (est.coef_, coef_shape),
        "intercept_": (est.intercept_, coef_shape[:1] if len(coef_shape) == 2 else (1,)),
        "_standard_coef": (est._standard_coef, std_shape),
        "_standard_intercept": (est._standard_intercept, std_shape[:1]),
    }
    dtype = est.coef_.dtype if isinstance(est.coef_, np.ndarray) else None
    for name, (a, shape) in arrays.items():
        if not is_float_array(a) or a.shape != shape or a.dtype != dtype:
            got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
            raise Invalid(
                f"{name} ({got}) must be finite floats of shape {shape} with "
                f"n_features_in_={d}, in coef_'s dtype"
            )
    states = est._task_states
    if not isinstance(states, list) or len(states) != n_models:
        raise Invalid(f"_task_states must list {n_models} training states")
    # What each task trains: all K rows of a softmax model, one row of the others.
    task_coef, n_intercepts = (std_shape, std_shape[0]) if joint else ((d,), 1)
    for i, st in enumerate(states):
        _check_task_state(est, st, task_coef, n_intercepts, dtype, f"_task_states[{i}]")


def _check_features(est: Any) -> int:
    d = est.n_features_in_
    if type(d) is not int or d < 1:
        raise Invalid(f"n_features_in_ must be a positive int, got {d!r}")
    names = getattr(est, "feature_names_in_", None)
    if hasattr(est, "feature_names_in_") and not (
        isinstance(names, np.ndarray)
        and names.dtype == object
        and names.shape == (d,)
        and all(isinstance(n, str) for n in names)
    ):
        raise Invalid(f"feature_names_in_ must hold {d} strings")
    return d


def _check_history(est: Any) -> None:
    t, n_iter, curve = est.t_, est.n_iter_, est.loss_curve_
    if type(t) is not float or not (1 <= t < 2**62) or t != int(t):
        raise Invalid(f"t_ must be an integral float >= 1, got {t!r}")
    if not (
        type(n_iter) is int
        and n_iter >= 1
        and isinstance(curve, list)
        and len(curve) >= n_iter
        and all(type(v) is float and math.isfinite(v) for v in curve)
    ):
        raise Invalid(
            "n_iter_ must be an int >= 1 and loss_curve_ a list of at least n_iter_ finite floats"
        )
    scores = getattr(est, "validation_scores_", None)
    if not (scores is None or isinstance(scores, list) and all(type(v) is float for v in scores)):
        raise Invalid("validation_scores_ must be None or a list of floats")


def _model_shapes(est: Any, d: int) -> tuple[bool, int, tuple, tuple]:
    """(softmax, number of task states, coef_'s shape, the trained weights' shape), as the
    classes and multi_class_ make them (a regressor: one model of shape (d,))."""
    from ..linear_model._targets import choose_multi_class

    if not hasattr(est, "classes_"):
        return False, 1, (d,), (1, d)
    classes = est.classes_
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise Invalid("classes_ must be an array of two or more labels")
    try:
        ok = np.array_equal(np.unique(classes), classes)
    except TypeError:  # labels that do not compare
        ok = False
    if not ok:
        raise Invalid("classes_ must be sorted and distinct")
    if not (
        isinstance(est.multi_class_, str)
        and est.multi_class_ in ("ovr", "multinomial")
        and type(est._soft_labels) is bool
    ):
        raise Invalid("multi_class_ must be 'ovr' or 'multinomial', _soft_labels a bool")
    K = len(classes)
    chosen = choose_multi_class(est.multi_class, est.loss, est.label_smoothing, K, est._soft_labels)
    if est.multi_class_ != chosen:
        raise Invalid(f"multi_class_={est.multi_class_!r}: the parameters choose {chosen!r}")
    n_out = 1 if K == 2 else K  # two classes: one model, or the binary form of a softmax's two
    if est.multi_class_ == "multinomial":
        return True, 1, (n_out, d), (K, d)
    return False, n_out, (n_out, d), (n_out, d)


def _check_task_state(est, st, coef_shape, n_intercepts, dtype, where) -> None:
    if not isinstance(st, _solver.TaskState):
        raise Invalid(f"{where} must be a training state")
    opt = st.optimizer
    plain = isinstance(est.optimizer, str) and est.optimizer == "sgd"
    if plain != (opt is None):
        raise Invalid(f"{where}: the optimizer's state does not match optimizer={est.optimizer!r}")
    if opt is not None:
        expected = optimizers.get_optimizer(est.optimizer)
        if type(opt) is not type(expected) or opt.kernel_params() != expected.kernel_params():
            raise Invalid(f"{where}: {opt!r} is not the optimizer {est.optimizer!r}")
        s = getattr(opt, "state_", None)
        k = _core.optimizer_state_arrays(opt.kernel_kind())
        if s is not None and not (
            k > 0
            and s.coef.shape == (k, *coef_shape)
            and s.intercept.shape == (k, n_intercepts)
            and s.coef.dtype == s.intercept.dtype == dtype
        ):
            raise Invalid(f"{where}: the optimizer's state does not fit the model")
    avg = st.average
    if bool(est.average) != (avg is not None):
        raise Invalid(f"{where}: the average does not match average={est.average!r}")
    if avg is None:
        return
    arrays = [getattr(avg, a, None) for a in ("coef_", "intercept_", "step_")]
    if avg.start != int(est.average) or any(a is None for a in arrays):
        raise Invalid(f"{where}: the average does not match average={est.average!r}")
    coef, intercept, _ = arrays
    if not (
        coef.shape == coef_shape
        and intercept.shape == (n_intercepts,)
        and coef.dtype == intercept.dtype == dtype
    ):
        raise Invalid(f"{where}: the average does not fit the model")


def _estimator_classes() -> dict[str, type]:
    from ..linear_model import SGDClassifier, SGDRegressor

    return {"SGDRegressor": SGDRegressor, "SGDClassifier": SGDClassifier}


def describe(estimator: Any) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata (without its "arrays" key) and the arrays of a fitted estimator's file."""
    from sklearn.utils.validation import check_is_fitted

    if type(estimator) not in _estimator_classes().values():
        raise TypeError(
            f"only fastgd.SGDRegressor and fastgd.SGDClassifier can be saved, not "
            f"{type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    params = estimator.get_params(deep=False)
    if params["callbacks"]:
        raise TypeError(
            f"cannot save parameter callbacks: {params['callbacks']!r} are functions, which a "
            "model file cannot hold; set_params(callbacks=None) first"
        )
    spec = _ATTRIBUTES[type(estimator).__name__]
    unknown = sorted(set(vars(estimator)) - set(params) - set(spec))
    if unknown:
        raise TypeError(
            f"cannot save the {type(estimator).__name__}: its attributes {unknown} are not part "
            f"of format version {FORMAT_VERSION}"
        )
    writer = Writer()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "fastgd_version": _core.__version__,
        "class": type(estimator).__name__,
        "params": {k: writer.encode(v, f"parameter {k}") for k, v in params.items()},
        "attributes": {
            k: writer.encode(v, f"attribute {k}")
            for k, v in vars(estimator).items()
            if k not in params
        },
    }
    return meta, writer.arrays


def build(meta: dict, arrays: dict[str, np.ndarray]) -> Any:
    """The estimator of a file's metadata and arrays, checked to hold together."""
    cls = _estimator_classes().get(meta["class"]) if isinstance(meta["class"], str) else None
    if cls is None:
        raise Invalid(f"class {meta['class']!r} is not an estimator fastgd saves")
    reader = Reader(arrays)
    params, attributes = meta["params"], meta["attributes"]
    # A parameter added after the file was written takes its default, the behaviour of the
    # fastgd that wrote it; one this fastgd does not know is refused.
    known = set(cls().get_params(deep=False))
    if not isinstance(params, dict) or not set(params) <= known:
        unknown = sorted(set(params) - known) if isinstance(params, dict) else params
        raise Invalid(f"params must be parameters of {cls.__name__}, not {unknown!r}")
    spec = _ATTRIBUTES[cls.__name__]
    if not isinstance(attributes, dict) or not (
        {k for k, required in spec.items() if required} <= set(attributes) <= set(spec)
    ):
        raise Invalid(f"attributes must give the fitted attributes of {cls.__name__}")
    est = cls(**{k: reader.decode(v, f"parameter {k}") for k, v in params.items()})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated values load as saved
            est._check_params()
    except (TypeError, ValueError) as exc:
        raise Invalid(f"parameter: {exc}") from None
    if est.callbacks:  # save() refuses them: only an empty list can come back
        raise Invalid(f"parameter callbacks: {est.callbacks!r} cannot come from a model file")
    for k, v in attributes.items():
        setattr(est, k, reader.decode(v, f"attribute {k}"))
    if reader.unused:
        raise Invalid(f"arrays {sorted(reader.unused)} are declared but not used")
    check_model(est)
    return est
