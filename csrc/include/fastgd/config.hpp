// Build-wide definitions shared by every kernel header (host and, later, device code).
#pragma once

#include <cstdint>

// FASTGD_HD marks the tiny formula functions that CPU and GPU kernels share: nvcc sees them as
// __host__ __device__, a plain C++ compiler as ordinary inline functions.
#if defined(__CUDACC__)
#define FASTGD_HD __host__ __device__ __forceinline__
#else
#define FASTGD_HD inline
#endif

// Prefetch hint for data read ahead of use; a no-op where the builtin is missing. Locality 2
// (x86 prefetcht1): into L2, not L1, where data prefetched this far ahead would evict the rows
// before their turn (bench/MEASUREMENTS.md).
#if defined(__GNUC__) || defined(__clang__)
#define FASTGD_PREFETCH(ptr) __builtin_prefetch((ptr), 0, 2)
// For data written a few steps later (the shuffle's swaps): into L1, with intent to write.
#define FASTGD_PREFETCH_WRITE(ptr) __builtin_prefetch((ptr), 1, 3)
#define FASTGD_RESTRICT __restrict__
// For the helpers of the hot loops: inlined into each instruction-set clone of their caller
// (simd.hpp), so they are compiled for that instruction set instead of the baseline.
#define FASTGD_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define FASTGD_PREFETCH(ptr) ((void)0)
#define FASTGD_PREFETCH_WRITE(ptr) ((void)0)
#define FASTGD_RESTRICT
#define FASTGD_ALWAYS_INLINE inline
#endif

namespace fastgd {

using index_t = std::int64_t;

// Accumulators are double for both float32 and float64 data: sums over many rows lose too much in
// float32, and the accumulators live in registers / L1 so their width costs no memory traffic.
using acc_t = double;

// Data read in order is prefetched this many bytes ahead of use (the dense epoch's rows, and the
// roofline's read, which must do what the kernels do): the fastest distance measured, and near
// enough to stay in the cache it is prefetched into (bench/MEASUREMENTS.md).
constexpr index_t kPrefetchBytes = 16384;

// Rows read through a permutation (dense rows, CSR entries) are prefetched this many rows ahead:
// far enough to hide DRAM latency for rows of a few hundred bytes, near enough to stay in L1/L2.
constexpr index_t kPrefetchRows = 8;

// Rows of a block order are in L2 by their turn (its stream fetched them a window ahead): steps of
// a few rows, which wait on each row, prefetch them only as far ahead as L2's latency needs
// (further ahead, the per-sample epoch ran slower: bench/MEASUREMENTS.md).
constexpr index_t kPrefetchStreamedRows = 2;

// Prefetches every 64-byte line of [p, p + bytes); with ForWrite, data read and then written soon
// (into L1, with intent to write). Inlined by force, as every prefetch helper: a function whose
// only effect is a prefetch counts as free of side effects to GCC, which then drops calls to it
// that it has not inlined yet (GCC 12 left no prefetch at all in the row passes).
template <bool ForWrite = false>
FASTGD_ALWAYS_INLINE void prefetch_lines(const void* p, index_t bytes) noexcept {
  if (bytes <= 0) return;
  const std::uintptr_t begin = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t last = begin + std::uintptr_t(bytes) - 1;
  for (std::uintptr_t a = begin & ~std::uintptr_t(63); a <= last; a += 64) {
    if constexpr (ForWrite)
      FASTGD_PREFETCH_WRITE(reinterpret_cast<const char*>(a));
    else
      FASTGD_PREFETCH(reinterpret_cast<const char*>(a));
  }
}

}  // namespace fastgd
