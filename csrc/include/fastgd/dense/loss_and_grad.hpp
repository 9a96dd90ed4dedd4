// The dense full-batch objective and its gradient, in one pass over X. Its rows are split into the
// slices of a full-batch step of sgd_epoch (dense/epoch.hpp), so that the two agree bitwise.
#pragma once

#include <algorithm>
#include <cmath>

#include "../config.hpp"
#include "../data.hpp"
#include "../parallel.hpp"
#include "../penalties.hpp"
#include "row_slice.hpp"
#include "slice_accumulators.hpp"
#include "threads.hpp"

namespace fastgd {

// Objective F(w, b) = (1/n) Σ s_i·L_i + α·R(w) of a model and its (sub)gradient: grad (its P
// coefficients) and grad_b (its m intercepts). The L1 part of the subgradient is sign(w)·l1,
// zero at w = 0. One pass over X.
template <class T, class Model>
acc_t loss_and_grad(const DenseView<T>& X, const T* sw, const T* w, const T* b,
                    const Model& model, const Penalty& pen, T* grad, acc_t* grad_b,
                    int n_threads) {
  const index_t n = X.n_rows, d = X.n_cols, P = model.n_coef(d), m = model.n_intercepts();
  const int nt = threads_for(n, P, n_threads);
  // The slices of a full-batch step of sgd_epoch, so that its gradient is bitwise this one; here
  // each thread computes its own block of them.
  const int per = slices_per_thread(n, P, nt), slices = nt * per;
  detail::SliceAccumulators scratch(slices, P, m);
  acc_t loss_sum = 0, sq = 0, ab = 0;

#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    // Any team size works (a nested or limited team may have fewer threads than nt).
    const int t = detail::thread_id(), team = detail::team_size();
    for (int u = t; u < nt; u += team)
      for (int k = u * per; k < (u + 1) * per; ++k) {
        acc_t* g = scratch.grad(k);
        std::fill(g, g + P + m, acc_t(0));  // the coefficients' and the intercepts' accumulators
        const detail::Range rows = detail::split(n, slices, k);
        const index_t next_end = k + 1 < (u + 1) * per ? detail::split(n, slices, k + 1).end : n;
        const detail::RowSlice slice{nullptr, rows, {rows.end, next_end}};
        scratch.loss(k) = model.pass(X, sw, slice, w, b, g, scratch.grad_b(k));
      }
    detail::barrier(team);
    const detail::Range cols = detail::split(P, team, t);
    for (index_t j = cols.begin; j < cols.end; ++j) {
      acc_t gj = 0;
      for (int k = 0; k < slices; ++k) gj += scratch.grad(k)[j];
      const acc_t wj = w[j];
      const acc_t sign = wj > 0 ? 1.0 : (wj < 0 ? -1.0 : 0.0);
      grad[j] = T(gj / acc_t(n) + pen.l2 * wj + pen.l1 * sign);
    }
  }
  for (int k = 0; k < slices; ++k) loss_sum += scratch.loss(k);
  for (index_t c = 0; c < m; ++c) {
    acc_t gb = 0;
    for (int k = 0; k < slices; ++k) gb += scratch.grad_b(k)[c];
    grad_b[c] = gb / acc_t(n);
  }
  for (index_t j = 0; j < P; ++j) {
    sq += acc_t(w[j]) * acc_t(w[j]);
    ab += std::fabs(acc_t(w[j]));
  }
  return loss_sum / acc_t(n) + pen.value(sq, ab);
}

}  // namespace fastgd
