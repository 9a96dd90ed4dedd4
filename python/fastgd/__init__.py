"""fastgd: linear models trained by gradient descent with fused C++/OpenMP kernels.

- :mod:`fastgd.ops`: the fused kernels as functions (``loss_and_grad``, ``sgd_epoch``).
- :mod:`fastgd.schedules`: learning-rate schedules, evaluated once per epoch, vectorized.
- :func:`build_info`: how this installation was built.
"""

from . import ops, schedules
from ._backend import HAS_CUDA, build_info
from ._core import __version__

__all__ = ["HAS_CUDA", "__version__", "build_info", "ops", "schedules"]
