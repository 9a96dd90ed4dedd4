// Penalties α·R(w) and the fused coefficient update that applies them.
//
// R = ½‖w‖² (l2), ‖w‖₁ (l1), (1−ρ)/2·‖w‖² + ρ‖w‖₁ (elasticnet, ρ = l1_ratio). Every penalty is the
// pair (l2 = α(1−ρ), l1 = αρ), so a single runtime struct covers all four and the update pass needs
// no template parameter for it: that keeps instantiations a sum (dtype × loss) and not a product.
#pragma once

#include <cmath>

#include "config.hpp"

namespace fastgd {

enum class PenaltyKind : int { none, l2, l1, elasticnet };

// How a step applies the L1 part: the proximal step (soft threshold, exact for any batch size),
// or scikit-learn's cumulative penalty of its per-sample SGD (CumulativeL1, below).
enum class L1Method : int { proximal, cumulative };

struct Penalty {
  double l2 = 0.0;  // coefficient of ½‖w‖²
  double l1 = 0.0;  // coefficient of ‖w‖₁

  FASTGD_HD double value(double sum_squares, double sum_abs) const noexcept {
    return 0.5 * l2 * sum_squares + l1 * sum_abs;
  }
};

inline Penalty make_penalty(PenaltyKind kind, double alpha, double l1_ratio) noexcept {
  switch (kind) {
    case PenaltyKind::none: return {0.0, 0.0};
    case PenaltyKind::l2: return {alpha, 0.0};
    case PenaltyKind::l1: return {0.0, alpha};
    case PenaltyKind::elasticnet: return {alpha * (1.0 - l1_ratio), alpha * l1_ratio};
  }
  return {0.0, 0.0};
}

// sign(w)·max(|w| − t, 0): the proximal step of t‖w‖₁; it makes coefficients exactly zero.
FASTGD_HD double soft_threshold(double w, double t) noexcept {
  const double a = std::fabs(w) - t;
  return a > 0.0 ? std::copysign(a, w) : 0.0;
}

// Whether a step's L2 decay factor 1 − lr·l2 is ≤ 0 (lr·l2 ≥ 1). Such a step zeroes w before its
// gradient step instead of flipping and growing it: scikit-learn's clamp max(0, 1 − lr·l2), which
// also keeps a very strong penalty from diverging.
FASTGD_HD bool decay_clamped(double lr, double l2) noexcept { return !(1.0 - lr * l2 > 0.0); }

// One coordinate of the minibatch update of DESIGN.md:
//   w ← w − lr·(g + l2·w) (w ← −lr·g when decay_clamped), then w ← soft_threshold(w, lr·l1).
FASTGD_HD double update_coordinate(double w, double g, double lr, const Penalty& pen) noexcept {
  if (decay_clamped(lr, pen.l2)) w = 0.0;
  w -= lr * (g + pen.l2 * w);
  return pen.l1 > 0.0 ? soft_threshold(w, lr * pen.l1) : w;
}

// scikit-learn's per-sample L1 (l1_method="cumulative"): the cumulative penalty of Tsuruoka, Tsujii
// and Ananiadou (ACL 2009). u is the L1 penalty per unit weight that every weight could have
// received so far (Σ lr·l1 over the steps) and q_j the penalty w_j actually received (signed);
// after a step, each weight it touched moves toward 0 by what it is owed, u ∓ q_j, without
// crossing it. Unlike the proximal step it does not leave the tiny non-zeros that noisy
// per-sample gradients keep pushing across 0. State: u and q (one per coefficient), kept by the
// caller across calls, since a weight is owed the penalty of the whole fit.
struct CumulativeL1 {
  double l1 = 0.0;        // the penalty's L1 coefficient (the epoch's Penalty then has l1 = 0)
  double* u = nullptr;    // Σ lr·l1 so far
  double* q = nullptr;    // q_j, one per coefficient
};

// Clips one weight w = A·v (v stored, A its scale: the sparse drivers' lazy L2 factor, 1 on
// dense data) as scikit-learn's l1penalty does, in v's units; returns the new v and moves q_j on.
FASTGD_HD double cumulative_clip(double v, double A, double u, double& q) noexcept {
  double out = v;
  if (A * v > 0.0)
    out = v - (u + q) / A > 0.0 ? v - (u + q) / A : 0.0;
  else if (A * v < 0.0)
    out = v + (u - q) / A < 0.0 ? v + (u - q) / A : 0.0;
  q += A * (out - v);
  return out;
}

// After a step that touched every weight (dense data, A = 1): u moves on by lr·l1, then each of
// the n weights is clipped.
template <class T>
inline void cumulative_clip_all(T* w, index_t n, double lr, const CumulativeL1& c) noexcept {
  *c.u += lr * c.l1;
  const double u = *c.u;
  for (index_t j = 0; j < n; ++j) w[j] = T(cumulative_clip(double(w[j]), 1.0, u, c.q[j]));
}

}  // namespace fastgd
