"""Randomly corrupted model files, for tests/test_persistence.py (run as a script, in a
subprocess, so that a crash would be reported rather than take the test run down with it).

``python persistence_fuzz.py N SEED`` writes N corrupted copies of a few saved models (byte
flips, truncations, edits of the JSON metadata, arrays of another dtype or shape, archives with
members missing, repeated, renamed or compressed), loads each, and prints a JSON summary: how
many were rejected with ValueError, how many loaded (each then checked: it predicts, saves to
the same bytes and loads to the same model, and continues with partial_fit), and the failures —
any other exception, or a loaded model that does not hold together.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import struct
import sys
import tempfile
import traceback
import warnings
import zipfile

import numpy as np
import scipy.sparse as sp

import fastgd
from fastgd import schedules


def base_models():
    """A few fitted models covering the format's values: optimizer state, averages, schedules
    with state (Adaptive, Warmup, auto's smoothness with an infinite noise step), classes of
    several kinds, feature names, a RandomState, NumPy scalars, soft labels, sparse training."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.1 * rng.standard_normal(80)
    group = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    labels = np.array(["a", "b", "c"])[group]
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    models = [
        fastgd.SGDRegressor(
            optimizer="adam", average=True, random_state=0, max_iter=3, tol=None
        ).fit(X.astype(np.float32), y.astype(np.float32)),
        fastgd.SGDRegressor(
            learning_rate=schedules.Warmup(schedules.Adaptive(0.01, patience=1), 10),
            random_state=np.random.RandomState(3),
            alpha=np.float64(0.001),
            max_iter=3,
            tol=None,
        ).fit(X, y),
        fastgd.SGDClassifier(
            loss="log_loss", optimizer="momentum", average=5, random_state=0, max_iter=3, tol=None
        ).fit(Xs, labels),
        fastgd.SGDClassifier(
            loss="hinge",
            learning_rate="auto",
            class_weight={"a": 2.0, "b": 1.0, "c": 0.5},
            random_state=0,
            max_iter=3,
            tol=None,
        ).fit(X, labels),
        fastgd.SGDClassifier(
            loss="log_loss", optimizer="adagrad", random_state=0, max_iter=3, tol=None
        ).fit(X, np.eye(3)[group] * 0.7 + 0.1),
    ]
    try:
        import pandas as pd
    except ImportError:
        return models
    frame = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    models.append(
        fastgd.SGDClassifier(
            loss="modified_huber", multi_class="ovr", random_state=0, max_iter=3, tol=None
        ).fit(frame, (X[:, 2] > 0).astype(np.int64) + 2 * (X[:, 3] > 0))
    )
    return models


def assert_same(a, b, where="model"):
    """a and b hold the same values, bit for bit: arrays with their dtype, shape and memory
    layout, floats by their bits, objects attribute by attribute."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert a.flags.f_contiguous == b.flags.f_contiguous, f"{where}: layout"
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                assert_same(x, y, f"{where}[{i}]")
        else:
            assert a.tobytes(order="A") == b.tobytes(order="A"), f"{where}: values"
    elif isinstance(a, (float, np.floating)):
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{where}: {a!r} != {b!r}"
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert_same(list(a), list(b), f"{where} keys")  # a NaN key is not == itself
        for (k, x), y in zip(a.items(), b.values()):
            assert_same(x, y, f"{where}[{k!r}]")
    elif isinstance(a, np.random.RandomState):
        assert_same(a.get_state(), b.get_state(), where)
    elif hasattr(a, "__dict__"):
        assert sorted(vars(a)) == sorted(vars(b)), f"{where}: attributes"
        for k in vars(a):
            assert_same(vars(a)[k], vars(b)[k], f"{where}.{k}")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# ---------------------------------------------------------------------------- the archive


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def archive(members, compress=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def npy(a, allow_pickle=False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, a, allow_pickle=allow_pickle)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- mutations


def flip_bytes(rng, data, meta):
    out = bytearray(data)
    for _ in range(rng.integers(1, 9)):
        out[rng.integers(len(out))] ^= int(rng.integers(1, 256))
    return bytes(out)


def truncate(rng, data, meta):
    if rng.random() < 0.2:
        return data + bytes(rng.integers(0, 256, rng.integers(1, 64), dtype=np.uint8))
    return data[: rng.integers(len(data))]


def random_value(rng, arrays):
    choices = [
        None,
        True,
        False,
        0,
        -1,
        1,
        2,
        int(rng.integers(-(2**40), 2**40)),
        10**30,
        0.0,
        -0.0,
        float(rng.standard_normal()),
        1e308,
        -1e-320,
        "",
        "ovr",
        "multinomial",
        "sgd",
        "adam",
        "hinge",
        "x" * int(rng.integers(1, 40)),
        [],
        [1, 2],
        {},
        {"array": str(rng.choice(arrays))},
        {"float": "inf"},
        {"float": "nan"},
        {"float": "1e5"},
        {"numpy": "<f4", "value": 1.5},
        {"numpy": "<i1", "value": 300},
        {"numpy": "|O", "value": 1},
        {"tuple": [1, "a"]},
        {"dict": [[1, 2], [1, 3]]},
        {"dict": [[[1], 2]]},
        {"object_array": ["a", 1]},
        {"object_array": [[1]]},
        {"object": "schedules.Constant", "params": {"lr": 0.1}, "state": {}},
        {"object": "schedules.Constant", "params": {"lr": -1}, "state": {}},
        {"object": "optimizers.Adam", "params": {}, "state": {}},
        {"object": "builtins.eval", "params": {}, "state": {}},
        {
            "object": "solver.TaskState",
            "params": {"schedule": 1, "optimizer": None, "average": None},
            "state": {},
        },
        {
            "random_state": {
                "keys": {"array": str(rng.choice(arrays))},
                "pos": 3,
                "has_gauss": 0,
                "cached_gaussian": 0.0,
            }
        },
        {"unknown": 1},
    ]
    return copy.deepcopy(choices[rng.integers(len(choices))])


def nodes(tree, path=()):
    """Every (path, node) of a JSON tree."""
    yield path, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from nodes(v, (*path, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from nodes(v, (*path, i))


def in_objects(path) -> bool:
    """Whether a JSON path lies inside a schedule, optimizer or training state."""
    return any(key in ("params", "state") for key in path[2:])


def edit_json(rng, data, original, where=lambda path: True):
    meta = copy.deepcopy(original)
    for _ in range(rng.integers(1, 4)):
        paths = [p for p, _ in nodes(meta) if p and where(p)] or [("class",)]
        path = paths[rng.integers(len(paths))]
        parent = meta
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = rng.integers(4)
        if action == 0 or isinstance(parent, list) and action == 1:
            parent[key] = random_value(rng, list(original["arrays"]))
        elif action == 1:
            del parent[key]
        elif action == 2 and isinstance(parent, dict):
            parent["extra" + str(rng.integers(3))] = random_value(rng, list(original["arrays"]))
        elif isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = parent[key] * float(rng.choice([-1, 0, 0.5, 2, 1e10])) + int(
                rng.integers(-2, 3)
            )
        else:
            parent[key] = random_value(rng, list(original["arrays"]))
    members = members_of(data)
    members["metadata.json"] = json.dumps(meta).encode()
    return archive(members.items())


def edit_objects(rng, data, original):
    """edit_json inside the objects: their parameters and state, nested (Warmup's schedule,
    Adaptive's plateau, an optimizer's state arrays, an average)."""
    return edit_json(rng, data, original, in_objects)


def replace_array(rng, data, meta):
    members = members_of(data)
    meta = copy.deepcopy(meta)
    name = str(rng.choice(list(meta["arrays"])))
    a = np.load(io.BytesIO(members[f"{name}.npy"]))
    kind = rng.integers(7)
    if kind == 0:
        dtype = rng.choice([np.float32, np.float64, np.int64, np.int32, np.bool_])
        b = np.zeros(a.shape, dtype) if a.dtype.kind == "U" else a.astype(dtype)
    elif kind == 1:
        shape = list(a.shape) or [1]
        shape[rng.integers(len(shape))] += int(rng.choice([-1, 1]))
        b = np.resize(a, [max(s, 0) for s in shape])
    elif kind == 2:
        b = np.asfortranarray(a.T) if a.ndim == 2 else a.reshape(-1, 1)
    elif kind == 3:
        b = a.ravel()[0].copy() if a.size else np.array(0.0)  # a 0-d array
    elif kind == 4:
        b = a.astype(str)
    elif kind == 5:
        b = a.copy()
        if b.size and b.dtype.kind == "f":
            b.flat[rng.integers(b.size)] = rng.choice([np.nan, np.inf, 1e300])
    else:
        members[f"{name}.npy"] = npy(np.array([print], dtype=object), allow_pickle=True)
        members["metadata.json"] = json.dumps(meta).encode()
        return archive(members.items())
    members[f"{name}.npy"] = npy(b)
    if rng.random() < 0.7:  # declare it too, so that only the model's checks can catch it
        meta["arrays"][name] = {
            "dtype": b.dtype.str,
            "shape": list(b.shape),
            "fortran_order": bool(b.flags.f_contiguous and not b.flags.c_contiguous),
        }
    members["metadata.json"] = json.dumps(meta).encode()
    return archive(members.items())


def restructure(rng, data, meta):
    items = list(members_of(data).items())
    kind = rng.integers(5)
    if kind == 0:
        del items[rng.integers(len(items))]
    elif kind == 1:
        items.append(items[rng.integers(len(items))])
    elif kind == 2:
        i = rng.integers(len(items))
        items[i] = (items[i][0] + "x", items[i][1])
    elif kind == 3:
        return archive(items, zipfile.ZIP_DEFLATED)
    else:
        items.append(("extra.npy", npy(np.zeros(2))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a repeated name
        return archive(items)


MUTATIONS = [flip_bytes, truncate, edit_json, edit_objects, replace_array, restructure]


# ---------------------------------------------------------------------------- checks


def probe_data(est, rng):
    d = est.n_features_in_
    X = rng.standard_normal((12, d)).astype(est.coef_.dtype)  # partial_fit keeps the dtype
    if hasattr(est, "feature_names_in_"):
        import pandas as pd

        X = pd.DataFrame(X, columns=list(est.feature_names_in_))
    if not hasattr(est, "classes_"):
        return X, rng.standard_normal(12)
    K = len(est.classes_)
    if est._soft_labels:
        return X, rng.dirichlet(np.ones(K), 12)
    return X, est.classes_[rng.integers(K, size=12)]


def check_loaded(est, path, rng) -> None:
    """A loaded model must hold together: predict, save to the same bytes and load to the same
    model, continue with partial_fit (which may refuse with ValueError, e.g. on divergence)."""
    X, y = probe_data(est, rng)
    p = est.predict(X)
    assert p.shape == (12,), p.shape
    est.save(path + ".again")
    assert_same(vars(est), vars(fastgd.load(path + ".again")))
    before = np.array(est.coef_, copy=True)
    est.set_params(n_jobs=1)  # a thread count edited to millions is the user's choice, not ours
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            est.partial_fit(X, y)
        except ValueError:
            np.testing.assert_array_equal(est.coef_, before)  # the model is kept


def main(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    warnings.simplefilter("ignore")  # overflow in a probe prediction of an edited model
    summary = {"rejected": 0, "loaded": 0, "failures": [], "by_mutation": {}}
    with tempfile.TemporaryDirectory() as tmp:
        bases = []
        for i, est in enumerate(base_models()):
            path = os.path.join(tmp, f"base{i}.fgd")
            est.save(path)
            with open(path, "rb") as f:
                data = f.read()
            bases.append((data, json.loads(members_of(data)["metadata.json"])))
        for case in range(n):
            mutation = MUTATIONS[case % len(MUTATIONS)]
            data, meta = bases[rng.integers(len(bases))]
            corrupted = mutation(rng, data, meta)
            path = os.path.join(tmp, f"case{case}.fgd")
            with open(path, "wb") as f:
                f.write(corrupted)
            stats = summary["by_mutation"].setdefault(mutation.__name__, [0, 0])
            try:
                est = fastgd.load(path)
            except ValueError as exc:
                if path not in str(exc):
                    summary["failures"].append(f"case {case}: message without the file: {exc}")
                summary["rejected"] += 1
                stats[0] += 1
                continue
            except BaseException:
                summary["failures"].append(
                    f"case {case} ({mutation.__name__}) load: " + traceback.format_exc(limit=3)
                )
                continue
            summary["loaded"] += 1
            stats[1] += 1
            try:
                check_loaded(est, path, rng)
            except BaseException:
                summary["failures"].append(
                    f"case {case} ({mutation.__name__}) loaded: " + traceback.format_exc(limit=3)
                )
    return summary


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
