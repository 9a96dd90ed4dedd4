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
#include <cmath>
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

// The floor of the softmax's CSR epoch and its variants (sparse/general_epoch.hpp): each non-zero
// of column j updates that column's K coefficients, which sit side by side (W feature-major),
// and a variant that keeps a second array of K·d values (the average's sums, Adagrad's
// accumulators) updates that column's K values there too. Best time in seconds, over `repeats`
// passes, of these updates for the columns idx[0..m) in order, each column's lines prefetched
// kRandomAhead entries before it, as the kernel prefetches rows ahead. Nothing else: no
// prediction, no loss. g_k is x·r_k, x from the entry's position and r a step's K derivatives.
//   one:         w_jk += g_k                                   (the plain update; p holds K·d)
//   two:         w_jk += g_k, s_jk += g_k·c                    (the average's; p holds 2·K·d,
//                                                               the second array after the first)
//   interleaved: two, with column j's w and s side by side     (p holds 2·K·d, 2K values a column)
//   adagrad:     s_jk += g_k², w_jk −= lr·g_k / (√s_jk + ε)    (p as for two)
enum class ColumnUpdate : int { one, two, interleaved, adagrad };

namespace detail {

template <ColumnUpdate U, class I>
FASTGD_MULTIVERSION double column_updates(double* FASTGD_RESTRICT p, const I* idx, index_t m,
                                          index_t K, index_t d) noexcept {
  constexpr bool second = U != ColumnUpdate::one;
  const index_t stride = U == ColumnUpdate::interleaved ? 2 * K : K;
  const index_t second_at = U == ColumnUpdate::interleaved ? K : K * d;
  const index_t bytes = (U == ColumnUpdate::interleaved ? 2 * K : K) * index_t(sizeof(double));
  double r[64];
  for (index_t k = 0; k < K; ++k) r[k] = 1e-3 * double(k + 1);
  const auto start = std::chrono::steady_clock::now();
  for (index_t e = 0; e < m; ++e) {
    if (e + kRandomAhead < m) {
      const double* ahead = p + index_t(idx[e + kRandomAhead]) * stride;
      prefetch_lines<true>(ahead, bytes);
      if (U == ColumnUpdate::two || U == ColumnUpdate::adagrad)
        prefetch_lines<true>(ahead + second_at, bytes);
    }
    double* FASTGD_RESTRICT w = p + index_t(idx[e]) * stride;
    double* FASTGD_RESTRICT s = w + second_at;
    const double x = 1.0 / double(1 + (e & 7));
#pragma omp simd
    for (index_t k = 0; k < K; ++k) {
      const double g = x * r[k];
      if constexpr (U == ColumnUpdate::adagrad) {
        const double sum = s[k] + g * g;
        s[k] = sum;
        w[k] -= 0.5 * (g / (std::sqrt(sum) + 1e-8));
      } else {
        w[k] += g;
        if constexpr (second) s[k] += g * 0.5;
      }
    }
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return took.count();
}

}  // namespace detail

// p holds K·d values for `one`, else 2·K·d; K ≤ 64 and the indices in [0, d): the caller checks.
template <class I>
double column_update_seconds(double* p, const I* idx, index_t m, index_t K, index_t d,
                             ColumnUpdate update, int repeats) noexcept {
  double best = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    double t = 0;
    switch (update) {
      case ColumnUpdate::one: t = detail::column_updates<ColumnUpdate::one>(p, idx, m, K, d); break;
      case ColumnUpdate::two: t = detail::column_updates<ColumnUpdate::two>(p, idx, m, K, d); break;
      case ColumnUpdate::interleaved:
        t = detail::column_updates<ColumnUpdate::interleaved>(p, idx, m, K, d);
        break;
      case ColumnUpdate::adagrad:
        t = detail::column_updates<ColumnUpdate::adagrad>(p, idx, m, K, d);
        break;
    }
    best = rep == 0 ? t : std::min(best, t);
  }
  return best;
}

}  // namespace fastgd
