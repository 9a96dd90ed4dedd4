// The pairs (j, g_i·x_ij) a step's rows contribute to their columns' gradients: which thread owns
// a column (the pairs are bucketed by owner), and the sum of each column's pairs in row order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../config.hpp"

namespace fastgd::sparse_detail {

// Which thread owns column j: (j·mult) >> 48 with mult = floor(T·2^48 / d), a multiply instead of a
// division per non-zero. Owner o holds the columns [begin(o), begin(o+1)).
struct ColumnOwners {
  index_t d;
  int parts;
  std::uint64_t mult;
  ColumnOwners(index_t d_, int parts_)
      : d(d_), parts(parts_), mult((std::uint64_t(parts_) << 48) / std::uint64_t(d_)) {}
  int owner(index_t j) const noexcept {
    return parts == 1 ? 0 : int((std::uint64_t(j) * mult) >> 48);
  }
  index_t begin(int o) const noexcept {
    if (parts == 1) return o == 0 ? 0 : d;
    const std::uint64_t b = ((std::uint64_t(o) << 48) + mult - 1) / mult;
    return std::min<index_t>(d, index_t(b));
  }
};

// One non-zero's contribution g_i·x_ij to column j's gradient sum.
struct Pair {
  index_t j;
  acc_t g;
};

// Sums the pairs of equal columns, in place: p[0:returned) holds each column once, in order of
// first occurrence, with its contributions added in the order they came (row order), so the sums
// do not depend on how pairs were bucketed over threads. O(m) with a small open-addressing table
// (`table`: table_size(m) entries, all -1; left all -1 again). Strictly increasing pairs
// (one canonical row) are returned as they are.
inline index_t combine_pairs(Pair* p, index_t m, std::vector<index_t>& table) noexcept {
  bool increasing = true;
  for (index_t k = 1; k < m && increasing; ++k) increasing = p[k - 1].j < p[k].j;
  if (increasing) return m;
  // table = [slots (a power of two) | the slot each unique column took, to clear them after].
  const std::uint64_t size = std::uint64_t(table.size()) / 2, mask = size - 1;
  index_t* slots = table.data();
  index_t* used = table.data() + size;
  int shift = 64;
  for (std::uint64_t z = size; z > 1; z >>= 1) --shift;
  index_t unique = 0;
  for (index_t k = 0; k < m; ++k) {
    const index_t j = p[k].j;
    std::uint64_t h = (std::uint64_t(j) * 0x9E3779B97F4A7C15ull) >> shift;
    while (slots[h] >= 0 && p[slots[h]].j != j) h = (h + 1) & mask;
    if (slots[h] < 0) {
      slots[h] = unique;
      used[unique] = index_t(h);
      p[unique++] = p[k];
    } else {
      p[slots[h]].g += p[k].g;
    }
  }
  for (index_t k = 0; k < unique; ++k) slots[used[k]] = -1;
  return unique;
}

// Table size for combine_pairs of up to m pairs: twice a power of two >= 2m.
inline std::size_t table_size(index_t m) noexcept {
  std::size_t size = 2;
  while (size < std::size_t(2 * m)) size <<= 1;
  return 2 * size;
}

}  // namespace fastgd::sparse_detail
