// e^x for x ≤ 0 and log(1 + x) for 0 ≤ x ≤ 1: the log-loss needs no other exp or log1p, and these
// two, written as plain branch-free arithmetic, vectorize across rows where the libm calls cannot.
//
// Both are fdlibm's algorithms (e_exp.c, s_log1p.c, whose notice follows), cut down to these
// domains, and within 1 ulp of glibc's exp and log1p (checked on 2·10^7 arguments, subnormal
// results included; tests/test_losses.py checks the log-loss against NumPy's). With
// -ffp-contract=off (CMakeLists.txt) every clone of a kernel (simd.hpp) computes the same bits.
// Device code keeps CUDA's exp and log1p.
//
//   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//   Developed at SunSoft, a Sun Microsystems, Inc. business.
//   Permission to use, copy, modify, and distribute this software is freely granted, provided
//   that this notice is preserved.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "config.hpp"

namespace fastgd {
namespace exp_log_detail {

inline double from_bits(std::uint64_t u) noexcept {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}
inline std::uint64_t to_bits(double d) noexcept {
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

}  // namespace exp_log_detail

// e^x for x ≤ 0 (NaN gives NaN, −inf gives 0).
FASTGD_HD double exp_nonpositive(double x) noexcept {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  using exp_log_detail::from_bits;
  using exp_log_detail::to_bits;
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kInvLn2 = 1.44269504088896338700e+00;
  constexpr double P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03,
                   P3 = 6.61375632143793436117e-05, P4 = -1.65339022054652515390e-06,
                   P5 = 4.13813679705723846039e-08;
  constexpr double kLowest = -745.2;       // e^x rounds to 0 below
  constexpr double kShifter = 0x1.8p52;    // adding it rounds to an integer, kept in the low bits
  const double xc = x < kLowest ? kLowest : x;
  const double kd = xc * kInvLn2 + kShifter;
  const double k = kd - kShifter;  // x / ln 2, rounded: x = k·ln 2 + r, |r| ≤ ln 2 / 2
  const double hi = xc - k * kLn2Hi, lo = k * kLn2Lo;
  const double r = hi - lo;
  const double t = r * r;
  const double c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  const double er = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);  // e^r
  // 2^k (k in [−1075, 0]) as two powers of two that stay normal, so that the one rounding of the
  // second product gives e^x's subnormals right.
  const std::int64_t ki = std::int64_t(to_bits(kd) - to_bits(kShifter));
  const std::int64_t k1 = ki / 2, k2 = ki - k1;
  const double s1 = from_bits(std::uint64_t(k1 + 1023) << 52);
  const double s2 = from_bits(std::uint64_t(k2 + 1023) << 52);
  return x < kLowest ? 0.0 : (er * s1) * s2;
#endif
}

// log(1 + x) for 0 ≤ x ≤ 1.
FASTGD_HD double log1p_unit(double x) noexcept {
#if defined(__CUDA_ARCH__)
  return log1p(x);
#else
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                   Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                   Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                   Lg7 = 1.479819860511658591e-01;
  const double u = 1.0 + x;                    // in [1, 2]
  const bool small = x < 0.41421356237309503;  // √2 − 1: then log(1 + f) with f = x, exactly;
  const double k = small ? 0.0 : 1.0;          // else ln 2 + log(1 + f) with f = u/2 − 1 (exact)
  const double f = small ? x : 0.5 * u - 1.0;
  const double c = small ? 0.0 : (x - (u - 1.0)) / u;  // plus 1 + x's rounding in u, relative
  const double hfsq = 0.5 * f * f;
  const double s = f / (2.0 + f);  // log(1 + f) = 2·atanh(s) = 2s + s·R(s²)
  const double z = s * s, w = z * z;
  const double R = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7))) + w * (Lg2 + w * (Lg4 + w * Lg6));
  return k * kLn2Hi - ((hfsq - (s * (hfsq + R) + (k * kLn2Lo + c))) - f);
#endif
}

}  // namespace fastgd
