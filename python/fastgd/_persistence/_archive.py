"""The container of a model file: a ZIP archive laid out as ``np.savez`` lays one out (``np.load``
opens it), one ``.npy`` member per array, stored uncompressed (each member checked by its
CRC-32), and a ``metadata.json`` member. Writing it from the metadata and the arrays, and reading
it back with every member checked against what the metadata declares before its data is read:
arrays of numbers, booleans and strings only, never pickled objects."""

from __future__ import annotations

import io
import json
import math
import zipfile
from typing import Any

import numpy as np

from .. import _core

FORMAT = "fastgd-model"
FORMAT_VERSION = 1
METADATA = "metadata.json"
# Array dtypes a file may hold: numbers, booleans and strings; never objects (pickle).
ARRAY_KINDS = "biufU"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # a fixed timestamp: the same model gives the same bytes


class Invalid(ValueError):
    """A problem with the file's content; load() adds the file's name."""


def _zip_member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def write_archive(meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """The model file of ``meta`` (without its "arrays" key, which this adds) and the arrays."""
    meta = {
        **meta,
        "arrays": {
            name: {
                "dtype": a.dtype.str,
                "shape": list(a.shape),
                "fortran_order": bool(a.flags.f_contiguous and not a.flags.c_contiguous),
            }
            for name, a in arrays.items()
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        _zip_member(zf, METADATA, json.dumps(meta, indent=1, allow_nan=False).encode())
        for name, a in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, a, allow_pickle=False)
            _zip_member(zf, f"{name}.npy", member.getvalue())
    return buffer.getvalue()


def read_archive(raw: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and the arrays of a model file's bytes (anything malformed raises)."""
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise Invalid("the archive repeats a member")
        if METADATA not in names:
            raise Invalid(f"no {METADATA} member: not a fastgd model file")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
                raise Invalid(f"member {info.filename!r} is compressed; models are stored")
            if info.file_size > len(raw):
                raise Invalid(f"member {info.filename!r} claims more bytes than the file has")
        meta = json.loads(zf.read(METADATA).decode("utf-8"))
        if not isinstance(meta, dict):
            raise Invalid(f"{METADATA} is not a JSON object")
        _check_header(meta)
        declared = meta.get("arrays")
        if not isinstance(declared, dict):
            raise Invalid("'arrays' must be an object")
        expected = {METADATA, *(f"{n}.npy" for n in declared)}
        if set(names) != expected:
            raise Invalid(
                f"the archive's members {sorted(names)} differ from those the metadata declares "
                f"{sorted(expected)}"
            )
        arrays = {n: _read_array(zf.read(f"{n}.npy"), n, spec) for n, spec in declared.items()}
    return meta, arrays


def _check_header(meta: dict) -> None:
    if meta.get("format") != FORMAT:
        raise Invalid(f"not a fastgd model file (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise Invalid(f"format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise Invalid(
            f"written in format version {version} by fastgd {meta.get('fastgd_version')!r}; "
            f"this fastgd ({_core.__version__}) reads version {FORMAT_VERSION} and older: "
            "upgrade fastgd to load it"
        )
    keys = {"format", "format_version", "fastgd_version", "class", "params", "attributes"}
    if set(meta) != keys | {"arrays"}:
        raise Invalid(
            f"the metadata's keys must be {sorted(keys | {'arrays'})}, got {sorted(meta)}"
        )
    if not isinstance(meta["fastgd_version"], str):
        raise Invalid("fastgd_version must be a string")


def _read_array(data: bytes, name: str, spec: Any) -> np.ndarray:
    """One .npy member, checked against its declaration before its data is read."""
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "fortran_order"}:
        raise Invalid(f"array {name!r}: its declaration must give dtype, shape, fortran_order")
    f = io.BytesIO(data)
    major, _ = np.lib.format.read_magic(f)
    read_header = {
        1: np.lib.format.read_array_header_1_0,
        2: np.lib.format.read_array_header_2_0,
    }.get(major)
    if read_header is None:
        raise Invalid(f"array {name!r}: .npy version {major} is not one NumPy writes for models")
    shape, fortran_order, dtype = read_header(f)
    if any(n < 0 for n in shape):
        raise Invalid(f"array {name!r}: shape {shape} has a negative length")
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise Invalid(f"array {name!r}: dtype {dtype} is not allowed in a model file")
    if [dtype.str, list(shape), fortran_order] != [
        spec["dtype"],
        spec["shape"],
        spec["fortran_order"],
    ]:
        raise Invalid(
            f"array {name!r} is {dtype.str} {list(shape)} (fortran_order={fortran_order}); the "
            f"metadata declares {spec['dtype']} {spec['shape']} "
            f"(fortran_order={spec['fortran_order']})"
        )
    count = math.prod(shape)
    body = data[f.tell() :]
    if len(body) != count * dtype.itemsize:
        raise Invalid(
            f"array {name!r} holds {len(body)} bytes of data; {dtype.str} {list(shape)} "
            f"takes {count * dtype.itemsize}"
        )
    flat = np.frombuffer(body, dtype=dtype, count=count)
    # A fresh, aligned, writeable array: the kernels update the optimizer's state in place.
    return flat.reshape(shape, order="F" if fortran_order else "C").copy(order="K")
