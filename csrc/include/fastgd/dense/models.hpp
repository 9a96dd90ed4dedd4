// The models the dense drivers train: how many coefficients and intercepts each has, and its row
// pass over a slice of rows.
#pragma once

#include <cstdint>

#include "../config.hpp"
#include "../data.hpp"
#include "row_pass.hpp"
#include "row_slice.hpp"
#include "softmax_pass.hpp"

namespace fastgd {

// A model says how many coefficients and intercepts it has and how a slice of rows adds to the
// gradient; the drivers below do the rest (threads, the update, optimizers, averaging).
//
// LinearModel: one output, p = x·w + b, any pointwise loss (losses.hpp).
template <class T, class Loss>
struct LinearModel {
  static constexpr bool kSmallBatchPath = true;  // detail::small_batch_epoch applies
  const Loss& loss;
  const T* y;
  index_t n_coef(index_t d) const noexcept { return d; }
  index_t n_intercepts() const noexcept { return 1; }
  acc_t pass(const DenseView<T>& X, const T* sw, const detail::RowSlice& slice, const T* w,
             const T* b, acc_t* grad, acc_t* grad_b) const noexcept {
    return detail::row_pass(X, y, sw, slice, w, acc_t(b[0]), loss, grad, grad_b);
  }
};

// SoftmaxModel: K outputs p = W·x + b (W is K×d, row-major), cross-entropy against a target
// distribution t: hard labels (one-hot), or the rows of a probability matrix (soft labels),
// optionally smoothed, t ← (1 − ε)·t + ε/K. L = logsumexp(p) − Σ_k t_k·p_k, ∂L/∂p_k = q_k − t_k
// with q = softmax(p).
template <class T>
struct SoftmaxModel {
  static constexpr bool kSmallBatchPath = false;
  index_t K;
  const std::int64_t* labels;  // class of each row in [0, K), or nullptr
  const T* probs;              // n × K target probabilities, or nullptr
  double smoothing;            // ε
  index_t n_coef(index_t d) const noexcept { return K * d; }
  index_t n_intercepts() const noexcept { return K; }

  acc_t pass(const DenseView<T>& X, const T* sw, const detail::RowSlice& slice, const T* W,
             const T* b, acc_t* grad, acc_t* grad_b) const noexcept {
    return detail::softmax_pass(X, sw, slice, W, b, K, labels, probs, smoothing, grad, grad_b);
  }
};

}  // namespace fastgd
