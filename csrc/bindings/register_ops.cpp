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
#include <type_traits>
#include <vector>

#include "arrays.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/epoch.hpp"
#include "fastgd/validation.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

// X and sample_weight: shapes, dtypes and values. `check_finite` = false skips the full pass over
// X for callers (the training loop) that checked X once already.
template <class T>
struct Data {
  DenseView<T> X;
  const T* sw;
};

template <class T>
Data<T> check_data(const py::array& X, const std::optional<py::array>& sample_weight,
                   bool check_finite, int n_threads) {
  const DenseView<T> view = dense_view<T>(X, "X");
  const index_t n = view.n_rows;
  const T* sw = nullptr;
  if (sample_weight) sw = input_vector<T>(*sample_weight, "sample_weight", n, "one per row of X");
  if (check_finite) {
    if (index_t i = first_nonfinite_row(view, n_threads); i >= 0)
      value_error("X contains NaN or inf (first in row " + std::to_string(i) + ")");
  }
  check_sample_weight_values(sw, n);
  return {view, sw};
}

// y of a linear model: one finite target per row; labels ±1 for a classification loss.
template <class T>
const T* check_targets(const py::array& y, index_t n, LossKind loss) {
  const T* yp = input_vector<T>(y, "y", n, "one target per row of X");
  check_target_values(yp, n, is_classification(loss));
  return yp;
}

// y of a softmax model: class indices in [0, K) (int64, shape (n,)), or target probabilities
// (X's dtype, shape (n, K), rows of non-negative values summing to 1).
template <class T>
SoftmaxModel<T> check_softmax_targets(const py::array& y, index_t n, index_t K,
                                      double smoothing) {
  if (!(smoothing >= 0 && smoothing <= 1))
    value_error("label_smoothing must be in [0, 1], got " + std::to_string(smoothing));
  SoftmaxModel<T> model{K, nullptr, nullptr, smoothing};
  if (y.ndim() == 1) {
    model.labels = input_vector<std::int64_t>(y, "y", n, "one class index per row of X");
    for (index_t i = 0; i < n; ++i)
      if (model.labels[i] < 0 || model.labels[i] >= K)
        value_error("y must hold class indices in [0, " + std::to_string(K) + "), got " +
                    std::to_string(model.labels[i]) + at_index(i));
    return model;
  }
  require_dtype<T>(y, "y", "class probabilities, in X's dtype");
  if (y.ndim() != 2 || y.shape(0) != n || y.shape(1) != K || !(y.flags() & py::array::c_style))
    value_error("y must be class indices of shape (" + std::to_string(n) +
                ",) or C-contiguous class probabilities of shape (" + std::to_string(n) + ", " +
                std::to_string(K) + "), got " + describe(y));
  model.probs = static_cast<const T*>(y.data());
  for (index_t i = 0; i < n; ++i) {
    double sum = 0;
    for (index_t k = 0; k < K; ++k) {
      const double v = model.probs[i * K + k];
      if (!(std::isfinite(v) && v >= 0))
        value_error("y (class probabilities) must be finite and >= 0; row " + std::to_string(i) +
                    " holds " + std::to_string(v));
      sum += v;
    }
    if (std::fabs(sum - 1.0) > 1e-4)
      value_error("y (class probabilities): each row must sum to 1; row " + std::to_string(i) +
                  " sums to " + std::to_string(sum));
  }
  return model;
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

// Everything of an epoch but the model's targets and weights: its rows, rates, penalty,
// optimizer and average, all checked. `coef_shape` and `m` are the model's coefficient shape and
// intercept count (the optimizer state and the average have the same shapes).
struct EpochOptions {
  const py::array& lrs;
  index_t batch_size;
  const std::optional<py::array>& order;
  PenaltyKind penalty;
  double alpha, l1_ratio;
  bool fit_intercept;
  int n_threads;
  OptimizerKind optimizer;
  const py::dict& optimizer_params;
  std::optional<py::array>& optimizer_state;
  std::optional<py::array>& optimizer_intercept_state;
  std::optional<py::array>& optimizer_step;
  std::optional<py::array>& average_coef;
  std::optional<py::array>& average_intercept;
  std::optional<py::array>& average_step;
  index_t average_start;
};

template <class T>
EpochArgs<T> epoch_args(const Data<T>& data, EpochOptions& o,
                        const std::vector<py::ssize_t>& coef_shape, index_t m) {
  if (o.batch_size < 1)
    value_error("batch_size must be >= 1, got " + std::to_string(o.batch_size));
  index_t n_rows = 0;
  const std::int64_t* perm = check_order(o.order, data.X.n_rows, &n_rows);
  const double* lr = check_lrs(o.lrs, (n_rows + o.batch_size - 1) / o.batch_size);
  EpochArgs<T> args{data.X, data.sw,       perm,
                    n_rows, lr,            o.batch_size,
                    make_penalty(o.penalty, o.alpha, o.l1_ratio), o.fit_intercept,
                    o.n_threads};
  args.optimizer = {o.optimizer, optimizer_params(o.optimizer_params)};
  if (o.optimizer != OptimizerKind::sgd) {
    if (!o.optimizer_state || !o.optimizer_intercept_state || !o.optimizer_step)
      value_error("optimizer_state, optimizer_intercept_state and optimizer_step are required "
                  "with this optimizer (fastgd.optimizers allocates them)");
    std::vector<py::ssize_t> state_shape{py::ssize_t(state_arrays(o.optimizer))};
    state_shape.insert(state_shape.end(), coef_shape.begin(), coef_shape.end());
    args.optimizer.coef_state =
        inout_array<T>(*o.optimizer_state, "optimizer_state", state_shape, "state x coef");
    args.optimizer.intercept_state =
        inout_array<T>(*o.optimizer_intercept_state, "optimizer_intercept_state",
                       {state_shape[0], py::ssize_t(m)}, "state x intercept");
    args.optimizer.step = inout_array<std::int64_t>(*o.optimizer_step, "optimizer_step", {1},
                                                    "steps taken so far");
    if (*args.optimizer.step < 0) value_error("optimizer_step must be >= 0");
  }
  if (o.average_coef || o.average_intercept || o.average_step) {
    if (!(o.average_coef && o.average_intercept && o.average_step))
      value_error("average_coef, average_intercept and average_step go together");
    if (o.average_start < 1) value_error("average_start must be >= 1");
    args.average = {
        inout_array<T>(*o.average_coef, "average_coef", coef_shape, "the shape of coef"),
        inout_array<T>(*o.average_intercept, "average_intercept", {py::ssize_t(m)},
                       "one per intercept"),
        inout_array<std::int64_t>(*o.average_step, "average_step", {1}, "steps"),
        o.average_start};
  }
  return args;
}

py::tuple loss_and_grad(const py::array& X, const py::array& y, const py::array& coef,
                        double intercept, LossKind loss, PenaltyKind penalty, double alpha,
                        double l1_ratio, double epsilon,
                        const std::optional<py::array>& sample_weight, int n_threads,
                        bool check_input) {
  check_penalty_and_threads(alpha, l1_ratio, epsilon, n_threads);
  if (!std::isfinite(intercept)) value_error("intercept must be finite");
  return with_dtype(X, "X", [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    const Data<T> data = check_data<T>(X, sample_weight, check_input, n_threads);
    const index_t d = data.X.n_cols;
    const T* yp = check_targets<T>(y, data.X.n_rows, loss);
    const T* w = check_coef<T>(coef, {py::ssize_t(d)});
    const T b = T(intercept);
    py::array_t<T> grad(d);
    T* gp = grad.mutable_data();
    const Penalty pen = make_penalty(penalty, alpha, l1_ratio);
    acc_t objective = 0, grad_b = 0;
    {
      py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments are used
      objective = with_loss(loss, epsilon, [&](const auto& L) {
        const LinearModel<T, std::decay_t<decltype(L)>> model{L, yp};
        return fastgd::loss_and_grad(data.X, data.sw, w, &b, model, pen, gp, &grad_b, n_threads);
      });
    }
    return py::make_tuple(double(objective), grad, double(grad_b));
  });
}

py::tuple multinomial_loss_and_grad(const py::array& X, const py::array& y, const py::array& coef,
                                    const py::array& intercept, PenaltyKind penalty,
                                    double alpha, double l1_ratio, double label_smoothing,
                                    const std::optional<py::array>& sample_weight,
                                    int n_threads, bool check_input) {
  check_penalty_and_threads(alpha, l1_ratio, 0.0, n_threads);
  return with_dtype(X, "X", [&](auto tag) -> py::tuple {
    using T = decltype(tag);
    const Data<T> data = check_data<T>(X, sample_weight, check_input, n_threads);
    const index_t d = data.X.n_cols;
    if (coef.ndim() != 2) value_error("coef must have shape (n_classes, n_features)");
    const index_t K = coef.shape(0);
    const SoftmaxModel<T> model = check_softmax_targets<T>(y, data.X.n_rows, K, label_smoothing);
    const T* w = check_coef<T>(coef, {py::ssize_t(K), py::ssize_t(d)});
    require_dtype<T>(intercept, "intercept", "it must match X's dtype");
    if (intercept.ndim() != 1 || intercept.shape(0) != K || !unit_stride(intercept, 0))
      value_error("intercept must have shape (" + std::to_string(K) + ",), got " +
                  describe(intercept));
    const T* b = static_cast<const T*>(intercept.data());
    py::array_t<T> grad({K, d});
    py::array_t<double> grad_b(K);
    T* gp = grad.mutable_data();
    double* gbp = grad_b.mutable_data();
    acc_t objective = 0;
    {
      py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments are used
      objective = fastgd::loss_and_grad(data.X, data.sw, w, b, model,
                                        make_penalty(penalty, alpha, l1_ratio), gp, gbp,
                                        n_threads);
    }
    return py::make_tuple(double(objective), grad, grad_b);
  });
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
  check_penalty_and_threads(alpha, l1_ratio, epsilon, n_threads);
  EpochOptions o{lrs,           batch_size,     order,          penalty,
                 alpha,         l1_ratio,       fit_intercept,  n_threads,
                 optimizer,     optimizer_params, optimizer_state, optimizer_intercept_state,
                 optimizer_step, average_coef,  average_intercept, average_step,
                 average_start};
  return with_dtype(X, "X", [&](auto tag) -> double {
    using T = decltype(tag);
    const Data<T> data = check_data<T>(X, sample_weight, check_input, n_threads);
    const index_t d = data.X.n_cols;
    const T* yp = check_targets<T>(y, data.X.n_rows, loss);
    const auto wb = check_weights<T>(coef, intercept, {py::ssize_t(d)}, 1);
    T *w = wb.first, *b = wb.second;
    const EpochArgs<T> args = epoch_args<T>(data, o, {py::ssize_t(d)}, 1);
    py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments are used
    return double(with_loss(loss, epsilon, [&](const auto& L) {
      const LinearModel<T, std::decay_t<decltype(L)>> model{L, yp};
      return fastgd::sgd_epoch(args, model, w, b);
    }));
  });
}

double multinomial_epoch(const py::array& X, const py::array& y, py::array& coef,
                         py::array& intercept, const py::array& lrs, index_t batch_size,
                         const std::optional<py::array>& order, PenaltyKind penalty,
                         double alpha, double l1_ratio, double label_smoothing,
                         const std::optional<py::array>& sample_weight, bool fit_intercept,
                         int n_threads, bool check_input, OptimizerKind optimizer,
                         const py::dict& optimizer_params,
                         std::optional<py::array> optimizer_state,
                         std::optional<py::array> optimizer_intercept_state,
                         std::optional<py::array> optimizer_step,
                         std::optional<py::array> average_coef,
                         std::optional<py::array> average_intercept,
                         std::optional<py::array> average_step, index_t average_start) {
  check_penalty_and_threads(alpha, l1_ratio, 0.0, n_threads);
  EpochOptions o{lrs,           batch_size,     order,          penalty,
                 alpha,         l1_ratio,       fit_intercept,  n_threads,
                 optimizer,     optimizer_params, optimizer_state, optimizer_intercept_state,
                 optimizer_step, average_coef,  average_intercept, average_step,
                 average_start};
  return with_dtype(X, "X", [&](auto tag) -> double {
    using T = decltype(tag);
    const Data<T> data = check_data<T>(X, sample_weight, check_input, n_threads);
    const index_t d = data.X.n_cols;
    if (coef.ndim() != 2 || coef.shape(0) < 2)
      value_error("coef must have shape (n_classes >= 2, n_features), got " + describe(coef));
    const index_t K = coef.shape(0);
    const SoftmaxModel<T> model = check_softmax_targets<T>(y, data.X.n_rows, K, label_smoothing);
    const auto wb = check_weights<T>(coef, intercept, {py::ssize_t(K), py::ssize_t(d)}, K);
    T *w = wb.first, *b = wb.second;
    const EpochArgs<T> args = epoch_args<T>(data, o, {py::ssize_t(K), py::ssize_t(d)}, K);
    py::gil_scoped_release release;  // safe: only raw buffers owned by live arguments are used
    return double(fastgd::sgd_epoch(args, model, w, b));
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
  m.def("multinomial_loss_and_grad", &multinomial_loss_and_grad, py::arg("X").noconvert(),
        py::arg("y").noconvert(), py::arg("coef").noconvert(), py::arg("intercept").noconvert(),
        py::arg("penalty"), py::arg("alpha"), py::arg("l1_ratio"), py::arg("label_smoothing"),
        py::arg("sample_weight").noconvert(), py::arg("n_threads"), py::arg("check_input"),
        "Softmax cross-entropy objective and gradient in one pass over X.");
  m.def("multinomial_epoch", &multinomial_epoch, py::arg("X").noconvert(),
        py::arg("y").noconvert(), py::arg("coef").noconvert(), py::arg("intercept").noconvert(),
        py::arg("lrs").noconvert(), py::arg("batch_size"), py::arg("order").noconvert(),
        py::arg("penalty"), py::arg("alpha"), py::arg("l1_ratio"), py::arg("label_smoothing"),
        py::arg("sample_weight").noconvert(), py::arg("fit_intercept"), py::arg("n_threads"),
        py::arg("check_input"), py::arg("optimizer") = OptimizerKind::sgd,
        py::arg("optimizer_params") = py::dict(),
        py::arg("optimizer_state").noconvert() = py::none(),
        py::arg("optimizer_intercept_state").noconvert() = py::none(),
        py::arg("optimizer_step").noconvert() = py::none(),
        py::arg("average_coef").noconvert() = py::none(),
        py::arg("average_intercept").noconvert() = py::none(),
        py::arg("average_step").noconvert() = py::none(), py::arg("average_start") = 1,
        "One epoch of fused minibatch SGD of a softmax model, in place.");
  m.def("loss_and_derivative", &loss_and_derivative, py::arg("loss"), py::arg("p"), py::arg("y"),
        py::arg("epsilon"), "Pointwise L(p, y) and dL/dp, as float64 arrays.");
}

}  // namespace fastgd::bindings
