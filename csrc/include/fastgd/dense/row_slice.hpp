// The rows one thread reads in one step of a dense driver, and how far ahead they are prefetched.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../config.hpp"
#include "../data.hpp"
#include "../parallel.hpp"

namespace fastgd::detail {

// The rows one thread reads in one step: positions [rows.begin, rows.end) of the epoch's order,
// and the positions it reads in its next step (empty if none), so that prefetching runs on past
// the end of the step instead of stalling at the start of every small batch.
struct RowSlice {
  const std::int64_t* order;  // nullptr: position = row index
  Range rows;
  Range next;
  // A block order's stream (orders.hpp): at position r, the row stream[r] of a window ahead is
  // fetched too, so that each window's blocks arrive in storage order, which the memory streams,
  // before its rows are read in their shuffled order. nullptr: none.
  const std::int64_t* stream = nullptr;
  index_t row_at(index_t r) const noexcept { return order ? index_t(order[r]) : r; }
  // How many positions ahead rows are prefetched: kPrefetchRows through a permutation,
  // kPrefetchBytes' worth of rows in order.
  template <class T>
  static index_t prefetch_distance(const DenseView<T>& X, const std::int64_t* order) noexcept {
    if (order) return kPrefetchRows;
    return std::max<index_t>(1, kPrefetchBytes / std::max<index_t>(1, X.n_cols * sizeof(T)));
  }
  // Prefetch the row `ahead` positions after r (in this slice or the next one), and through a
  // permutation also its entries of the per-row arrays (targets, sample weights; null: none):
  // read at random, they miss the cache as the row does, and a row's loss waits for its target.
  // (Inlined by force, as every prefetch helper: config.hpp, prefetch_lines.)
  template <class T, class... PerRow>
  FASTGD_ALWAYS_INLINE void prefetch_ahead(const DenseView<T>& X, index_t r, index_t ahead,
                                           const PerRow*... per_row) const noexcept {
    if (stream) {
      const index_t s = index_t(stream[r]);
      prefetch_lines(X.row(s), X.n_cols * index_t(sizeof(T)));
      ((per_row ? FASTGD_PREFETCH(per_row + s) : void()), ...);
    }
    index_t q = r + ahead;
    if (q >= rows.end) {
      q = next.begin + (q - rows.end);
      if (q >= next.end) return;
    }
    const index_t i = row_at(q);
    prefetch_lines(X.row(i), X.n_cols * index_t(sizeof(T)));
    if (order) ((per_row ? FASTGD_PREFETCH(per_row + i) : void()), ...);
  }
};

}  // namespace fastgd::detail
