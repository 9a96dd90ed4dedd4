// One registration function per area of the _core module (module.cpp calls them all).
#pragma once

#include <pybind11/pybind11.h>

namespace fastgd::bindings {

void register_kinds(pybind11::module_& m);
void register_info(pybind11::module_& m);
void register_roofline(pybind11::module_& m);
void register_problem(pybind11::module_& m);
void register_orders(pybind11::module_& m);
void register_smoothness(pybind11::module_& m);
void register_private(pybind11::module_& m);

}  // namespace fastgd::bindings
