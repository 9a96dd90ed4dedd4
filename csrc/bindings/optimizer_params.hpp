// The optimizers' hyper-parameters from the dict fastgd.optimizers gives (Optimizer.kernel_params),
// shared by the entry points that take an optimizer.
#pragma once

#include <pybind11/pybind11.h>

#include <string>
#include <utility>

#include "arrays.hpp"
#include "fastgd/optimizers.hpp"

namespace fastgd::bindings {

inline OptimizerParams optimizer_params(const py::dict& given) {
  OptimizerParams p;
  const std::pair<const char*, double*> fields[] = {
      {"momentum", &p.momentum}, {"dampening", &p.dampening}, {"alpha", &p.alpha},
      {"beta1", &p.beta1},       {"beta2", &p.beta2},         {"eps", &p.eps},
      {"lr_decay", &p.lr_decay}, {"weight_decay", &p.weight_decay}};
  for (const auto& item : given) {
    const std::string key = py::str(item.first);
    double* field = nullptr;
    for (const auto& f : fields)
      if (key == f.first) field = f.second;
    if (!field) value_error("optimizer_params: unknown hyper-parameter '" + key + "'");
    *field = item.second.cast<double>();
  }
  return p;
}

}  // namespace fastgd::bindings
