// The fused row pass of the linear model over one slice of rows: p_i = x_i·w + b,
// g_i = s_i·L'(p_i, y_i), and grad += g_i·x_i while the row is still in L1.
#pragma once

#include "../config.hpp"
#include "../data.hpp"
#include "../simd.hpp"
#include "row_products.hpp"
#include "row_slice.hpp"

namespace fastgd::detail {

// The fused row pass over one slice: adds g_i·x_i into grad (which it does not clear), returns
// Σ s_i·L(p_i, y_i) and adds Σ g_i into *grad_b. Compiled for several instruction sets.
template <class T, class Loss>
FASTGD_MULTIVERSION acc_t row_pass(const DenseView<T>& X, const T* y, const T* sw,
                                   const RowSlice& slice, const T* w, acc_t b, const Loss& loss,
                                   acc_t* FASTGD_RESTRICT grad, acc_t* grad_b) noexcept {
  const index_t d = X.n_cols;
  acc_t loss_sum = 0, gb = 0;
  // One row's share: its loss and its factor g = s·L'(p, y), from L(p, y) and L'(p, y).
  auto factor = [&](index_t i, acc_t value, acc_t derivative) {
    const acc_t si = sw ? acc_t(sw[i]) : acc_t(1);
    loss_sum += si * value;
    const acc_t g = si * derivative;
    gb += g;
    return g;
  };
  const index_t ahead = RowSlice::prefetch_distance(X, slice.order);
  index_t r = slice.rows.begin;
  for (; r + 4 <= slice.rows.end; r += 4) {
    const T* x[4];
    index_t idx[4];
    for (int k = 0; k < 4; ++k) {
      slice.prefetch_ahead(X, r + k, ahead, y, sw);
      idx[k] = slice.row_at(r + k);
      x[k] = X.row(idx[k]);
    }
    acc_t p[4], yk[4], value[4], derivative[4], g[4];
    dot_rows<4>(x, w, d, p);
    for (int k = 0; k < 4; ++k) {
      p[k] += b;
      yk[k] = acc_t(y[idx[k]]);
    }
    losses_of<4>(loss, p, yk, value, derivative);
    for (int k = 0; k < 4; ++k) g[k] = factor(idx[k], value[k], derivative[k]);
    // Margin losses (hinge, ...) give g = 0 for most rows late in training: skip their reads.
    if (g[0] != 0 || g[1] != 0 || g[2] != 0 || g[3] != 0) add_rows<4>(g, x, grad, d);
  }
  for (; r < slice.rows.end; ++r) {
    slice.prefetch_ahead(X, r, ahead, y, sw);
    const index_t i = slice.row_at(r);
    const T* x = X.row(i);
    acc_t p, g;
    dot_rows<1>(&x, w, d, &p);
    p += b;
    g = factor(i, loss.value(p, acc_t(y[i])), loss.derivative(p, acc_t(y[i])));
    if (g != 0) add_rows<1>(&g, &x, grad, d);
  }
  *grad_b += gb;
  return loss_sum;
}

}  // namespace fastgd::detail
