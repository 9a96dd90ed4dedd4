// Products of rows of X with a vector, the arithmetic of every dense row pass: dot_rows
// (p_k = x_k·w for R rows at once) and add_rows (grad += Σ_k g_k·x_k).
#pragma once

#include <algorithm>
#include <cstring>

#include "../config.hpp"
#include "../simd.hpp"

namespace fastgd::detail {

// Dot products accumulate in the data's type, in the lanes of a Vec (simd.hpp): float32 rows get
// single-precision vector FMAs, half the work of widening every element to double, and the
// lanes are independent partial sums, so no add waits on the previous one. Every kDotChunk
// columns the partial sums are added in double, so the rounding error is bounded by the chunk
// length, not by d.
constexpr index_t kDotChunk = 512;

// p_k = x_k·w for R rows at once: the loads of w are shared, and the R sums are independent.
#if defined(__GNUC__)
// The Vec accumulators as Parts register-wide pieces each (simd.hpp, Piece).
template <int R, int Parts, class T>
FASTGD_ALWAYS_INLINE void dot_rows_in(const T* const* x, const T* FASTGD_RESTRICT w, index_t d,
                                      acc_t* p) noexcept {
  constexpr index_t L = kVecBytes / sizeof(T), W = L / Parts;
  using P = Piece<T, Parts>;
  for (int k = 0; k < R; ++k) p[k] = 0;
  for (index_t j0 = 0; j0 < d; j0 += kDotChunk) {
    const index_t j1 = std::min(d, j0 + kDotChunk);
    // Zeroed piece by piece: `= {}` on the array makes GCC clear it in memory (a rep stos per
    // call) before it moves into registers.
    P s[R][Parts];
    for (int k = 0; k < R; ++k)
      for (int q = 0; q < Parts; ++q) s[k][q] = P{};
    index_t j = j0;
    for (; j + L <= j1; j += L) {
      P wj[Parts];
      for (int q = 0; q < Parts; ++q) std::memcpy(&wj[q], w + j + q * W, sizeof(P));
      for (int k = 0; k < R; ++k)
        for (int q = 0; q < Parts; ++q) {
          P xj;
          std::memcpy(&xj, x[k] + j + q * W, sizeof xj);
          s[k][q] += xj * wj[q];
        }
    }
    // The columns past the last whole Vec: 16 bytes at a time into a vector of their own (its
    // lanes join the Vec's in sum_lanes), the last few one by one: element by element, they
    // cost rows whose width is not a multiple of a Vec more than their share.
    constexpr index_t L16 = 16 / sizeof(T);
    Vec16<T> part[R];
    for (int k = 0; k < R; ++k) part[k] = Vec16<T>{};
    for (; j + L16 <= j1; j += L16) {
      Vec16<T> wj;
      std::memcpy(&wj, w + j, sizeof wj);
      for (int k = 0; k < R; ++k) {
        Vec16<T> xj;
        std::memcpy(&xj, x[k] + j, sizeof xj);
        part[k] += xj * wj;
      }
    }
    T tail[R] = {};
    for (; j < j1; ++j)
      for (int k = 0; k < R; ++k) tail[k] += x[k][j] * w[j];
    for (int k = 0; k < R; ++k) p[k] += acc_t(sum_lanes<T, Parts>(s[k], part[k]) + tail[k]);
  }
}

template <int R, class T>
FASTGD_ALWAYS_INLINE void dot_rows(const T* const* x, const T* FASTGD_RESTRICT w, index_t d,
                                   acc_t* p) noexcept {
  // One predictable branch per call; each clone compiles all three (same results).
  switch (kVecParts) {
    case 1: return dot_rows_in<R, 1>(x, w, d, p);
    case 2: return dot_rows_in<R, 2>(x, w, d, p);
    default: return dot_rows_in<R, 4>(x, w, d, p);
  }
}
#else
template <int R, class T>
FASTGD_ALWAYS_INLINE void dot_rows(const T* const* x, const T* FASTGD_RESTRICT w, index_t d,
                                   acc_t* p) noexcept {
  constexpr index_t L = kVecBytes / sizeof(T);
  for (int k = 0; k < R; ++k) p[k] = 0;
  for (index_t j0 = 0; j0 < d; j0 += kDotChunk) {
    const index_t j1 = std::min(d, j0 + kDotChunk);
    Vec<T> s[R] = {};
    T tail[R] = {};
    index_t j = j0;
    for (; j + L <= j1; j += L) {
      const Vec<T> wj = load_vec(w + j);
      for (int k = 0; k < R; ++k) s[k] += load_vec(x[k] + j) * wj;
    }
    for (; j < j1; ++j)
      for (int k = 0; k < R; ++k) tail[k] += x[k][j] * w[j];
    for (int k = 0; k < R; ++k) {
      T sk = 0;
      for (T v : s[k].v) sk += v;
      p[k] += acc_t(sk + tail[k]);
    }
  }
}
#endif

// grad += Σ_k g_k·x_k over R rows: one read-modify-write of the gradient buffer for R rows. The
// R products are combined in the data's type (one widening to double per element, not R), and
// added to the double accumulators, which carry the sum over the batch.
template <int R, class T>
FASTGD_ALWAYS_INLINE void add_rows(const acc_t* g, const T* const* x, acc_t* FASTGD_RESTRICT grad,
                     index_t d) noexcept {
  T gk[R];
  for (int k = 0; k < R; ++k) gk[k] = T(g[k]);
#pragma omp simd
  for (index_t j = 0; j < d; ++j) {
    T v = 0;
    for (int k = 0; k < R; ++k) v += gk[k] * x[k][j];
    grad[j] += acc_t(v);
  }
}

}  // namespace fastgd::detail
