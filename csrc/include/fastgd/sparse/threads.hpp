// How many threads the CSR drivers use, and the OpenMP helpers they share (parallel.hpp).
#pragma once

#include <algorithm>
#include <cstddef>

#include "../config.hpp"
#include "../parallel.hpp"
#include "epoch_args.hpp"
#include "predict.hpp"

namespace fastgd {

namespace sparse_detail {

using detail::barrier;
using detail::Failure;
using detail::Range;
using detail::split;
using detail::short_team;
using detail::thread_id;

constexpr int kMaxThreads = 64;

// Runs epoch.run_thread(t) on a team of epoch.nt threads. False when the team came short: then
// no thread did anything (short_team), and the caller reruns the epoch on one thread.
template <class Epoch>
bool run_on_team(Epoch& epoch) {
  bool team_was_short = false;
#if defined(_OPENMP)
#pragma omp parallel num_threads(epoch.nt)
#endif
  {
    if (!short_team(epoch.nt, team_was_short)) epoch.run_thread(thread_id());
  }
  return !team_was_short;
}

}  // namespace sparse_detail

// Below this many non-zeros per thread in a step, one thread is cheaper than the two barriers.
constexpr index_t kMinSparseWorkPerThread = 4096;

// The synchronous epoch's threads share the coefficients: each step's updates invalidate the other
// threads' cached copies of them. While the coefficients fit in the caches that makes a second
// thread a loss; once they span far more than the caches every access misses anyway, and the
// threads pay. Below this many bytes of coefficients, one thread.
constexpr std::size_t kSparseThreadsAbove = std::size_t(16) << 20;

namespace sparse_detail {

// Threads of a synchronous epoch: one while the coefficients fit in the caches
// (kSparseThreadsAbove), else one per kMinSparseWorkPerThread non-zeros of a step.
template <class T, class I>
int sync_threads(const CsrEpochArgs<T, I>& a) noexcept {
  const index_t n = a.n_rows, B = a.batch_size;
  const index_t n_steps = (n + B - 1) / B, max_batch = std::min(B, n);
  // The epoch's non-zeros: all of X's when it takes every row (the order's rows are distinct).
  index_t nnz = 0;
  if (n == a.X.n_rows)
    nnz = a.X.end(n - 1) - a.X.begin(0);
  else
    for (index_t r = 0; r < n; ++r) nnz += a.X.nnz(row_at(a, r));
  const index_t per_step = nnz / n_steps;
  const std::size_t coef_bytes = coefficient_bytes<T>(a.X.n_cols, a.penalty);
  const index_t useful =
      coef_bytes > kSparseThreadsAbove ? per_step / kMinSparseWorkPerThread : index_t(1);
  return int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(a.n_threads)), index_t(kMaxThreads),
                            max_batch, useful})));
}

// Threads of an asynchronous epoch: each takes whole steps.
template <class T, class I>
int async_threads(const CsrEpochArgs<T, I>& a) noexcept {
  const index_t n_steps = (a.n_rows + a.batch_size - 1) / a.batch_size;
  return int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(a.n_threads)), index_t(kMaxThreads),
                            n_steps})));
}

// Threads of the full-batch objective over nnz non-zeros and d columns.
inline int objective_threads(index_t nnz, index_t d, int n_threads) noexcept {
  return int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(n_threads)), index_t(kMaxThreads),
                            (nnz + d) / (4 * kMinSparseWorkPerThread)})));
}

}  // namespace sparse_detail

}  // namespace fastgd
