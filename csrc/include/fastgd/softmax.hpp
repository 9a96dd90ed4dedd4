// The softmax cross-entropy of one row, shared by the dense and the CSR kernels: against targets
// t smoothed as t ← (1 − ε)·t + ε/K, L = logsumexp(p) − Σ_k t_k·p_k and ∂L/∂p_k = q_k − t_k with
// q = softmax(p).
#pragma once

#include <algorithm>
#include <cmath>

#include "config.hpp"

namespace fastgd {

// logit(k) gives p_k (it is called three times for each k), target(k) the unsmoothed t_k; use(k,
// q_k − t_k) takes each derivative in turn. Returns L.
template <class Logit, class Target, class Use>
FASTGD_ALWAYS_INLINE acc_t softmax_cross_entropy(index_t K, Logit logit, Target target,
                                                 double smoothing, Use use) {
  acc_t pmax = -INFINITY;
  for (index_t k = 0; k < K; ++k) pmax = std::max(pmax, logit(k));
  acc_t z = 0;
  for (index_t k = 0; k < K; ++k) z += std::exp(logit(k) - pmax);
  const acc_t log_z = pmax + std::log(z);
  const acc_t uniform = smoothing / acc_t(K);
  acc_t loss = 0;
  for (index_t k = 0; k < K; ++k) {
    const acc_t t = (1.0 - smoothing) * target(k) + uniform;
    const acc_t p = logit(k);
    loss += t * (log_z - p);  // −t_k·log q_k
    use(k, std::exp(p - log_z) - t);
  }
  return loss;
}

}  // namespace fastgd
