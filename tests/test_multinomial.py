"""Softmax regression in the kernel (loss="multinomial"): against a float64 NumPy reference,
finite differences, soft labels, and the binary logistic model it generalizes."""

from __future__ import annotations

import numpy as np
import pytest

from fastgd import ops

import reference
from conftest import PENALTIES, assert_close

PARAMS = dict(alpha=0.01, l1_ratio=0.3)


def _problem(n, d, K, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    labels = (X.astype(np.float64) @ rng.standard_normal((d, K))).argmax(1)
    soft = rng.dirichlet(np.ones(K), n).astype(dtype)
    W = (0.3 * rng.standard_normal((K, d))).astype(dtype)
    W[0, 1] = 0.0  # sign(0) = 0 in the L1 subgradient
    b = (0.1 * rng.standard_normal(K)).astype(dtype)
    return X, labels, soft, W, b


@pytest.mark.parametrize("targets", ["labels", "soft"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("penalty", PENALTIES)
def test_objective_and_gradient_match_reference(penalty, weighted, smoothing, targets, dtype):
    X, labels, soft, W, b = _problem(67, 5, 4, dtype)
    y = labels if targets == "labels" else soft
    sw = np.random.default_rng(1).uniform(0, 2, 67).astype(dtype) if weighted else None
    kw = dict(penalty=penalty, sample_weight=sw, label_smoothing=smoothing, **PARAMS)
    obj, grad, grad_b = ops.loss_and_grad(X, y, W, b, loss="multinomial", **kw)
    ref_obj, ref_grad, ref_grad_b = reference.softmax_objective_and_grad(X, y, W, b, **kw)
    assert grad.shape == (4, 5) and grad.dtype == dtype and grad_b.shape == (4,)
    assert_close(obj, ref_obj, dtype)
    assert_close(grad, ref_grad, dtype)
    assert_close(grad_b, ref_grad_b, dtype, scale=np.abs(ref_grad).max())


def test_gradient_matches_finite_differences():
    X, labels, _, W, b = _problem(50, 4, 3, np.float64, seed=2)
    W = W + 0.05  # away from 0, where L1 is not differentiable
    kw = dict(loss="multinomial", penalty="elasticnet", label_smoothing=0.05, **PARAMS)
    _, grad, grad_b = ops.loss_and_grad(X, labels, W, b, **kw)
    h = 1e-6
    for k in range(3):
        for j in range(4):
            E = np.zeros_like(W)
            E[k, j] = h
            fp = ops.loss_and_grad(X, labels, W + E, b, **kw)[0]
            fm = ops.loss_and_grad(X, labels, W - E, b, **kw)[0]
            assert grad[k, j] == pytest.approx((fp - fm) / (2 * h), rel=1e-5, abs=1e-8)
        e = np.zeros(3)
        e[k] = h
        fp = ops.loss_and_grad(X, labels, W, b + e, **kw)[0]
        fm = ops.loss_and_grad(X, labels, W, b - e, **kw)[0]
        assert grad_b[k] == pytest.approx((fp - fm) / (2 * h), rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("batch", [1, 16, 101])
@pytest.mark.parametrize("targets", ["labels", "soft"])
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_epoch_matches_reference(penalty, targets, batch, dtype):
    X, labels, soft, W, b = _problem(101, 6, 3, dtype, seed=3)
    y = labels if targets == "labels" else soft
    rng = np.random.default_rng(4)
    order = rng.permutation(101)
    sw = rng.uniform(0, 2, 101).astype(dtype)
    lrs = 0.1 * 0.95 ** np.arange(ops.n_steps(101, batch))
    kw = dict(
        batch_size=batch,
        order=order,
        penalty=penalty,
        sample_weight=sw,
        label_smoothing=0.1,
        **PARAMS,
    )
    w, c = W.copy(), b.copy()
    total = ops.sgd_epoch(X, y, w, c, lrs, loss="multinomial", **kw)
    ref_w, ref_c, ref_total = reference.softmax_epoch(X, y, W, b, lrs, **kw)
    assert_close(w, ref_w, dtype)
    assert_close(c, ref_c, dtype, scale=np.abs(ref_w).max())
    assert_close(total, ref_total, dtype)


def test_one_hot_soft_labels_give_exactly_the_hard_label_model():
    X, labels, _, W, b = _problem(200, 5, 4, np.float32, seed=5)
    one_hot = np.eye(4, dtype=np.float32)[labels]
    models = []
    for y in (labels, one_hot):
        w, c = W.copy(), b.copy()
        for _ in range(3):
            ops.sgd_epoch(
                X, y, w, c, np.full(20, 0.1), batch_size=10, loss="multinomial", label_smoothing=0.1
            )
        models.append((w, c))
    np.testing.assert_array_equal(models[0][0], models[1][0])
    np.testing.assert_array_equal(models[0][1], models[1][1])


def test_two_class_softmax_decides_as_binary_logistic_regression():
    # At the optimum, softmax with penalty 2α has W = [−w/2, w/2] where w is the binary logistic
    # regression optimum with penalty α: the same decision function x·w + b.
    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 4))
    labels = (X @ [1.0, -2.0, 0.5, 0.0] + 0.5 * rng.standard_normal(300) > 0).astype(np.int64)
    w, b = np.zeros(4), np.zeros(1)
    W, c = np.zeros((2, 4)), np.zeros(2)
    for _ in range(3000):  # full-batch gradient descent to the optimum
        ops.sgd_epoch(X, 2.0 * labels - 1, w, b, [1.0], batch_size=300, loss="log_loss", alpha=0.01)
        ops.sgd_epoch(X, labels, W, c, [1.0], batch_size=300, loss="multinomial", alpha=0.02)
    np.testing.assert_allclose(W[1] - W[0], w, rtol=1e-6)
    assert c[1] - c[0] == pytest.approx(b[0], rel=1e-6)
    np.testing.assert_array_equal((X @ (W[1] - W[0]) + c[1] - c[0]) > 0, (X @ w + b[0]) > 0)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.full(20, 3), r"class indices in \[0, 3\)"),
        (np.full(20, -1), r"class indices in \[0, 3\)"),
        (np.full((20, 3), 0.5), "must sum to 1"),
        (np.tile([1.5, -0.5, 0.0], (20, 1)), "finite and >= 0"),
        (np.zeros((20, 2)), "must be class indices of shape"),
        (np.zeros(20, dtype=float), "class indices \\(integers\\)"),
    ],
)
def test_bad_targets_are_refused(y, match):
    X = np.zeros((20, 4))
    W, b = np.zeros((3, 4)), np.zeros(3)
    with pytest.raises((ValueError, TypeError), match=match):
        ops.sgd_epoch(X, y, W, b, [0.1], batch_size=20, loss="multinomial")
    assert not W.any()


# ---------------------------------------------------------------------------------------------
# SGDClassifier: multinomial by default for log_loss with more than two classes, soft labels
# ---------------------------------------------------------------------------------------------


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


MINIBATCH = dict(
    loss="log_loss", batch_size=32, learning_rate="constant", eta0=0.1, alpha=1e-3, random_state=0
)


def test_softmax_on_digits_within_a_point_of_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    from fastgd import SGDClassifier

    X_train, X_test, y_train, y_test = _digits()
    est = SGDClassifier(**MINIBATCH).fit(X_train, y_train)
    assert est.multi_class_ == "multinomial" and est.coef_.shape == (10, 64)
    proba = est.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    scores = est.decision_function(X_test)
    expected = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(proba, expected / expected.sum(1, keepdims=True), rtol=1e-12)
    reference_model = LogisticRegression(max_iter=5000).fit(X_train, y_train)
    assert est.score(X_test, y_test) >= reference_model.score(X_test, y_test) - 0.01


def test_estimator_soft_one_hot_labels_equal_hard_labels():
    from fastgd import SGDClassifier

    X_train, _, y_train, _ = _digits()
    hard = SGDClassifier(max_iter=3, tol=None, **MINIBATCH).fit(X_train, y_train)
    soft = SGDClassifier(max_iter=3, tol=None, **MINIBATCH).fit(X_train, np.eye(10)[y_train])
    np.testing.assert_array_equal(hard.coef_, soft.coef_)
    np.testing.assert_array_equal(soft.classes_, np.arange(10))



@pytest.mark.parametrize("classes", [["a", "b", "c"], None])
def test_partial_fit_on_soft_labels_keeps_the_first_calls_classes(classes):
    """Later calls need not repeat the classes: the columns of y are the first call's classes.
    Three calls of partial_fit give the model of one fit of three epochs over the same rows."""
    from fastgd import SGDClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    P = rng.dirichlet(np.ones(3), 60)
    kw = dict(shuffle=False, learning_rate="constant", eta0=0.05, **{"loss": "log_loss"})
    est = SGDClassifier(**kw)
    est.partial_fit(X, P, classes=classes)
    est.partial_fit(X, P)
    est.partial_fit(X, P, classes=classes)
    want = np.arange(3) if classes is None else np.array(classes)
    np.testing.assert_array_equal(est.classes_, want)
    fit = SGDClassifier(max_iter=3, tol=None, **kw).fit(X, P)
    np.testing.assert_allclose(est.coef_, fit.coef_, rtol=1e-12)
    with pytest.raises(ValueError, match="columns of class probabilities"):
        est.partial_fit(X, rng.dirichlet(np.ones(2), 60))

def test_distillation_from_teacher_probabilities():
    from sklearn.ensemble import RandomForestClassifier

    from fastgd import SGDClassifier

    X_train, X_test, y_train, y_test = _digits()
    teacher = RandomForestClassifier(random_state=0).fit(X_train, y_train)
    student = SGDClassifier(label_smoothing=0.05, **MINIBATCH).fit(
        X_train, teacher.predict_proba(X_train)
    )
    assert student.score(X_test, y_test) >= teacher.score(X_test, y_test) - 0.03


def test_multi_class_options():
    from fastgd import SGDClassifier

    X_train, X_test, y_train, y_test = _digits()
    ovr = SGDClassifier(multi_class="ovr", **MINIBATCH).fit(X_train, y_train)
    assert ovr.multi_class_ == "ovr" and ovr.score(X_test, y_test) > 0.9
    two = y_train < 5
    binary = SGDClassifier(multi_class="multinomial", **MINIBATCH).fit(X_train, two)
    assert binary.coef_.shape == (1, 64) and binary.decision_function(X_test).shape == (
        len(X_test),
    )
    np.testing.assert_allclose(binary.predict_proba(X_test).sum(1), 1.0)
    with pytest.raises(ValueError, match="loss='log_loss'"):
        SGDClassifier(multi_class="multinomial", loss="hinge").fit(X_train, y_train)
    with pytest.raises(ValueError, match="label_smoothing"):
        SGDClassifier(label_smoothing=0.1).fit(X_train, y_train)  # hinge: one-vs-rest
    with pytest.raises(ValueError, match="rows summing to 1"):
        SGDClassifier(loss="log_loss").fit(X_train, np.full((len(y_train), 3), 0.5))


def test_full_label_smoothing_is_accepted_and_predicts_uniformly():
    # label_smoothing is in [0, 1], as in ops and PyTorch's CrossEntropyLoss: at 1 every target
    # is the uniform distribution, which the zero model already predicts, so nothing moves.
    from fastgd import SGDClassifier

    X_train, X_test, y_train, _ = _digits()
    clf = SGDClassifier(label_smoothing=1.0, **MINIBATCH).fit(X_train, y_train)
    assert clf.multi_class_ == "multinomial"
    np.testing.assert_allclose(clf.predict_proba(X_test), 0.1, atol=1e-12)
    with pytest.raises(
        ValueError, match=r"label_smoothing must be a finite number in \[0.0, 1.0\]"
    ):
        SGDClassifier(label_smoothing=1.5, **MINIBATCH).fit(X_train, y_train)
