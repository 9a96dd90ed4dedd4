// fastgd._core.Problem: the prepared problem that fastgd.ops and the solver run the kernels through.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "optimizer_params.hpp"
#include "problem.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

Problem make_problem(const py::object& X, const py::object& y,
                     const std::optional<py::array>& sample_weight, LossKind loss,
                     double epsilon, double label_smoothing, index_t n_classes,
                     PenaltyKind penalty, double alpha, double l1_ratio, index_t batch_size,
                     bool fit_intercept, int n_threads, bool asynchronous,
                     OptimizerKind optimizer, const py::dict& optimizer_params_,
                     index_t average_start, SparseUpdates sparse_updates,
                     double intercept_decay, L1Method l1_method, bool check_finite) {
  FitOptions o;
  o.loss = loss;
  o.epsilon = epsilon;
  o.label_smoothing = label_smoothing;
  o.n_classes = n_classes;
  o.penalty_kind = penalty;
  o.alpha = alpha;
  o.l1_ratio = l1_ratio;
  o.batch_size = batch_size;
  o.fit_intercept = fit_intercept;
  o.n_threads = n_threads;
  o.asynchronous = asynchronous;
  o.optimizer = optimizer;
  o.optimizer_params = optimizer_params(optimizer_params_);
  o.average_start = average_start;
  o.sparse_updates = sparse_updates;
  o.intercept_decay = intercept_decay;
  o.l1_method = l1_method;
  return Problem(X, y, sample_weight, o, check_finite);
}

}  // namespace

void register_problem(py::module_& m) {
  py::class_<Problem>(m, "Problem",
                      "Training data, targets and options checked once (csrc/bindings/problem.hpp); "
                      "run() trains on a chunk of steps in O(its rows).")
      .def(py::init(&make_problem), py::arg("X"), py::arg("y").noconvert(),
           py::arg("sample_weight").noconvert() = py::none(), py::kw_only(),
           py::arg("loss") = LossKind::squared_error, py::arg("epsilon") = 0.1,
           py::arg("label_smoothing") = 0.0, py::arg("n_classes") = 0,
           py::arg("penalty") = PenaltyKind::l2, py::arg("alpha") = 1e-4,
           py::arg("l1_ratio") = 0.15, py::arg("batch_size") = 1, py::arg("fit_intercept") = true,
           py::arg("n_threads") = 1, py::arg("asynchronous") = false,
           py::arg("optimizer") = OptimizerKind::sgd, py::arg("optimizer_params") = py::dict(),
           py::arg("average_start") = 0,
           py::arg("sparse_updates") = SparseUpdates::automatic,
           py::arg("intercept_decay") = 1.0, py::arg("l1_method") = L1Method::proximal,
           py::arg("check_finite") = true)
      .def("with_targets", &Problem::with_targets, py::arg("y").noconvert(),
           py::arg("sample_weight").noconvert() = py::none(),
           "The same X and options with other targets; X is not checked again.")
      .def("run", &Problem::run, py::arg("coef").noconvert(), py::arg("intercept").noconvert(),
           py::arg("lrs").noconvert(), py::arg("order").noconvert() = py::none(), py::kw_only(),
           py::arg("optimizer_state") = py::none(), py::arg("average") = py::none(),
           py::arg("check_order") = true, py::arg("stream").noconvert() = py::none(),
           "Steps over `order` at the rates `lrs`, in place; returns the progressive loss.")
      .def("loss_and_grad", &Problem::loss_and_grad, py::arg("coef").noconvert(),
           py::arg("intercept"), "(objective, grad_coef, grad_intercept) at (coef, intercept).")
      .def("penalty_value", &Problem::penalty_value, py::arg("coef").noconvert(),
           "alpha * R(coef), the penalty part of the objective.")
      .def_property_readonly("n_samples", &Problem::n_samples)
      .def_property_readonly("n_features", &Problem::n_features);
}

}  // namespace fastgd::bindings
