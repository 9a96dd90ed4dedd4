"""The fused kernels as functions, for users who write their own training loops.

Conventions (as scikit-learn's SGD): the objective is

    F(w, b) = (1/n) Σ_i s_i·L(x_i·w + b, y_i) + α·R(w)

with sample weights s_i (default 1) and R = ½‖w‖² (``"l2"``), ‖w‖₁ (``"l1"``),
(1−ρ)/2·‖w‖² + ρ‖w‖₁ (``"elasticnet"``, ρ = ``l1_ratio``) or 0 (``"none"``). The intercept is
never penalized. Classification losses (log_loss, hinge, squared_hinge, modified_huber) take
y in {−1, +1}; regression losses take any real y.

X must be a float32 or float64 NumPy array with contiguous rows (any row stride); it is never
copied. X may also be a scipy.sparse matrix (scipy is needed only then): CSR with float32/float64
values and int32/int64 indices is used in place; other formats are converted to CSR on each call
(convert once with ``X.tocsr()`` to avoid that). On CSR data a minibatch step costs
O(non-zeros of the batch), independent of the number of features, and gives the same result as
the dense kernel on ``X.toarray()`` to rounding, the softmax and the average included. The
exceptions: ``l1_method="cumulative"`` clips only a row's stored columns on sparse X, as
scikit-learn does, and the optimizers without an exact lazy form take the lazy updates that
``sparse_updates`` names (see :func:`sgd_epoch` and docs/sparse.md).

y and sample_weight are converted to X's dtype when they are not already (an O(n) copy:
pass them in X's dtype to avoid it). float32 data is computed in float32 storage with float64
accumulators.

GPU: when X is a device array (it has ``__cuda_array_interface__``: CuPy, PyTorch CUDA tensors,
:class:`fastgd.cuda.DeviceArray`), :func:`loss_and_grad` and :func:`sgd_epoch` run on the GPU,
on the arrays in place; see :mod:`fastgd.cuda` for what they accept there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core, _orders, optimizers
from ._backend import default_threads
from ._orders import BlockOrder
from ._params import check_param, check_threads
from ._validation import (
    as_csr,
    as_intercept_value,
    as_order,
    as_vector,
    check_data_matrix,
    check_inplace,
    check_int,
    check_option,
    check_parallel,
    check_real,
    is_sparse,
)

__all__ = [
    "LOSSES",
    "MULTINOMIAL",
    "PENALTIES",
    "BlockOrder",
    "block_order",
    "loss_and_derivative",
    "loss_and_grad",
    "n_steps",
    "sgd_epoch",
]

#: The softmax loss's name: ``loss="multinomial"`` (coefficients (K, d), y classes).
MULTINOMIAL: str = _core.Loss.multinomial.name
#: The pointwise losses, L(p, y) of one prediction: every name ``loss=`` accepts but MULTINOMIAL.
LOSSES: tuple[str, ...] = tuple(
    name
    for name, kind in _core.Loss.__members__.items()
    if _core.loss_targets(kind) != _core.Targets.classes
)
#: Names accepted by ``penalty=``.
PENALTIES: tuple[str, ...] = tuple(_core.Penalty.__members__)


def _multinomial_targets(y: Any, dtype: Any) -> np.ndarray:
    """Class indices (n,) as int64, or class probabilities (n, K) in X's dtype (soft labels)."""
    arr = np.asarray(y)
    if arr.ndim == 1:
        if arr.dtype.kind not in "iu":
            raise TypeError(
                f"y must hold class indices (integers) or be an (n, K) matrix of class "
                f"probabilities for loss='multinomial', got dtype {arr.dtype}"
            )
        return np.ascontiguousarray(arr, dtype=np.int64)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"y (class probabilities) must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


def _features(X: Any) -> Any:
    """X as the kernels take it, never copied: a float32/float64 NumPy array, or a scipy.sparse
    CSR matrix (other formats and dtypes are converted, see :func:`as_csr`)."""
    return as_csr(X) if is_sparse(X) else check_data_matrix(X)


def _prepare(
    X: Any,
    y: Any,
    sample_weight: Any,
    *,
    loss: Any,
    penalty: Any,
    alpha: Any,
    l1_ratio: Any,
    epsilon: Any,
    n_threads: Any,
    check_input: bool,
    coef: Any,
    label_smoothing: Any = 0.0,
    batch_size: Any = 1,
    fit_intercept: bool = True,
    parallel: Any = "sync",
    optimizer: optimizers.Optimizer | None = None,
    average: optimizers.Average | None = None,
    sparse_updates: Any = "auto",
    intercept_decay: Any = 1.0,
    l1_method: Any = "proximal",
) -> Any:
    """The prepared problem (``_core.Problem``): X, the targets, the weights and every option
    checked once, in O(n) (O(nnz) on CSR); its ``run`` then costs O(the chunk's rows). The public
    functions below build one per call; the solver builds one per fit.

    ``y`` and ``sample_weight`` are converted to X's dtype when they are not already (an O(n)
    copy); class indices (``loss="multinomial"``) to int64. ``check_input=False`` skips the scan of
    X for NaN/inf. ``coef`` gives a softmax model its number of classes."""
    X = _features(X)
    kind = check_option(loss, "loss", _core.Loss)
    multinomial = _core.loss_targets(kind) == _core.Targets.classes
    if average is not None and not isinstance(average, optimizers.Average):
        raise TypeError(f"average must be a fastgd.optimizers.Average, got {average!r}")
    return _core.Problem(
        X,
        _multinomial_targets(y, X.dtype) if multinomial else as_vector(y, "y", X.dtype),
        None if sample_weight is None else as_vector(sample_weight, "sample_weight", X.dtype),
        loss=kind,
        epsilon=check_param(epsilon, "epsilon"),
        label_smoothing=check_param(label_smoothing, "label_smoothing"),
        n_classes=_n_classes(coef) if multinomial else 0,
        penalty=check_option(penalty, "penalty", _core.Penalty),
        alpha=check_param(alpha, "alpha"),
        l1_ratio=check_param(l1_ratio, "l1_ratio"),
        batch_size=check_param(batch_size, "batch_size"),
        fit_intercept=bool(fit_intercept),
        n_threads=check_threads(n_threads, default_threads()),
        asynchronous=check_parallel(parallel),
        optimizer=_core.Optimizer.sgd if optimizer is None else optimizer.kernel_kind(),
        optimizer_params={} if optimizer is None else optimizer.kernel_params(),
        average_start=0 if average is None else average.start,
        sparse_updates=check_option(sparse_updates, "sparse_updates", _core.SparseUpdates),
        intercept_decay=check_real(
            intercept_decay, "intercept_decay", low=0.0, low_open=True, high=1.0
        ),
        l1_method=check_option(l1_method, "l1_method", _core.L1Method),
        check_finite=bool(check_input),
    )


def _model_state(
    optimizer: optimizers.Optimizer | None, average: optimizers.Average | None, coef: np.ndarray
) -> dict[str, Any]:
    """The arrays an optimizer and an average update beside coef, as ``Problem.run`` takes them
    (allocated on first use, kept by their objects across calls)."""
    state = None if optimizer is None else optimizer.state_for(coef)
    return dict(
        optimizer_state=None if state is None else (state.coef, state.intercept, state.step),
        average=None if average is None else average.arrays_for(coef),
    )


def _is_multinomial(loss: Any) -> bool:
    """Whether ``loss=`` (a name or a ``_core.Loss``) is the softmax's: its y are classes."""
    kind = check_option(loss, "loss", _core.Loss)
    return _core.loss_targets(kind) == _core.Targets.classes


def _n_classes(coef: Any) -> int:
    """K of a softmax model, read from its coefficients (K, d)."""
    shape = np.shape(coef)
    if len(shape) != 2 or shape[0] < 2:
        raise ValueError(
            f"coef must have shape (n_classes >= 2, n_features) for loss='multinomial', "
            f"got shape {shape}"
        )
    return int(shape[0])


def _on_device(X: Any) -> bool:
    # A device array selects the GPU kernels (fastgd.cuda, imported only then).
    return hasattr(X, "__cuda_array_interface__")


def block_order(
    rng: np.random.Generator,
    X: Any,
    *,
    rows: Any = None,
    block_bytes: int = _orders.BLOCK_BYTES,
    window_blocks: int = _orders.WINDOW_BLOCKS,
) -> BlockOrder:
    """A block-shuffled epoch order over the rows of X (or over ``rows``, distinct row indices,
    e.g. a training split), drawn from the seeded Generator ``rng``: blocks of contiguous rows of
    about ``block_bytes`` in a random order, and the rows within each window of ``window_blocks``
    consecutive blocks of that order shuffled. Pass it as :func:`sgd_epoch`'s ``order``: the
    kernel then streams each window's blocks from memory a window ahead, so that the epoch reads X
    at nearly the speed of an epoch in storage order (docs/performance.md). The same seed gives
    the same order."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    block_bytes = check_int(block_bytes, "block_bytes", low=1)
    window_blocks = check_int(window_blocks, "window_blocks", low=1)
    if getattr(X, "ndim", None) != 2:
        raise TypeError(f"X must be a 2-D array or a scipy.sparse matrix, got {type(X).__name__}")
    n = X.shape[0]
    if rows is not None:
        rows = as_order(rows)
        n = len(rows)
    check_int(n, "the number of rows", low=1)
    return _orders.block_order(
        rng,
        n,
        _orders.row_bytes(X),
        rows=rows,
        block_bytes=block_bytes,
        window_blocks=window_blocks,
    )


def n_steps(n_samples: int, batch_size: int) -> int:
    """Number of minibatch steps in one epoch: ``ceil(n_samples / batch_size)``."""
    n_samples = check_int(n_samples, "n_samples", low=1)
    batch_size = check_param(batch_size, "batch_size")
    return -(-n_samples // batch_size)


def loss_and_grad(
    X: np.ndarray,
    y: Any,
    coef: Any,
    intercept: Any = 0.0,
    *,
    loss: str = "squared_error",
    penalty: str = "l2",
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    epsilon: float = 0.1,
    sample_weight: Any = None,
    n_threads: int | None = None,
    check_input: bool = True,
    label_smoothing: float = 0.0,
) -> tuple[float, np.ndarray, Any]:
    """Objective F(w, b) and its gradient, in one pass over X.

    Returns ``(objective, grad_coef, grad_intercept)`` where ``grad_coef`` (X's dtype, shape (d,))
    is ∂F/∂w = (1/n) Σ s_i·L'(p_i, y_i)·x_i + α(1−ρ)·w + αρ·sign(w) (the L1 part is the
    subgradient with sign(0) = 0) and ``grad_intercept`` = (1/n) Σ s_i·L'(p_i, y_i).

    ``intercept`` is a real number or a one-element array. ``check_input=False`` skips the scan of
    X for NaN/inf (a full pass over X) for callers that checked X already; shapes, dtypes and the
    other inputs are always checked. Parallel over rows with ``n_threads`` threads (default: all);
    the result is bitwise reproducible for a given thread count.

    ``loss="multinomial"``: softmax cross-entropy over K classes, with ``coef`` of shape (K, d),
    ``intercept`` of shape (K,), and y either class indices in [0, K) or an (n, K) matrix of
    class probabilities (soft labels), optionally smoothed: t ← (1 − ε)·t + ε/K with
    ε = ``label_smoothing``. L_i = −Σ_k t_ik·log softmax(W·x_i + b)_k; ``grad_intercept`` is then
    an array of K values.

    With a device array X this runs on the GPU (:func:`fastgd.cuda.loss_and_grad`) and
    ``grad_coef`` is a :class:`fastgd.cuda.DeviceArray`; ``n_threads`` is ignored there.
    """
    if _on_device(X):
        from . import cuda

        check_threads(n_threads, 1)
        return cuda.loss_and_grad(
            X,
            y,
            coef,
            intercept,
            loss=loss,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            epsilon=epsilon,
            sample_weight=sample_weight,
            check_input=check_input,
            label_smoothing=label_smoothing,
        )
    problem = _prepare(
        X,
        y,
        sample_weight,
        loss=loss,
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
        epsilon=epsilon,
        n_threads=n_threads,
        check_input=check_input,
        coef=coef,
        label_smoothing=label_smoothing,
    )
    coef = np.ascontiguousarray(coef)
    if _is_multinomial(loss):
        return problem.loss_and_grad(coef, np.ascontiguousarray(intercept, dtype=coef.dtype))
    return problem.loss_and_grad(coef, as_intercept_value(intercept))


def sgd_epoch(
    X: np.ndarray,
    y: Any,
    coef: np.ndarray,
    intercept: np.ndarray,
    lrs: Any,
    *,
    batch_size: int,
    order: Any = None,
    loss: str = "squared_error",
    penalty: str = "l2",
    alpha: float = 1e-4,
    l1_ratio: float = 0.15,
    epsilon: float = 0.1,
    sample_weight: Any = None,
    fit_intercept: bool = True,
    n_threads: int | None = None,
    check_input: bool = True,
    optimizer: Any = None,
    average: Any = None,
    label_smoothing: float = 0.0,
    parallel: str = "sync",
    sparse_updates: str = "auto",
    intercept_decay: float = 1.0,
    l1_method: str = "proximal",
) -> float:
    """One epoch of minibatch SGD with the penalty fused into each update; updates in place.

    ``order`` lists the rows of the epoch: usually a permutation of 0..n−1 (the default is
    0..n−1 in storage order), or any m ≤ n distinct row indices, e.g. the training part of a
    split, which is used without copying X; or a :func:`block_order`, whose rows the kernel
    streams. The epoch has ``ceil(m / batch_size)`` steps; step s
    takes the rows ``order[s*batch_size:(s+1)*batch_size]`` (the last batch may be smaller, b_s
    rows) and the learning rate ``lrs[s]``::

        p_i = x_i·w + b                         (w, b as before the step)
        g   = (1/b_s) Σ s_i·L'(p_i, y_i)·x_i,   g_b = (1/b_s) Σ s_i·L'(p_i, y_i)
        w  ← w − lrs[s]·(g + α(1−ρ)·w)
        b  ← b − lrs[s]·g_b                     (if fit_intercept)
        w  ← sign(w)·max(|w| − lrs[s]·α·ρ, 0)   (L1 proximal step: exact zeros)

    with ρ = 0 for l2, 1 for l1, ``l1_ratio`` for elasticnet, α = 0 for none. With
    ``batch_size=1`` this is scikit-learn's per-sample SGD update, but for its L1 part.

    ``l1_method="cumulative"`` applies the L1 part as scikit-learn's per-sample SGD does instead:
    the cumulative penalty of Tsuruoka, Tsujii and Ananiadou (2009). With u the running total of
    lrs[s]·α·ρ and q_j the L1 penalty w_j has received, after each step every coefficient the
    step touched (all of them on dense X; the row's stored columns on sparse X) moves toward 0
    by what it is still owed, without crossing it::

        u   ← u + lrs[s]·α·ρ
        w_j ← max(0, w_j − (u + q_j)) if w_j > 0,  min(0, w_j + (u − q_j)) if w_j < 0
        q_j ← q_j + (new w_j − old w_j)

    u and q start at 0 in each call (scikit-learn's partial_fit; its fit keeps them over all
    epochs, as the estimators here do). It needs ``batch_size=1``, a pointwise loss, plain SGD
    (no ``optimizer``, no ``average``) and ``parallel="sync"``, and runs on the CPU only. The
    default, ``"proximal"``, is the exact proximal step above, for any batch size.

    ``coef`` (shape (d,)) and ``intercept`` (shape (1,)) are updated in place and must already
    have X's dtype and be C-contiguous and writeable: a mismatch raises TypeError/ValueError and is
    never silently copied. ``lrs`` holds one non-negative learning rate per step (see
    :func:`n_steps` and :func:`fastgd.schedules.rates`). ``order`` must hold distinct indices
    in [0, n). All inputs are checked before any work; on error, ``coef`` is untouched.

    ``loss="multinomial"`` trains a softmax model over K classes with the same step: ``coef``
    (K, d), ``intercept`` (K,), y class indices or class probabilities (see :func:`loss_and_grad`).

    ``optimizer`` (default plain SGD as above) is a :mod:`fastgd.optimizers` object or name
    (Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW: PyTorch's formulas), fused into the same
    update; its state lives in the object and carries over to the next epoch. ``average`` (a
    :class:`fastgd.optimizers.Average`) keeps the running mean of the weights (averaged SGD).

    Returns the progressive loss Σ_i s_i·L(p_i, y_i) over the epoch's rows, each term computed
    with the weights before the step that used row i (no extra pass over X).

    Sparse X (scipy.sparse, CSR used in place): each step costs O(non-zeros of its batch), not
    O(n_features) — the penalty reaches untouched coefficients lazily, through a scale factor
    (L2) and a cumulative threshold (L1), and every coefficient is brought up to date at the end
    of the call (O(n_features) once per call: run long epochs in one call). ``parallel`` applies
    to sparse X: ``"sync"`` (default) splits each step's rows over threads and gives the same
    result whatever the thread count; ``"async"`` is Hogwild!: threads take whole steps
    round-robin and update the shared coefficients without locks, which is faster with many
    threads and small batches but **not deterministic** (updates of different threads may
    interleave or be lost), so the result varies from run to run; it runs plain SGD with a
    pointwise loss. Dense X ignores ``parallel``.

    On sparse X the softmax, the optimizers and the average also cost O(non-zeros) per step
    (one thread), with ``coef`` of a softmax C- or Fortran-ordered (Fortran order, each feature's
    K coefficients side by side, is faster; the optimizer's state and the average take coef's
    layout). Plain SGD, Adagrad without an L2 penalty, momentum and Nesterov without an L1
    penalty, and the average are exact: the dense model to rounding. The other optimizers have
    no exact lazy form; ``sparse_updates`` chooses:
    ``"lazy"`` moves a coefficient, its optimizer state and its penalty only in the steps whose
    rows store its column (PyTorch's SparseAdam, TensorFlow's LazyAdam), ``"exact"`` refuses
    them, ``"auto"`` (default) is exact where it can be and lazy elsewhere (docs/sparse.md).
    ``intercept_decay`` (sparse X only; default 1) multiplies the intercept's updates:
    scikit-learn's SGD uses 0.01 on sparse data, and fastgd's estimators do the same.

    With a device array X the whole epoch runs on the GPU in one kernel
    (:func:`fastgd.cuda.sgd_epoch`; plain SGD only); ``n_threads`` is ignored there.
    """
    if _on_device(X):
        from . import cuda

        check_threads(n_threads, 1)
        if check_option(l1_method, "l1_method", _core.L1Method) != _core.L1Method.proximal:
            raise ValueError("l1_method='cumulative' runs on the CPU only; use 'proximal'")
        return cuda.sgd_epoch(
            X,
            y,
            coef,
            intercept,
            lrs,
            batch_size=batch_size,
            order=order,
            loss=loss,
            penalty=penalty,
            alpha=alpha,
            l1_ratio=l1_ratio,
            epsilon=epsilon,
            sample_weight=sample_weight,
            fit_intercept=fit_intercept,
            check_input=check_input,
            optimizer=optimizer,
            average=average,
            label_smoothing=label_smoothing,
        )
    lrs_arr = np.asarray(lrs)
    if lrs_arr.dtype.kind not in "iuf":
        raise TypeError(f"lrs must be an array of real learning rates, got dtype {lrs_arr.dtype}")
    coef = check_inplace(coef, "coef")
    opt = None if optimizer is None else optimizers.get_optimizer(optimizer)
    problem = _prepare(
        X,
        y,
        sample_weight,
        loss=loss,
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
        epsilon=epsilon,
        n_threads=n_threads,
        check_input=check_input,
        coef=coef,
        label_smoothing=label_smoothing,
        batch_size=batch_size,
        fit_intercept=fit_intercept,
        parallel=parallel,
        optimizer=opt,
        average=average,
        sparse_updates=sparse_updates,
        intercept_decay=intercept_decay,
        l1_method=l1_method,
    )
    stream = None
    if isinstance(order, BlockOrder):
        order, stream = order.rows, as_order(order.stream)
    return problem.run(
        coef,
        check_inplace(intercept, "intercept"),
        np.ascontiguousarray(lrs_arr, dtype=np.float64),
        None if order is None else as_order(order),
        stream=stream,
        **_model_state(opt, average, coef),
    )


def loss_and_derivative(
    p: Any, y: Any, *, loss: str = "squared_error", epsilon: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise loss values L(p_i, y_i) and derivatives ∂L/∂p_i, as float64 arrays.

    The same formulas the kernels use (csrc/include/fastgd/losses.hpp).
    """
    kind = check_option(loss, "loss", _core.Loss)
    eps = check_param(epsilon, "epsilon")
    p_arr = as_vector(np.ravel(p), "p", np.float64)
    y_arr = as_vector(np.ravel(y), "y", np.float64)
    return _core.loss_and_derivative(kind, p_arr, y_arr, eps)
