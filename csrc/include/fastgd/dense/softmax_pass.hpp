// The fused row pass of the softmax model (multinomial cross-entropy) over one slice of rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../config.hpp"
#include "../data.hpp"
#include "../simd.hpp"
#include "../softmax.hpp"
#include "row_products.hpp"
#include "row_slice.hpp"

namespace fastgd::detail {

// The fused row pass of the softmax model over one slice (see SoftmaxModel): per row, K dot
// products, the softmax (softmax.hpp), then grad_k += s·(q_k − t_k)·x for each class. Row blocks
// of 4 would need 4·K partial sums; K dots per row over a row already in L1 cost no extra memory
// traffic.
template <class T>
FASTGD_MULTIVERSION acc_t softmax_pass(const DenseView<T>& X, const T* sw, const RowSlice& slice,
                                       const T* W, const T* b, index_t K,
                                       const std::int64_t* labels, const T* probs,
                                       double smoothing, acc_t* FASTGD_RESTRICT grad,
                                       acc_t* FASTGD_RESTRICT grad_b) noexcept {
  const index_t d = X.n_cols;
  constexpr index_t kMaxStack = 64;  // classes held on the stack; more are done in chunks
  const index_t ahead = RowSlice::prefetch_distance(X, slice.order);
  acc_t loss_sum = 0;
  for (index_t r = slice.rows.begin; r < slice.rows.end; ++r) {
    slice.prefetch_ahead(X, r, ahead, sw, labels);
    const index_t i = slice.row_at(r);
    const T* x = X.row(i);
    const acc_t si = sw ? acc_t(sw[i]) : acc_t(1);
    // The logits, held on the stack for up to kMaxStack classes; beyond, recomputed when read.
    acc_t p_buf[kMaxStack];
    for (index_t k = 0; k < std::min(K, kMaxStack); ++k) {
      dot_rows<1>(&x, W + k * d, d, &p_buf[k]);
      p_buf[k] += acc_t(b[k]);
    }
    auto logit = [&](index_t k) {
      if (k < kMaxStack) return p_buf[k];
      acc_t p;
      const T* wk = W + k * d;
      dot_rows<1>(&x, wk, d, &p);
      return p + acc_t(b[k]);
    };
    auto target = [&](index_t k) {
      return labels ? acc_t(labels[i] == k) : acc_t(probs[i * K + k]);
    };
    const acc_t row_loss = softmax_cross_entropy(K, logit, target, smoothing, [&](index_t k,
                                                                                  acc_t q_t) {
      const acc_t g = si * q_t;
      grad_b[k] += g;
      if (g != 0) add_rows<1>(&g, &x, grad + k * d, d);
    });
    loss_sum += si * row_loss;
  }
  return loss_sum;
}

}  // namespace fastgd::detail
