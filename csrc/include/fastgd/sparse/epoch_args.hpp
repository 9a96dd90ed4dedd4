// The inputs of one CSR epoch, and what every CSR driver reads from them: the rows in the epoch's
// order, their prefetches through a permutation, and whether every step has a lazy form.
#pragma once

#include <cstdint>

#include "../config.hpp"
#include "../data.hpp"
#include "../penalties.hpp"
#include "predict.hpp"

namespace fastgd {

// Inputs of one minibatch epoch on CSR data (DESIGN.md, "Exact semantics").
template <class T, class I>
struct CsrEpochArgs {
  CsrView<T, I> X;
  const T* y;                 // a pointwise loss's targets (nullptr for the softmax's)
  const T* sample_weight;     // nullptr: all ones
  const std::int64_t* order;  // rows of the epoch, in order (distinct); nullptr: 0..n−1
  index_t n_rows;             // rows in the epoch: len(order), or n without order
  const double* lrs;          // one per step: ceil(n_rows / batch_size)
  index_t batch_size;
  Penalty penalty;
  bool fit_intercept;
  int n_threads;
  bool asynchronous;  // Hogwild! (non-deterministic) instead of synchronous steps
  // The intercept's updates are multiplied by this: scikit-learn's SPARSE_INTERCEPT_DECAY (0.01)
  // on sparse data, 1 (the dense update) by default.
  double intercept_decay = 1.0;
  // l1_method="cumulative" (batch size 1, synchronous, penalty.l1 = 0): after each step the
  // row's columns are clipped (clip_row), as scikit-learn does on sparse data. Off by default.
  CumulativeL1 cumulative{};
  // A block order's rows to stream, one per position (as RowSlice::stream on dense data);
  // nullptr: none.
  const std::int64_t* stream = nullptr;
};

namespace sparse_detail {

// These drivers split their rows and columns into nt static parts, which a short OpenMP team
// would leave undone, silently: each region checks its team first (detail::short_team), and the
// driver then reruns the call on one thread.
template <class T, class I>
CsrEpochArgs<T, I> rerun_alone(CsrEpochArgs<T, I> a) noexcept {
  a.n_threads = 1;
  return a;
}

template <class T, class I>
inline index_t row_at(const CsrEpochArgs<T, I>& a, index_t r) noexcept {
  return a.order ? index_t(a.order[r]) : r;
}

// Through a permutation, a row's CSR entries, target and weight are read at random (in order the
// hardware prefetcher streams them). They are prefetched in stages, each reading addresses that
// the previous one brought in: the row's indptr entry 2·kPrefetchRows (config.hpp) positions
// before it is used, its entries and target kPrefetchRows before, its coefficients
// kPrefetchAhead before (see prefetch_coefficients), so that a shuffled epoch runs near the speed
// of one in order.
template <class T, class I>
FASTGD_ALWAYS_INLINE void prefetch_permuted(const CsrEpochArgs<T, I>& a, index_t pos) noexcept {
  if (!a.order) return;
  if (a.stream) {
    const index_t s = index_t(a.stream[pos]);
    const index_t k = a.X.begin(s), m = a.X.nnz(s);
    prefetch_lines(a.X.indices + k, m * index_t(sizeof(I)));
    prefetch_lines(a.X.data + k, m * index_t(sizeof(T)));
    if (a.y) FASTGD_PREFETCH(a.y + s);
    if (a.sample_weight) FASTGD_PREFETCH(a.sample_weight + s);
  }
  if (pos + 2 * kPrefetchRows < a.n_rows)
    FASTGD_PREFETCH(a.X.indptr + a.order[pos + 2 * kPrefetchRows]);
  if (pos + kPrefetchRows < a.n_rows) {
    const index_t i = index_t(a.order[pos + kPrefetchRows]);
    const index_t k = a.X.begin(i), m = a.X.nnz(i);
    prefetch_lines(a.X.indices + k, m * index_t(sizeof(I)));
    prefetch_lines(a.X.data + k, m * index_t(sizeof(T)));
    if (a.y) FASTGD_PREFETCH(a.y + i);  // the softmax's targets are its own
    if (a.sample_weight) FASTGD_PREFETCH(a.sample_weight + i);
  }
}

// Whether every step of the epoch has a lazy form, a = 1 − lr·l2 > 0 (lazy_penalty.hpp):
// the asynchronous and the per-sample drivers need it.
template <class T, class I>
inline bool all_lazy(const CsrEpochArgs<T, I>& a) noexcept {
  const index_t n_steps = (a.n_rows + a.batch_size - 1) / a.batch_size;
  for (index_t s = 0; s < n_steps; ++s)
    if (!(1.0 - a.lrs[s] * a.penalty.l2 > 0)) return false;
  return true;
}

}  // namespace sparse_detail

}  // namespace fastgd
