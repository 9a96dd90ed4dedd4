// The small-batch path of the dense linear model: steps of a few rows on one thread, which update
// w straight from the rows instead of through a gradient buffer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../config.hpp"
#include "../data.hpp"
#include "../penalties.hpp"
#include "../simd.hpp"
#include "row_products.hpp"
#include "row_slice.hpp"

namespace fastgd::detail {

// Steps of at most this many rows on one thread take the small-batch path (small_batch_epoch):
// the largest batch at which it is faster than the general one.
constexpr index_t kMaxSmallBatch = 8;

// The update of one small step from its rows x[0..rows) and their factors c_k = lr·g_k/b_s:
// w ← w − (u·w + Σ_k c_k·x_k) with u = lr·l2, then L1's step (threshold t = lr·l1, or none), in
// the data's type. Widening every element to double and back was most of the work of a float32
// per-sample step, and buys little: u·w + Σ c_k·x_k is small next to w except in the first steps
// from w = 0.
template <class T>
FASTGD_ALWAYS_INLINE void small_batch_update(T* FASTGD_RESTRICT w, const T* const* x, const T* c,
                                             index_t rows, index_t d, T u, T t) noexcept {
  if (rows == 1) {  // one pass over w, not the three of the chunks below
    const T* FASTGD_RESTRICT x0 = x[0];
    const T c0 = c[0];
    if (t == 0) {
#pragma omp simd
      for (index_t j = 0; j < d; ++j) w[j] = w[j] - (u * w[j] + c0 * x0[j]);
    } else {
#pragma omp simd
      for (index_t j = 0; j < d; ++j) {
        const T v = w[j] - (u * w[j] + c0 * x0[j]), a = std::fabs(v) - t;
        w[j] = a > 0 ? std::copysign(a, v) : T(0);
      }
    }
    return;
  }
  // acc = u·w + c_0·x_0 + c_1·x_1 + ..., summed in that order, 64 columns at a time: a loop over
  // rows inside the loop over columns would keep it scalar, so rows are added R at a time.
  constexpr index_t kChunk = 64;
  alignas(64) T acc[kChunk];
  for (index_t j0 = 0; j0 < d; j0 += kChunk) {
    const index_t m = std::min(kChunk, d - j0);
    T* FASTGD_RESTRICT wc = w + j0;
#pragma omp simd
    for (index_t j = 0; j < m; ++j) acc[j] = u * wc[j];
    auto add = [&](auto R, index_t k) {
#pragma omp simd
      for (index_t j = 0; j < m; ++j) {
        T v = acc[j];
        for (int q = 0; q < R; ++q) v += c[k + q] * x[k + q][j0 + j];
        acc[j] = v;
      }
    };
    index_t k = 0;
    for (; k + 4 <= rows; k += 4) add(std::integral_constant<int, 4>{}, k);
    for (; k < rows; ++k) add(std::integral_constant<int, 1>{}, k);
    if (t == 0) {
#pragma omp simd
      for (index_t j = 0; j < m; ++j) wc[j] = wc[j] - acc[j];
    } else {
#pragma omp simd
      for (index_t j = 0; j < m; ++j) {
        const T v = wc[j] - acc[j], a = std::fabs(v) - t;
        wc[j] = a > 0 ? std::copysign(a, v) : T(0);
      }
    }
  }
}

// Steps of at most kMaxSmallBatch rows on one thread (scikit-learn's per-sample loop at batch
// size 1): the step's gradient is Σ g_k·x_k over rows still in L1, so the update reads them again
// and writes w directly, with no gradient buffer to clear, fill and read back. Mathematically the general step, w ← w − lr·(g +
// l2·w), then L1, but in the data's type (small_batch_update).
//
// Compiled apart for batch size 1 (kPerSample), where the step's size is a constant: its factor
// and row then stay in registers instead of going through the arrays.
//
// `cumulative` (its q set: l1_method="cumulative", pen.l1 = 0) clips every weight after each
// step, as scikit-learn does on dense data.
template <bool kPerSample, class T, class Loss>
FASTGD_MULTIVERSION acc_t small_batch_epoch(const DenseView<T>& X, const T* y, const T* sw,
                                            const std::int64_t* order,
                                            const std::int64_t* stream, index_t n, index_t B,
                                            const double* lrs, const Penalty& pen,
                                            const CumulativeL1& cumulative, bool fit_intercept,
                                            const Loss& loss, T* FASTGD_RESTRICT w,
                                            T* b) noexcept {
  const index_t d = X.n_cols;  // n: rows in the epoch (len(order), or all of X)
  const RowSlice all{order, {0, n}, {n, n}, stream};
  const index_t ahead = stream ? kPrefetchStreamedRows : RowSlice::prefetch_distance(X, order);
  acc_t loss_sum = 0;
  T bias = *b;
  const T* x[kMaxSmallBatch];
  T c[kMaxSmallBatch];
  for (index_t lo = 0, s = 0; lo < n; lo += B, ++s) {
    const index_t rows = kPerSample ? 1 : std::min(B, n - lo);
    // lr/b_s: computed before the step's dot products, it keeps a division off the chain from
    // one step's prediction to the next (exact for b_s = 1).
    const acc_t lr = lrs[s], scale = lr / acc_t(rows);
    acc_t step_loss = 0, gb = 0;
    // One row's share: its loss, g = s·L'(p, y) and the factor c = g·lr/b_s of its row, from
    // L(p, y) and L'(p, y).
    auto factor = [&](index_t k, index_t i, acc_t value, acc_t derivative) {
      const acc_t si = sw ? acc_t(sw[i]) : acc_t(1);
      step_loss += si * value;
      const acc_t g = si * derivative;
      c[k] = T(scale * g);
      gb += g;
    };
    index_t k = 0;
    for (; k + 4 <= rows; k += 4) {
      index_t idx[4];
      for (int q = 0; q < 4; ++q) {
        all.prefetch_ahead(X, lo + k + q, ahead, y, sw);
        idx[q] = all.row_at(lo + k + q);
        x[k + q] = X.row(idx[q]);
      }
      acc_t p[4], yq[4], value[4], derivative[4];
      dot_rows<4>(x + k, w, d, p);
      for (int q = 0; q < 4; ++q) {
        p[q] += acc_t(bias);
        yq[q] = acc_t(y[idx[q]]);
      }
      losses_of<4>(loss, p, yq, value, derivative);
      for (int q = 0; q < 4; ++q) factor(k + q, idx[q], value[q], derivative[q]);
    }
    for (; k < rows; ++k) {
      all.prefetch_ahead(X, lo + k, ahead, y, sw);
      const index_t i = all.row_at(lo + k);
      x[k] = X.row(i);
      acc_t p;
      dot_rows<1>(x + k, w, d, &p);
      p += acc_t(bias);
      factor(k, i, loss.value(p, acc_t(y[i])), loss.derivative(p, acc_t(y[i])));
    }
    loss_sum += step_loss;
    if (!std::isfinite(step_loss)) break;  // diverged: keep the last finite weights, report it
    T decay = T(lr * pen.l2);
    if (decay_clamped(lr, pen.l2)) {  // update_coordinate's clamp: w ← −Σ c_k·x_k
      std::fill(w, w + d, T(0));
      decay = 0;
    }
    small_batch_update(w, x, c, rows, d, decay, T(lr * pen.l1));
    if (cumulative.q) cumulative_clip_all(w, d, lr, cumulative);
    if (fit_intercept) bias = T(acc_t(bias) - scale * gb);
  }
  *b = bias;
  return loss_sum;
}

}  // namespace fastgd::detail
