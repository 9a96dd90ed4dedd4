// Predictions p_i = x_i·w + b of CSR rows against the lazily stored coefficients, and the
// prefetches of the coefficients a row is about to read.
#pragma once

#include <cstddef>

#include "../config.hpp"
#include "../data.hpp"
#include "../penalties.hpp"
#include "lazy_penalty.hpp"

namespace fastgd::sparse_detail {

// Rows this far ahead get their coefficients prefetched: with large d each non-zero reads a
// coefficient from DRAM, and a row's 10-100 independent misses overlap better with the next rows'.
constexpr index_t kPrefetchAhead = 2;

// Only when the coefficients (and the L1 clocks) span more than this: while they fit in the L2
// cache, the prefetches are pure overhead.
constexpr std::size_t kPrefetchCoefficientsAbove = std::size_t(1) << 20;

// The bytes the kernel reads per coefficient: v_j, and u_j with L1.
template <class T>
inline std::size_t coefficient_bytes(index_t d, const Penalty& pen) noexcept {
  return std::size_t(d) * (sizeof(T) + (pen.l1 > 0 ? sizeof(double) : 0));
}

// Row i's coefficients v_j and, with L1, their clocks u_j (u: nullptr without). Inlined by force,
// as every prefetch helper (config.hpp, prefetch_lines).
template <class T, class I>
FASTGD_ALWAYS_INLINE void prefetch_coefficients(const CsrView<T, I>& X, index_t i, const T* v,
                                                const double* u) noexcept {
  const index_t hi = X.end(i);
  if (u) {
    for (index_t k = X.begin(i); k < hi; ++k) {
      FASTGD_PREFETCH(v + X.indices[k]);
      FASTGD_PREFETCH(u + X.indices[k]);
    }
  } else {
    for (index_t k = X.begin(i); k < hi; ++k) FASTGD_PREFETCH(v + X.indices[k]);
  }
}

// p_i = x_i·w + b and g_i = s_i·L'(p_i, y_i) for row i, with w read lazily as of clock c; with
// `kept`, the w_j it read are kept in kept[0:nnz(i)) (for update_row).
template <class T, class I, bool Relaxed>
inline acc_t predict(const CsrView<T, I>& X, index_t i, const LazyCoef<T, Relaxed>& w,
                     const Clock& c, acc_t b, double* kept = nullptr) noexcept {
  acc_t p = b;
  const index_t lo = X.begin(i), hi = X.end(i);
  for (index_t k = lo; k < hi; ++k) {
    const double wj = w.read(X.indices[k], c);
    if (kept) kept[k - lo] = wj;
    p += acc_t(X.data[k]) * wj;
  }
  return p;
}

// The same without L1, where w_j = A·v_j for every j: A factors out of the sum, and the sum runs
// in four independent chains (with one, a row's 40 dependent adds, not its loads, set the pace).
template <class T, class I, bool Relaxed = false>
inline acc_t predict_scaled(const CsrView<T, I>& X, index_t i, const T* v, double A,
                            acc_t b) noexcept {
  const I* indices = X.indices;  // in locals: see add_row
  const T* data = X.data;
  acc_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  index_t k = X.begin(i);
  const index_t hi = X.end(i);
  for (; k + 4 <= hi; k += 4) {
    s0 += acc_t(data[k]) * acc_t(load<Relaxed>(v + indices[k]));
    s1 += acc_t(data[k + 1]) * acc_t(load<Relaxed>(v + indices[k + 1]));
    s2 += acc_t(data[k + 2]) * acc_t(load<Relaxed>(v + indices[k + 2]));
    s3 += acc_t(data[k + 3]) * acc_t(load<Relaxed>(v + indices[k + 3]));
  }
  for (; k < hi; ++k) s0 += acc_t(data[k]) * acc_t(load<Relaxed>(v + indices[k]));
  return b + A * ((s0 + s1) + (s2 + s3));
}

}  // namespace fastgd::sparse_detail
