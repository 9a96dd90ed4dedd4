// How many threads the CSR drivers use, and the OpenMP helpers they share (parallel.hpp).
#pragma once

#include <cstddef>

#include "../config.hpp"
#include "../parallel.hpp"

namespace fastgd {

namespace sparse_detail {

using detail::barrier;
using detail::Failure;
using detail::Range;
using detail::split;
using detail::short_team;
using detail::thread_id;

constexpr int kMaxThreads = 64;

}  // namespace sparse_detail

// Below this many non-zeros per thread in a step, one thread is cheaper than the two barriers.
constexpr index_t kMinSparseWorkPerThread = 4096;

// The synchronous epoch's threads share the coefficients: each step's updates invalidate the other
// threads' cached copies of them. While the coefficients fit in the caches that makes a second
// thread a loss (2-4x slower epochs at d = 2^16, batch 256, on the 2-core development machine;
// even at d = 2^20); once they span far more than the caches every access misses anyway, and the
// threads pay (1.3-1.4x faster at d = 2^24). Below this many bytes of coefficients, one thread.
constexpr std::size_t kSparseThreadsAbove = std::size_t(16) << 20;

}  // namespace fastgd
