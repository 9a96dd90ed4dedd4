// The per-sample CSR epoch without L1's proximal step on one thread: scikit-learn's sparse SGD
// loop.
#pragma once

#include "../config.hpp"
#include "../penalties.hpp"
#include "column_updates.hpp"
#include "epoch_args.hpp"
#include "lazy_penalty.hpp"
#include "predict.hpp"

namespace fastgd::sparse_detail {

// Per-sample steps (batch 1) without L1, or with its cumulative form (clip_row), on one thread:
// scikit-learn's SGD on sparse data, the most common sparse epoch, as one loop with nothing per
// step but the step itself: the steps of sgd_epoch_sync on one thread without its per-step
// bookkeeping for threads and batches, and with each non-zero's update taking one product,
// (c·g)·x_ij, instead of c·(g·x_ij) (a rounding apart from the other drivers, whose pairs need
// g·x_ij). Every step must be lazy (all_lazy). Scalar code: AVX-512 gathers and scatters for the
// dot product and the update were slower.
template <class T, class I, class Loss>
acc_t sgd_epoch_per_sample(const CsrEpochArgs<T, I>& a, const Loss& loss, T* v, T* b) {
  const index_t n = a.n_rows, d = a.X.n_cols;
  const Penalty pen = a.penalty;
  const LazyCoef<T, false> w{v, nullptr};
  const bool prefetch = coefficient_bytes<T>(d, pen) > kPrefetchCoefficientsAbove;
  Clock now;
  acc_t total_loss = 0;
  for (index_t s = 0; s < n; ++s) {
    const index_t i = row_at(a, s);
    prefetch_permuted(a, s);
    if (prefetch && s + kPrefetchAhead < n)
      prefetch_coefficients(a.X, row_at(a, s + kPrefetchAhead), v, nullptr);
    const acc_t p = predict_scaled(a.X, i, v, now.A, acc_t(*b));
    const acc_t yi = acc_t(a.y[i]), si = a.sample_weight ? acc_t(a.sample_weight[i]) : 1.0;
    const acc_t g = si * loss.derivative(p, yi);
    total_loss += si * loss.value(p, yi);
    const double lr = a.lrs[s];
    const Clock next = advance(now, lr, pen);
    if (g != 0) add_scaled_row(a.X, i, linear_factor(lr, 1.0, next) * g, v);
    if (a.cumulative.q) clip_row(a.X, i, v, next.A, lr, a.cumulative);
    now = next;
    if (now.A < rebase_below<T>()) {
      w.materialize(0, d, now);
      now = Clock{};
    }
    if (a.fit_intercept) *b = T(acc_t(*b) - lr * g * a.intercept_decay);
  }
  w.materialize(0, d, now);
  return total_loss;
}

}  // namespace fastgd::sparse_detail
