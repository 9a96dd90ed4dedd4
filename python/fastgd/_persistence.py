"""Saved models: ``estimator.save(path)`` and :func:`fastgd.load`.

A model file is a ZIP archive laid out as ``np.savez`` lays one out (``np.load`` opens it): one
``.npy`` member per array, stored uncompressed (each member checked by its CRC-32), plus a
``metadata.json`` member that says what the arrays are::

    {"format": "fastgd-model", "format_version": 1, "fastgd_version": "...",
     "class": "SGDClassifier",
     "params": {...},          the constructor's parameters (get_params)
     "attributes": {...},      every fitted attribute, and the state that partial_fit resumes
     "arrays": {"a0": {"dtype": "<f8", "shape": [3, 5], "fortran_order": false}, ...}}

Values in ``params`` and ``attributes`` are JSON scalars and lists, or objects tagged by their one
key: ``{"array": "a0"}`` (the member ``a0.npy``), ``{"float": "inf"}`` (a non-finite float),
``{"numpy": "<f4", "value": 0.5}`` (a NumPy scalar), ``{"tuple": [...]}``, ``{"dict": [[k, v],
...]}``, ``{"object_array": [...]}`` (an array of Python strings or numbers, e.g. feature names)
and ``{"object": "schedules.Adaptive", "params": {...}, "state": {...}}``: an instance of one of
fastgd's own schedule, optimizer and training-state classes (:data:`_CLASSES`), rebuilt by its
constructor, which checks the parameters, and given back its state attributes.

Reading never executes anything from the file: no pickle (arrays are read with their dtypes
restricted to numbers, booleans and strings), no eval; only the classes of :data:`_CLASSES` are
built. Any file that is not a model this version wrote, or that does not hold together (shapes,
dtypes, parameters, classes, the optimizer's state), is refused with a ValueError naming the
file. Saving refuses what the format cannot represent (a user's callable in ``callbacks`` or as
``learning_rate``) before writing anything, and writes through a temporary file that replaces
``path`` only once complete.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import math
import os
import uuid
import warnings
import zipfile
from typing import Any

import numpy as np

from . import _auto_rate, _core, _solver, optimizers, schedules

FORMAT = "fastgd-model"
FORMAT_VERSION = 1
_METADATA = "metadata.json"
# Deeper JSON than any model writes (Warmup(Warmup(...)) nests a level per wrapper) is refused
# before it could exhaust the interpreter's stack.
_MAX_DEPTH = 48
# Array dtypes a file may hold: numbers, booleans and strings; never objects (pickle).
_ARRAY_KINDS = "biufU"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp: the same model gives the same bytes


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


_CLASSES = _classes()
_NAMES = {cls: name for name, (cls, _) in _CLASSES.items()}


def _constructor_params(cls: type) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name
        for p in params
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


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


class _Writer:
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
        if value.dtype.kind not in _ARRAY_KINDS or value.dtype.fields is not None:
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
        cls, state_names = _CLASSES[name]
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


def _zip_member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def model_bytes(estimator: Any) -> bytes:
    """The model file of a fitted estimator, as bytes."""
    from sklearn.utils.validation import check_is_fitted

    from .linear_model import SGDClassifier, SGDRegressor

    if type(estimator) not in (SGDClassifier, SGDRegressor):
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
    writer = _Writer()
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
    meta["arrays"] = {
        name: {
            "dtype": a.dtype.str,
            "shape": list(a.shape),
            "fortran_order": bool(a.flags.f_contiguous and not a.flags.c_contiguous),
        }
        for name, a in writer.arrays.items()
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        _zip_member(zf, _METADATA, json.dumps(meta, indent=1, allow_nan=False).encode())
        for name, a in writer.arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, a, allow_pickle=False)
            _zip_member(zf, f"{name}.npy", member.getvalue())
    return buffer.getvalue()


def save(estimator: Any, path: Any) -> None:
    """Write a fitted estimator to ``path`` (see the module's docstring for the format): the file
    is complete or absent, never partial (a temporary file in the same folder, then
    ``os.replace``)."""
    data = model_bytes(estimator)  # every refusal comes before the file system is touched
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex}.tmp")
    # os.open with mode 0o666 gives the permissions the umask allows, as open(path, "wb") would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# ------------------------------------------------------------------------------------ reading


class _Invalid(ValueError):
    """A problem with the file's content; load() adds the file's name."""


def _read_container(raw: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and the arrays of a model file's bytes (anything malformed raises)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise _Invalid("the archive repeats a member")
        if _METADATA not in names:
            raise _Invalid(f"no {_METADATA} member: not a fastgd model file")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise _Invalid(f"member {info.filename!r} is compressed; models are stored")
            if info.file_size > len(raw):
                raise _Invalid(f"member {info.filename!r} claims more bytes than the file has")
        meta = json.loads(zf.read(_METADATA).decode("utf-8"))
        if not isinstance(meta, dict):
            raise _Invalid(f"{_METADATA} is not a JSON object")
        _check_header(meta)
        declared = meta.get("arrays")
        if not isinstance(declared, dict):
            raise _Invalid("'arrays' must be an object")
        expected = {_METADATA, *(f"{n}.npy" for n in declared)}
        if set(names) != expected:
            raise _Invalid(
                f"the archive's members {sorted(names)} differ from those the metadata declares "
                f"{sorted(expected)}"
            )
        arrays = {n: _read_array(zf.read(f"{n}.npy"), n, spec) for n, spec in declared.items()}
    return meta, arrays


def _check_header(meta: dict) -> None:
    if meta.get("format") != FORMAT:
        raise _Invalid(f"not a fastgd model file (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise _Invalid(f"format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise _Invalid(
            f"written in format version {version} by fastgd {meta.get('fastgd_version')!r}; "
            f"this fastgd ({_core.__version__}) reads version {FORMAT_VERSION} and older: "
            "upgrade fastgd to load it"
        )
    keys = {"format", "format_version", "fastgd_version", "class", "params", "attributes"}
    if set(meta) != keys | {"arrays"}:
        raise _Invalid(
            f"the metadata's keys must be {sorted(keys | {'arrays'})}, got {sorted(meta)}"
        )
    if not isinstance(meta["fastgd_version"], str):
        raise _Invalid("fastgd_version must be a string")


def _read_array(data: bytes, name: str, spec: Any) -> np.ndarray:
    """One .npy member, checked against its declaration before its data is read."""
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "fortran_order"}:
        raise _Invalid(f"array {name!r}: its declaration must give dtype, shape, fortran_order")
    f = io.BytesIO(data)
    major, _ = np.lib.format.read_magic(f)
    read_header = {
        1: np.lib.format.read_array_header_1_0,
        2: np.lib.format.read_array_header_2_0,
    }.get(major)
    if read_header is None:
        raise _Invalid(f"array {name!r}: .npy version {major} is not one NumPy writes for models")
    shape, fortran_order, dtype = read_header(f)
    if any(n < 0 for n in shape):
        raise _Invalid(f"array {name!r}: shape {shape} has a negative length")
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise _Invalid(f"array {name!r}: dtype {dtype} is not allowed in a model file")
    if [dtype.str, list(shape), fortran_order] != [
        spec["dtype"],
        spec["shape"],
        spec["fortran_order"],
    ]:
        raise _Invalid(
            f"array {name!r} is {dtype.str} {list(shape)} (fortran_order={fortran_order}); the "
            f"metadata declares {spec['dtype']} {spec['shape']} "
            f"(fortran_order={spec['fortran_order']})"
        )
    count = math.prod(shape)
    body = data[f.tell() :]
    if len(body) != count * dtype.itemsize:
        raise _Invalid(
            f"array {name!r} holds {len(body)} bytes of data; {dtype.str} {list(shape)} "
            f"takes {count * dtype.itemsize}"
        )
    flat = np.frombuffer(body, dtype=dtype, count=count)
    # A fresh, aligned, writeable array: the kernels update the optimizer's state in place.
    return flat.reshape(shape, order="F" if fortran_order else "C").copy(order="K")


class _Reader:
    """Decodes the JSON values of a model file, taking each array once."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.unused = set(arrays)

    def decode(self, node: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _Invalid(f"{where} nests deeper than a model does")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node)]
        if not isinstance(node, dict) or len(node) not in (1, 2, 3):
            raise _Invalid(f"{where}: {node!r} is not a value of the format")
        tag = next(iter(node))
        handler = getattr(self, f"_decode_{tag}", None)
        if handler is None:
            raise _Invalid(f"{where}: unknown tag {tag!r}")
        return handler(node, where, depth + 1)

    @staticmethod
    def _keys(node: dict, keys: set[str], where: str) -> None:
        if set(node) != keys:
            raise _Invalid(f"{where}: expected the keys {sorted(keys)}, got {sorted(node)}")

    def _decode_array(self, node, where, depth):
        self._keys(node, {"array"}, where)
        name = node["array"]
        if not isinstance(name, str) or name not in self.unused:
            raise _Invalid(f"{where}: array {name!r} is not declared, or is used twice")
        self.unused.discard(name)
        return self.arrays[name]

    def _decode_float(self, node, where, depth):
        self._keys(node, {"float"}, where)
        if node["float"] not in ("inf", "-inf", "nan"):
            raise _Invalid(f"{where}: {node['float']!r} is not a non-finite float")
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
            raise _Invalid(f"{where}: {value!r} is not a {dtype} scalar")
        if dtype.kind in "iu" and not np.iinfo(dtype).min <= value <= np.iinfo(dtype).max:
            raise _Invalid(f"{where}: {value!r} does not fit {dtype}")
        with np.errstate(over="ignore"):
            return dtype.type(value)

    def _decode_tuple(self, node, where, depth):
        self._keys(node, {"tuple"}, where)
        items = node["tuple"]
        if not isinstance(items, list):
            raise _Invalid(f"{where}: a tuple holds a list")
        return tuple(self.decode(v, f"{where}[{i}]", depth) for i, v in enumerate(items))

    def _decode_dict(self, node, where, depth):
        self._keys(node, {"dict"}, where)
        items = node["dict"]
        if not isinstance(items, list) or not all(
            isinstance(kv, list) and len(kv) == 2 for kv in items
        ):
            raise _Invalid(f"{where}: a dict holds a list of [key, value] pairs")
        out = {}
        for k, v in items:
            key = self.decode(k, f"{where} key", depth)
            try:
                out[key] = self.decode(v, f"{where}[{key!r}]", depth)
            except TypeError:  # an unhashable key
                raise _Invalid(f"{where}: the key {key!r} is not hashable") from None
        if len(out) != len(items):
            raise _Invalid(f"{where}: a key is repeated")
        return out

    def _decode_object_array(self, node, where, depth):
        self._keys(node, {"object_array"}, where)
        items = node["object_array"]
        if not isinstance(items, list):
            raise _Invalid(f"{where}: an object array holds a list")
        out = np.empty(len(items), dtype=object)
        for i, v in enumerate(items):
            value = self.decode(v, f"{where}[{i}]", depth)
            if not (value is None or isinstance(value, (bool, int, float, str, np.generic))):
                raise _Invalid(f"{where}[{i}]: {value!r} is not a number or a string")
            out[i] = value
        return out

    def _decode_random_state(self, node, where, depth):
        self._keys(node, {"random_state"}, where)
        fields = node["random_state"]
        if not isinstance(fields, dict):
            raise _Invalid(f"{where}: a random state holds an object")
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
            raise _Invalid(f"{where}: not the state of a numpy.random.RandomState")
        rs = np.random.RandomState()
        rs.set_state(("MT19937", keys, pos, has_gauss, cached))
        return rs

    def _decode_object(self, node, where, depth):
        self._keys(node, {"object", "params", "state"}, where)
        name, params, state = node["object"], node["params"], node["state"]
        if not isinstance(name, str) or name not in _CLASSES:
            raise _Invalid(f"{where}: {name!r} is not one of the classes a model file may hold")
        cls, state_names = _CLASSES[name]
        if not isinstance(params, dict) or set(params) != set(_constructor_params(cls)):
            raise _Invalid(f"{where}: {name} takes the parameters {_constructor_params(cls)}")
        if not isinstance(state, dict) or not set(state) <= set(state_names):
            raise _Invalid(f"{where}: {name} has no state other than {list(state_names)}")
        values = {k: self.decode(v, f"{where}.{k}", depth) for k, v in params.items()}
        _check_fields(cls, values, where)
        try:
            obj = cls(**values)
        except (TypeError, ValueError) as exc:
            raise _Invalid(f"{where}: {exc}") from None
        for k, v in state.items():
            value = self.decode(v, f"{where}.{k}", depth)
            _check_state(obj, k, value, f"{where}.{k}")
            setattr(obj, k, value)
        return obj


def _dtype(text: Any, where: str) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise _Invalid(f"{where}: {text!r} is not a dtype")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise _Invalid(f"{where}: {text!r} is not a dtype") from None
    if dtype.kind not in "biuf" or dtype.fields is not None:
        raise _Invalid(f"{where}: a scalar of dtype {dtype} is not allowed")
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


def _is_float_array(v: Any) -> bool:
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
        ok = _is_float_array(values["coef"]) and _is_float_array(values["intercept"])
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
        ok = all(_is_real(values[k]) and values[k] > 0 for k in ("L", "L_max", "L_B"))
        ok = ok and _is_real(values["lambda_max"]) and values["lambda_max"] >= 0
        ok = ok and _is_int(values["iterations"])
        ok = ok and _is_real(values["noise_step"], finite=False) and values["noise_step"] > 0
    else:
        return
    if not ok:
        raise _Invalid(f"{where}: {cls.__name__}({values!r}) is not a valid {cls.__name__}")


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
        ok = _is_step(value) if name == "step_" else _is_float_array(value)
    if not ok:
        raise _Invalid(f"{where}: {value!r} is not a valid value")


# The fitted attributes of each class: name → required. Anything else an estimator holds makes
# save() refuse (the format would lose it); anything else a file holds makes load() refuse.
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


def _check_model(est: Any) -> None:
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
        if not _is_float_array(a) or a.shape != shape or a.dtype != dtype:
            got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
            raise _Invalid(
                f"{name} ({got}) must be finite floats of shape {shape} with "
                f"n_features_in_={d}, in coef_'s dtype"
            )
    states = est._task_states
    if not isinstance(states, list) or len(states) != n_models:
        raise _Invalid(f"_task_states must list {n_models} training states")
    # What each task trains: all K rows of a softmax model, one row of the others.
    task_coef, n_intercepts = (std_shape, std_shape[0]) if joint else ((d,), 1)
    for i, st in enumerate(states):
        _check_task_state(est, st, task_coef, n_intercepts, dtype, f"_task_states[{i}]")


def _check_features(est: Any) -> int:
    d = est.n_features_in_
    if type(d) is not int or d < 1:
        raise _Invalid(f"n_features_in_ must be a positive int, got {d!r}")
    names = getattr(est, "feature_names_in_", None)
    if hasattr(est, "feature_names_in_") and not (
        isinstance(names, np.ndarray)
        and names.dtype == object
        and names.shape == (d,)
        and all(isinstance(n, str) for n in names)
    ):
        raise _Invalid(f"feature_names_in_ must hold {d} strings")
    return d


def _check_history(est: Any) -> None:
    t, n_iter, curve = est.t_, est.n_iter_, est.loss_curve_
    if type(t) is not float or not (1 <= t < 2**62) or t != int(t):
        raise _Invalid(f"t_ must be an integral float >= 1, got {t!r}")
    if not (
        type(n_iter) is int
        and n_iter >= 1
        and isinstance(curve, list)
        and len(curve) >= n_iter
        and all(type(v) is float and math.isfinite(v) for v in curve)
    ):
        raise _Invalid(
            "n_iter_ must be an int >= 1 and loss_curve_ a list of at least n_iter_ finite floats"
        )
    scores = getattr(est, "validation_scores_", None)
    if not (scores is None or isinstance(scores, list) and all(type(v) is float for v in scores)):
        raise _Invalid("validation_scores_ must be None or a list of floats")


def _model_shapes(est: Any, d: int) -> tuple[bool, int, tuple, tuple]:
    """(softmax, number of task states, coef_'s shape, the trained weights' shape), as the
    classes and multi_class_ make them (a regressor: one model of shape (d,))."""
    from .linear_model._targets import choose_multi_class

    if not hasattr(est, "classes_"):
        return False, 1, (d,), (1, d)
    classes = est.classes_
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        raise _Invalid("classes_ must be an array of two or more labels")
    try:
        ok = np.array_equal(np.unique(classes), classes)
    except TypeError:  # labels that do not compare
        ok = False
    if not ok:
        raise _Invalid("classes_ must be sorted and distinct")
    if not (
        isinstance(est.multi_class_, str)
        and est.multi_class_ in ("ovr", "multinomial")
        and type(est._soft_labels) is bool
    ):
        raise _Invalid("multi_class_ must be 'ovr' or 'multinomial', _soft_labels a bool")
    K = len(classes)
    chosen = choose_multi_class(est.multi_class, est.loss, est.label_smoothing, K, est._soft_labels)
    if est.multi_class_ != chosen:
        raise _Invalid(f"multi_class_={est.multi_class_!r}: the parameters choose {chosen!r}")
    n_out = 1 if K == 2 else K  # two classes: one model, or the binary form of a softmax's two
    if est.multi_class_ == "multinomial":
        return True, 1, (n_out, d), (K, d)
    return False, n_out, (n_out, d), (n_out, d)


def _check_task_state(est, st, coef_shape, n_intercepts, dtype, where) -> None:
    if not isinstance(st, _solver.TaskState):
        raise _Invalid(f"{where} must be a training state")
    opt = st.optimizer
    plain = isinstance(est.optimizer, str) and est.optimizer == "sgd"
    if plain != (opt is None):
        raise _Invalid(f"{where}: the optimizer's state does not match optimizer={est.optimizer!r}")
    if opt is not None:
        expected = optimizers.get_optimizer(est.optimizer)
        if type(opt) is not type(expected) or opt.kernel_params() != expected.kernel_params():
            raise _Invalid(f"{where}: {opt!r} is not the optimizer {est.optimizer!r}")
        s = getattr(opt, "state_", None)
        k = _core.optimizer_state_arrays(opt.kernel_kind())
        if s is not None and not (
            k > 0
            and s.coef.shape == (k, *coef_shape)
            and s.intercept.shape == (k, n_intercepts)
            and s.coef.dtype == s.intercept.dtype == dtype
        ):
            raise _Invalid(f"{where}: the optimizer's state does not fit the model")
    avg = st.average
    if bool(est.average) != (avg is not None):
        raise _Invalid(f"{where}: the average does not match average={est.average!r}")
    if avg is None:
        return
    arrays = [getattr(avg, a, None) for a in ("coef_", "intercept_", "step_")]
    if avg.start != int(est.average) or any(a is None for a in arrays):
        raise _Invalid(f"{where}: the average does not match average={est.average!r}")
    coef, intercept, _ = arrays
    if not (
        coef.shape == coef_shape
        and intercept.shape == (n_intercepts,)
        and coef.dtype == intercept.dtype == dtype
    ):
        raise _Invalid(f"{where}: the average does not fit the model")


def load(path: Any) -> Any:
    """The estimator saved at ``path`` by ``estimator.save(path)``: fitted, with its parameters,
    classes, feature names and the state that ``partial_fit`` continues, bit for bit.

    Raises ValueError naming the file when it is not a fastgd model (truncated, altered, of
    another kind, or written by a newer fastgd in a format this version cannot read), and
    OSError when it cannot be read. Nothing in the file is executed: no pickle, no eval.
    """
    from .linear_model import SGDClassifier, SGDRegressor

    path = os.fspath(path)
    with open(path, "rb") as f:  # a missing or unreadable file raises OSError, as open() does
        raw = f.read()
    try:
        meta, arrays = _read_container(raw)
    except _Invalid as exc:
        raise ValueError(f"{path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse untrusted bytes
        raise ValueError(
            f"{path}: not a fastgd model file, or a truncated or damaged one "
            f"({type(exc).__name__}: {exc})"
        ) from None
    try:
        cls = {"SGDRegressor": SGDRegressor, "SGDClassifier": SGDClassifier}.get(meta["class"])
        if cls is None:
            raise _Invalid(f"class {meta['class']!r} is not an estimator fastgd saves")
        return _build(cls, meta, _Reader(arrays))
    except (TypeError, ValueError) as exc:  # _Invalid, or a check meeting a value of a wrong kind
        raise ValueError(f"{path}: {exc}") from None


def _build(cls: type, meta: dict, reader: _Reader) -> Any:
    params, attributes = meta["params"], meta["attributes"]
    # A parameter added after the file was written takes its default, the behaviour of the
    # fastgd that wrote it; one this fastgd does not know is refused.
    known = set(cls().get_params(deep=False))
    if not isinstance(params, dict) or not set(params) <= known:
        unknown = sorted(set(params) - known) if isinstance(params, dict) else params
        raise _Invalid(f"params must be parameters of {cls.__name__}, not {unknown!r}")
    spec = _ATTRIBUTES[cls.__name__]
    if not isinstance(attributes, dict) or not (
        {k for k, required in spec.items() if required} <= set(attributes) <= set(spec)
    ):
        raise _Invalid(f"attributes must give the fitted attributes of {cls.__name__}")
    est = cls(**{k: reader.decode(v, f"parameter {k}") for k, v in params.items()})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # deprecated values load as saved
            est._check_params()
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"parameter: {exc}") from None
    if est.callbacks:  # save() refuses them: only an empty list can come back
        raise _Invalid(f"parameter callbacks: {est.callbacks!r} cannot come from a model file")
    for k, v in attributes.items():
        setattr(est, k, reader.decode(v, f"attribute {k}"))
    if reader.unused:
        raise _Invalid(f"arrays {sorted(reader.unused)} are declared but not used")
    _check_model(est)
    return est
