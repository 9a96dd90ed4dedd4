// Views of the training data. The kernels never own or copy X.
#pragma once

#include "config.hpp"

namespace fastgd {

// Dense row-major matrix with unit column stride and any row stride (in elements), so a row
// slice such as X[::2] of a C-ordered array is used in place.
template <class T>
struct DenseView {
  using value_type = T;
  const T* data;
  index_t n_rows;
  index_t n_cols;
  index_t row_stride;

  FASTGD_HD const T* row(index_t i) const noexcept { return data + i * row_stride; }
};

// Compressed sparse rows (scipy.sparse.csr_matrix's layout): row i holds the values
// data[indptr[i]:indptr[i+1]] at the columns indices[indptr[i]:indptr[i+1]]. I is the index
// type of indices and indptr (int32 or int64, as scipy chooses). Indices need not be sorted and may
// repeat within a row (repeats add up, as in scipy's canonical form).
template <class T, class I>
struct CsrView {
  using value_type = T;
  const T* data;
  const I* indices;
  const I* indptr;
  index_t n_rows;
  index_t n_cols;

  FASTGD_HD index_t begin(index_t i) const noexcept { return index_t(indptr[i]); }
  FASTGD_HD index_t end(index_t i) const noexcept { return index_t(indptr[i + 1]); }
  FASTGD_HD index_t nnz(index_t i) const noexcept { return end(i) - begin(i); }
};

}  // namespace fastgd
