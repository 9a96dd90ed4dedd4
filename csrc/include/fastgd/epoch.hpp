// The fused drivers: the full-batch objective-and-gradient pass and the minibatch SGD epoch.
//
// Both read each row of X once: p_i = x_i·w + b, g_i = s_i·L'(p_i, y_i), and grad += g_i·x_i while
// the row is still in L1. Threads split the rows of a batch into private gradient buffers; after a
// barrier each thread sums a slice of coordinates over the buffers in thread order 0..T−1, so the
// result depends only on the inputs and the thread count, never on timing.
//
// Nothing inside the parallel regions allocates or throws: scratch space is sized before them.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "config.hpp"
#include "data.hpp"
#include "penalties.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fastgd {

namespace detail {

inline int thread_id() noexcept {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// [begin, end) of part `k` when `count` items are split into `parts` near-equal static parts.
struct Range {
  index_t begin, end;
};
inline Range split(index_t count, int parts, int k) noexcept {
  const index_t base = count / parts, extra = count % parts;
  const index_t begin = k * base + std::min<index_t>(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

template <class T>
inline acc_t dot(const T* FASTGD_RESTRICT x, const T* FASTGD_RESTRICT w, index_t d) noexcept {
  acc_t s = 0;
#pragma omp simd reduction(+ : s)
  for (index_t j = 0; j < d; ++j) s += acc_t(x[j]) * acc_t(w[j]);
  return s;
}

template <class T>
inline void axpy(acc_t a, const T* FASTGD_RESTRICT x, acc_t* FASTGD_RESTRICT y,
                 index_t d) noexcept {
#pragma omp simd
  for (index_t j = 0; j < d; ++j) y[j] += a * acc_t(x[j]);
}

// Rows are this far ahead when prefetched through a permutation: far enough to hide DRAM latency
// for rows of a few hundred bytes, near enough to stay in L1/L2.
constexpr index_t kPrefetchRows = 8;

template <class T>
inline void prefetch_row(const T* row, index_t d) noexcept {
  const char* p = reinterpret_cast<const char*>(row);
  const index_t bytes = d * index_t(sizeof(T));
  for (index_t off = 0; off < bytes; off += 64) FASTGD_PREFETCH(p + off);
}

// The fused row pass over rows order[lo:hi) (or lo:hi without order): adds g_i·x_i into grad,
// returns Σ s_i·L(p_i, y_i) and adds Σ g_i into *grad_b.
template <class T, class Loss>
inline acc_t row_pass(const DenseView<T>& X, const T* y, const T* sw, const std::int64_t* order,
                      index_t lo, index_t hi, const T* w, acc_t b, const Loss& loss,
                      acc_t* FASTGD_RESTRICT grad, acc_t* grad_b) noexcept {
  const index_t d = X.n_cols;
  acc_t loss_sum = 0, gb = 0;
  for (index_t r = lo; r < hi; ++r) {
    index_t i = r;
    if (order) {
      i = order[r];
      if (r + kPrefetchRows < hi) prefetch_row(X.row(order[r + kPrefetchRows]), d);
    }
    const T* x = X.row(i);
    const acc_t p = dot(x, w, d) + b;
    const acc_t yi = acc_t(y[i]), si = sw ? acc_t(sw[i]) : acc_t(1);
    const acc_t g = si * loss.derivative(p, yi);
    loss_sum += si * loss.value(p, yi);
    gb += g;
    if (g != 0) axpy(g, x, grad, d);
  }
  *grad_b += gb;
  return loss_sum;
}

// Per-thread scratch: a gradient buffer of d accumulators plus the thread's intercept gradient
// and loss, padded to a cache line so threads do not share lines.
struct Scratch {
  index_t stride;  // accumulators per thread
  std::vector<acc_t> data;
  Scratch(int threads, index_t d) : stride(((d + 2 + 7) / 8) * 8), data(threads * stride) {}
  acc_t* grad(int t) noexcept { return data.data() + t * stride; }
  acc_t& grad_b(int t) noexcept { return data[t * stride + stride - 2]; }
  acc_t& loss(int t) noexcept { return data[t * stride + stride - 1]; }
};

}  // namespace detail

// Below this many multiply-adds per thread, a step is cheaper on one thread than the barrier
// that splitting it would need.
constexpr index_t kMinWorkPerThread = 16384;

// Threads worth using for steps of `rows` rows of width d (at most `requested`).
inline int threads_for(index_t rows, index_t d, int requested) noexcept {
  const index_t useful = std::max<index_t>(1, rows * d / kMinWorkPerThread);
  return int(std::max<index_t>(1, std::min<index_t>(requested, useful)));
}

// Objective F(w, b) = (1/n) Σ s_i·L(x_i·w + b, y_i) + α·R(w) and its (sub)gradient: grad (d values)
// and *grad_b. The L1 part of the subgradient is sign(w)·l1, zero at w = 0.
template <class T, class Loss>
acc_t loss_and_grad(const DenseView<T>& X, const T* y, const T* sw, const T* w, acc_t b,
                    const Loss& loss, const Penalty& pen, T* grad, acc_t* grad_b,
                    int n_threads) {
  const index_t n = X.n_rows, d = X.n_cols;
  const int nt = threads_for(n, d, n_threads);
  detail::Scratch scratch(nt, d);
  acc_t loss_sum = 0, gb_sum = 0, sq = 0, ab = 0;

#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    const int t = detail::thread_id();
    acc_t* g = scratch.grad(t);
    std::fill(g, g + d, acc_t(0));
    scratch.grad_b(t) = 0;
    const detail::Range rows = detail::split(n, nt, t);
    scratch.loss(t) = detail::row_pass(X, y, sw, nullptr, rows.begin, rows.end, w, b, loss, g,
                                       &scratch.grad_b(t));
#if defined(_OPENMP)
#pragma omp barrier
#endif
    const detail::Range cols = detail::split(d, nt, t);
    for (index_t j = cols.begin; j < cols.end; ++j) {
      acc_t gj = 0;
      for (int k = 0; k < nt; ++k) gj += scratch.grad(k)[j];
      const acc_t wj = w[j];
      const acc_t sign = wj > 0 ? 1.0 : (wj < 0 ? -1.0 : 0.0);
      grad[j] = T(gj / acc_t(n) + pen.l2 * wj + pen.l1 * sign);
    }
  }
  for (int k = 0; k < nt; ++k) {
    loss_sum += scratch.loss(k);
    gb_sum += scratch.grad_b(k);
  }
  for (index_t j = 0; j < d; ++j) {
    sq += acc_t(w[j]) * acc_t(w[j]);
    ab += std::fabs(acc_t(w[j]));
  }
  *grad_b = gb_sum / acc_t(n);
  return loss_sum / acc_t(n) + pen.value(sq, ab);
}

// Inputs of one minibatch epoch (DESIGN.md, "Exact semantics").
template <class T>
struct EpochArgs {
  DenseView<T> X;
  const T* y;
  const T* sample_weight;     // nullptr: all ones
  const std::int64_t* order;  // rows of the epoch, in order (distinct); nullptr: 0..n−1
  index_t n_rows;             // rows in the epoch: len(order), or n without order
  const double* lrs;          // one per step: ceil(n_rows / batch_size)
  index_t batch_size;
  Penalty penalty;
  bool fit_intercept;
  int n_threads;
};

// One epoch of minibatch SGD, all steps in one parallel region. Updates w (d values) and *b in
// place and returns the progressive loss Σ_i s_i·L(p_i, y_i), each p_i computed with the weights
// before the step that uses row i.
template <class T, class Loss>
acc_t sgd_epoch(const EpochArgs<T>& a, const Loss& loss, T* w, T* b) {
  const index_t n = a.n_rows, d = a.X.n_cols, B = a.batch_size;
  const index_t n_steps = (n + B - 1) / B;
  const int nt = threads_for(std::min(B, n), d, a.n_threads);
  detail::Scratch scratch(nt, d);
  acc_t total_loss = 0;

#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    const int t = detail::thread_id();
    acc_t* g = scratch.grad(t);
    const detail::Range cols = detail::split(d, nt, t);
    for (index_t s = 0; s < n_steps; ++s) {
      const index_t lo = s * B, hi = std::min(n, lo + B);
      const detail::Range rows = detail::split(hi - lo, nt, t);
      std::fill(g, g + d, acc_t(0));
      scratch.grad_b(t) = 0;
      scratch.loss(t) = detail::row_pass(a.X, a.y, a.sample_weight, a.order, lo + rows.begin,
                                         lo + rows.end, w, acc_t(*b), loss, g,
                                         &scratch.grad_b(t));
#if defined(_OPENMP)
#pragma omp barrier
#endif
      // Every thread has finished reading w for this step; now each updates its own coordinates.
      // Divide (not multiply by 1/b_s) so that batch_size = n gives bitwise the gradient of
      // loss_and_grad.
      const acc_t lr = a.lrs[s], bs = acc_t(hi - lo);
      for (index_t j = cols.begin; j < cols.end; ++j) {
        acc_t gj = 0;
        for (int k = 0; k < nt; ++k) gj += scratch.grad(k)[j];
        w[j] = T(update_coordinate(w[j], gj / bs, lr, a.penalty));
      }
      if (t == 0) {
        acc_t gb = 0, ls = 0;
        for (int k = 0; k < nt; ++k) {
          gb += scratch.grad_b(k);
          ls += scratch.loss(k);
        }
        total_loss += ls;
        if (a.fit_intercept) *b = T(acc_t(*b) - lr * (gb / bs));
      }
#if defined(_OPENMP)
#pragma omp barrier
#endif
    }
  }
  return total_loss;
}

}  // namespace fastgd
