// The CSR full-batch objective and its gradient (loss_and_grad_csr).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "../config.hpp"
#include "../data.hpp"
#include "../huge_page_array.hpp"
#include "../parallel.hpp"
#include "../penalties.hpp"
#include "../simd.hpp"
#include "lazy_penalty.hpp"
#include "pairs.hpp"
#include "predict.hpp"
#include "threads.hpp"

namespace fastgd {

namespace sparse_detail {

// Rows [rows.begin, rows.end) of the objective: g_i = s_i·L'(p_i, y_i) and s_i·L(p_i, y_i), four
// rows' losses at a time, in one vector where the loss allows (losses_of).
template <class T, class I, class Loss>
FASTGD_ALWAYS_INLINE void row_derivatives(const CsrView<T, I>& X, const T* y, const T* sw,
                                          const LazyCoef<T, false>& coef, acc_t b,
                                          const Loss& loss, Range rows, acc_t* g_rows,
                                          acc_t* loss_rows) noexcept {
  acc_t p[4], yk[4], value[4], derivative[4];
  for (index_t i0 = rows.begin; i0 < rows.end; i0 += 4) {
    const int m = int(std::min<index_t>(4, rows.end - i0));
    for (int k = 0; k < m; ++k) {
      p[k] = predict(X, i0 + k, coef, Clock{}, b);
      yk[k] = acc_t(y[i0 + k]);
    }
    if (m == 4) {
      losses_of<4>(loss, p, yk, value, derivative);
    } else {
      for (int k = 0; k < m; ++k) losses_of<1>(loss, p + k, yk + k, value + k, derivative + k);
    }
    for (int k = 0; k < m; ++k) {
      const acc_t si = sw ? acc_t(sw[i0 + k]) : 1.0;
      g_rows[i0 + k] = si * derivative[k];
      loss_rows[i0 + k] = si * value[k];
    }
  }
}

// Columns [c_lo, c_hi) of the gradient: Σ_i g_i·x_ij over all rows in row order (into acc), over
// n, plus the penalty's (sub)gradient.
template <class T, class I>
FASTGD_ALWAYS_INLINE void column_gradient(const CsrView<T, I>& X, const acc_t* g_rows,
                                          const T* w, const Penalty& pen, index_t c_lo,
                                          index_t c_hi, acc_t* acc, T* grad) noexcept {
  const index_t n = X.n_rows;
  std::fill(acc + c_lo, acc + c_hi, acc_t(0));
  for (index_t i = 0; i < n; ++i) {
    const acc_t g = g_rows[i];
    if (g == 0) continue;
    for (index_t k = X.begin(i); k < X.end(i); ++k) {
      const index_t j = X.indices[k];
      if (j >= c_lo && j < c_hi) acc[j] += g * acc_t(X.data[k]);
    }
  }
  for (index_t j = c_lo; j < c_hi; ++j) {
    const acc_t wj = w[j];
    const acc_t sign = wj > 0 ? 1.0 : (wj < 0 ? -1.0 : 0.0);
    grad[j] = T(acc[j] / acc_t(n) + pen.l2 * wj + pen.l1 * sign);
  }
}

}  // namespace sparse_detail

// Objective F(w, b) and its (sub)gradient on CSR data, as fastgd::loss_and_grad on dense data.
// Rows are split over threads for the predictions; then each thread sums the gradient of its own
// range of columns over all rows in row order (deterministic, independent of the thread count).
template <class T, class I, class Loss>
acc_t loss_and_grad_csr(const CsrView<T, I>& X, const T* y, const T* sw, const T* w, acc_t b,
                        const Loss& loss, const Penalty& pen, T* grad, acc_t* grad_b,
                        int n_threads) {
  const index_t n = X.n_rows, d = X.n_cols;
  const int nt = sparse_detail::objective_threads(X.end(n - 1), d, n_threads);
  std::vector<acc_t> g_rows(n), loss_rows(n);
  HugePageArray<acc_t> sums{std::size_t(d)};  // the column sums, added into at random
  const sparse_detail::ColumnOwners owners(d, nt);
  const sparse_detail::LazyCoef<T, false> coef{const_cast<T*>(w), nullptr};
  bool team_was_short = false;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    if (!detail::short_team(nt, team_was_short)) {
      const int t = sparse_detail::thread_id();
      sparse_detail::row_derivatives(X, y, sw, coef, b, loss, sparse_detail::split(n, nt, t),
                                     g_rows.data(), loss_rows.data());
      sparse_detail::barrier(nt);
      sparse_detail::column_gradient(X, g_rows.data(), w, pen, owners.begin(t),
                                     owners.begin(t + 1), sums.get(), grad);
    }
  }
  if (team_was_short) return loss_and_grad_csr(X, y, sw, w, b, loss, pen, grad, grad_b, 1);
  acc_t loss_sum = 0, gb = 0, sq = 0, ab = 0;
  for (index_t i = 0; i < n; ++i) {
    loss_sum += loss_rows[i];
    gb += g_rows[i];
  }
  for (index_t j = 0; j < d; ++j) {
    sq += acc_t(w[j]) * acc_t(w[j]);
    ab += std::fabs(acc_t(w[j]));
  }
  *grad_b = gb / acc_t(n);
  return loss_sum / acc_t(n) + pen.value(sq, ab);
}

}  // namespace fastgd
