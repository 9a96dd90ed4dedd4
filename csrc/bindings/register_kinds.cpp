// fastgd._core's kinds: the enums of losses (with the table of what each takes as y), penalties
// and optimizers, and the pointwise losses as functions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "arrays.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/kinds.hpp"
#include "fastgd/optimizers.hpp"
#include "fastgd/penalties.hpp"
#include "fastgd/sparse/general_epoch.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

py::tuple loss_and_derivative(LossKind loss, const py::array_t<double>& p,
                              const py::array_t<double>& y, double epsilon) {
  if (!is_pointwise(loss)) value_error("loss_and_derivative takes a pointwise loss, not multinomial");
  if (p.ndim() != 1 || y.ndim() != 1 || p.shape(0) != y.shape(0))
    value_error("p and y must be 1-D arrays of the same length, got " + describe(p) + " and " +
                describe(y));
  const index_t n = p.shape(0);
  py::array_t<double> value(n), deriv(n);
  auto pv = p.unchecked<1>();
  auto yv = y.unchecked<1>();
  double* v = value.mutable_data();
  double* g = deriv.mutable_data();
  with_loss(loss, epsilon, [&](const auto& L) {
    for (index_t i = 0; i < n; ++i) {
      v[i] = L.value(pv(i), yv(i));
      g[i] = L.derivative(pv(i), yv(i));
    }
    return 0;
  });
  return py::make_tuple(value, deriv);
}

}  // namespace

void register_kinds(py::module_& m) {
  py::enum_<LossKind> loss(m, "Loss", "The losses of the kernels (kinds.hpp, losses.hpp).");
  for (const LossInfo& info : kLossTable) loss.value(info.name, info.kind);

  py::enum_<TargetKind>(m, "Targets", "What a loss takes as y (kinds.hpp).")
      .value("real", TargetKind::real)
      .value("labels", TargetKind::labels)
      .value("classes", TargetKind::classes);
  m.attr("PROBABILITY_SUM_TOLERANCE") = kProbabilitySumTolerance;
  m.def("loss_targets", [](LossKind k) { return targets_of(k); }, py::arg("loss"),
        "What the loss takes as y: real values, labels -1/+1, or classes.");
  m.def("is_classification", [](LossKind k) { return is_classification(k); }, py::arg("loss"),
        "Whether the loss takes labels or classes rather than real targets.");
  m.def("uses_epsilon", [](LossKind k) { return loss_info(k).uses_epsilon; }, py::arg("loss"),
        "Whether the loss reads epsilon (huber and the epsilon-insensitive losses).");
  m.def("loss_curvature", [](LossKind k) { return loss_info(k).curvature; }, py::arg("loss"),
        "A bound on the loss's curvature sup |L''(p)| (kinds.hpp says how the piecewise linear "
        "losses and the softmax are counted).");

  py::enum_<OptimizerKind>(m, "Optimizer", "The optimizers of the kernels (optimizers.hpp).")
      .value("sgd", OptimizerKind::sgd)
      .value("momentum", OptimizerKind::momentum)
      .value("nesterov", OptimizerKind::nesterov)
      .value("adagrad", OptimizerKind::adagrad)
      .value("rmsprop", OptimizerKind::rmsprop)
      .value("adam", OptimizerKind::adam)
      .value("adamw", OptimizerKind::adamw);
  m.def("optimizer_state_arrays", [](OptimizerKind k) { return state_arrays(k); },
        py::arg("optimizer"), "State values each coefficient carries for this optimizer.");

  py::enum_<SparseUpdates>(m, "SparseUpdates",
                           "The optimizers' updates on sparse X (sparse/general_epoch.hpp).")
      .value("auto", SparseUpdates::automatic)
      .value("exact", SparseUpdates::exact)
      .value("lazy", SparseUpdates::lazy);

  py::enum_<PenaltyKind>(m, "Penalty", "The penalties of the kernels (penalties.hpp).")
      .value("none", PenaltyKind::none)
      .value("l2", PenaltyKind::l2)
      .value("l1", PenaltyKind::l1)
      .value("elasticnet", PenaltyKind::elasticnet);
  py::enum_<L1Method>(m, "L1Method", "How a step applies the L1 penalty (penalties.hpp).")
      .value("proximal", L1Method::proximal)
      .value("cumulative", L1Method::cumulative);

  m.def("loss_and_derivative", &loss_and_derivative, py::arg("loss"), py::arg("p"), py::arg("y"),
        py::arg("epsilon"), "Pointwise L(p, y) and dL/dp, as float64 arrays.");
}

}  // namespace fastgd::bindings
