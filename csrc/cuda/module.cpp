// The _cuda extension module: registration only. Compiled by the host compiler; the kernels are
// in csrc/cuda/*.cu behind the plain C++ interface of kernels.hpp. Use fastgd.cuda / fastgd.ops.
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "fastgd's CUDA kernels (optional). Use fastgd.ops with device arrays, or fastgd.cuda.";
  // The kernels take _core's Loss and Penalty enums, which pybind11 shares between modules once
  // _core has registered them: import it here, before the functions whose signatures name them,
  // rather than count on fastgd/__init__.py importing _core first.
  pybind11::module_::import("fastgd._core");
  fastgd::cuda::bindings::register_device(m);
  fastgd::cuda::bindings::register_kernels(m);
}
