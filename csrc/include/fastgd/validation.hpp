// Value checks run on the inputs before any kernel work (with the GIL held, by the binding).
// Each returns the index of the first offending element, or -1 when all are fine, so the caller
// can name the argument and the position in its error message.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "data.hpp"
#include "simd.hpp"

namespace fastgd {

template <class T>
index_t first_nonfinite(const T* x, index_t n) noexcept {
  for (index_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return -1;
}

// First of x[begin, end) that is NaN or inf, or `end`: blocks of 256 values are probed
// branch-free (Σ x·0 is NaN exactly when one is not finite), and only a bad block is searched.
template <class T>
FASTGD_MULTIVERSION index_t first_nonfinite_in(const T* x, index_t begin, index_t end) noexcept {
  constexpr index_t kBlock = 256;
  for (index_t lo = begin; lo < end; lo += kBlock) {
    const index_t hi = std::min(end, lo + kBlock);
    T probe = 0;
#pragma omp simd reduction(+ : probe)
    for (index_t k = lo; k < hi; ++k) probe += x[k] * T(0);
    if (probe != T(0))
      for (index_t k = lo; k < hi; ++k)
        if (!std::isfinite(x[k])) return k;
  }
  return end;
}

// First of x[0, n) that is NaN or inf, or -1, with the work shared as first_nonfinite_row's.
template <class T>
index_t first_nonfinite_parallel(const T* x, index_t n, int n_threads) noexcept {
  const index_t block = (index_t(1) << 20) / index_t(sizeof(T));
  const index_t n_blocks = (n + block - 1) / block;
  index_t first = n;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(n_threads) schedule(dynamic) reduction(min : first)
#endif
  for (index_t k = 0; k < n_blocks; ++k) {
    const index_t end = std::min(n, (k + 1) * block);
    const index_t bad = first_nonfinite_in(x, k * block, end);
    if (bad < end && bad < first) first = bad;
  }
  (void)n_threads;
  return first == n ? -1 : first;
}

// First row in [begin, end) of X holding a NaN or inf, or `end`. A full pass over X, so it is
// compiled for each instruction set (simd.hpp) as the row passes are.
template <class T>
FASTGD_MULTIVERSION index_t first_nonfinite_row_in(const DenseView<T>& X, index_t begin,
                                                   index_t end) noexcept {
  for (index_t i = begin; i < end; ++i) {
    const T* r = X.row(i);
    // Summing x·0 propagates NaN and inf (inf·0 = NaN) without a branch per element.
    T probe = 0;
#pragma omp simd reduction(+ : probe)
    for (index_t j = 0; j < X.n_cols; ++j) probe += r[j] * T(0);
    if (probe != T(0)) return i;
  }
  return end;
}

// First row of X holding a NaN or inf. The threads claim blocks of about 1 MiB as they go (the
// solver shuffles the first epoch's rows on one core meanwhile); the smallest bad row wins, so the
// answer does not depend on threads.
template <class T>
index_t first_nonfinite_row(const DenseView<T>& X, int n_threads) noexcept {
  const index_t block = std::max<index_t>(1, (index_t(1) << 20) / (X.n_cols * index_t(sizeof(T))));
  const index_t n_blocks = (X.n_rows + block - 1) / block;
  index_t first = X.n_rows;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(n_threads) schedule(dynamic) reduction(min : first)
#endif
  for (index_t k = 0; k < n_blocks; ++k) {
    const index_t end = std::min(X.n_rows, (k + 1) * block);
    const index_t bad = first_nonfinite_row_in(X, k * block, end);
    if (bad < end && bad < first) first = bad;
  }
  (void)n_threads;
  return first == X.n_rows ? -1 : first;
}

template <class T>
index_t first_negative(const T* x, index_t n) noexcept {
  for (index_t i = 0; i < n; ++i)
    if (x[i] < T(0)) return i;
  return -1;
}

// First label that is neither -1 nor +1.
template <class T>
index_t first_not_plus_minus_one(const T* y, index_t n) noexcept {
  for (index_t i = 0; i < n; ++i)
    if (y[i] != T(1) && y[i] != T(-1)) return i;
  return -1;
}

// First position of `order` whose entry is out of [0, n) or repeats an earlier one; with
// len == n this is exactly "order is a permutation of 0..n-1", with len < n a subset of rows.
inline index_t first_non_permutation(const std::int64_t* order, index_t len, index_t n) {
  std::vector<unsigned char> seen(static_cast<size_t>(n), 0);
  for (index_t k = 0; k < len; ++k) {
    const std::int64_t i = order[k];
    if (i < 0 || i >= n || seen[static_cast<size_t>(i)]) return k;
    seen[static_cast<size_t>(i)] = 1;
  }
  return -1;
}

// First entry of `rows` outside [0, n): one branch-free pass (negative entries, as unsigned, are
// too large), and a second one only to locate a bad entry.
inline index_t first_out_of_range(const std::int64_t* rows, index_t len, index_t n) noexcept {
  index_t bad = 0;
  for (index_t k = 0; k < len; ++k) bad += std::uint64_t(rows[k]) >= std::uint64_t(n);
  if (bad == 0) return -1;
  for (index_t k = 0; k < len; ++k)
    if (std::uint64_t(rows[k]) >= std::uint64_t(n)) return k;
  return -1;
}

// The structure of a CSR matrix, checked before a kernel reads it. `problem` names the first
// violation (none: the structure is valid); `where` is its position (entry of indptr, or of
// indices). Unsorted and repeated indices are valid (the kernels sum repeats, as scipy does).
enum class CsrProblem { none, indptr_start, indptr_decreasing, indptr_end, index_out_of_range };

struct CsrCheck {
  CsrProblem problem = CsrProblem::none;
  index_t where = -1;
};

// O(n_rows) on indptr, then O(nnz) on indices: one branch-free vector loop counts the indices out
// of range (as unsigned, negative ones are too large), and only if there are any a second finds
// the first: the check must cost little next to an epoch over the same non-zeros.
template <class I>
CsrCheck check_csr(const I* indptr, const I* indices, index_t n_rows, index_t n_cols, index_t nnz,
                   int n_threads) {
  if (indptr[0] != 0) return {CsrProblem::indptr_start, 0};
  for (index_t i = 0; i < n_rows; ++i)
    if (indptr[i + 1] < indptr[i]) return {CsrProblem::indptr_decreasing, i + 1};
  if (index_t(indptr[n_rows]) != nnz) return {CsrProblem::indptr_end, n_rows};
  using U = std::make_unsigned_t<I>;
  const U limit = n_cols > index_t(std::numeric_limits<U>::max()) ? std::numeric_limits<U>::max()
                                                                  : U(n_cols);
  // Counted in I's width, which holds any count up to nnz (as indptr's last entry does), so that
  // the loop is one plain vector loop.
  U bad = 0;
#if defined(_OPENMP)
#pragma omp parallel for simd num_threads(n_threads) schedule(static) reduction(+ : bad)
#endif
  for (index_t k = 0; k < nnz; ++k) bad += U(U(indices[k]) >= limit);
  (void)n_threads;
  if (bad)
    for (index_t k = 0; k < nnz; ++k)
      if (U(indices[k]) >= limit) return {CsrProblem::index_out_of_range, k};
  return {};
}

}  // namespace fastgd

