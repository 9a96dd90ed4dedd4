// The few OpenMP helpers the drivers share (dense/, sparse/): thread ids, barriers, the static
// split of a range that fixes which rows each slice reads, and an exception held across a region.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>

#include "config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fastgd::detail {

inline int thread_id() noexcept {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline int team_size() noexcept {
#if defined(_OPENMP)
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// The threads a kernel may count on: without OpenMP, one, whatever was requested (the parallel
// regions then run once, so work split over more "threads" would be left undone).
inline int usable_threads(int requested) noexcept {
#if defined(_OPENMP)
  return requested;
#else
  (void)requested;
  return 1;
#endif
}

// OpenMP may start a region with fewer threads than asked (OMP_THREAD_LIMIT, OMP_DYNAMIC, a region
// nested in another). A region whose work is split into `threads` static parts calls this first,
// before it writes anything: true (and `flag` set, by one thread) when its team is short, and the
// region then does nothing, for its driver to rerun the call on one thread, whose team is sure.
inline bool short_team(int threads, bool& flag) noexcept {
  if (team_size() == threads) return false;
  if (thread_id() == 0) flag = true;
  return true;
}

// A barrier of a team of `threads`; none for one thread (libgomp's barrier costs a futex call
// even then).
inline void barrier(int threads) noexcept {
#if defined(_OPENMP)
  if (threads > 1) {
#pragma omp barrier
  }
#endif
  (void)threads;
}

// [begin, end) of part `k` when `count` items are split into `parts` near-equal static parts.
struct Range {
  index_t begin, end;
};
inline Range split(index_t count, int parts, int k) noexcept {
  if (parts == 1) return {0, count};  // no division: one thread's per-sample steps call this per row
  const index_t base = count / parts, extra = count % parts;
  const index_t begin = k * base + std::min<index_t>(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

// Records the first exception of a parallel region; rethrown by the driver after the region.
struct Failure {
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  void set(std::exception_ptr e) noexcept {
    bool expected = false;
    if (failed.compare_exchange_strong(expected, true)) error = e;
  }
  void rethrow() const {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace fastgd::detail
