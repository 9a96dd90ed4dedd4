// The lazy penalty of the CSR drivers: how a step reaches the coefficients its rows do not touch,
// so that it costs O(non-zeros of its batch), independent of the number of columns d.
//
// Same semantics as the dense drivers (DESIGN.md, "Exact semantics"): the step
//   w ← soft(w − lr·(g + l2·w), lr·l1),   b ← b − lr·g_b
// moves every coordinate, also those no row of the batch touches. For an untouched coordinate the
// step is w ← soft(a·w, t) with a = 1 − lr·l2 and t = lr·l1, and since soft(a·w, t) = a·soft(w, t/a)
// (a > 0) and soft(soft(w, u), v) = soft(w, u + v) (u, v ≥ 0), any run of such steps composes:
//   after steps k..m−1:   w_m = A_m · soft(w_k / A_k, U_m − U_k)
//   with A_0 = 1, A_{s+1} = A_s·a_s (the scale) and U_0 = 0, U_{s+1} = U_s + t_s / A_{s+1}.
// So during a call the kernel stores for coordinate j the pair (v_j, u_j) = (w_j / A_k, U_k) of its
// last explicit update k, in place of w_j (v_j lives in the caller's coef array; u_j in scratch,
// only when l1 > 0), keeps the clock (A, U) of the current step, and reads w_j as
//   w_j = A · soft(v_j, U − u_j).
// A row's non-zero coordinates get the dense update explicitly (update_coordinate, the same
// function as the dense kernel), and are stored back as (w / A_next, U_next). L2 alone is the
// classic scale factor (U stays 0), and there the update is linear in v: each pair is added into
// v_j directly (see linear_factor), with no per-column sums and no read of w. Before A gets small
// enough for v = w/A to lose range, every coordinate is brought up to date and the clock restarts
// at (1, 0) — O(d), rarely. A step with a ≤ 0 (lr·l2 ≥ 1) has no such form: it brings everything
// up to date and is applied densely (update_coordinate clamps its decay at 0, so every untouched
// coefficient becomes 0).
// At the end of the call every coordinate is brought up to date once (O(d) per call).
#pragma once

#include <algorithm>

#include "../config.hpp"
#include "../penalties.hpp"

namespace fastgd::sparse_detail {

// Loads and stores of the shared coefficients: plain in the synchronous mode (each column has one
// writer between barriers), relaxed atomics in the asynchronous mode (racy by design, yet defined).
template <bool Relaxed, class X>
inline X load(const X* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  if constexpr (Relaxed) {
    X out;
    __atomic_load(p, &out, __ATOMIC_RELAXED);
    return out;
  }
#endif
  return *p;
}
template <bool Relaxed, class X>
inline void store(X* p, X value) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  if constexpr (Relaxed) {
    __atomic_store(p, &value, __ATOMIC_RELAXED);
    return;
  }
#endif
  *p = value;
}

// The lazy clock (A, U) of one step, see the header comment.
struct Clock {
  double A = 1.0, U = 0.0;
  double inv_A = 1.0;  // 1 / A: stores multiply by it (one division per step, not per non-zero)
};

// The clock after a step with learning rate lr from clock c (a = 1 − lr·l2 > 0).
inline Clock advance(const Clock& c, double lr, const Penalty& pen) noexcept {
  Clock next;
  next.A = c.A * (1.0 - lr * pen.l2);
  next.inv_A = 1.0 / next.A;
  next.U = c.U + lr * pen.l1 * next.inv_A;
  return next;
}

// Restart the clock before A falls below this: v = w / A must stay well inside T's range.
template <class T>
constexpr double rebase_below() noexcept {
  return sizeof(T) == 4 ? 1e-12 : 1e-150;
}

// And the linear average's clock (general_epoch.hpp) before A falls below this: its sums
// S = sum_A·v − R subtract two terms that grow as 1/A while S does not, so S loses digits as
// A falls (a relative error of about eps/A); scikit-learn rescales its average below 1e-9.
constexpr double kLinearAverageRestartBelow = 1e-6;

// The coefficients during a call: v (the caller's coef array) and u (nullptr without L1).
template <class T, bool Relaxed>
struct LazyCoef {
  T* v;
  double* u;

  // w_j as of the clock c. The max(0, ·) matters only in the asynchronous mode, where a column may
  // carry a later step's U than the reader's.
  double read(index_t j, const Clock& c) const noexcept {
    const double vj = double(load<Relaxed>(v + j));
    if (!u) return c.A * vj;
    return c.A * soft_threshold(vj, std::max(0.0, c.U - load<Relaxed>(u + j)));
  }
  void write(index_t j, double w, const Clock& c) const noexcept {
    store<Relaxed>(v + j, T(w * c.inv_A));
    if (u) store<Relaxed>(u + j, c.U);
  }
  // Bring columns [lo, hi) up to date as of c and restart them at the clock (1, 0).
  void materialize(index_t lo, index_t hi, const Clock& c) const noexcept {
    if (c.A == 1.0 && c.U == 0.0) return;
    for (index_t j = lo; j < hi; ++j) {
      const double w = read(j, c);
      v[j] = T(w);
      if (u) u[j] = 0.0;
    }
  }
};

}  // namespace fastgd::sparse_detail
