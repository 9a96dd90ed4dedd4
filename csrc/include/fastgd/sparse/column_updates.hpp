// The update of a step's touched columns, from their pairs or straight from the rows: linear steps
// (L2 alone), the general step through update_coordinate, and steps with no lazy form (a ≤ 0).
#pragma once

#include <algorithm>

#include "../config.hpp"
#include "../data.hpp"
#include "../penalties.hpp"
#include "lazy_penalty.hpp"
#include "pairs.hpp"

namespace fastgd::sparse_detail {

// Linear steps. Without L1 and with a = 1 − lr·l2 > 0, the update of a touched column,
//   w_j ← a·w_j − lr·G_j/bs   (G_j: the sum of its pairs g_i·x_ij),
// is, in v_j = w_j / A and with A_next = a·A,   v_j ← v_j + c·G_j,   c = −lr / (bs·A_next):
// linear in the pairs, so each pair is added into v_j as it comes (repeated columns need no
// combining, and w_j is never formed). Adding the pairs of a column in row order, from the pair
// buckets or straight from the rows, gives the same sums whatever the thread count.
inline double linear_factor(double lr, acc_t bs, const Clock& next) noexcept {
  return -(lr / bs) * next.inv_A;
}

template <class T>
inline void add_pairs(const Pair* p, index_t m, T* v, double c) noexcept {
  for (index_t k = 0; k < m; ++k) v[p[k].j] = T(acc_t(v[p[k].j]) + c * p[k].g);
}

// (The row's pointers are copied first: GCC reloads members of X after every atomic store.)
template <bool Relaxed = false, class T, class I>
inline void add_row(const CsrView<T, I>& X, index_t i, acc_t g, T* v, double c) noexcept {
  const I* indices = X.indices;
  const T* data = X.data;
  const index_t hi = X.end(i);
  for (index_t k = X.begin(i); k < hi; ++k) {
    T* vj = v + indices[k];
    store<Relaxed>(vj, T(acc_t(load<Relaxed>(vj)) + c * (g * acc_t(data[k]))));
  }
}

// v_j ← v_j + cg·x_ij over row i, unrolled by four (GCC does not unroll it; the loop's own
// instructions were a quarter of the per-sample update). Sequential in k, so repeated columns
// add up as in add_row.
template <class T, class I>
inline void add_scaled_row(const CsrView<T, I>& X, index_t i, acc_t cg, T* v) noexcept {
  const I* indices = X.indices;
  const T* data = X.data;
  const index_t hi = X.end(i);
  index_t k = X.begin(i);
  for (; k + 4 <= hi; k += 4) {
    T* v0 = v + indices[k];
    *v0 = T(acc_t(*v0) + cg * acc_t(data[k]));
    T* v1 = v + indices[k + 1];
    *v1 = T(acc_t(*v1) + cg * acc_t(data[k + 1]));
    T* v2 = v + indices[k + 2];
    *v2 = T(acc_t(*v2) + cg * acc_t(data[k + 2]));
    T* v3 = v + indices[k + 3];
    *v3 = T(acc_t(*v3) + cg * acc_t(data[k + 3]));
  }
  for (; k < hi; ++k) v[indices[k]] = T(acc_t(v[indices[k]]) + cg * acc_t(data[k]));
}

// Applies the pairs p[0:m) (one per column, see combine_pairs) to their columns: the dense update with
// gradient (Σ pairs)/bs, as of clock `now`, stored as of clock `next`.
template <class T, bool Relaxed>
inline void update_touched(const Pair* p, index_t m, const LazyCoef<T, Relaxed>& w, acc_t bs,
                           double lr, const Penalty& pen, const Clock& now,
                           const Clock& next) noexcept {
  for (index_t k = 0; k < m;) {
    const index_t j = p[k].j;
    acc_t g = 0;
    for (; k < m && p[k].j == j; ++k) g += p[k].g;
    w.write(j, update_coordinate(w.read(j, now), g / bs, lr, pen), next);
  }
}

// The cumulative L1 penalty after a step of row i (CumulativeL1): u moves on by lr·l1, then each
// of the row's columns (only those, as scikit-learn on sparse data) is clipped, in v's units at the
// step's scale A (w = A·v), as scikit-learn's l1penalty does with its wscale.
template <class T, class I>
inline void clip_row(const CsrView<T, I>& X, index_t i, T* v, double A, double lr,
                     const CumulativeL1& c) noexcept {
  *c.u += lr * c.l1;
  const double u = *c.u;
  for (index_t k = X.begin(i); k < X.end(i); ++k) {
    const index_t j = X.indices[k];
    v[j] = T(cumulative_clip(double(v[j]), A, u, c.q[j]));
  }
}

// Whether row i's columns strictly increase (each once, as in scipy's canonical form).
template <class T, class I>
inline bool strictly_increasing(const CsrView<T, I>& X, index_t i) noexcept {
  for (index_t k = X.begin(i) + 1; k < X.end(i); ++k)
    if (X.indices[k - 1] >= X.indices[k]) return false;
  return true;
}

// update_touched for a step of one row whose columns strictly increase, with the pairs
// g_row·x_ij taken from the row instead of a buffer and w_j from `kept` (predict's, as of
// the same clock) instead of a second read: each column's sum is its one pair, added to zero as
// update_touched adds it, so the bits are the same.
template <class T, class I>
inline void update_row(const CsrView<T, I>& X, index_t i, acc_t g_row, const LazyCoef<T, false>& w,
                       const double* kept, acc_t bs, double lr, const Penalty& pen,
                       const Clock& next) noexcept {
  const index_t lo = X.begin(i), hi = X.end(i);
  for (index_t k = lo; k < hi; ++k) {
    const index_t j = X.indices[k];
    acc_t g = 0;
    g += g_row * acc_t(X.data[k]);
    w.write(j, update_coordinate(kept[k - lo], g / bs, lr, pen), next);
  }
}

// The same for a step with a ≤ 0, applied densely to columns [lo, hi) (up to date as of `now`,
// stored at the clock (1, 0)): untouched columns get the update with a zero gradient.
template <class T>
inline void update_dense(Pair* p, index_t m, const LazyCoef<T, false>& w, index_t lo,
                         index_t hi, acc_t bs, double lr, const Penalty& pen, const Clock& now) {
  std::sort(p, p + m, [](const Pair& x, const Pair& y) { return x.j < y.j; });  // unique columns
  index_t k = 0;
  for (index_t j = lo; j < hi; ++j) {
    acc_t g = 0;
    for (; k < m && p[k].j == j; ++k) g += p[k].g;
    w.v[j] = T(update_coordinate(w.read(j, now), g / bs, lr, pen));
    if (w.u) w.u[j] = 0.0;
  }
}

}  // namespace fastgd::sparse_detail
