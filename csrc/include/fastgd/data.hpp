// Views of the training data. The kernels never own or copy X.
#pragma once

#include "config.hpp"

namespace fastgd {

// Dense row-major matrix with unit column stride and any row stride (in elements), so a row
// slice such as X[::2] of a C-ordered array is used in place.
template <class T>
struct DenseView {
  const T* data;
  index_t n_rows;
  index_t n_cols;
  index_t row_stride;

  FASTGD_HD const T* row(index_t i) const noexcept { return data + i * row_stride; }
};

}  // namespace fastgd
