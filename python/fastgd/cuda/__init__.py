"""GPU (CUDA) support: device arrays, and the GPU versions of the kernels of :mod:`fastgd.ops`.

:func:`fastgd.ops.loss_and_grad` and :func:`fastgd.ops.sgd_epoch` run on the GPU when ``X`` is a
device array: any object with ``__cuda_array_interface__`` (a CuPy array, a PyTorch CUDA tensor,
a Numba device array, or this module's :class:`DeviceArray`). Device arrays are used in place,
never copied. The arithmetic and its semantics are those of the CPU kernels (the same formulas,
from the same C++ headers); only the order of the sums differs, so results agree to rounding.

On the GPU:

- ``X`` (2-D, float32/float64, contiguous rows), ``coef`` and ``intercept`` must be device
  arrays of X's dtype on X's device (``coef``/``intercept`` are updated in place).
- ``y``, ``sample_weight`` and ``order`` may be device arrays (X's dtype; int64 for ``order``),
  used in place, or host arrays, copied to the device for the call (an O(n) copy: pass device
  arrays to avoid it). ``lrs`` is a host array (one value per step, read once).
- Plain SGD only: ``optimizer=`` (other than plain SGD), ``average=`` and
  ``loss="multinomial"`` raise NotImplementedError.
- Kernels run on the legacy default stream and the call returns when they are done. An input
  whose ``__cuda_array_interface__`` names another stream is synchronized with first.

For the estimators (``device="cuda"``): :func:`to_device` moves a NumPy array to the GPU once
(a device array is returned as is), :func:`to_host` brings one back, :func:`empty` allocates.

Modules: _module (loading fastgd._cuda), _arrays (device arrays), _kernels (the entry points).
"""

from ._arrays import DeviceArray, empty, is_device_array, to_device, to_host
from ._kernels import loss_and_grad, sgd_epoch
from ._module import CUDAUnavailableError, available

__all__ = [
    "CUDAUnavailableError",
    "DeviceArray",
    "available",
    "empty",
    "is_device_array",
    "loss_and_grad",
    "sgd_epoch",
    "to_device",
    "to_host",
]
