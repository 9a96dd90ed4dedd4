// One registration function per area of the _cuda module (module.cpp calls them all).
#pragma once

#include <pybind11/pybind11.h>

namespace fastgd::cuda::bindings {

void register_device(pybind11::module_& m);
void register_kernels(pybind11::module_& m);

}  // namespace fastgd::cuda::bindings
