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

// One coordinate of the minibatch update of DESIGN.md:
//   w ← w − lr·(g + l2·w), then w ← soft_threshold(w, lr·l1).
FASTGD_HD double update_coordinate(double w, double g, double lr, const Penalty& pen) noexcept {
  w -= lr * (g + pen.l2 * w);
  return pen.l1 > 0.0 ? soft_threshold(w, lr * pen.l1) : w;
}

}  // namespace fastgd
