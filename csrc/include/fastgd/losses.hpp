// Loss functions L(p, y) and their derivatives dL/dp, scikit-learn's definitions.
//
// p is the prediction x·w + b. Regression losses take any real y; classification losses take
// y in {-1, +1}. Each loss is a small struct with FASTGD_HD member functions so that the same
// formulas serve the CPU and the GPU kernels. `epsilon` is the only loss parameter (huber and the
// epsilon-insensitive losses); the other losses ignore it.
#pragma once

#include <cmath>

#include "config.hpp"
#include "exp_log.hpp"
#include "kinds.hpp"

namespace fastgd {

namespace losses {

struct SquaredError {
  double epsilon;
  // ½(p − y)²
  FASTGD_HD double value(double p, double y) const noexcept {
    const double r = p - y;
    return 0.5 * r * r;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept { return p - y; }
};

struct Huber {
  double epsilon;
  // ½r² for |r| ≤ ε, ε|r| − ½ε² beyond (r = p − y).
  FASTGD_HD double value(double p, double y) const noexcept {
    const double r = p - y, a = std::fabs(r);
    return a <= epsilon ? 0.5 * r * r : epsilon * a - 0.5 * epsilon * epsilon;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept {
    const double r = p - y;
    if (r > epsilon) return epsilon;
    if (r < -epsilon) return -epsilon;
    return r;
  }
};

struct EpsilonInsensitive {
  double epsilon;
  // max(0, |y − p| − ε)
  FASTGD_HD double value(double p, double y) const noexcept {
    const double v = std::fabs(y - p) - epsilon;
    return v > 0.0 ? v : 0.0;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept {
    if (y - p > epsilon) return -1.0;
    if (p - y > epsilon) return 1.0;
    return 0.0;
  }
};

struct SquaredEpsilonInsensitive {
  double epsilon;
  // max(0, |y − p| − ε)²
  FASTGD_HD double value(double p, double y) const noexcept {
    const double v = std::fabs(y - p) - epsilon;
    return v > 0.0 ? v * v : 0.0;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept {
    const double z = y - p;
    if (z > epsilon) return -2.0 * (z - epsilon);
    if (z < -epsilon) return 2.0 * (-z - epsilon);
    return 0.0;
  }
};

struct LogLoss {
  double epsilon;
  // Both through e = e^(−|z|), z = y·p, so that nothing overflows, and without branches: the row
  // passes then compute several rows' losses in one vector (exp_log.hpp, simd.hpp's losses_of).
  // log(1 + e^(−z)) = max(−z, 0) + log(1 + e).
  FASTGD_HD double value(double p, double y) const noexcept {
    const double z = y * p;
    return (z > 0.0 ? 0.0 : -z) + log1p_unit(exp_nonpositive(-std::fabs(z)));
  }
  // −y·σ(−z) = −y / (1 + e^z): −y·e / (1 + e) for z > 0, −y / (1 + e) otherwise.
  FASTGD_HD double derivative(double p, double y) const noexcept {
    const double z = y * p;
    const double e = exp_nonpositive(-std::fabs(z));
    return -y * (z > 0.0 ? e : 1.0) / (1.0 + e);
  }
};

struct Hinge {
  double epsilon;
  // max(0, 1 − y·p); at y·p = 1 the subgradient −y is taken, as scikit-learn does.
  FASTGD_HD double value(double p, double y) const noexcept {
    const double v = 1.0 - y * p;
    return v > 0.0 ? v : 0.0;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept {
    return y * p <= 1.0 ? -y : 0.0;
  }
};

struct SquaredHinge {
  double epsilon;
  // max(0, 1 − y·p)²
  FASTGD_HD double value(double p, double y) const noexcept {
    const double v = 1.0 - y * p;
    return v > 0.0 ? v * v : 0.0;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept {
    const double v = 1.0 - y * p;
    return v > 0.0 ? -2.0 * y * v : 0.0;
  }
};

struct ModifiedHuber {
  double epsilon;
  // z = y·p: 0 for z ≥ 1, (1 − z)² for −1 ≤ z < 1, −4z below.
  FASTGD_HD double value(double p, double y) const noexcept {
    const double z = y * p;
    if (z >= 1.0) return 0.0;
    if (z >= -1.0) return (1.0 - z) * (1.0 - z);
    return -4.0 * z;
  }
  FASTGD_HD double derivative(double p, double y) const noexcept {
    const double z = y * p;
    if (z >= 1.0) return 0.0;
    if (z >= -1.0) return -2.0 * y * (1.0 - z);
    return -4.0 * y;
  }
};

}  // namespace losses

}  // namespace fastgd
