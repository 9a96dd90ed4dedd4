// The prepared problem (problem.hpp): its one-time checks, and the kernel calls of a chunk.
//
// Every check runs with the GIL held, before any kernel work; then the GIL is released for the
// kernel. Releasing it is safe: the kernels touch only raw buffers whose owners are referenced by
// the Problem and by the arguments of the call, and no Python object.
#include "problem.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fastgd/dispatch.hpp"
#include "fastgd/epoch.hpp"
#include "fastgd/sparse.hpp"
#include "fastgd/validation.hpp"

namespace fastgd::bindings {

namespace {

template <class View>
constexpr bool is_dense = std::is_same_v<View, DenseView<typename View::value_type>>;

void check_options(const FitOptions& o) {
  check_penalty_and_threads(o.alpha, o.l1_ratio, o.epsilon, o.n_threads);
  if (o.batch_size < 1) value_error("batch_size must be >= 1, got " + std::to_string(o.batch_size));
  if (!(o.label_smoothing >= 0 && o.label_smoothing <= 1))
    value_error("label_smoothing must be in [0, 1], got " + std::to_string(o.label_smoothing));
  if (o.label_smoothing != 0 && is_pointwise(o.loss))
    value_error("label_smoothing applies to loss='multinomial' only");
  if (o.average_start < 0) value_error("average_start must be >= 1 (0: no averaging)");
  if (!(o.intercept_decay > 0 && o.intercept_decay <= 1))
    value_error("intercept_decay must be in (0, 1], got " + std::to_string(o.intercept_decay));
  // scikit-learn's per-sample method: defined for one row per step of a linear model with plain
  // SGD (the proximal step is the exact one for batches, and what the optimizers take).
  if (o.l1_method == L1Method::cumulative &&
      (o.batch_size != 1 || !is_pointwise(o.loss) || o.optimizer != OptimizerKind::sgd ||
       o.average_start > 0 || o.asynchronous))
    value_error("l1_method='cumulative' needs batch_size=1, a pointwise loss, plain SGD (no "
                "optimizer, no average) and parallel='sync'; use l1_method='proximal'");
  const OptimizerParams& p = o.optimizer_params;
  for (double v : {p.momentum, p.dampening, p.alpha, p.beta1, p.beta2, p.eps, p.lr_decay,
                   p.weight_decay})
    if (!std::isfinite(v)) value_error("optimizer_params must be finite");
}

// Whether a CSR epoch takes the general driver (sparse/general_epoch.hpp) rather than the plain
// SGD drivers of a pointwise loss.
bool general_csr_epoch(const FitOptions& o) noexcept {
  return !is_pointwise(o.loss) || o.optimizer != OptimizerKind::sgd || o.average_start > 0;
}

void check_sparse_options(const FitOptions& o) {
  if (o.asynchronous && general_csr_epoch(o))
    value_error("parallel='async' (Hogwild!) runs plain SGD with a pointwise loss; "
                "loss='multinomial', optimizer= and average= on sparse X need parallel='sync'");
  if (o.sparse_updates == SparseUpdates::exact &&
      !has_exact_sparse_updates(o.optimizer, o.penalty()))
    value_error("sparse_updates='exact': on sparse X only plain SGD, Adagrad without an L2 "
                "penalty, and momentum and Nesterov without an L1 penalty have exact lazy "
                "updates; pass sparse_updates='lazy' (or 'auto') for the lazy semantics, where a "
                "coefficient, its optimizer state and its penalty move only in the steps whose "
                "rows store its column");
}

// Dense X: shape and strides, and its values when asked.
template <class T>
DenseView<T> dense_features(const py::array& X, bool check_finite, int n_threads) {
  const DenseView<T> view = dense_view<T>(X, "X");
  if (check_finite) {
    index_t i = -1;
    {
      py::gil_scoped_release release;  // a pass over X's buffer only (the solver shuffles meanwhile)
      i = first_nonfinite_row(view, n_threads);
    }
    if (i >= 0) {  // scikit-learn's words, so that estimators raise what its users expect
      const T* row = view.row(i);
      const bool nan = std::any_of(row, row + view.n_cols, [](T v) { return std::isnan(v); });
      value_error(std::string("Input X contains ") + (nan ? "NaN" : "infinity") +
                  " (first in row " + std::to_string(i) + ")");
    }
  }
  return view;
}

// A scipy.sparse CSR matrix: its three arrays, its structure, and its values when asked.
Features csr_features(const py::object& X, py::object* owner, bool check_finite, int n_threads) {
  if (!py::hasattr(X, "indptr") || !py::hasattr(X, "format") ||
      X.attr("format").cast<std::string>() != "csr")
    type_error("X must be a NumPy array or a scipy.sparse CSR matrix, got " +
               py::str(py::type::of(X)).cast<std::string>());
  const auto array = [&](const char* name) {
    py::object a = X.attr(name);
    if (!py::isinstance<py::array>(a)) type_error(std::string("X.") + name + " must be an array");
    return py::reinterpret_borrow<py::array>(a);
  };
  const py::array data = array("data"), indices = array("indices"), indptr = array("indptr");
  const auto shape = X.attr("shape").cast<std::pair<index_t, index_t>>();
  *owner = py::make_tuple(data, indices, indptr);
  return with_dtype(data, "X.data", [&](auto tag) -> Features {
    using T = decltype(tag);
    return with_index_dtype(indices, indptr, [&](auto itag) -> Features {
      using I = decltype(itag);
      return csr_view<T, I>(data, indices, indptr, shape.first, shape.second, check_finite,
                            n_threads);
    });
  });
}

// y of a softmax model: class indices in [0, K) (int64, shape (n,)), or target probabilities
// (X's dtype, shape (n, K), rows of non-negative values summing to 1). Returns K.
template <class T>
index_t check_softmax_targets(const py::array& y, index_t n, index_t n_classes,
                              const std::int64_t** labels, const T** probs) {
  if (y.ndim() == 1) {
    if (n_classes < 2)
      value_error("n_classes must be >= 2 with class indices as y, got " +
                  std::to_string(n_classes));
    *labels = input_vector<std::int64_t>(y, "y", n, "one class index per row of X");
    for (index_t i = 0; i < n; ++i)
      if ((*labels)[i] < 0 || (*labels)[i] >= n_classes)
        value_error("y must hold class indices in [0, " + std::to_string(n_classes) + "), got " +
                    std::to_string((*labels)[i]) + at_index(i));
    return n_classes;
  }
  require_dtype<T>(y, "y", "class probabilities, in X's dtype");
  if (y.ndim() != 2 || y.shape(0) != n || y.shape(1) < 2 ||
      (n_classes > 0 && y.shape(1) != n_classes) || !(y.flags() & py::array::c_style))
    value_error("y must be class indices of shape (" + std::to_string(n) +
                ",) or C-contiguous class probabilities of shape (" + std::to_string(n) + ", " +
                (n_classes > 0 ? std::to_string(n_classes) : std::string("n_classes >= 2")) +
                "), got " + describe(y));
  const index_t K = y.shape(1);
  *probs = static_cast<const T*>(y.data());
  for (index_t i = 0; i < n; ++i) {
    double sum = 0;
    for (index_t k = 0; k < K; ++k) {
      const double v = (*probs)[i * K + k];
      if (!(std::isfinite(v) && v >= 0))
        value_error("y (class probabilities) must be finite and >= 0; row " + std::to_string(i) +
                    " holds " + std::to_string(v));
      sum += v;
    }
    if (std::fabs(sum - 1.0) > kProbabilitySumTolerance)
      value_error("y (class probabilities): each row must sum to 1; row " + std::to_string(i) +
                  " sums to " + std::to_string(sum));
  }
  return K;
}

// The rows of a chunk: in [0, n), and distinct when `distinct` (nullptr and n rows without order).
const std::int64_t* check_rows(const std::optional<py::array>& order, index_t n, bool distinct,
                               index_t* n_rows) {
  if (distinct) return check_order(order, n, n_rows);
  *n_rows = n;
  if (!order) return nullptr;
  if (order->ndim() != 1 || order->shape(0) < 1)
    value_error("order must be a 1-D array of at least one row index, got " + describe(*order));
  *n_rows = order->shape(0);
  const std::int64_t* rows = input_vector<std::int64_t>(*order, "order", *n_rows, "row indices");
  if (index_t k = first_out_of_range(rows, *n_rows, n); k >= 0)
    value_error("order must hold row indices in [0, " + std::to_string(n) + "); entry " +
                std::to_string(k) + " is " + std::to_string(rows[k]));
  return rows;
}

// A block order's stream (RowSlice::stream): one row in [0, n) per position of `order`.
const std::int64_t* check_stream(const std::optional<py::array>& stream,
                                 const std::int64_t* order, index_t n_rows, index_t n) {
  if (!stream) return nullptr;
  if (!order) value_error("stream needs an order: it names the rows to fetch at its positions");
  if (stream->ndim() != 1 || stream->shape(0) != n_rows)
    value_error("stream must be a 1-D array as long as order (" + std::to_string(n_rows) +
                " rows), got " + describe(*stream));
  const std::int64_t* rows = input_vector<std::int64_t>(*stream, "stream", n_rows, "row indices");
  if (index_t k = first_out_of_range(rows, n_rows, n); k >= 0)
    value_error("stream must hold row indices in [0, " + std::to_string(n) + "); entry " +
                std::to_string(k) + " is " + std::to_string(rows[k]));
  return rows;
}

template <class T>
OptimizerArgs<T> optimizer_args(const FitOptions& o, std::optional<StateArrays>& state,
                                const std::vector<py::ssize_t>& coef_shape, index_t m,
                                bool feature_major) {
  OptimizerArgs<T> args{o.optimizer, o.optimizer_params};
  if (o.optimizer == OptimizerKind::sgd) return args;
  if (!state)
    value_error("optimizer_state (coefficients' state, intercepts' state, step) is required with "
                "this optimizer (fastgd.optimizers allocates it)");
  std::vector<py::ssize_t> shape{py::ssize_t(state_arrays(o.optimizer))};
  shape.insert(shape.end(), coef_shape.begin(), coef_shape.end());
  auto& [coef_state, intercept_state, step] = *state;
  args.coef_state =
      inout_array<T>(coef_state, "optimizer_state", shape, "state x coef", feature_major);
  args.intercept_state = inout_array<T>(intercept_state, "optimizer_intercept_state",
                                        {shape[0], py::ssize_t(m)}, "state x intercept");
  args.step = inout_array<std::int64_t>(step, "optimizer_step", {1}, "steps taken so far");
  if (*args.step < 0) value_error("optimizer_step must be >= 0");
  return args;
}

template <class T>
AverageArgs<T> average_args(const FitOptions& o, std::optional<StateArrays>& average,
                            const std::vector<py::ssize_t>& coef_shape, index_t m,
                            bool feature_major) {
  if (!average) {
    if (o.average_start > 0) value_error("average (coef, intercept, step) is required");
    return {};
  }
  if (o.average_start < 1) value_error("average needs average_start >= 1");
  auto& [coef, intercept, step] = *average;
  return {inout_array<T>(coef, "average_coef", coef_shape, "the shape of coef", feature_major),
          inout_array<T>(intercept, "average_intercept", {py::ssize_t(m)}, "one per intercept"),
          inout_array<std::int64_t>(step, "average_step", {1}, "steps"), o.average_start};
}

}  // namespace

Features features_of(const py::object& X, py::object* owner, bool check_finite, int n_threads) {
  if (!py::isinstance<py::array>(X)) return csr_features(X, owner, check_finite, n_threads);
  const auto a = py::reinterpret_borrow<py::array>(X);
  *owner = a;
  return with_dtype(a, "X", [&](auto tag) -> Features {
    return dense_features<decltype(tag)>(a, check_finite, n_threads);
  });
}

Problem::Problem(const py::object& X, const py::object& y,
                 const std::optional<py::array>& sample_weight, const FitOptions& options,
                 bool check_finite)
    : options_(options) {
  check_options(options_);
  X_ = features_of(X, &X_owner_, check_finite, options_.n_threads);
  if (py::isinstance<py::array>(X)) {
    if (options_.intercept_decay != 1.0)
      value_error("intercept_decay applies to sparse X (scikit-learn's SPARSE_INTERCEPT_DECAY); "
                  "dense X takes the plain update, intercept_decay=1");
  } else {
    check_sparse_options(options_);
  }
  set_targets(y, sample_weight);
  start_cumulative();
}

void Problem::start_cumulative() {
  if (options_.l1_method != L1Method::cumulative || !(options_.penalty().l1 > 0)) return;
  cumulative_ = std::make_shared<CumulativeState>();
  cumulative_->q.assign(static_cast<std::size_t>(n_features()), 0.0);  // pointwise: d weights
}

std::pair<Penalty, CumulativeL1> Problem::step_penalty() const {
  Penalty pen = options_.penalty();
  if (!cumulative_) return {pen, CumulativeL1{}};
  const CumulativeL1 cumulative{pen.l1, &cumulative_->u, cumulative_->q.data()};
  pen.l1 = 0.0;
  return {pen, cumulative};
}

Problem Problem::with_targets(const py::object& y,
                              const std::optional<py::array>& sample_weight) const {
  Problem p;
  p.X_ = X_;
  p.X_owner_ = X_owner_;
  p.options_ = options_;
  p.set_targets(y, sample_weight);
  p.start_cumulative();
  return p;
}

void Problem::set_targets(const py::object& y, const std::optional<py::array>& sample_weight) {
  if (!py::isinstance<py::array>(y)) type_error("y must be a NumPy array");
  const auto ya = py::reinterpret_borrow<py::array>(y);
  const index_t n = n_samples();
  std::visit(
      [&](const auto& X) {
        using T = typename std::decay_t<decltype(X)>::value_type;
        if (is_pointwise(options_.loss)) {
          const T* yp = input_vector<T>(ya, "y", n, "one target per row of X");
          check_target_values(yp, n, is_classification(options_.loss));
          y_ = yp;
        } else {
          const T* probs = nullptr;
          n_classes_ = check_softmax_targets<T>(ya, n, options_.n_classes, &labels_, &probs);
          y_ = probs;
        }
        const T* sw = nullptr;
        if (sample_weight)
          sw = input_vector<T>(*sample_weight, "sample_weight", n, "one per row of X");
        check_sample_weight_values(sw, n);
        sample_weight_ = sw;
      },
      X_);
  y_owner_ = ya;
  sw_owner_ = sample_weight ? py::object(*sample_weight) : py::none();
}

index_t Problem::n_samples() const noexcept {
  return std::visit([](const auto& X) { return X.n_rows; }, X_);
}

index_t Problem::n_features() const noexcept {
  return std::visit([](const auto& X) { return X.n_cols; }, X_);
}

std::vector<py::ssize_t> Problem::coef_shape() const {
  if (is_pointwise(options_.loss)) return {py::ssize_t(n_features())};
  return {py::ssize_t(n_classes_), py::ssize_t(n_features())};
}

double Problem::run(py::array& coef, py::array& intercept, const py::array& lrs,
                    const std::optional<py::array>& order,
                    std::optional<StateArrays>& optimizer_state,
                    std::optional<StateArrays>& average, bool check_order,
                    const std::optional<py::array>& stream) const {
  const FitOptions& o = options_;
  const std::vector<py::ssize_t> shape = coef_shape();
  const index_t m = is_pointwise(o.loss) ? 1 : n_classes_;
  return std::visit(
      [&](const auto& X) -> double {
        using View = std::decay_t<decltype(X)>;
        using T = typename View::value_type;
        // A softmax on CSR may keep its coefficients feature-major (see general_epoch.hpp).
        const bool feature_major = !is_dense<View> && !is_pointwise(o.loss) &&
                                   !(coef.flags() & py::array::c_style) && is_feature_major(coef);
        const auto [w, b] = check_weights<T>(coef, intercept, shape, m, feature_major);
        index_t n_rows = 0;
        const std::int64_t* rows = check_rows(order, X.n_rows, check_order, &n_rows);
        const std::int64_t* streamed = check_stream(stream, rows, n_rows, X.n_rows);
        const double* lr = check_lrs(lrs, (n_rows + o.batch_size - 1) / o.batch_size);
        const T* y = static_cast<const T*>(y_);
        const T* sw = static_cast<const T*>(sample_weight_);
        const OptimizerArgs<T> opt = optimizer_args<T>(o, optimizer_state, shape, m, feature_major);
        const AverageArgs<T> avg = average_args<T>(o, average, shape, m, feature_major);
        const auto [pen, cumulative] = step_penalty();
        // Taken once the GIL is released (a thread waiting for it with the GIL held would block
        // the holder's return), and let go before it is taken back.
        const auto hold_cumulative = [this] {
          return cumulative_ ? std::unique_lock<std::mutex>(cumulative_->lock)
                             : std::unique_lock<std::mutex>();
        };
        if constexpr (is_dense<View>) {
          EpochArgs<T> args{X,           sw, rows, n_rows, lr, o.batch_size, pen,
                            o.fit_intercept, o.n_threads};
          args.optimizer = opt;
          args.average = avg;
          args.cumulative = cumulative;
          args.stream = streamed;
          py::gil_scoped_release release;
          const auto held = hold_cumulative();
          if (!is_pointwise(o.loss)) {
            const SoftmaxModel<T> model{n_classes_, labels_, y, o.label_smoothing};
            return double(fastgd::sgd_epoch(args, model, w, b));
          }
          return double(with_loss(o.loss, o.epsilon, [&](const auto& L) {
            const LinearModel<T, std::decay_t<decltype(L)>> model{L, y};
            return fastgd::sgd_epoch(args, model, w, b);
          }));
        } else {
          using I = std::remove_cv_t<std::remove_pointer_t<decltype(X.indices)>>;
          const bool pointwise = is_pointwise(o.loss);
          CsrEpochArgs<T, I> args{X,
                                        pointwise ? y : nullptr,
                                        sw,
                                        rows,
                                        n_rows,
                                        lr,
                                        o.batch_size,
                                        pen,
                                        o.fit_intercept,
                                        o.n_threads,
                                        o.asynchronous,
                                        o.intercept_decay,
                                        cumulative};
          args.stream = streamed;
          if (!general_csr_epoch(o)) {  // the only epochs l1_method='cumulative' runs on CSR
            py::gil_scoped_release release;
            const auto held = hold_cumulative();
            return double(with_loss(o.loss, o.epsilon, [&](const auto& L) {
              return fastgd::sgd_epoch_csr(args, L, w, b);
            }));
          }
          CsrModelArgs<T> model{m, feature_major,
                                untouched_for(o.optimizer, o.penalty(), o.sparse_updates), opt,
                                avg};
          py::gil_scoped_release release;
          if (!pointwise) {
            const SoftmaxHead<T> head{n_classes_, labels_, y, o.label_smoothing};
            return double(fastgd::sgd_epoch_csr_general(args, model, head, w, b));
          }
          return double(with_loss(o.loss, o.epsilon, [&](const auto& L) {
            const PointwiseHead<T, std::decay_t<decltype(L)>> head{L, y};
            return fastgd::sgd_epoch_csr_general(args, model, head, w, b);
          }));
        }
      },
      X_);
}

py::tuple Problem::loss_and_grad(const py::array& coef, const py::object& intercept) const {
  const FitOptions& o = options_;
  const std::vector<py::ssize_t> shape = coef_shape();
  return std::visit(
      [&](const auto& X) -> py::tuple {
        using View = std::decay_t<decltype(X)>;
        using T = typename View::value_type;
        const T* w = check_coef<T>(coef, shape);
        const T* y = static_cast<const T*>(y_);
        const T* sw = static_cast<const T*>(sample_weight_);
        py::array_t<T> grad(shape);
        T* gp = grad.mutable_data();
        const Penalty pen = o.penalty();
        if (!is_pointwise(o.loss)) {
          const auto b_arr = intercept.cast<py::array>();
          require_dtype<T>(b_arr, "intercept", "it must match X's dtype");
          if (b_arr.ndim() != 1 || b_arr.shape(0) != n_classes_ || !unit_stride(b_arr, 0))
            value_error("intercept must have shape (" + std::to_string(n_classes_) + ",), got " +
                        describe(b_arr));
          const T* b = static_cast<const T*>(b_arr.data());
          py::array_t<double> grad_b(n_classes_);
          double* gbp = grad_b.mutable_data();
          acc_t objective = 0;
          {
            py::gil_scoped_release release;
            if constexpr (is_dense<View>) {
              const SoftmaxModel<T> model{n_classes_, labels_, y, o.label_smoothing};
              objective = fastgd::loss_and_grad(X, sw, w, b, model, pen, gp, gbp, o.n_threads);
            } else {
              const SoftmaxHead<T> head{n_classes_, labels_, y, o.label_smoothing};
              objective = fastgd::softmax_loss_and_grad_csr(X, sw, w, b, head, pen, gp, gbp);
            }
          }
          return py::make_tuple(double(objective), grad, grad_b);
        }
        const double b = intercept.cast<double>();
        if (!std::isfinite(b)) value_error("intercept must be finite");
        acc_t objective = 0, grad_b = 0;
        {
          py::gil_scoped_release release;
          objective = with_loss(o.loss, o.epsilon, [&](const auto& L) {
            if constexpr (is_dense<View>) {
              const T bt = T(b);
              const LinearModel<T, std::decay_t<decltype(L)>> model{L, y};
              return fastgd::loss_and_grad(X, sw, w, &bt, model, pen, gp, &grad_b, o.n_threads);
            } else {
              return fastgd::loss_and_grad_csr(X, y, sw, w, acc_t(b), L, pen, gp, &grad_b,
                                               o.n_threads);
            }
          });
        }
        return py::make_tuple(double(objective), grad, double(grad_b));
      },
      X_);
}

double Problem::penalty_value(const py::array& coef) const {
  return std::visit(
      [&](const auto& X) -> double {
        using T = typename std::decay_t<decltype(X)>::value_type;
        // Not check_coef: a diverged model's NaN coefficients give a NaN penalty, not an error.
        require_dtype<T>(coef, "coef", "it must match X's dtype");
        // A sum over every value: any contiguous layout (a softmax's on CSR is feature-major).
        if (!(coef.flags() & (py::array::c_style | py::array::f_style)))
          value_error("coef must be contiguous");
        const T* w = static_cast<const T*>(coef.data());
        acc_t sq = 0, ab = 0;
        for (index_t j = 0, P = index_t(coef.size()); j < P; ++j) {
          sq += acc_t(w[j]) * acc_t(w[j]);
          ab += std::fabs(acc_t(w[j]));
        }
        return double(options_.penalty().value(sq, ab));
      },
      X_);
}

}  // namespace fastgd::bindings
