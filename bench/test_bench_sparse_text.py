"""Sparse text: a linear classifier on a hashed bag of words, the most common use of SGD.

    python -m pytest bench/test_bench_sparse_text.py --benchmark-only [--bench-scale 0.2]

n = 500,000·scale documents (90% to train, 10% to test), d = 2^20 hashed features, about 40
distinct non-zeros per row (tokens of a Zipf-like vocabulary, counts, rows l2-normalized, as
HashingVectorizer + TfidfTransformer(use_idf=False) give), 5 and 20 classes drawn from a softmax
teacher. Float64, scikit-learn's defaults (alpha=1e-4, the 'optimal' schedule), one thread.

The epoch groups time one shuffled epoch from zero: fastgd's softmax (its default for log_loss
with several classes), averaged and with Adagrad, against scikit-learn's SGDClassifier, whose only
option is one-vs-rest (K binary models, one after the other); each case asserts its test
log-loss. The fit groups time a fit at defaults of both, and LogisticRegression(solver='saga')
(multinomial) with max_iter=10 (its default of 100 takes about ten minutes here).

Two ratio tests time their pair interleaved (A, B, A, B, ...) and assert the medians' ratio:
fastgd's softmax epoch against scikit-learn's one-vs-rest epoch at 20 classes (≥ 3×, at an equal
or better test log-loss), and fastgd's averaged and Adagrad epochs against its plain one (the
bound FASTGD_BENCH_TEXT_VARIANT_BOUND, default 1.5×). Two more print where the variants' time
goes: the same epochs with the columns folded into 2^12, and the coefficient updates alone with
one array of K·d values, a second one apart or interleaved, and Adagrad's (the floor of a
variant over the plain epoch).
"""

from __future__ import annotations

import os
import statistics
import time
import warnings

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
sklearn_linear = pytest.importorskip("sklearn.linear_model")
from sklearn.metrics import log_loss  # noqa: E402

from fastgd import _core  # noqa: E402
from fastgd.linear_model import SGDClassifier  # noqa: E402

D = 2**20
TOKENS_PER_ROW = 48  # about 40 distinct hashed columns per row
VOCABULARY = 200_000
VARIANT_BOUND = float(os.environ.get("FASTGD_BENCH_TEXT_VARIANT_BOUND", "1.5"))
CLASSES = [5, 20]


def text_problem(n, n_classes, seed=0):
    """(X_train, y_train, X_test, y_test): token counts of a Zipf-like vocabulary hashed into D
    columns, rows l2-normalized; classes drawn from a softmax over a sparse linear teacher."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, VOCABULARY + 1)
    cdf = np.cumsum(ranks**-1.05)
    tokens = np.searchsorted(cdf, rng.random(n * TOKENS_PER_ROW) * cdf[-1])
    columns = ((tokens * 2654435761) % D).astype(np.int32)
    indptr = np.arange(0, n * TOKENS_PER_ROW + 1, TOKENS_PER_ROW)
    X = sp.csr_matrix((np.ones(n * TOKENS_PER_ROW), columns, indptr), shape=(n, D))
    X.sum_duplicates()  # counts, columns sorted
    X.data /= np.repeat(np.sqrt(np.add.reduceat(X.data**2, X.indptr[:-1])), np.diff(X.indptr))
    teacher = np.zeros((n_classes, D))
    topical = rng.choice(D, D // 4, replace=False)
    teacher[:, topical] = 12.0 * rng.standard_normal((n_classes, topical.size))
    logits = np.asarray(X @ teacher.T) + rng.gumbel(size=(n, n_classes))
    y = logits.argmax(1)
    split = n * 9 // 10
    return X[:split], y[:split], X[split:], y[split:]


@pytest.fixture(scope="module", params=CLASSES, ids=lambda k: f"K={k}")
def text(request, scale):
    n = max(2000, int(500_000 * scale))
    return (request.param, *text_problem(n, request.param))


EPOCH = dict(max_iter=1, tol=None, random_state=0)
# Adagrad adapts its own rates: a constant base rate (the 'optimal' schedule's first rates,
# 1/(alpha·t0), are far too large for it).
ADAGRAD = dict(optimizer="adagrad", learning_rate="constant", eta0=0.5)


def _sklearn(**kw):
    return sklearn_linear.SGDClassifier(loss="log_loss", **kw)


def _fastgd(**kw):
    return SGDClassifier(loss="log_loss", n_jobs=1, **kw)


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 warns that it did not converge
        return model.fit(X, y)


def _test_log_loss(model, X, y, n_classes):
    return log_loss(y, model.predict_proba(X), labels=np.arange(n_classes))


@pytest.fixture(scope="module")
def sklearn_epoch_log_loss(text):
    K, X, y, X_test, y_test = text
    return _test_log_loss(_fit(_sklearn(**EPOCH), X, y), X_test, y_test, K)


@pytest.mark.benchmark(group="sparse-text-epoch")
def test_sklearn_ovr_epoch(benchmark, text, sklearn_epoch_log_loss):
    K, X, y, X_test, y_test = text
    model = benchmark.pedantic(_fit, args=(_sklearn(**EPOCH), X, y), rounds=2, iterations=1)
    assert _test_log_loss(model, X_test, y_test, K) == pytest.approx(sklearn_epoch_log_loss)
    assert sklearn_epoch_log_loss < np.log(K)  # better than uniform


@pytest.mark.parametrize(
    "variant",
    [{}, {"average": True}, ADAGRAD],
    ids=["softmax", "softmax-averaged", "softmax-adagrad"],
)
@pytest.mark.benchmark(group="sparse-text-epoch")
def test_fastgd_epoch(benchmark, text, sklearn_epoch_log_loss, variant):
    K, X, y, X_test, y_test = text
    model = benchmark.pedantic(
        _fit, args=(_fastgd(**EPOCH, **variant), X, y), rounds=2, iterations=1
    )
    assert model.multi_class_ == "multinomial"
    loss = _test_log_loss(model, X_test, y_test, K)
    benchmark.extra_info["test_log_loss"] = loss
    benchmark.extra_info["sklearn_test_log_loss"] = sklearn_epoch_log_loss
    if not variant:
        assert loss <= sklearn_epoch_log_loss * 1.001
    assert loss < np.log(K)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _sklearn(random_state=0),
        lambda: _fastgd(random_state=0),
        lambda: sklearn_linear.LogisticRegression(solver="saga", max_iter=10, tol=1e-4),
    ],
    ids=["sklearn-sgd-ovr", "fastgd-softmax", "sklearn-saga-10-epochs"],
)
@pytest.mark.benchmark(group="sparse-text-fit")
def test_fit(benchmark, text, make):
    K, X, y, X_test, y_test = text
    model = benchmark.pedantic(_fit, args=(make(), X, y), rounds=1, iterations=1)
    loss = _test_log_loss(model, X_test, y_test, K)
    benchmark.extra_info["test_log_loss"] = loss
    benchmark.extra_info["n_iter"] = int(np.max(model.n_iter_))
    assert loss < np.log(K)


def _seconds(fit):
    start = time.perf_counter()
    fit()
    return time.perf_counter() - start


def _interleaved_ratio(fit_a, fit_b, pairs=4):
    """Median seconds of fit_b over fit_a and the pairs' ratios, each pair run back to back."""
    ratios, models = [], None
    for _ in range(pairs):
        times = []
        for fit in (fit_a, fit_b):
            start = time.perf_counter()
            models = fit()
            times.append(time.perf_counter() - start)
        ratios.append(times[1] / times[0])
    return statistics.median(ratios), ratios, models


def test_softmax_epoch_beats_sklearn_ovr_at_20_classes(text, sklearn_epoch_log_loss):
    K, X, y, X_test, y_test = text
    if K != 20:
        pytest.skip("the target is at 20 classes")
    holder = {}

    def fastgd_epoch():
        holder["fastgd"] = _fit(_fastgd(**EPOCH), X, y)

    def sklearn_epoch():
        holder["sklearn"] = _fit(_sklearn(**EPOCH), X, y)

    ratio, ratios, _ = _interleaved_ratio(fastgd_epoch, sklearn_epoch)
    loss = _test_log_loss(holder["fastgd"], X_test, y_test, K)
    print(f"\nsklearn OvR epoch / fastgd softmax epoch: median {ratio:.2f}x, pairs "
          f"{[round(r, 2) for r in ratios]}; test log-loss fastgd {loss:.4f}, "
          f"sklearn {sklearn_epoch_log_loss:.4f}")  # fmt: skip
    assert loss <= sklearn_epoch_log_loss * 1.001
    assert ratio >= 3.0


@pytest.mark.parametrize("variant", [{"average": True}, ADAGRAD], ids=["averaged", "adagrad"])
def test_averaged_and_adagrad_epochs_near_the_plain_one(text, variant):
    K, X, y, *_ = text
    ratio, ratios, _ = _interleaved_ratio(
        lambda: _fit(_fastgd(**EPOCH), X, y), lambda: _fit(_fastgd(**EPOCH, **variant), X, y)
    )
    print(f"\n{variant} epoch / plain epoch at K={K}: median {ratio:.2f}x, pairs "
          f"{[round(r, 2) for r in ratios]}")  # fmt: skip
    assert ratio <= VARIANT_BOUND


# Momentum's steps are 1/(1 − μ) = 10 times as long as its rate: a constant rate well below the
# 'optimal' schedule's first ones.
MOMENTUM = dict(optimizer="momentum", learning_rate="constant", eta0=0.05)
EXACT_MOMENTUM_BOUND = float(os.environ.get("FASTGD_BENCH_TEXT_EXACT_MOMENTUM_BOUND", "3.0"))


def test_exact_momentum_epoch_against_the_lazy_one(text):
    """What the exact updates of momentum (the dense model: untouched columns carried by products
    of the steps' 2×2 maps, sparse/momentum_maps.hpp) cost over the lazy semantics."""
    K, X, y, X_test, y_test = text
    models = {}

    def fit(mode):
        models[mode] = _fit(_fastgd(**EPOCH, **MOMENTUM, sparse_updates=mode), X, y)

    ratio, ratios, _ = _interleaved_ratio(lambda: fit("lazy"), lambda: fit("exact"))
    losses = {mode: _test_log_loss(m, X_test, y_test, K) for mode, m in models.items()}
    print(f"\nexact / lazy momentum epoch at K={K}: median {ratio:.2f}x, pairs "
          f"{[round(r, 2) for r in ratios]}; test log-loss {losses}")  # fmt: skip
    assert max(losses.values()) < np.log(K)
    assert ratio <= EXACT_MOMENTUM_BOUND


def test_where_the_variants_spend_their_time(text):
    """Why averaged and Adagrad epochs cost more than the plain one. Each epoch runs twice: on
    the hashed columns (d = 2^20: K·d values far beyond the caches, each touched column a miss)
    and on the same tokens hashed into 2^12 columns (K·2^12 values held in the L2 cache: the same
    work per non-zero, without the misses). The second time is the compute, the difference what
    the random memory traffic adds: printed per variant against the plain epoch's."""
    K, X, y, *_ = text
    X_small = sp.csr_matrix(
        (X.data.copy(), X.indices % 2**12, X.indptr.copy()), shape=(X.shape[0], 2**12)
    )  # copies: sum_duplicates works in place
    X_small.sum_duplicates()
    names = ("plain", "averaged", "adagrad")
    seconds = {}
    for name, variant in zip(names, ({}, {"average": True}, ADAGRAD)):
        for data in (X, X_small):
            start = time.perf_counter()
            model = _fit(_fastgd(**EPOCH, **variant), data, y)
            seconds[name, data.shape[1]] = time.perf_counter() - start
            assert np.isfinite(model.coef_).all()
    compute = {name: seconds[name, 2**12] for name in names}
    memory = {name: seconds[name, D] - seconds[name, 2**12] for name in names}
    rounded = {name: (round(compute[name], 3), round(memory[name], 3)) for name in names}
    print(f"\nK={K}: seconds (at d = 2^12: compute, what d = 2^20 adds: memory) {rounded}")
    for name in names[1:]:
        print(f"{name} over plain: compute {compute[name] / compute['plain']:.2f}x, "
              f"memory {memory[name] / memory['plain']:.2f}x")  # fmt: skip


def test_the_floor_of_a_second_array(text):
    """What any variant that keeps a second array of K·d values must pay, with no math but the
    update's: the coefficient updates alone of the epoch's non-zeros, in a shuffled epoch's order
    (fastgd._core.column_update_seconds), with one array (the plain update), two (the average's
    sums apart from the coefficients), the two interleaved column by column (as the kernel keeps
    them for float64), and Adagrad's accumulators (apart) and arithmetic. The extra seconds of
    each over the plain update, added to a plain epoch's, bound a variant's epoch from below."""
    K, X, y, *_ = text
    rows = np.random.default_rng(0).permutation(X.shape[0])
    columns = np.ascontiguousarray(X[rows].indices)
    updates = ("one", "two", "interleaved", "adagrad")
    seconds = {
        u: _core.column_update_seconds(np.zeros((1 if u == "one" else 2) * K * D), columns, K, u)
        for u in updates
    }
    plain = min(_seconds(lambda: _fit(_fastgd(**EPOCH), X, y)) for _ in range(3))
    print(f"\nK={K}: update seconds {({u: round(t, 4) for u, t in seconds.items()})}, over one "
          f"array: " + ", ".join(f"{u} {seconds[u] / seconds['one']:.2f}x" for u in updates[1:]))
    print(f"  plain epoch {plain:.3f} s; floors of a variant over it: "
          + ", ".join(f"{u} {(plain + seconds[u] - seconds['one']) / plain:.2f}x"
                      for u in updates[1:]))  # fmt: skip
