# Type stubs for the optional compiled module fastgd._cuda (csrc/cuda). Pointers are integers
# (0 = absent); losses and penalties are fastgd._core's enums. tests/test_cuda.py checks that
# these names and parameters match the module.

from fastgd._core import Loss, Penalty

def device_count() -> int: ...
def runtime_status() -> str: ...
def architectures() -> str: ...
def device_name(device: int) -> str: ...
def current_device() -> int: ...
def malloc(nbytes: int) -> int: ...
def free(ptr: int) -> None: ...
def copy(dst: int, src: int, nbytes: int) -> None: ...
def stream_synchronize(stream: int) -> None: ...
def synchronize() -> None: ...
def loss_and_grad(
    dtype: str,
    X: int,
    n: int,
    d: int,
    ld: int,
    y: int,
    sample_weight: int,
    coef: int,
    intercept: float,
    loss: Loss,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    epsilon: float,
    grad: int,
    check_input: bool,
) -> tuple[float, float]: ...
def sgd_epoch(
    dtype: str,
    X: int,
    n: int,
    d: int,
    ld: int,
    y: int,
    coef: int,
    intercept: int,
    lrs: object,
    batch_size: int,
    order: int,
    order_len: int,
    loss: Loss,
    penalty: Penalty,
    alpha: float,
    l1_ratio: float,
    epsilon: float,
    sample_weight: int,
    fit_intercept: bool,
    check_input: bool,
    n_blocks: int = ...,
) -> float: ...
def epoch_grid(
    dtype: str, d: int, batch_size: int, n_blocks: int = ...
) -> tuple[int, int, bool]: ...
