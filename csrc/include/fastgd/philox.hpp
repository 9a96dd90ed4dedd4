// Philox-4x64-10 (Salmon, Moraes, Dror and Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3",
// SC 2011), the counter-based generator of NumPy's numpy.random.Philox: the block of four 64-bit
// words at a 256-bit counter under a 128-bit key, with no state between blocks. A draw is thus a
// pure function of (key, counter), so the private kernel's noise for (step, coordinate) can be
// replayed anywhere, NumPy included, and computed in any order.
#pragma once

#include <cmath>
#include <cstdint>

#include "config.hpp"

namespace fastgd {

struct PhiloxBlock {
  std::uint64_t v[4];
};

// The high and low words of a·b.
FASTGD_HD std::uint64_t mulhilo64(std::uint64_t a, std::uint64_t b, std::uint64_t* hi) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ using u128 = unsigned __int128;
  const u128 p = u128(a) * u128(b);
  *hi = std::uint64_t(p >> 64);
  return std::uint64_t(p);
#else
  const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
  const std::uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
  const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
  const std::uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
  *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
  return (mid << 32) | (ll & 0xffffffffu);
#endif
}

// Random123's philox4x64_R with R = 10, the rounds and constants NumPy uses.
FASTGD_HD PhiloxBlock philox4x64_10(PhiloxBlock ctr, std::uint64_t key0,
                                    std::uint64_t key1) noexcept {
  constexpr std::uint64_t kM0 = 0xD2E7470EE14C6C93ull, kM1 = 0xCA5A826395121157ull;
  constexpr std::uint64_t kW0 = 0x9E3779B97F4A7C15ull, kW1 = 0xBB67AE8584CAA73Bull;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += kW0;
      key1 += kW1;
    }
    std::uint64_t hi0, hi1;
    const std::uint64_t lo0 = mulhilo64(kM0, ctr.v[0], &hi0);
    const std::uint64_t lo1 = mulhilo64(kM1, ctr.v[2], &hi1);
    ctr = PhiloxBlock{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
  }
  return ctr;
}

// A uniform in (0, 1] (for a logarithm) and in [0, 1) from the top 53 bits of a word.
FASTGD_HD double unit_open_low(std::uint64_t x) noexcept {
  return double((x >> 11) + 1) * 0x1.0p-53;
}
FASTGD_HD double unit_open_high(std::uint64_t x) noexcept { return double(x >> 11) * 0x1.0p-53; }

// Four standard normals from one block, by Box–Muller on its two pairs of words.
FASTGD_HD void box_muller4(const PhiloxBlock& b, double out[4]) noexcept {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (int pair = 0; pair < 2; ++pair) {
    const double r = std::sqrt(-2.0 * std::log(unit_open_low(b.v[2 * pair])));
    const double a = kTwoPi * unit_open_high(b.v[2 * pair + 1]);
    out[2 * pair] = r * std::cos(a);
    out[2 * pair + 1] = r * std::sin(a);
  }
}

}  // namespace fastgd
