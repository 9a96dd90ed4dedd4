"""Saved models (estimator.save / fastgd.load): a bit-exact round trip of every fitted attribute
and of the state partial_fit continues, for every estimator configuration; refusals of what a
file cannot hold; files that are truncated, altered, of another kind or of a newer format
rejected with a ValueError naming the file."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import fastgd
from fastgd import optimizers, schedules

from persistence_fuzz import assert_same

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


# ------------------------------------------------------------------------------ helpers


def roundtrip(est, tmp_path, name="model.fgd"):
    path = tmp_path / name
    est.save(path)
    loaded = fastgd.load(path)
    assert_same(vars(est), vars(loaded))
    return loaded


def regression_data(dtype=np.float64, n=60, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)).astype(dtype)
    return X, y


def classification_data(n_classes, dtype=np.float64, n=90, d=5, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    scores = X @ rng.standard_normal((d, n_classes)) + 0.3 * rng.standard_normal((n, n_classes))
    y = scores.argmax(1)
    y[:n_classes] = np.arange(n_classes)  # every class present
    if labels is not None:
        y = np.asarray(labels)[y]
    return X, y


def assert_resumes_alike(est, loaded, X, y, **kw):
    """partial_fit of the saved and of the loaded model gives the same model, bit for bit."""
    est.partial_fit(X, y, **kw)
    loaded.partial_fit(X, y, **kw)
    assert_same(vars(est), vars(loaded))


# ------------------------------------------------------------------------------ round trips

SCHEDULES = {
    "constant": "constant",
    "optimal": "optimal",
    "invscaling": "invscaling",
    "adaptive": "adaptive",
    "auto": "auto",
    "Constant": schedules.Constant(0.01),
    "ExponentialDecay": schedules.ExponentialDecay(0.02, decay_rate=0.9, decay_steps=7),
    "StepDecay": schedules.StepDecay(0.02, step_size=30, gamma=0.5),
    "LinearDecay": schedules.LinearDecay(0.02, decay_steps=200, final_lr=0.001, power=2.0),
    "InverseScaling": schedules.InverseScaling(0.02, power_t=0.3),
    "Optimal": schedules.Optimal(0.01),
    "CosineDecay": schedules.CosineDecay(0.02, decay_steps=150),
    "OneCycle": schedules.OneCycle(0.05, total_steps=400),
    "Warmup": schedules.Warmup(schedules.Adaptive(0.02, patience=1, tol=10.0), warmup_steps=20),
    "Adaptive": schedules.Adaptive(0.02, patience=1, tol=10.0),
}


@pytest.mark.parametrize("learning_rate", list(SCHEDULES), ids=list(SCHEDULES))
def test_regressor_every_schedule(learning_rate, tmp_path):
    X, y = regression_data()
    est = fastgd.SGDRegressor(
        learning_rate=SCHEDULES[learning_rate], max_iter=4, tol=None, random_state=1, alpha=0.01
    ).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert_resumes_alike(est, loaded, X[:40], y[:40])
    roundtrip(est, tmp_path, "after_partial_fit.fgd")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("average", [False, True, 30])
def test_regressor_every_optimizer(optimizer, average, dtype, tmp_path):
    X, y = regression_data(dtype)
    est = fastgd.SGDRegressor(
        optimizer=optimizer,
        average=average,
        batch_size=4,
        learning_rate="constant",
        eta0=0.005,
        max_iter=3,
        tol=None,
        random_state=2,
    )
    est.fit(X, y)
    assert est.coef_.dtype == dtype
    loaded = roundtrip(est, tmp_path)
    assert_resumes_alike(est, loaded, X, y)
    assert_resumes_alike(est, roundtrip(est, tmp_path, "again.fgd"), X[::2], y[::2])


@pytest.mark.parametrize(
    "optimizer",
    [
        optimizers.SGD(),
        optimizers.Momentum(momentum=0.5, dampening=0.1),
        optimizers.Nesterov(momentum=0.7),
        optimizers.Adagrad(eps=1e-8, lr_decay=0.01, initial_accumulator_value=0.1),
        optimizers.RMSprop(alpha=0.9, eps=1e-6),
        optimizers.Adam(beta1=0.8, beta2=0.99, eps=1e-7),
        optimizers.AdamW(weight_decay=0.05),
    ],
    ids=repr,
)
def test_optimizer_objects(optimizer, tmp_path):
    X, y = classification_data(3)
    est = fastgd.SGDClassifier(
        optimizer=optimizer,
        learning_rate="constant",
        eta0=0.01,
        max_iter=3,
        tol=None,
        random_state=3,
        multi_class="ovr",
    ).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    assert repr(loaded.optimizer) == repr(optimizer)
    assert_resumes_alike(est, loaded, X, y)


REGRESSORS = {
    "l1-per-sample": dict(penalty="l1", alpha=0.01),
    "elasticnet-batches": dict(penalty="elasticnet", l1_ratio=0.5, batch_size=8),
    "full-batch": dict(batch_size=None, learning_rate="constant", eta0=0.1),
    "no-shuffle-huber": dict(shuffle=False, loss="huber"),
    "block-order-epsilon": dict(shuffle="block", loss="epsilon_insensitive"),
    "no-intercept-nesterov": dict(fit_intercept=False, optimizer="nesterov"),
}


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", list(REGRESSORS))
def test_regressor_configurations(name, sparse, tmp_path):
    X, y = regression_data(n=80, d=8)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    est = fastgd.SGDRegressor(max_iter=3, tol=None, random_state=8, **REGRESSORS[name])
    est.fit(X, y)
    loaded = roundtrip(est, tmp_path)
    assert_resumes_alike(est, loaded, X[:50], y[:50])


def test_warm_start_from_a_loaded_model(tmp_path):
    X, y = regression_data()
    est = fastgd.SGDRegressor(warm_start=True, max_iter=2, tol=None, random_state=0).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    est.fit(X, y)
    loaded.fit(X, y)
    assert_same(vars(est), vars(loaded))


def test_regressor_after_partial_fit_only(tmp_path):
    X, y = regression_data(np.float32)
    est = fastgd.SGDRegressor(random_state=0, optimizer="adam", average=True)
    est.partial_fit(X[:30], y[:30])
    loaded = roundtrip(est, tmp_path)
    assert_resumes_alike(est, loaded, X[30:], y[30:])


CLASSIFIERS = {
    "binary-hinge": (2, dict(loss="hinge")),
    "binary-log-average": (2, dict(loss="log_loss", average=True)),
    "binary-softmax": (2, dict(loss="log_loss", multi_class="multinomial")),
    "ovr-hinge": (4, dict(loss="hinge")),
    "ovr-log-adam": (3, dict(loss="log_loss", multi_class="ovr", optimizer="adam")),
    "ovr-modified-huber-average": (3, dict(loss="modified_huber", average=10)),
    "softmax": (4, dict(loss="log_loss")),
    "softmax-adagrad-average": (3, dict(loss="log_loss", optimizer="adagrad", average=True)),
    "softmax-momentum-batches": (3, dict(loss="log_loss", optimizer="momentum", batch_size=8)),
    "softmax-auto": (3, dict(loss="log_loss", learning_rate="auto")),
    "ovr-class-weight": (3, dict(loss="hinge", class_weight={0: 2.0, 1: 0.5, 2: 1.0})),
    "softmax-smoothing": (3, dict(loss="log_loss", label_smoothing=0.1)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(CLASSIFIERS))
def test_classifier_configurations(name, dtype, tmp_path):
    n_classes, params = CLASSIFIERS[name]
    X, y = classification_data(n_classes, dtype)
    est = fastgd.SGDClassifier(max_iter=4, tol=None, random_state=4, **params).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.decision_function(X), est.decision_function(X))
    assert_resumes_alike(est, loaded, X[:50], y[:50])
    roundtrip(est, tmp_path, "after_partial_fit.fgd")


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_classifier_partial_fit_from_scratch(multi_class, tmp_path):
    X, y = classification_data(3, np.float32)
    est = fastgd.SGDClassifier(loss="log_loss", multi_class=multi_class, random_state=5)
    est.partial_fit(X[:40], y[:40], classes=[0, 1, 2])
    loaded = roundtrip(est, tmp_path)
    assert_resumes_alike(est, loaded, X[40:], y[40:])


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["cat", "dog", "eel"]),
        np.array(["cat", "dog", "eel"], dtype=object),
        np.array([-1.0, 0.0, 7.0]),
        np.array([3, 10, 20], dtype=np.int8),
        np.array([False, True]),
    ],
    ids=["str", "object", "float", "int8", "bool"],
)
def test_class_labels_of_every_kind(labels, tmp_path):
    X, y = classification_data(len(labels), labels=labels)
    est = fastgd.SGDClassifier(max_iter=3, tol=None, random_state=0).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    assert loaded.classes_.dtype == est.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_soft_labels(tmp_path):
    X, y = classification_data(3)
    P = np.eye(3)[y] * 0.8 + 0.2 / 3
    est = fastgd.SGDClassifier(loss="log_loss", max_iter=3, tol=None, random_state=0).fit(X, P)
    loaded = roundtrip(est, tmp_path)
    assert loaded._soft_labels
    assert_resumes_alike(est, loaded, X, P)


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="log_loss"),
        dict(loss="log_loss", optimizer="momentum", average=True),
        dict(loss="hinge", optimizer="adam", sparse_updates="lazy"),
    ],
    ids=["softmax", "softmax-momentum-average", "ovr-adam-lazy"],
)
def test_sparse_models(params, tmp_path):
    X, y = classification_data(3, n=120, d=12)
    X[np.abs(X) < 1.0] = 0.0
    Xs = sp.csr_matrix(X)
    est = fastgd.SGDClassifier(max_iter=3, tol=None, random_state=6, **params).fit(Xs, y)
    loaded = roundtrip(est, tmp_path)
    assert_resumes_alike(est, loaded, Xs[:60], y[:60])


def test_feature_names_and_random_state_objects(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = regression_data()
    frame = pd.DataFrame(X, columns=["age", "income", "size", "rooms", "ümlaut ☃"])
    est = fastgd.SGDRegressor(random_state=np.random.RandomState(7), max_iter=3, tol=None)
    est.fit(frame, y)
    loaded = roundtrip(est, tmp_path)
    assert list(loaded.feature_names_in_) == list(frame.columns)
    # the RandomState parameter continues from the same state: the same orders next time
    assert_resumes_alike(est, loaded, frame, y)


def test_parameters_of_numpy_types_and_early_stopping(tmp_path):
    X, y = regression_data(n=100)
    est = fastgd.SGDRegressor(
        alpha=np.float32(0.001),
        max_iter=np.int64(20),
        early_stopping=True,
        random_state=0,
        shuffle="block",
        n_jobs=1,
        callbacks=[],
        tol=np.float64(10.0),
    ).fit(X, y)
    loaded = roundtrip(est, tmp_path)
    assert type(loaded.alpha) is np.float32 and type(loaded.max_iter) is np.int64
    assert loaded.validation_scores_ == est.validation_scores_ != []
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_numpy_can_read_the_arrays(tmp_path):
    X, y = regression_data()
    est = fastgd.SGDRegressor(random_state=0, max_iter=3, tol=None).fit(X, y)
    est.save(tmp_path / "m.fgd")
    with np.load(tmp_path / "m.fgd", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["coef_"], est.coef_)
    with zipfile.ZipFile(tmp_path / "m.fgd") as zf:
        meta = json.loads(zf.read("metadata.json"))
    assert meta["format"] == "fastgd-model" and meta["class"] == "SGDRegressor"
    assert meta["fastgd_version"] == fastgd.__version__


def test_same_model_same_bytes(tmp_path):
    X, y = regression_data()
    est = fastgd.SGDRegressor(random_state=0, max_iter=3, tol=None).fit(X, y)
    est.save(tmp_path / "a.fgd")
    fastgd.load(tmp_path / "a.fgd").save(tmp_path / "b.fgd")
    assert (tmp_path / "a.fgd").read_bytes() == (tmp_path / "b.fgd").read_bytes()


def test_pickle_keeps_working(tmp_path):
    X, y = classification_data(3)
    est = fastgd.SGDClassifier(
        loss="log_loss", optimizer="adam", max_iter=3, tol=None, random_state=0
    ).fit(X, y)
    copy = pickle.loads(pickle.dumps(est))
    assert_same(vars(est), vars(copy))
    loaded = roundtrip(copy, tmp_path)
    assert_same(vars(pickle.loads(pickle.dumps(loaded))), vars(est))


# ------------------------------------------------------------------------------ refusals on save


def test_unfitted_estimator_is_refused(tmp_path):
    with pytest.raises(NotFittedError):
        fastgd.SGDRegressor().save(tmp_path / "m.fgd")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "params, where",
    [
        (dict(callbacks=[lambda epoch, loss: None]), "callbacks"),
        (dict(learning_rate=lambda t: 0.01 / (1 + t)), "learning_rate"),
        (dict(learning_rate=schedules.Warmup(lambda t: 0.01, warmup_steps=3)), "schedule"),
    ],
    ids=["callback", "callable-rate", "wrapped-callable"],
)
def test_what_a_file_cannot_hold_is_refused(params, where, tmp_path):
    X, y = regression_data()
    est = fastgd.SGDRegressor(max_iter=2, tol=None, random_state=0, **params).fit(X, y)
    path = tmp_path / "m.fgd"
    path.write_bytes(b"previous")
    with pytest.raises(TypeError, match=f"cannot save .*{where}"):
        est.save(path)
    assert path.read_bytes() == b"previous"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fgd"]


def test_a_users_schedule_class_is_refused(tmp_path):
    class Half(schedules.Schedule):
        def __init__(self, lr):
            self.lr = lr

        def _rates(self, steps):
            return np.full(steps.shape, self.lr / 2)

    X, y = regression_data()
    est = fastgd.SGDRegressor(learning_rate=Half(0.01), max_iter=2, tol=None).fit(X, y)
    with pytest.raises(TypeError, match="learning_rate"):
        est.save(tmp_path / "m.fgd")


def test_a_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    X, y = regression_data()
    est = fastgd.SGDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y)
    path = tmp_path / "m.fgd"
    est.save(path)
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    est.set_params(alpha=0.5).fit(X, y)
    with pytest.raises(OSError, match="disk full"):
        est.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fgd"]


def test_load_of_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastgd.load(tmp_path / "absent.fgd")


# ------------------------------------------------------------------------------ rejected files


@pytest.fixture
def saved(tmp_path):
    X, y = classification_data(3)
    est = fastgd.SGDClassifier(
        loss="log_loss", optimizer="adam", average=True, max_iter=3, tol=None, random_state=0
    ).fit(X, y)
    path = tmp_path / "m.fgd"
    est.save(path)
    return path


def read_members(path):
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def write_members(path, members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def edit_metadata(path, edit):
    members = read_members(path)
    meta = json.loads(members["metadata.json"])
    edit(meta)
    members["metadata.json"] = json.dumps(meta).encode()
    write_members(path, members)


def rejected(path, match=None):
    with pytest.raises(ValueError, match=match) as info:
        fastgd.load(path)
    assert str(path) in str(info.value)
    return info.value


def test_truncated_file(saved):
    data = saved.read_bytes()
    for n in (0, 10, len(data) // 2, len(data) - 1):
        saved.write_bytes(data[:n])
        rejected(saved)


def test_flipped_byte_in_an_array(saved):
    data = bytearray(saved.read_bytes())
    start = data.index(b"\x93NUMPY")  # the first array member
    data[start + 140] ^= 0x01
    saved.write_bytes(bytes(data))
    rejected(saved, "CRC")


def test_newer_format_asks_for_an_upgrade(saved):
    edit_metadata(saved, lambda m: m.update(format_version=2))
    rejected(saved, "format version 2.*upgrade fastgd")


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip", b"PK\x03\x04garbage", "plain npz", "json only", "other format"],
)
def test_files_of_another_kind(content, tmp_path):
    path = tmp_path / "m.fgd"
    if content == "plain npz":
        np.savez(path.with_suffix(".npz"), coef_=np.zeros(3))
        path = path.with_suffix(".npz")
    elif content == "json only":
        write_members(path, {"metadata.json": b"[1, 2]"})
    elif content == "other format":
        write_members(path, {"metadata.json": json.dumps({"format": "onnx"}).encode()})
    else:
        path.write_bytes(content)
    rejected(path)


def test_deeply_nested_json(saved):
    members = read_members(saved)
    deep = dict(members, **{"metadata.json": b"[" * 100_000 + b"]" * 100_000})
    write_members(saved, deep)
    rejected(saved)
    write_members(saved, members)

    def edit(meta):
        meta["params"]["callbacks"] = json.loads("[" * 60 + "]" * 60)

    edit_metadata(saved, edit)
    rejected(saved, "deeper")


def test_a_classifier_file_claiming_to_be_a_regressor(saved):
    edit_metadata(saved, lambda m: m.update({"class": "SGDRegressor"}))
    rejected(saved, "parameters of SGDRegressor, not .*class_weight")
    edit_metadata(saved, lambda m: m.update({"class": "DPSGDRegressor"}))
    rejected(saved, "DPSGDRegressor")


def test_pickled_arrays_are_never_read(saved):
    members = read_members(saved)
    buffer = io.BytesIO()
    np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
    members["coef_.npy"] = buffer.getvalue()
    write_members(saved, members)
    rejected(saved, "dtype object")


def test_unknown_class_is_refused(saved):
    def edit(meta):
        meta["params"]["learning_rate"] = {"object": "os.system", "params": {}, "state": {}}

    edit_metadata(saved, edit)
    rejected(saved, "os.system")


def test_array_shape_mismatch(saved):
    members = read_members(saved)
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 4)))
    members["coef_.npy"] = buffer.getvalue()
    write_members(saved, members)
    rejected(saved, "declares")

    def edit(meta):
        meta["arrays"]["coef_"]["shape"] = [3, 4]

    edit_metadata(saved, edit)
    rejected(saved, "coef_")


def test_inconsistent_optimizer_state(saved):
    edit_metadata(saved, lambda m: m["params"].update(optimizer="adagrad"))
    rejected(saved, "optimizer")


@pytest.mark.parametrize(
    "attribute, value",
    [("t_", 0.5), ("n_features_in_", 7), ("multi_class_", "softmax"), ("n_iter_", -1)],
)
def test_inconsistent_attributes(saved, attribute, value):
    edit_metadata(saved, lambda m: m["attributes"].update({attribute: value}))
    rejected(saved, attribute)


def test_a_parameter_missing_from_an_older_file_takes_its_default(saved):
    edit_metadata(saved, lambda m: m["params"].pop("label_smoothing"))
    assert fastgd.load(saved).label_smoothing == 0.0


def test_a_schedule_parameter_missing_from_an_older_file_takes_its_default(tmp_path):
    # Adaptive gained decay_from and decay_steps: a file written before has neither, and its
    # schedule loads without the first decay, as it was; a parameter without a default, or one
    # the class does not know, is still refused.
    X, y = classification_data(3)
    path = tmp_path / "auto.fgd"
    fastgd.SGDClassifier(learning_rate="auto", max_iter=2, tol=None, random_state=0).fit(
        X, y
    ).save(path)

    def schedule(meta):
        return meta["attributes"]["_task_states"][0]["params"]["schedule"]["params"]

    def drop(meta):
        schedule(meta).pop("decay_from")
        schedule(meta).pop("decay_steps")

    edit_metadata(path, drop)
    loaded = fastgd.load(path)._task_states[0].schedule
    assert (loaded.decay_from, loaded.decay_steps) == (None, 0)
    edit_metadata(path, lambda m: schedule(m).pop("lr"))
    rejected(path, "takes the parameters")
    edit_metadata(path, lambda m: schedule(m).update(lr=0.1, warmup=3))
    rejected(path, "takes the parameters")


@pytest.mark.parametrize("attribute", ["coef_", "intercept_", "step_"])
def test_an_average_without_its_arrays(saved, attribute):
    def edit(meta):
        state = meta["attributes"]["_task_states"][0]["params"]["average"]["state"]
        meta["arrays"].pop(state.pop(attribute)["array"])

    edit_metadata(saved, edit)
    members = read_members(saved)
    declared = json.loads(members["metadata.json"])["arrays"]
    kept = {k: v for k, v in members.items() if k.removesuffix(".npy") in declared}
    write_members(saved, {"metadata.json": members["metadata.json"], **kept})
    rejected(saved, "average")


def test_callbacks_never_come_from_a_file(saved):
    schedule = {"object": "schedules.Constant", "params": {"lr": 0.1}, "state": {}}
    edit_metadata(saved, lambda m: m["params"].update(callbacks=[schedule]))
    rejected(saved, "callbacks")


def test_multi_class_must_be_what_the_parameters_choose(saved):
    edit_metadata(saved, lambda m: m["attributes"].update(multi_class_="ovr"))
    rejected(saved, "multi_class_='ovr'.*'multinomial'")


def test_a_bad_parameter_is_refused(saved):
    edit_metadata(saved, lambda m: m["params"].update(alpha=-1.0))
    rejected(saved, "alpha")


# ------------------------------------------------------------------------------ corruption fuzz


def test_a_thousand_corrupted_files(tmp_path):
    """1,000 corrupted copies of saved models (byte flips, truncations, JSON edits anywhere and
    inside the schedules, optimizers and training states, arrays of another dtype or shape,
    members missing, repeated, renamed or compressed), loaded in a
    subprocess so that a crash fails this test instead of ending the run: each is rejected with
    a ValueError naming the file, or loads to a model that predicts, saves and loads back the
    same, and continues with partial_fit (tests/persistence_fuzz.py)."""
    script = os.path.join(os.path.dirname(__file__), "persistence_fuzz.py")
    run = subprocess.run(
        [sys.executable, script, "1000", "20261207"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["failures"] == [], "\n\n".join(summary["failures"][:5])
    assert summary["rejected"] + summary["loaded"] == 1000
    assert len(summary["by_mutation"]) == 6
    for mutation, (rejected, loaded) in summary["by_mutation"].items():
        assert rejected + loaded in (166, 167), mutation
    # Every truncation short of the whole file, every broken archive, and nearly every
    # byte flip and declared-array mismatch is refused; what loads is an intact model (a flip
    # in the archive's timestamps, garbage after its end) or a consistent edit.
    assert summary["by_mutation"]["restructure"][1] == 0
    assert summary["rejected"] > 850
