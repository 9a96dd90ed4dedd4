// A prepared problem: the training data and everything about a fit that is not the model, checked
// once. Constructing one checks X (shape, strides, the CSR structure and, when asked, finiteness),
// the targets, the sample weights and every option, in O(n) or O(nnz); `run` then trains a model on
// a chunk of steps in O(the chunk's rows), checking only what the chunk brings: the model's arrays,
// the rates and the rows. `fastgd.ops` builds one per call, the solver one per fit.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <variant>

#include "arrays.hpp"
#include "fastgd/data.hpp"
#include "fastgd/kinds.hpp"
#include "fastgd/optimizers.hpp"
#include "fastgd/penalties.hpp"
#include "fastgd/sparse/general_epoch.hpp"

namespace fastgd::bindings {

// X as the kernels see it: dense or CSR, in its value and index dtypes.
using Features = std::variant<DenseView<float>, DenseView<double>, CsrView<float, std::int32_t>,
                              CsrView<float, std::int64_t>, CsrView<double, std::int32_t>,
                              CsrView<double, std::int64_t>>;

// X as the kernels see it (NumPy array or scipy.sparse CSR matrix), checked: shape, strides, the
// CSR structure and, when asked, finiteness. `owner` receives the arrays the view points into.
Features features_of(const py::object& X, py::object* owner, bool check_finite, int n_threads);

// Everything about a fit that is not data, with the values checked.
struct FitOptions {
  LossKind loss = LossKind::squared_error;
  double epsilon = 0.1;          // huber and the epsilon-insensitive losses
  double label_smoothing = 0.0;  // multinomial
  index_t n_classes = 0;         // multinomial with class indices (probabilities carry K)
  PenaltyKind penalty_kind = PenaltyKind::l2;
  double alpha = 1e-4, l1_ratio = 0.15;
  index_t batch_size = 1;
  bool fit_intercept = true;
  int n_threads = 1;
  bool asynchronous = false;  // Hogwild! on CSR
  OptimizerKind optimizer = OptimizerKind::sgd;
  OptimizerParams optimizer_params{};
  index_t average_start = 0;  // 0: no averaging; else the first averaged step (from 1)
  SparseUpdates sparse_updates = SparseUpdates::automatic;  // optimizers on CSR
  double intercept_decay = 1.0;  // CSR: scikit-learn's SPARSE_INTERCEPT_DECAY is 0.01
  L1Method l1_method = L1Method::proximal;

  Penalty penalty() const noexcept { return make_penalty(penalty_kind, alpha, l1_ratio); }
};

// The arrays an optimizer or an average updates in place: (coefficients, intercepts, step).
using StateArrays = std::tuple<py::array, py::array, py::array>;

class Problem {
 public:
  // X: a NumPy array, or a scipy.sparse CSR matrix (float values, int32/int64 indices).
  Problem(const py::object& X, const py::object& y, const std::optional<py::array>& sample_weight,
          const FitOptions& options, bool check_finite);

  // The same X and options with other targets (one-vs-rest): X is not checked again.
  Problem with_targets(const py::object& y, const std::optional<py::array>& sample_weight) const;

  // Steps over `order` (rows in [0, n); nullopt: all rows in storage order) at the rates `lrs`,
  // updating coef and intercept (and the optimizer state and average) in place; returns the
  // progressive loss. `check_order` also checks that the rows are distinct (O(n) memory): the
  // solver's chunks are slices of a permutation it made, so it skips that. `stream` (with an
  // order, as long): a block order's rows fetched ahead, one per position (RowSlice::stream).
  double run(py::array& coef, py::array& intercept, const py::array& lrs,
             const std::optional<py::array>& order, std::optional<StateArrays>& optimizer_state,
             std::optional<StateArrays>& average, bool check_order,
             const std::optional<py::array>& stream) const;

  // The objective and its gradient at (coef, intercept), in one pass over X.
  py::tuple loss_and_grad(const py::array& coef, const py::object& intercept) const;

  // α·R(coef): the penalty part of the objective.
  double penalty_value(const py::array& coef) const;

  index_t n_samples() const noexcept;
  index_t n_features() const noexcept;
  const FitOptions& options() const noexcept { return options_; }

 private:
  Problem() = default;
  void set_targets(const py::object& y, const std::optional<py::array>& sample_weight);
  // The coefficients' shape: (d,) for one output, (K, d) for the softmax.
  std::vector<py::ssize_t> coef_shape() const;
  // The penalty the kernels apply in each step, and the cumulative L1 they apply after it (off
  // unless l1_method is cumulative and the penalty has an L1 part).
  std::pair<Penalty, CumulativeL1> step_penalty() const;

  Features X_;
  py::object X_owner_;     // the arrays X_ points into, kept alive
  py::object y_owner_, sw_owner_;
  const void* y_ = nullptr;                  // targets in X's dtype, or class probabilities
  const std::int64_t* labels_ = nullptr;     // class indices (multinomial)
  const void* sample_weight_ = nullptr;      // nullptr: all ones
  index_t n_classes_ = 0;                    // K of the softmax
  FitOptions options_;
  // The cumulative L1 penalty's u and q (CumulativeL1): zero when the problem is prepared (and in
  // each with_targets copy), then carried from one run to the next, as scikit-learn keeps them
  // over one fit (each partial_fit starts them anew: so does each prepared problem). The lock
  // makes concurrent runs of one problem take turns on them.
  struct CumulativeState {
    std::mutex lock;
    double u = 0.0;
    std::vector<double> q;
  };
  std::shared_ptr<CumulativeState> cumulative_;
  void start_cumulative();
};

}  // namespace fastgd::bindings
