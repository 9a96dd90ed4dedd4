// NumPy's Generator.shuffle of a 1-D array, the same permutation from the same generator state,
// with the rows to swap fetched ahead of their turn.
//
// NumPy draws, for i = n−1 down to 1, j = random_interval(i) (the smallest all-ones mask ≥ i,
// rejection sampling on 32-bit draws while i < 2^32) and swaps a[i] and a[j]. The draws depend on
// i alone, never on the data, so they can be made kAhead swaps early and a[j] prefetched: the
// swaps, random reads and writes over 8 bytes per row, no longer wait on the memory one by one.
#pragma once

#include <cstdint>

#include "config.hpp"

namespace fastgd {

// A uniform integer in [0, max], exactly as NumPy's random_interval draws it from `gen`, which
// has next_uint32() and next_uint64().
template <class Gen>
std::uint64_t random_interval(Gen& gen, std::uint64_t max) {
  if (max == 0) return 0;
  std::uint64_t mask = max;
  for (int shift = 1; shift <= 32; shift *= 2) mask |= mask >> shift;
  std::uint64_t value;
  if (max <= 0xffffffffULL) {
    do value = gen.next_uint32() & mask;
    while (value > max);
  } else {
    do value = gen.next_uint64() & mask;
    while (value > max);
  }
  return value;
}

template <class Gen, class T>
void shuffle_like_numpy(Gen& gen, T* a, index_t n) {
  constexpr index_t kAhead = 16;
  index_t ahead[kAhead];  // the j of step i is in ahead[i % kAhead]
  index_t next = n - 1;   // the next step whose j is drawn
  const auto draw = [&] {
    const index_t j = index_t(random_interval(gen, std::uint64_t(next)));
    ahead[next % kAhead] = j;
    FASTGD_PREFETCH_WRITE(a + j);
    --next;
  };
  for (index_t k = 0; k < kAhead && next >= 1; ++k) draw();
  for (index_t i = n - 1; i >= 1; --i) {
    const index_t j = ahead[i % kAhead];
    if (next >= 1) draw();
    const T t = a[j];
    a[j] = a[i];
    a[i] = t;
  }
}

}  // namespace fastgd
