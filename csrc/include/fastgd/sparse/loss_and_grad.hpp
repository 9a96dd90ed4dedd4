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

// Objective F(w, b) and its (sub)gradient on CSR data, as fastgd::loss_and_grad on dense data.
// Rows are split over threads for the predictions; then each thread sums the gradient of its own
// range of columns over all rows in row order (deterministic, independent of the thread count).
template <class T, class I, class Loss>
acc_t loss_and_grad_csr(const CsrView<T, I>& X, const T* y, const T* sw, const T* w, acc_t b,
                        const Loss& loss, const Penalty& pen, T* grad, acc_t* grad_b,
                        int n_threads) {
  const index_t n = X.n_rows, d = X.n_cols;
  const index_t nnz = X.end(n - 1);
  const int nt = int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(n_threads)),
                          index_t(sparse_detail::kMaxThreads),
                            (nnz + d) / (4 * kMinSparseWorkPerThread)})));
  std::vector<acc_t> g_rows(n), loss_rows(n);
  HugePageArray<acc_t> sums{std::size_t(d)};  // the column sums, added into at random
  acc_t* acc = sums.get();
  const sparse_detail::ColumnOwners owners(d, nt);
  const sparse_detail::LazyCoef<T, false> coef{const_cast<T*>(w), nullptr};
  bool team_was_short = false;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    if (!detail::short_team(nt, team_was_short)) {
      const int t = sparse_detail::thread_id();
      const sparse_detail::Range rows = sparse_detail::split(n, nt, t);
      // Four rows' losses at a time, in one vector where the loss allows (losses_of).
      acc_t p[4], yk[4], value[4], derivative[4];
      for (index_t i0 = rows.begin; i0 < rows.end; i0 += 4) {
        const int m = int(std::min<index_t>(4, rows.end - i0));
        for (int k = 0; k < m; ++k) {
          p[k] = sparse_detail::predict(X, i0 + k, coef, sparse_detail::Clock{}, b);
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
      sparse_detail::barrier(nt);
      const index_t c_lo = owners.begin(t), c_hi = owners.begin(t + 1);
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
