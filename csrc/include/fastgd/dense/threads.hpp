// How many threads, and how many slices per thread, a dense step is split into.
#pragma once

#include <algorithm>

#include "../config.hpp"
#include "../parallel.hpp"

namespace fastgd {

// Below this many multiply-adds per thread, a step is cheaper on one thread than the barrier
// that splitting it would need, with the cross-core reads of the gradient buffers.
constexpr index_t kMinWorkPerThread = 6400;

// Threads worth using for steps of `rows` rows of width d (at most `requested`).
inline int threads_for(index_t rows, index_t d, int requested) noexcept {
  const index_t useful = std::max<index_t>(1, rows * d / kMinWorkPerThread);
  return int(std::max<index_t>(1, std::min<index_t>(detail::usable_threads(requested), useful)));
}

// A multi-threaded step is split into more slices than threads, a block of consecutive slices per
// thread, so that a thread that runs slower (a busy sibling core, an interrupt) does not hold the
// step up: the others claim what is left of its block (step_sync.hpp). On a shared host one thread
// can run several times slower than the other for seconds, and with one slice per thread each
// step would wait for it.
constexpr int kSlicesPerThread = 4;
// A slice has at least this many rows: each costs a claim, a cleared gradient buffer and the
// hand-off of its result to the thread that applies the step, which small slices do not repay.
constexpr index_t kMinRowsPerSlice = 128;
// And all slices' buffers together at most this many bytes.
constexpr index_t kMaxSliceBytes = index_t(64) << 20;

// Slices per thread for steps of `rows` rows and P coefficients on nt threads.
inline int slices_per_thread(index_t rows, index_t P, int nt) noexcept {
  if (nt == 1) return 1;
  const index_t by_rows = rows / (nt * kMinRowsPerSlice);
  const index_t by_bytes = kMaxSliceBytes / (nt * std::max<index_t>(1, P) * index_t(sizeof(acc_t)));
  return int(std::max<index_t>(1, std::min<index_t>({kSlicesPerThread, by_rows, by_bytes})));
}

}  // namespace fastgd
