// The _cuda extension module: registration only. Compiled by the host compiler; the kernels are
// in csrc/cuda/*.cu behind the plain C++ interface of kernels.hpp. Use fastgd.cuda / fastgd.ops.
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "fastgd's CUDA kernels (optional). Use fastgd.ops with device arrays, or fastgd.cuda.";
  fastgd::cuda::bindings::register_device(m);
  fastgd::cuda::bindings::register_kernels(m);
}
