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
the dense kernel on ``X.toarray()`` to rounding.

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

from . import _core, optimizers
from ._backend import default_threads
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
    is_sparse,
)

__all__ = [
    "LOSSES",
    "MULTINOMIAL",
    "PENALTIES",
    "loss_and_derivative",
    "loss_and_grad",
    "n_steps",
    "sgd_epoch",
]

#: Names accepted by ``loss=``.
LOSSES: tuple[str, ...] = tuple(_core.Loss.__members__)
#: Names accepted by ``penalty=``.
PENALTIES: tuple[str, ...] = tuple(_core.Penalty.__members__)


MULTINOMIAL = "multinomial"


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


def _common(
    X, y, sample_weight, loss, penalty, alpha, l1_ratio, epsilon, n_threads, label_smoothing=0.0
):
    """Checked arguments of a kernel call: X dense (``X=``) or CSR (``data``, ``indices``,
    ``indptr``, ``shape``); a multinomial call swaps loss/epsilon for label_smoothing."""
    if is_sparse(X):
        X = as_csr(X)
        data = dict(
            data=np.ascontiguousarray(X.data),
            indices=np.ascontiguousarray(X.indices),
            indptr=np.ascontiguousarray(X.indptr),
            shape=(int(X.shape[0]), int(X.shape[1])),
        )
    else:
        X = check_data_matrix(X)
        data = dict(X=X)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    args = dict(
        **data,
        sample_weight=None
        if sample_weight is None
        else as_vector(sample_weight, "sample_weight", dtype),
        penalty=check_option(penalty, "penalty", _core.Penalty),
        alpha=check_param(alpha, "alpha"),
        l1_ratio=check_param(l1_ratio, "l1_ratio"),
        n_threads=check_threads(n_threads, default_threads()),
    )
    if loss == MULTINOMIAL:
        args.update(
            y=_multinomial_targets(y, dtype),
            label_smoothing=check_param(label_smoothing, "label_smoothing"),
        )
    else:
        if label_smoothing:
            raise ValueError("label_smoothing applies to loss='multinomial' only")
        args.update(
            y=as_vector(y, "y", dtype),
            loss=check_option(loss, "loss", _core.Loss),
            epsilon=check_param(epsilon, "epsilon"),
        )
    return args


def _on_device(X: Any) -> bool:
    # A device array selects the GPU kernels (fastgd.cuda, imported only then).
    return hasattr(X, "__cuda_array_interface__")


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
    args = _common(
        X, y, sample_weight, loss, penalty, alpha, l1_ratio, epsilon, n_threads, label_smoothing
    )
    coef = np.ascontiguousarray(coef)
    if loss == MULTINOMIAL:
        if "indptr" in args:
            raise ValueError("loss='multinomial' needs dense X for now")
        b = np.ascontiguousarray(intercept, dtype=coef.dtype)
        return _core.multinomial_loss_and_grad(
            coef=coef, intercept=b, check_input=bool(check_input), **args
        )
    kernel = _core.loss_and_grad_csr if "indptr" in args else _core.loss_and_grad
    return kernel(
        coef=coef, intercept=as_intercept_value(intercept), check_input=bool(check_input), **args
    )


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
) -> float:
    """One epoch of minibatch SGD with the penalty fused into each update; updates in place.

    ``order`` lists the rows of the epoch: usually a permutation of 0..n−1 (the default is
    0..n−1 in storage order), or any m ≤ n distinct row indices, e.g. the training part of a
    split, which is used without copying X. The epoch has ``ceil(m / batch_size)`` steps; step s
    takes the rows ``order[s*batch_size:(s+1)*batch_size]`` (the last batch may be smaller, b_s
    rows) and the learning rate ``lrs[s]``::

        p_i = x_i·w + b                         (w, b as before the step)
        g   = (1/b_s) Σ s_i·L'(p_i, y_i)·x_i,   g_b = (1/b_s) Σ s_i·L'(p_i, y_i)
        w  ← w − lrs[s]·(g + α(1−ρ)·w)
        b  ← b − lrs[s]·g_b                     (if fit_intercept)
        w  ← sign(w)·max(|w| − lrs[s]·α·ρ, 0)   (L1 proximal step: exact zeros)

    with ρ = 0 for l2, 1 for l1, ``l1_ratio`` for elasticnet, α = 0 for none. With
    ``batch_size=1`` this is scikit-learn's per-sample SGD update.

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
    interleave or be lost), so the result varies from run to run. Dense X ignores ``parallel``.

    With a device array X the whole epoch runs on the GPU in one kernel
    (:func:`fastgd.cuda.sgd_epoch`; plain SGD only); ``n_threads`` is ignored there.
    """
    if _on_device(X):
        from . import cuda

        check_threads(n_threads, 1)
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
    asynchronous = check_parallel(parallel)
    args = _common(
        X, y, sample_weight, loss, penalty, alpha, l1_ratio, epsilon, n_threads, label_smoothing
    )
    sparse = "indptr" in args
    if sparse and (
        loss == MULTINOMIAL
        or average is not None
        or (optimizer is not None and optimizers.get_optimizer(optimizer).kind != "sgd")
    ):
        raise ValueError(
            "sparse X supports plain SGD with a pointwise loss: loss='multinomial', optimizer= "
            "and average= need dense X for now"
        )
    lrs_arr = np.asarray(lrs)
    if lrs_arr.dtype.kind not in "iuf":
        raise TypeError(f"lrs must be an array of real learning rates, got dtype {lrs_arr.dtype}")
    coef = check_inplace(coef, "coef")
    extra: dict[str, Any] = {}
    if optimizer is not None:
        opt = optimizers.get_optimizer(optimizer)
        state = opt.state_for(coef)
        extra.update(
            optimizer=_core.Optimizer.__members__[opt.kind], optimizer_params=opt.kernel_params()
        )
        if state is not None:
            extra.update(
                optimizer_state=state.coef,
                optimizer_intercept_state=state.intercept,
                optimizer_step=state.step,
            )
    if average is not None:
        if not isinstance(average, optimizers.Average):
            raise TypeError(f"average must be a fastgd.optimizers.Average, got {average!r}")
        avg_coef, avg_intercept, avg_step = average.arrays_for(coef)
        extra.update(
            average_coef=avg_coef,
            average_intercept=avg_intercept,
            average_step=avg_step,
            average_start=average.start,
        )
    if sparse:
        kernel, extra = _core.sgd_epoch_csr, {"asynchronous": asynchronous}
    elif loss == MULTINOMIAL:
        kernel = _core.multinomial_epoch
    else:
        kernel = _core.sgd_epoch
    return kernel(
        coef=coef,
        intercept=check_inplace(intercept, "intercept"),
        lrs=np.ascontiguousarray(lrs_arr, dtype=np.float64),
        batch_size=check_param(batch_size, "batch_size"),
        order=None if order is None else as_order(order),
        fit_intercept=bool(fit_intercept),
        check_input=bool(check_input),
        **args,
        **extra,
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
