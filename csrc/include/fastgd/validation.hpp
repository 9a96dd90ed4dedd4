// Value checks run on the inputs before any kernel work (with the GIL held, by the binding).
// Each returns the index of the first offending element, or -1 when all are fine, so the caller
// can name the argument and the position in its error message.
#pragma once

#include <cmath>
#include <vector>

#include "config.hpp"
#include "data.hpp"

namespace fastgd {

template <class T>
index_t first_nonfinite(const T* x, index_t n) noexcept {
  for (index_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return i;
  return -1;
}

// First row of X holding a NaN or inf. Parallel because it is a full pass over X; the rows are
// scanned in blocks and the smallest bad row wins, so the answer does not depend on threads.
template <class T>
index_t first_nonfinite_row(const DenseView<T>& X, int n_threads) noexcept {
  index_t first = X.n_rows;
#if defined(_OPENMP)
#pragma omp parallel for num_threads(n_threads) schedule(static) reduction(min : first)
#endif
  for (index_t i = 0; i < X.n_rows; ++i) {
    const T* r = X.row(i);
    // Summing x·0 propagates NaN and inf (inf·0 = NaN) without a branch per element.
    T probe = 0;
#pragma omp simd reduction(+ : probe)
    for (index_t j = 0; j < X.n_cols; ++j) probe += r[j] * T(0);
    if (probe != T(0) && i < first) first = i;
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

}  // namespace fastgd
