// The _core extension module: registration only; each area lives in its own register_*.cpp.
#include <pybind11/pybind11.h>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastgd's compiled kernels (C++/OpenMP). Use fastgd.ops for the documented API.";
  fastgd::bindings::register_info(m);
  fastgd::bindings::register_kinds(m);
  fastgd::bindings::register_roofline(m);
  fastgd::bindings::register_problem(m);
  fastgd::bindings::register_orders(m);
  fastgd::bindings::register_smoothness(m);
  fastgd::bindings::register_private(m);
}
