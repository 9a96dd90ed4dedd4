"""The values of a model file's metadata: Python values ↔ JSON, arrays taken out to members.

JSON scalars and lists stand for themselves; other values are objects tagged by their one key:
``{"array": NAME}`` (the member ``NAME.npy``), ``{"float": "inf"}`` (a non-finite float),
``{"numpy": "<f4", "value": 0.5}`` (a NumPy scalar), ``{"tuple": [...]}``, ``{"dict": [[k, v],
...]}``, ``{"object_array": [...]}`` (an array of Python strings or numbers, e.g. feature names),
``{"random_state": {...}}`` and ``{"object": "schedules.Adaptive", "params": {...}, "state":
{...}}``: an instance of one of fastgd's own schedule, optimizer and training-state classes
(:data:`CLASSES`), rebuilt by its constructor, which checks the parameters, and given back its
state attributes, each checked. Nothing else is ever built: no pickle, no eval, no import.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

import numpy as np

from .. import _auto_rate, _solver, optimizers, schedules
from ._archive import ARRAY_KINDS, Invalid

# Deeper JSON than any model writes (Warmup(Warmup(...)) nests a level per wrapper) is refused
# before it could exhaust the interpreter's stack.
_MAX_DEPTH = 48


def _classes() -> dict[str, tuple[type, tuple[str, ...]]]:
    """The classes a file may name: name → (class, its state: the attributes that training
    changes and its constructor does not rebuild from the parameters). A list, not every
    subclass found, so that a class becomes loadable only once its state is known here."""
    table: dict[str, tuple[type, tuple[str, ...]]] = {}
    for name in (
        "Constant",
        "ExponentialDecay",
        "StepDecay",
        "LinearDecay",
        "InverseScaling",
        "Optimal",
        "CosineDecay",
        "OneCycle",
        "Warmup",
    ):
        table[f"schedules.{name}"] = (getattr(schedules, name), ())
    table["schedules.Adaptive"] = (schedules.Adaptive, ("lr_", "_plateau", "smoothness_"))
    table["schedules.Plateau"] = (schedules.Plateau, ("best", "count"))
    for cls in optimizers._BY_NAME.values():
        table[f"optimizers.{cls.__name__}"] = (cls, ("state_",))
    table["optimizers.Average"] = (optimizers.Average, ("coef_", "intercept_", "step_"))
    table["optimizers.OptimizerState"] = (optimizers.OptimizerState, ())
    table["solver.TaskState"] = (_solver.TaskState, ())
    table["auto_rate.Smoothness"] = (_auto_rate.Smoothness, ())
    return table


CLASSES = _classes()
_NAMES = {cls: name for name, (cls, _) in CLASSES.items()}


def _constructor_params(cls: type) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name
        for p in params
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _defaults(cls: type) -> dict[str, Any]:
    """The constructor parameters' defaults (those that have one)."""
    params = inspect.signature(cls.__init__).parameters
    return {
        k: params[k].default
        for k in _constructor_params(cls)
        if params[k].default is not inspect.Parameter.empty
    }


def _required_params(cls: type) -> set[str]:
    """The constructor parameters without a default."""
    return set(_constructor_params(cls)) - set(_defaults(cls))


def _same(a: Any, b: Any) -> bool:
    """Whether two attribute values are the same, arrays and NaN included."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a) or type(a) in _NAMES:
        return vars(a).keys() == vars(b).keys() and all(
            _same(v, vars(b)[k]) for k, v in vars(a).items()
        )
    return bool(a == b)


# ------------------------------------------------------------------------------------ writing


class Writer:
    """Encodes values as JSON, collecting the arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def refuse(self, where: str, value: Any, why: str = "") -> TypeError:
        return TypeError(
            f"cannot save {where}: {type(value).__name__} {value!r} is not something a model "
            f"file can hold{why} (it holds numbers, strings, lists, dicts, arrays and fastgd's "
            "own schedules and optimizers; a function cannot be saved)"
        )

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.generic):
            return self._scalar(value, where)
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if type(value) is list:
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if type(value) is tuple:
            return {"tuple": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if type(value) is dict:
            return {
                "dict": [
                    [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ]
            }
        if type(value) is np.random.RandomState:
            _, keys, pos, has_gauss, cached = value.get_state(legacy=True)
            return {
                "random_state": {
                    "keys": self._array(keys, where),
                    "pos": int(pos),
                    "has_gauss": int(has_gauss),
                    "cached_gaussian": self.encode(float(cached), where),
                }
            }
        if type(value) in _NAMES:
            return self._object(value, where)
        raise self.refuse(where, value)

    def _scalar(self, value: np.generic, where: str) -> Any:
        if value.dtype.kind not in "biuf":
            raise self.refuse(where, value)
        return {"numpy": value.dtype.str, "value": self.encode(value.item(), where)}

    def _array(self, value: np.ndarray, where: str) -> Any:
        if value.dtype.kind == "O" and value.ndim == 1:
            items = []
            for i, v in enumerate(value):
                if not (v is None or isinstance(v, (bool, int, float, str, np.generic))):
                    raise self.refuse(f"{where}[{i}]", v)
                items.append(self.encode(v, f"{where}[{i}]"))
            return {"object_array": items}
        if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields is not None:
            raise self.refuse(where, value, f" (an array of dtype {value.dtype})")
        # Members are named by where the array lives (np.load(path)["coef_"] is the model's
        # coef_), made unique by a suffix where two paths would collide.
        base = where.removeprefix("attribute ").removeprefix("parameter ")
        name, n = base, 1
        while name in self.arrays:
            n += 1
            name = f"{base}~{n}"
        self.arrays[name] = value
        return {"array": name}

    def _object(self, value: Any, where: str) -> Any:
        name = _NAMES[type(value)]
        cls, state_names = CLASSES[name]
        params = {p: getattr(value, p) for p in _constructor_params(cls)}
        state = {a: vars(value)[a] for a in state_names if a in vars(value)}
        # Whatever else the object holds, its constructor must rebuild from the parameters:
        # the format would lose it otherwise.
        fresh = vars(cls(**params))
        for attr, v in vars(value).items():
            if (
                attr not in params
                and attr not in state
                and not (attr in fresh and _same(fresh[attr], v))
            ):
                raise self.refuse(
                    where, value, f" (its attribute {attr!r} is not a parameter or known state)"
                )
        return {
            "object": name,
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in params.items()},
            "state": {k: self.encode(v, f"{where}.{k}") for k, v in state.items()},
        }


class Reader:
    """Decodes the JSON values of a model file, taking each array once."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.unused = set(arrays)

    def decode(self, node: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise Invalid(f"{where} nests deeper than a model does")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node)]
        if not isinstance(node, dict) or len(node) not in (1, 2, 3):
            raise Invalid(f"{where}: {node!r} is not a value of the format")
        tag = next(iter(node))
        handler = getattr(self, f"_decode_{tag}", None)
        if handler is None:
            raise Invalid(f"{where}: unknown tag {tag!r}")
        return handler(node, where, depth + 1)

    @staticmethod
    def _keys(node: dict, keys: set[str], where: str) -> None:
        if set(node) != keys:
            raise Invalid(f"{where}: expected the keys {sorted(keys)}, got {sorted(node)}")

    def _decode_array(self, node, where, depth):
        self._keys(node, {"array"}, where)
        name = node["array"]
        if not isinstance(name, str) or name not in self.unused:
            raise Invalid(f"{where}: array {name!r} is not declared, or is used twice")
        self.unused.discard(name)
        return self.arrays[name]

    def _decode_float(self, node, where, depth):
        self._keys(node, {"float"}, where)
        if node["float"] not in ("inf", "-inf", "nan"):
            raise Invalid(f"{where}: {node['float']!r} is not a non-finite float")
        return float(node["float"])

    def _decode_numpy(self, node, where, depth):
        self._keys(node, {"numpy", "value"}, where)
        dtype = _dtype(node["numpy"], where)
        value = self.decode(node["value"], where, depth)
        kind = {"b": bool, "i": int, "u": int, "f": (int, float)}.get(dtype.kind)
        if (
            kind is None
            or not isinstance(value, kind)
            or (dtype.kind != "b") == (type(value) is bool)
        ):
            raise Invalid(f"{where}: {value!r} is not a {dtype} scalar")
        if dtype.kind in "iu" and not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max:
            raise Invalid(f"{where}: {value!r} does not fit {dtype}")
        with np.errstate(over="ignore"):
            return dtype.type(value)

    def _decode_tuple(self, node, where, depth):
        self._keys(node, {"tuple"}, where)
        items = node["tuple"]
        if not isinstance(items, list):
            raise Invalid(f"{where}: a tuple holds a list")
        return tuple(self.decode(v, f"{where}[{i}]", depth) for i, v in enumerate(items))

    def _decode_dict(self, node, where, depth):
        self._keys(node, {"dict"}, where)
        items = node["dict"]
        if not isinstance(items, list) or not all(
            isinstance(kv, list) and len(kv) == 2 for kv in items
        ):
            raise Invalid(f"{where}: a dict holds a list of [key, value] pairs")
        out = {}
        for k, v in items:
            key = self.decode(k, f"{where} key", depth)
            try:
                out[key] = self.decode(v, f"{where}[{key!r}]", depth)
            except TypeError:  # an unhashable key
                raise Invalid(f"{where}: the key {key!r} is not hashable") from None
        if len(out) != len(items):
            raise Invalid(f"{where}: a key is repeated")
        return out

    def _decode_object_array(self, node, where, depth):
        self._keys(node, {"object_array"}, where)
        items = node["object_array"]
        if not isinstance(items, list):
            raise Invalid(f"{where}: an object array holds a list")
        out = np.empty(len(items), dtype=object)
        for i, v in enumerate(items):
            value = self.decode(v, f"{where}[{i}]", depth)
            if not (value is None or isinstance(value, (bool, int, float, str, np.generic))):
                raise Invalid(f"{where}[{i}]: {value!r} is not a number or a string")
            out[i] = value
        return out

    def _decode_random_state(self, node, where, depth):
        self._keys(node, {"random_state"}, where)
        fields = node["random_state"]
        if not isinstance(fields, dict):
            raise Invalid(f"{where}: a random state holds an object")
        self._keys(fields, {"keys", "pos", "has_gauss", "cached_gaussian"}, where)
        keys = self.decode(fields["keys"], where, depth)
        pos, has_gauss, cached = fields["pos"], fields["has_gauss"], fields["cached_gaussian"]
        if not (
            isinstance(keys, np.ndarray)
            and keys.dtype == np.uint32
            and keys.shape == (624,)
            and type(pos) is int
            and 0 <= pos <= 624
            and has_gauss in (0, 1)
            and type(has_gauss) is int
            and type(cached) is float
        ):
            raise Invalid(f"{where}: not the state of a numpy.random.RandomState")
        rs = np.random.RandomState()
        rs.set_state(("MT19937", keys, pos, has_gauss, cached))
        return rs

    def _decode_object(self, node, where, depth):
        self._keys(node, {"object", "params", "state"}, where)
        name, params, state = node["object"], node["params"], node["state"]
        if not isinstance(name, str) or name not in CLASSES:
            raise Invalid(f"{where}: {name!r} is not one of the classes a model file may hold")
        cls, state_names = CLASSES[name]
        # A parameter the class gained after the file was written takes its default, as the
        # estimators' parameters do (docs/persistence.md); one it does not know is refused.
        if not isinstance(params, dict) or not (
            _required_params(cls) <= set(params) <= set(_constructor_params(cls))
        ):
            raise Invalid(f"{where}: {name} takes the parameters {_constructor_params(cls)}")
        if not isinstance(state, dict) or not set(state) <= set(state_names):
            raise Invalid(f"{where}: {name} has no state other than {list(state_names)}")
        values = {k: self.decode(v, f"{where}.{k}", depth) for k, v in params.items()}
        _check_fields(cls, {**_defaults(cls), **values}, where)
        try:
            obj = cls(**values)
        except (TypeError, ValueError) as exc:
            raise Invalid(f"{where}: {exc}") from None
        for k, v in state.items():
            value = self.decode(v, f"{where}.{k}", depth)
            _check_state(obj, k, value, f"{where}.{k}")
            setattr(obj, k, value)
        return obj


def _dtype(text: Any, where: str) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise Invalid(f"{where}: {text!r} is not a dtype")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise Invalid(f"{where}: {text!r} is not a dtype") from None
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise Invalid(f"{where}: a scalar of dtype {dtype} is not allowed")
    return dtype


# ------------------------------------------------------------------ what the values must be


def _is_int(v: Any, low: int = 0) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v >= low


def _is_real(v: Any, finite: bool = True) -> bool:
    return (
        isinstance(v, (int, float, np.integer, np.floating))
        and not isinstance(v, (bool, np.bool_))
        and (not finite or math.isfinite(v))
    )


def is_float_array(v: Any) -> bool:
    return (
        isinstance(v, np.ndarray)
        and v.dtype in (np.float32, np.float64)
        and bool(np.isfinite(v).all())
    )


def _is_step(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype == np.int64 and v.shape == (1,) and v[0] >= 0


def _check_fields(cls: type, values: dict, where: str) -> None:
    """The parameters of the classes whose constructors check nothing (dataclasses)."""
    if cls is optimizers.OptimizerState:
        ok = is_float_array(values["coef"]) and is_float_array(values["intercept"])
        ok = ok and _is_step(values["step"])
    elif cls is _solver.TaskState:
        ok = (
            isinstance(values["schedule"], schedules.Schedule)
            and (
                values["optimizer"] is None or isinstance(values["optimizer"], optimizers.Optimizer)
            )
            and (values["average"] is None or isinstance(values["average"], optimizers.Average))
        )
    elif cls is _auto_rate.Smoothness:
        ok = all(_is_real(values[k]) and values[k] > 0 for k in ("L_max", "L_B"))
        ok = ok and _is_int(values["iterations"]) and values["iterations"] >= 0
        L, lam = values["L"], values["lambda_max"]
        if ok and values["iterations"] == 0:  # per-sample steps: L and λ_max not computed
            ok = _is_real(L, finite=False) and math.isnan(L) and _is_real(lam, finite=False)
            ok = ok and math.isnan(lam)
        else:
            ok = ok and _is_real(L) and L > 0 and _is_real(lam) and lam >= 0
        ok = ok and _is_real(values["noise_step"], finite=False) and values["noise_step"] > 0
    else:
        return
    if not ok:
        raise Invalid(f"{where}: {cls.__name__}({values!r}) is not a valid {cls.__name__}")


def _check_state(obj: Any, name: str, value: Any, where: str) -> None:
    """One state attribute of a rebuilt object."""
    if isinstance(obj, schedules.Adaptive):
        ok = {
            "lr_": lambda v: _is_real(v) and v > 0,
            "_plateau": lambda v: isinstance(v, schedules.Plateau) and v.tol == obj.tol,
            "smoothness_": lambda v: isinstance(v, _auto_rate.Smoothness),
        }[name](value)
    elif isinstance(obj, schedules.Plateau):
        ok = (
            _is_real(value, finite=False) and not math.isnan(value)
            if name == "best"
            else _is_int(value)
        )
    elif isinstance(obj, optimizers.Optimizer):
        ok = value is None or isinstance(value, optimizers.OptimizerState)
    else:  # Average
        ok = _is_step(value) if name == "step_" else is_float_array(value)
    if not ok:
        raise Invalid(f"{where}: {value!r} is not a valid value")


# The fitted attributes of each class: name → required. Anything else an estimator holds makes
