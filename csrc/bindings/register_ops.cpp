// fastgd._core: the fused kernels (loss_and_grad, sgd_epoch) and the pointwise losses.
//
// Each entry point checks every buffer and value first, with the GIL held, then releases the GIL
// for the whole kernel. Releasing it is safe: the kernels touch only raw buffers whose owners
// (the py::array arguments) stay referenced by this frame, and no Python object is touched.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>

#include "arrays.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/epoch.hpp"
#include "fastgd/validation.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

std::string at(index_t i) { return " (first at index " + std::to_string(i) + ")"; }

void check_scalars(double alpha, double l1_ratio, double epsilon, int n_threads) {
  if (!(std::isfinite(alpha) && alpha >= 0))
    value_error("alpha must be a finite number >= 0, got " + std::to_string(alpha));
  if (!(l1_ratio >= 0 && l1_ratio <= 1))
    value_error("l1_ratio must be in [0, 1], got " + std::to_string(l1_ratio));
  if (!(std::isfinite(epsilon) && epsilon >= 0))
    value_error("epsilon must be a finite number >= 0, got " + std::to_string(epsilon));
  if (n_threads < 1) value_error("n_threads must be >= 1, got " + std::to_string(n_threads));
}

// X, y and sample_weight: shapes, dtypes and values. `check_finite` = false skips the full pass
// over X for callers (the training loop) that checked X once already.
template <class T>
struct Inputs {
  DenseView<T> X;
  const T* y;
  const T* sw;
};

template <class T>
Inputs<T> check_inputs(const py::array& X, const py::array& y,
                       const std::optional<py::array>& sample_weight, LossKind loss,
                       bool check_finite, int n_threads) {
  const DenseView<T> view = dense_view<T>(X, "X");
  const index_t n = view.n_rows;
  const T* yp = input_vector<T>(y, "y", n, "one target per row of X");
  const T* sw = nullptr;
  if (sample_weight) sw = input_vector<T>(*sample_weight, "sample_weight", n, "one per row of X");
  if (check_finite) {
    if (index_t i = first_nonfinite_row(view, n_threads); i >= 0)
      value_error("X contains NaN or inf (first in row " + std::to_string(i) + ")");
  }
  if (index_t i = first_nonfinite(yp, n); i >= 0) value_error("y contains NaN or inf" + at(i));
  if (is_classification(loss)) {
    if (index_t i = first_not_plus_minus_one(yp, n); i >= 0)
      value_error("y must hold labels -1 or +1 for a classification loss, got " +
                  std::to_string(double(yp[i])) + at(i));
  }
  if (sw) {
    if (index_t i = first_nonfinite(sw, n); i >= 0)
      value_error("sample_weight contains NaN or inf" + at(i));
    if (index_t i = first_negative(sw, n); i >= 0)
      value_error("sample_weight must be >= 0, got " + std::to_string(double(sw[i])) + at(i));
  }
  return {view, yp, sw};
}

py::tuple loss_and_grad(const py::array& X, const py::array& y, const py::array& coef,
                        double intercept, LossKind loss, PenaltyKind penalty, double alpha,
                        double l1_ratio, double epsilon,
                        const std::optional<py::array>& sample_weight, int n_threads,
                        bool check_input) {
  check_scalars(alpha, l1_ratio, epsilon, n_threads);
  if (!std::isfinite(intercept)) value_error("intercept must be finite");
  return with_dtype(X, "X", [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    const Inputs<T> in = check_inputs<T>(X, y, sample_weight, loss, check_input, n_threads);
    const index_t d = in.X.n_cols;
    require_dtype<T>(coef, "coef", "it must match X's dtype");
    if (coef.ndim() != 1 || coef.shape(0) != d)
      value_error("coef must have shape (" + std::to_string(d) + ",) (one per column of X), got " +
                  describe(coef));
    if (!unit_stride(coef, 0)) value_error("coef must be contiguous");
    const T* w = static_cast<const T*>(coef.data());
    if (index_t j = first_nonfinite(w, d); j >= 0) value_error("coef contains NaN or inf" + at(j));

    py::array_t<T> grad(d);
    T* gp = grad.mutable_data();
    const Penalty pen = make_penalty(penalty, alpha, l1_ratio);
    acc_t objective = 0, grad_b = 0;
    {
      py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments are used
      objective = with_loss(loss, epsilon, [&](const auto& L) {
        return fastgd::loss_and_grad(in.X, in.y, in.sw, w, acc_t(intercept), L, pen, gp, &grad_b,
                                     n_threads);
      });
    }
    return py::make_tuple(double(objective), grad, double(grad_b));
  });
}

OptimizerParams optimizer_params(const py::dict& given) {
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
    if (!std::isfinite(*field)) value_error("optimizer_params: " + key + " must be finite");
  }
  return p;
}

// The optimizer's and the average's in-place buffers, checked like coef.
template <class T>
OptimizerArgs<T> optimizer_args(OptimizerKind kind, const py::dict& params,
                                std::optional<py::array>& state,
                                std::optional<py::array>& intercept_state,
                                std::optional<py::array>& step, index_t d) {
  OptimizerArgs<T> opt{kind, optimizer_params(params)};
  const py::ssize_t k = state_arrays(kind);
  if (kind == OptimizerKind::sgd) return opt;
  if (!state || !intercept_state || !step)
    value_error("optimizer_state, optimizer_intercept_state and optimizer_step are required "
                "with this optimizer (fastgd.optimizers allocates them)");
  opt.coef_state = inout_array<T>(*state, "optimizer_state", {k, d}, "state arrays x coef");
  opt.intercept_state =
      inout_array<T>(*intercept_state, "optimizer_intercept_state", {k}, "state per array");
  opt.step = inout_array<std::int64_t>(*step, "optimizer_step", {1}, "steps taken so far");
  if (*opt.step < 0) value_error("optimizer_step must be >= 0");
  return opt;
}

double sgd_epoch(const py::array& X, const py::array& y, py::array& coef, py::array& intercept,
                 const py::array& lrs, index_t batch_size, const std::optional<py::array>& order,
                 LossKind loss, PenaltyKind penalty, double alpha, double l1_ratio,
                 double epsilon, const std::optional<py::array>& sample_weight,
                 bool fit_intercept, int n_threads, bool check_input, OptimizerKind optimizer,
                 const py::dict& optimizer_params, std::optional<py::array> optimizer_state,
                 std::optional<py::array> optimizer_intercept_state,
                 std::optional<py::array> optimizer_step, std::optional<py::array> average_coef,
                 std::optional<py::array> average_intercept,
                 std::optional<py::array> average_step, index_t average_start) {
  check_scalars(alpha, l1_ratio, epsilon, n_threads);
  if (batch_size < 1) value_error("batch_size must be >= 1, got " + std::to_string(batch_size));
  return with_dtype(X, "X", [&](auto tag) -> double {
    using T = decltype(tag);
    const Inputs<T> in = check_inputs<T>(X, y, sample_weight, loss, check_input, n_threads);
    const index_t n = in.X.n_rows, d = in.X.n_cols;
    T* w = inout_vector<T>(coef, "coef", d, "one per column of X");
    T* b = inout_vector<T>(intercept, "intercept", 1, "a one-element array updated in place");
    if (index_t j = first_nonfinite(w, d); j >= 0) value_error("coef contains NaN or inf" + at(j));
    if (!std::isfinite(double(*b))) value_error("intercept contains NaN or inf");

    // The epoch's rows: `order` (distinct row indices: a permutation, or a subset such as the
    // training part of a split, used without copying X), or all rows in storage order.
    const std::int64_t* perm = nullptr;
    index_t n_rows = n;
    if (order) {
      if (order->ndim() != 1 || order->shape(0) < 1 || order->shape(0) > n)
        value_error("order must be a 1-D array of 1 to " + std::to_string(n) +
                    " distinct row indices, got " + describe(*order));
      n_rows = order->shape(0);
      perm = input_vector<std::int64_t>(*order, "order", n_rows, "distinct row indices");
      if (index_t k = first_non_permutation(perm, n_rows, n); k >= 0)
        value_error("order must hold distinct row indices in [0, " + std::to_string(n) +
                    "); entry " + std::to_string(k) + " (" + std::to_string(perm[k]) +
                    ") is out of range or repeated");
    }

    const index_t n_steps = (n_rows + batch_size - 1) / batch_size;
    const std::string steps_desc =
        "one learning rate per step: ceil(len(order) / batch_size) = " + std::to_string(n_steps);
    const double* lr = input_vector<double>(lrs, "lrs", n_steps, steps_desc.c_str());
    for (index_t s = 0; s < n_steps; ++s)
      if (!(std::isfinite(lr[s]) && lr[s] >= 0))
        value_error("lrs must be finite and >= 0, got " + std::to_string(lr[s]) + at(s));

    EpochArgs<T> args{in.X,      in.y,       in.sw,
                      perm,      n_rows,     lr,
                      batch_size, make_penalty(penalty, alpha, l1_ratio),
                      fit_intercept, n_threads};
    args.optimizer = optimizer_args<T>(optimizer, optimizer_params, optimizer_state,
                                       optimizer_intercept_state, optimizer_step, d);
    if (average_coef || average_intercept || average_step) {
      if (!(average_coef && average_intercept && average_step))
        value_error("average_coef, average_intercept and average_step go together");
      if (average_start < 1) value_error("average_start must be >= 1");
      args.average = {inout_array<T>(*average_coef, "average_coef", {d}, "one per column of X"),
                      inout_array<T>(*average_intercept, "average_intercept", {1}, "one value"),
                      inout_array<std::int64_t>(*average_step, "average_step", {1}, "steps"),
                      average_start};
    }
    py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments are used
    return double(with_loss(loss, epsilon, [&](const auto& L) {
      return fastgd::sgd_epoch(args, L, w, b);
    }));
  });
}

py::tuple loss_and_derivative(LossKind loss, const py::array_t<double>& p,
                              const py::array_t<double>& y, double epsilon) {
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

void register_ops(py::module_& m) {
  py::enum_<LossKind>(m, "Loss", "The loss functions of the kernels (losses.hpp).")
      .value("squared_error", LossKind::squared_error)
      .value("huber", LossKind::huber)
      .value("epsilon_insensitive", LossKind::epsilon_insensitive)
      .value("squared_epsilon_insensitive", LossKind::squared_epsilon_insensitive)
      .value("log_loss", LossKind::log_loss)
      .value("hinge", LossKind::hinge)
      .value("squared_hinge", LossKind::squared_hinge)
      .value("modified_huber", LossKind::modified_huber);
  m.def("is_classification", [](LossKind k) { return is_classification(k); }, py::arg("loss"),
        "Whether the loss takes labels in {-1, +1}.");

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

  py::enum_<PenaltyKind>(m, "Penalty", "The penalties of the kernels (penalties.hpp).")
      .value("none", PenaltyKind::none)
      .value("l2", PenaltyKind::l2)
      .value("l1", PenaltyKind::l1)
      .value("elasticnet", PenaltyKind::elasticnet);

  m.def("loss_and_grad", &loss_and_grad, py::arg("X").noconvert(), py::arg("y").noconvert(),
        py::arg("coef").noconvert(), py::arg("intercept"), py::arg("loss"), py::arg("penalty"),
        py::arg("alpha"), py::arg("l1_ratio"), py::arg("epsilon"),
        py::arg("sample_weight").noconvert(), py::arg("n_threads"), py::arg("check_input"),
        "Full-batch objective and gradient in one pass over X. See fastgd.ops.loss_and_grad.");
  m.def("sgd_epoch", &sgd_epoch, py::arg("X").noconvert(), py::arg("y").noconvert(),
        py::arg("coef").noconvert(), py::arg("intercept").noconvert(),
        py::arg("lrs").noconvert(), py::arg("batch_size"), py::arg("order").noconvert(),
        py::arg("loss"), py::arg("penalty"), py::arg("alpha"), py::arg("l1_ratio"),
        py::arg("epsilon"), py::arg("sample_weight").noconvert(), py::arg("fit_intercept"),
        py::arg("n_threads"), py::arg("check_input"),
        py::arg("optimizer") = OptimizerKind::sgd, py::arg("optimizer_params") = py::dict(),
        py::arg("optimizer_state").noconvert() = py::none(),
        py::arg("optimizer_intercept_state").noconvert() = py::none(),
        py::arg("optimizer_step").noconvert() = py::none(),
        py::arg("average_coef").noconvert() = py::none(),
        py::arg("average_intercept").noconvert() = py::none(),
        py::arg("average_step").noconvert() = py::none(), py::arg("average_start") = 1,
        "One epoch of fused minibatch SGD, in place. See fastgd.ops.sgd_epoch.");
  m.def("loss_and_derivative", &loss_and_derivative, py::arg("loss"), py::arg("p"), py::arg("y"),
        py::arg("epsilon"), "Pointwise L(p, y) and dL/dp, as float64 arrays.");
}

}  // namespace fastgd::bindings
