// The memory limits that the epoch kernels are measured against: the read bandwidth for dense
// epochs (bench/roofline.py), the rate of random coefficient updates for sparse ones
// (bench/test_bench_sparse.py).
//
// An epoch over dense X must read X once, so bytes(X) / read bandwidth is its floor. The read is
// STREAM-like: every 8-byte word of a buffer once, split over threads in static parts, folded with
// XOR (one-cycle latency, so the loop is bound by loads, not arithmetic), timed around the whole
// parallel region. NumPy's .sum() is single-threaded and adds float latency chains, so it is no
// roofline.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include "config.hpp"
#include "simd.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace fastgd {

namespace detail {

// XOR of n words. With `ahead` > 0, each 64-byte line is also prefetched `ahead` bytes before it
// is read, as the epoch kernels do (config.hpp, kPrefetchBytes): on some machines the hardware
// prefetcher alone does not reach the bandwidth, and the floor must be the best the memory can do.
FASTGD_MULTIVERSION inline std::uint64_t fold_words(const std::uint64_t* p, index_t n,
                                                    index_t ahead) noexcept {
  std::uint64_t acc = 0;
  index_t i = 0;
  if (ahead > 0) {
    const index_t lead = ahead / 8;
    for (; i + 8 <= n; i += 8) {
      if (i + lead < n) FASTGD_PREFETCH(p + i + lead);
#pragma omp simd reduction(^ : acc)
      for (index_t k = 0; k < 8; ++k) acc ^= p[i + k];
    }
  }
#pragma omp simd reduction(^ : acc)
  for (index_t k = i; k < n; ++k) acc ^= p[k];
  return acc;
}

}  // namespace detail

// Best read bandwidth, in bytes per second, over `repeats` reads of `bytes` bytes at `data`
// (8-byte aligned) with `n_threads` threads, each read once with the hardware prefetcher alone
// and once with software prefetch kPrefetchBytes ahead.
inline double read_bandwidth(const void* data, index_t bytes, int n_threads, int repeats) {
  const auto* words = static_cast<const std::uint64_t*>(data);
  const index_t n = bytes / 8;
  double best = 0;
  std::uint64_t sink = 0;
  for (int rep = 0; rep < 2 * repeats; ++rep) {
    const index_t ahead = rep % 2 ? kPrefetchBytes : 0;
    std::uint64_t folded = 0;
    const auto start = std::chrono::steady_clock::now();
#if defined(_OPENMP)
#pragma omp parallel num_threads(n_threads) reduction(^ : folded)
#endif
    {
      int t = 0, nt = 1;
#if defined(_OPENMP)
      t = omp_get_thread_num();
      nt = omp_get_num_threads();
#endif
      const index_t begin = n * t / nt, end = n * (t + 1) / nt;
      folded ^= detail::fold_words(words + begin, end - begin, ahead);
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    sink ^= folded;
    best = std::max(best, double(n * 8) / took.count());
  }
  // The folded value must be used, or the compiler may drop the reads.
  volatile std::uint64_t keep = sink;
  (void)keep;
  (void)n_threads;
  return best;
}

// The floor of a sparse epoch over coefficients p: every non-zero reads and writes the
// coefficient of its column, at random once they span more than the caches. Best time in seconds,
// over `repeats` passes, of p[idx[k]] += 1 for k = 0..m−1 in order, each pass once without and
// once with each entry prefetched kRandomAhead entries before it (as the kernels prefetch their
// coefficients rows ahead). Indices must be in range: the caller checks them.
constexpr index_t kRandomAhead = 64;

template <class I>
double random_update_seconds(double* p, const I* idx, index_t m, int repeats) noexcept {
  double best = 0;
  for (int rep = 0; rep < 2 * repeats; ++rep) {
    const index_t ahead = rep % 2 ? kRandomAhead : 0;
    const auto start = std::chrono::steady_clock::now();
    for (index_t k = 0; k < m; ++k) {
      if (ahead && k + ahead < m) FASTGD_PREFETCH(p + idx[k + ahead]);
      p[idx[k]] += 1.0;
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = rep == 0 ? took.count() : std::min(best, took.count());
  }
  return best;
}

}  // namespace fastgd
