// The accumulators a dense driver sums one slice of rows into: gradient, intercepts' gradient and
// loss, one block per slice or thread.
#pragma once

#include <vector>

#include "../config.hpp"

namespace fastgd::detail {

// One block per slice or thread: a gradient buffer of P accumulators (the coefficients), m for the
// intercepts and one for the loss, padded to whole cache lines (and one line apart) so threads
// never share a line.
struct SliceAccumulators {
  index_t n_coef, stride;  // accumulators per thread
  std::vector<acc_t> data;
  SliceAccumulators(int threads, index_t P, index_t m = 1)
      : n_coef(P), stride(((P + m + 1 + 7) / 8) * 8 + 8), data(threads * stride) {}
  acc_t* grad(int t) noexcept { return data.data() + t * stride; }
  acc_t* grad_b(int t) noexcept { return data.data() + t * stride + n_coef; }
  acc_t& loss(int t) noexcept { return data[t * stride + stride - 1]; }
};

}  // namespace fastgd::detail
