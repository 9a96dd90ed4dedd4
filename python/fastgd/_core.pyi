# Type stubs for the compiled module fastgd._core (csrc/bindings). tests/test_package.py checks
# that the names here and in the module are the same, so the stub cannot drift.
import enum
from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str

class Loss(enum.Enum):
    squared_error = ...
    huber = ...
    epsilon_insensitive = ...
    squared_epsilon_insensitive = ...
    log_loss = ...
    hinge = ...
    squared_hinge = ...
    modified_huber = ...

class Optimizer(enum.Enum):
    sgd = ...
    momentum = ...
    nesterov = ...
    adagrad = ...
    rmsprop = ...
    adam = ...
    adamw = ...

class Penalty(enum.Enum):
    none = ...
    l2 = ...
    l1 = ...
    elasticnet = ...

def build_info() -> dict[str, Any]: ...
def max_threads() -> int: ...
def is_classification(loss: Loss) -> bool: ...
def optimizer_state_arrays(optimizer: Optimizer) -> int: ...
def loss_and_grad(
    X: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: float,
    loss: Loss,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    epsilon: float,
    sample_weight: npt.NDArray[np.floating[Any]] | None,
    n_threads: int,
    check_input: bool,
) -> tuple[float, npt.NDArray[np.floating[Any]], float]: ...
def sgd_epoch(
    X: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    lrs: npt.NDArray[np.float64],
    batch_size: int,
    order: npt.NDArray[np.int64] | None,
    loss: Loss,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    epsilon: float,
    sample_weight: npt.NDArray[np.floating[Any]] | None,
    fit_intercept: bool,
    n_threads: int,
    check_input: bool,
    optimizer: Optimizer = ...,
    optimizer_params: dict[str, float] = ...,
    optimizer_state: npt.NDArray[np.floating[Any]] | None = ...,
    optimizer_intercept_state: npt.NDArray[np.floating[Any]] | None = ...,
    optimizer_step: npt.NDArray[np.int64] | None = ...,
    average_coef: npt.NDArray[np.floating[Any]] | None = ...,
    average_intercept: npt.NDArray[np.floating[Any]] | None = ...,
    average_step: npt.NDArray[np.int64] | None = ...,
    average_start: int = ...,
) -> float: ...
def multinomial_loss_and_grad(
    X: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[Any],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    label_smoothing: float,
    sample_weight: npt.NDArray[np.floating[Any]] | None,
    n_threads: int,
    check_input: bool,
) -> tuple[float, npt.NDArray[np.floating[Any]], npt.NDArray[np.float64]]: ...
def multinomial_epoch(
    X: npt.NDArray[np.floating[Any]],
    y: npt.NDArray[Any],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    lrs: npt.NDArray[np.float64],
    batch_size: int,
    order: npt.NDArray[np.int64] | None,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    label_smoothing: float,
    sample_weight: npt.NDArray[np.floating[Any]] | None,
    fit_intercept: bool,
    n_threads: int,
    check_input: bool,
    optimizer: Optimizer = ...,
    optimizer_params: dict[str, float] = ...,
    optimizer_state: npt.NDArray[np.floating[Any]] | None = ...,
    optimizer_intercept_state: npt.NDArray[np.floating[Any]] | None = ...,
    optimizer_step: npt.NDArray[np.int64] | None = ...,
    average_coef: npt.NDArray[np.floating[Any]] | None = ...,
    average_intercept: npt.NDArray[np.floating[Any]] | None = ...,
    average_step: npt.NDArray[np.int64] | None = ...,
    average_start: int = ...,
) -> float: ...
def loss_and_grad_csr(
    data: npt.NDArray[np.floating[Any]],
    indices: npt.NDArray[np.integer[Any]],
    indptr: npt.NDArray[np.integer[Any]],
    shape: tuple[int, int],
    y: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: float,
    loss: Loss,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    epsilon: float,
    sample_weight: npt.NDArray[np.floating[Any]] | None,
    n_threads: int,
    check_input: bool,
) -> tuple[float, npt.NDArray[np.floating[Any]], float]: ...
def sgd_epoch_csr(
    data: npt.NDArray[np.floating[Any]],
    indices: npt.NDArray[np.integer[Any]],
    indptr: npt.NDArray[np.integer[Any]],
    shape: tuple[int, int],
    y: npt.NDArray[np.floating[Any]],
    coef: npt.NDArray[np.floating[Any]],
    intercept: npt.NDArray[np.floating[Any]],
    lrs: npt.NDArray[np.float64],
    batch_size: int,
    order: npt.NDArray[np.int64] | None,
    loss: Loss,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    epsilon: float,
    sample_weight: npt.NDArray[np.floating[Any]] | None,
    fit_intercept: bool,
    n_threads: int,
    check_input: bool,
    asynchronous: bool,
) -> float: ...
def loss_and_derivative(
    loss: Loss, p: npt.NDArray[np.float64], y: npt.NDArray[np.float64], epsilon: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def read_bandwidth(buffer: npt.NDArray[Any], n_threads: int, repeats: int = 5) -> float: ...
def random_update_seconds(
    buffer: npt.NDArray[np.float64], indices: npt.NDArray[np.integer[Any]], repeats: int = 3
) -> float: ...
