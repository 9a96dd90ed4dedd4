// The softmax's full-batch objective and its gradient on CSR data (softmax_loss_and_grad_csr), as
// fastgd::loss_and_grad gives it on dense data. One thread: O(K·non-zeros + K·d).
#pragma once

#include <cmath>
#include <vector>

#include "../config.hpp"
#include "../data.hpp"
#include "../penalties.hpp"
#include "general_epoch.hpp"

namespace fastgd {

// F(W, b) = (1/n) Σ_i s_i·L_i + α·R(W) with W (K × d, C order), its gradient into grad (K × d)
// and grad_b (K): (1/n) Σ_i s_i·(q_i − t_i)·x_i plus the penalty's (sub)gradient, sign(0) = 0.
template <class T, class I>
acc_t softmax_loss_and_grad_csr(const CsrView<T, I>& X, const T* sw, const T* W, const T* b,
                                const SoftmaxHead<T>& head, const Penalty& pen, T* grad,
                                acc_t* grad_b) {
  const index_t n = X.n_rows, d = X.n_cols, K = head.K;
  std::vector<acc_t> sums(std::size_t(K * d), 0.0);
  std::vector<acc_t> p(static_cast<std::size_t>(K)), g(static_cast<std::size_t>(K));
  acc_t loss_sum = 0;
  for (index_t k = 0; k < K; ++k) grad_b[k] = 0;
  for (index_t i = 0; i < n; ++i) {
    for (index_t k = 0; k < K; ++k) p[k] = 0;
    for (index_t e = X.begin(i); e < X.end(i); ++e)
      for (index_t k = 0; k < K; ++k) p[k] += acc_t(X.data[e]) * acc_t(W[k * d + X.indices[e]]);
    for (index_t k = 0; k < K; ++k) p[k] += acc_t(b[k]);
    const acc_t si = sw ? acc_t(sw[i]) : 1.0;
    loss_sum += si * head.derivatives(i, p.data(), g.data());
    for (index_t k = 0; k < K; ++k) {
      const acc_t gk = si * g[k];
      grad_b[k] += gk;
      if (gk == 0) continue;
      for (index_t e = X.begin(i); e < X.end(i); ++e)
        sums[k * d + X.indices[e]] += gk * acc_t(X.data[e]);
    }
  }
  acc_t sq = 0, ab = 0;
  for (index_t q = 0; q < K * d; ++q) {
    const acc_t w = W[q];
    const acc_t sign = w > 0 ? 1.0 : (w < 0 ? -1.0 : 0.0);
    grad[q] = T(sums[q] / acc_t(n) + pen.l2 * w + pen.l1 * sign);
    sq += w * w;
    ab += std::fabs(w);
  }
  for (index_t k = 0; k < K; ++k) grad_b[k] /= acc_t(n);
  return loss_sum / acc_t(n) + pen.value(sq, ab);
}

}  // namespace fastgd
