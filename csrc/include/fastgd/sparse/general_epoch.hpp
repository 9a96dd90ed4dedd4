// The CSR epoch for every model, optimizer and average (sgd_epoch_csr_general): the softmax, the
// adaptive optimizers and averaged SGD, at O(non-zeros of a step × outputs) per step, on one
// thread.
//
// Model. K outputs (1 for a pointwise loss, K classes for the softmax) with coefficients W (K × d,
// either layout: class-major as NumPy's C order, or feature-major as its Fortran order, where a
// feature's K coefficients are side by side and a row's non-zeros read K·|row| consecutive values
// instead of K scattered ones) and K intercepts. A step's rows give their derivatives g_rk; a
// coefficient (k, j) is *touched* by the step when a row of it stores column j.
//
// How an untouched coordinate moves. The dense step moves every coordinate; the ones a step does
// not touch get the update with a zero data gradient, which this kernel applies lazily through a
// clock (A, U) as lazy_penalty.hpp explains, according to the optimizer:
//   - plain SGD ("decays"): w ← soft(a·w, lr·l1) with a = 1 − lr·l2, the clock of lazy_penalty.hpp;
//     a step with a ≤ 0 has no lazy form and is applied densely (O(K·d), as the other drivers do).
//   - Adagrad without L2 ("thresholds"): its state does not move and its direction is 0, so only
//     the L1 step soft(w, lr_t·l1) remains: A = 1, U grows by lr_t·l1.
//   - Momentum and Nesterov without L1 ("carried"): a step maps a coordinate and its momentum
//     buffer linearly, by a 2×2 matrix of the step's rate; a column is carried forward by the
//     product of the maps of the steps that left it alone when a row next touches it
//     (momentum_maps.hpp), at O(log steps) for the product and O(K) for its coefficients.
//   These three are exact: the model equals the dense kernel's on X.toarray() to rounding.
//   - Every other optimizer ("frozen", the lazy semantics of PyTorch's SparseAdam and TensorFlow's
//     LazyAdam): an untouched coordinate, its optimizer state and its penalty do not move in that
//     step; a touched one takes the optimizer's full step (data gradient + l2·w, then the L1 step).
//     Their untouched evolution has no closed form (square roots of the moments, bias
//     corrections; the L1 step's threshold on a momentum), and applying it would cost O(K·d) per
//     step.
//
// Averaged SGD. The average is a sum S of the coefficients after each averaged step; an untouched
// coordinate's values over a run of steps are A_c·soft(v, U_c − u) for the clocks c of the run,
// whose sum is read off prefix sums of A_c and A_c·U_c (soft's support is a prefix of the run, as
// U only grows: found by bisection). So averaging costs O(1) per touched coordinate, and the
// average equals the dense kernel's running mean to rounding. Plain SGD without L1 keeps it in
// scikit-learn's form instead, with no clock per column (update_linear).
//
// Touched columns are gathered in groups, their values, gradients and optimizer state side by
// side, so that the optimizer's update runs as long vector loops (update_values); where W is
// feature-major and the clock leaves the stored values as they are, the update runs on each
// column where it lies, with the column's gradient sums formed in the same loop from the step's
// non-zeros (update_columns). With K·d values beyond the caches, a touched column
// costs a miss per array it lives in: for float64 feature-major W, the linear average's sums and
// the in-place optimizers' state live, during the call, beside each column's coefficients (one
// run of memory, `interleaved`, `packed`).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../data.hpp"
#include "../dispatch.hpp"
#include "../huge_page_array.hpp"
#include "../optimizers.hpp"
#include "../penalties.hpp"
#include "../simd.hpp"
#include "../softmax.hpp"
#include "column_updates.hpp"
#include "epoch_args.hpp"
#include "lazy_penalty.hpp"
#include "momentum_maps.hpp"
#include "predict.hpp"

namespace fastgd {

// The outputs of a pointwise loss: one, with targets y.
template <class T, class Loss>
struct PointwiseHead {
  const Loss& loss;
  const T* y;
  // g[0] = L'(p, y_i); returns L(p, y_i).
  acc_t derivatives(index_t i, const acc_t* p, acc_t* g) const noexcept {
    const acc_t yi = acc_t(y[i]);
    g[0] = loss.derivative(p[0], yi);
    return loss.value(p[0], yi);
  }
};

// The softmax's outputs (softmax.hpp): g_k = q_k − t_k.
template <class T>
struct SoftmaxHead {
  index_t K;
  const std::int64_t* labels;  // or nullptr
  const T* probs;              // n × K, or nullptr
  double smoothing;
  acc_t derivatives(index_t i, const acc_t* p, acc_t* g) const noexcept {
    return softmax_cross_entropy(
        K, [p](index_t k) { return p[k]; },
        [&](index_t k) { return labels ? acc_t(labels[i] == k) : acc_t(probs[i * K + k]); },
        smoothing, [g](index_t k, acc_t q_t) { g[k] = q_t; });
  }
};

// How a step moves the coordinates it does not touch (see the header comment).
enum class Untouched : int { decays, thresholds, carried, frozen };

// What a user asks of the optimizer's updates on sparse data: the exact ones (the dense kernel's
// model), the lazy semantics, or the exact ones where they exist and else the lazy (automatic).
enum class SparseUpdates : int { automatic, exact, lazy };

// Whether an optimizer's untouched coordinates have a lazy form exact to rounding: plain SGD
// always, Adagrad without L2 (its state and direction stay put; only the L1 step acts), momentum
// and Nesterov without L1 (a linear map per step).
inline bool has_exact_sparse_updates(OptimizerKind kind, const Penalty& pen) noexcept {
  switch (kind) {
    case OptimizerKind::sgd: return true;
    case OptimizerKind::adagrad: return !(pen.l2 > 0);
    case OptimizerKind::momentum:
    case OptimizerKind::nesterov: return !(pen.l1 > 0);
    default: return false;
  }
}

// How the untouched coordinates move for this optimizer, penalty and request; the caller has
// refused SparseUpdates::exact where has_exact_sparse_updates is false.
inline Untouched untouched_for(OptimizerKind kind, const Penalty& pen,
                               SparseUpdates asked) noexcept {
  if (kind == OptimizerKind::sgd) return Untouched::decays;
  if (asked == SparseUpdates::lazy || !has_exact_sparse_updates(kind, pen))
    return Untouched::frozen;
  return kind == OptimizerKind::adagrad ? Untouched::thresholds : Untouched::carried;
}

// Inputs of the general CSR epoch beyond CsrEpochArgs (whose y is the pointwise head's).
template <class T>
struct CsrModelArgs {
  index_t K = 1;               // outputs
  bool feature_major = false;  // W[j·K + k] instead of W[k·d + j]
  Untouched untouched = Untouched::decays;
  OptimizerArgs<T> optimizer{};
  AverageArgs<T> average{};
};

namespace sparse_detail {

// The steps' lazy clock within a segment (steps between two restarts at (1, 0)): clock c is the
// one after c steps of the segment; with averaging, prefix sums over the averaged steps of A_c
// and A_c·U_c (sum_A[c], sum_AU[c]).
struct ClockTrack {
  std::vector<double> A, U, inv_A, sum_A, sum_AU;
  void restart() {
    A.assign(1, 1.0);
    U.assign(1, 0.0);
    inv_A.assign(1, 1.0);
    sum_A.assign(1, 0.0);
    sum_AU.assign(1, 0.0);
  }
  index_t now() const noexcept { return index_t(A.size()) - 1; }
  void push(const Clock& c, bool averaged) {
    A.push_back(c.A);
    U.push_back(c.U);
    inv_A.push_back(c.inv_A);
    sum_A.push_back(sum_A.back() + (averaged ? c.A : 0.0));
    sum_AU.push_back(sum_AU.back() + (averaged ? c.A * c.U : 0.0));
  }
  Clock at(index_t c) const noexcept { return Clock{A[c], U[c], inv_A[c]}; }
};

// One non-zero of a step: at place j (its column, or the column's place in packed W) of the
// step's row r (position in the step), value x.
struct Entry {
  index_t j;
  index_t r;
  acc_t x;
};

// soft_threshold as a select the vectorizer takes: the same value, and +0 where it gives 0.
FASTGD_ALWAYS_INLINE double soft_threshold_select(double w, double t) noexcept {
  return std::copysign(std::max(std::fabs(w) - t, 0.0), w) + 0.0;
}

// What the update of a group of touched coefficients needs beyond their values and gradients:
// the step's batch size and constants.
struct ValuesStep {
  acc_t bs;
  acc_t inv_bs;  // 1/bs for a power-of-two batch, where the product is exactly the division
  const Penalty* pen;
  const OptimizerParams* params;
  const StepConstants* sc;
};

inline acc_t inverse_if_exact(index_t bs) noexcept {
  return (bs & (bs - 1)) == 0 ? 1.0 / acc_t(bs) : 0.0;
}

// Column j's gradient sums into gsum (K): Σ g_r·x over its entries [e, ...) of the step's
// non-zeros entries[0..n) sorted by column (rows' derivatives g, row r at r·K; zeros when it has
// none), the first written, not added to a zeroed buffer (a fill's wide stores would stall the
// sum's narrower reloads); returns the first entry past them. Always inlined, as to_mean.
FASTGD_ALWAYS_INLINE std::size_t column_sum(const Entry* FASTGD_RESTRICT entries, std::size_t n,
                                            std::size_t e, index_t j,
                                            const acc_t* FASTGD_RESTRICT g, index_t K,
                                            acc_t* FASTGD_RESTRICT gsum) noexcept {
  if (e == n || entries[e].j != j) {
    std::fill(gsum, gsum + K, acc_t(0));
    return e;
  }
  {
    const acc_t* FASTGD_RESTRICT gr = g + entries[e].r * K;
    const acc_t x = entries[e].x;
#pragma omp simd
    for (index_t k = 0; k < K; ++k) gsum[k] = acc_t(0) + gr[k] * x;
  }
  for (++e; e < n && entries[e].j == j; ++e) {
    const acc_t* FASTGD_RESTRICT gr = g + entries[e].r * K;
    const acc_t x = entries[e].x;
#pragma omp simd
    for (index_t k = 0; k < K; ++k) gsum[k] += gr[k] * x;
  }
  return e;
}

// The gradient sums g[0..count) divided by the step's batch size. Always inlined: a part of the
// FASTGD_MULTIVERSION updates, compiled for their instruction set.
FASTGD_ALWAYS_INLINE void to_mean(acc_t* FASTGD_RESTRICT g, index_t count,
                                  const ValuesStep& st) noexcept {
  if (st.inv_bs > 0) {
    const acc_t inv = st.inv_bs;
#pragma omp simd
    for (index_t k = 0; k < count; ++k) g[k] *= inv;
  } else {
    const acc_t bs = st.bs;
#pragma omp simd
    for (index_t k = 0; k < count; ++k) g[k] /= bs;
  }
}

// The dense step of `count` touched coefficients gathered side by side: their values w (read as
// of the step), gradient sums g and optimizer state s0, s1, for one optimizer kind (chosen once
// per epoch, values_update). A group of columns at a time, so that the loops are long: each is
// free of branches and runs as vector code, the optimizer's step without its L1 part, then the
// L1 step (the same values as optimizer_step with it).
template <OptimizerKind Kind, class T>
FASTGD_MULTIVERSION void update_values(double* FASTGD_RESTRICT w, acc_t* FASTGD_RESTRICT g,
                                       T* FASTGD_RESTRICT s0, T* FASTGD_RESTRICT s1,
                                       index_t count, const ValuesStep& st) noexcept {
  to_mean(g, count, st);
  const Penalty l2_part{st.pen->l2, 0.0};
  const OptimizerParams p = *st.params;
  const StepConstants sc = *st.sc;
#pragma omp simd
  for (index_t k = 0; k < count; ++k) {
    if constexpr (Kind == OptimizerKind::sgd) {
      w[k] = update_coordinate(w[k], g[k], sc.lr, l2_part);
    } else if constexpr (state_arrays(Kind) == 2) {
      w[k] = optimizer_step<Kind>(w[k], g[k], l2_part.l2, 0.0, p, sc, s0[k], s1[k]);
    } else {
      w[k] = optimizer_step<Kind>(w[k], g[k], l2_part.l2, 0.0, p, sc, s0[k], s0[k]);
    }
  }
  if (st.pen->l1 > 0) {
    const double t = sc.lr * st.pen->l1;
#pragma omp simd
    for (index_t k = 0; k < count; ++k) w[k] = soft_threshold_select(w[k], t);
  }
}

// update_values in place, where a column's K values and state are contiguous (W feature-major)
// and the clock leaves them as they are stored (A = 1, no L1 clock): the step's columns, from its
// non-zeros entries[0..n) sorted by column (sort_by_column), in W and in the state arrays (column j
// at j·stride, the second array state_step after the first), with the rows' derivatives g (row r
// at r·K). A column's gradient sums are formed in the loop that updates it, from its one non-zero
// (a step of one canonical row), else in gsum (K values): each value is read and written once,
// with no copy into a group, and the sums are column_sum's, so the values are the group's
// update's.
template <OptimizerKind Kind, class T>
FASTGD_MULTIVERSION void update_columns(T* FASTGD_RESTRICT W, T* FASTGD_RESTRICT state,
                                        index_t state_step, index_t stride,
                                        const Entry* FASTGD_RESTRICT entries, std::size_t n,
                                        const acc_t* FASTGD_RESTRICT g,
                                        acc_t* FASTGD_RESTRICT gsum, index_t K,
                                        const ValuesStep& st) noexcept {
  const double l2 = st.pen->l2, t = st.sc->lr * st.pen->l1;
  const bool l1 = st.pen->l1 > 0;
  const OptimizerParams p = *st.params;
  const StepConstants sc = *st.sc;
  // sum(k): column's gradient sum at k; mean: the division by the batch size (to_mean's).
  const auto update = [&](index_t j, auto sum, auto mean) {
    T* FASTGD_RESTRICT w = W + j * stride;
    T* FASTGD_RESTRICT s0 = state + j * stride;
    T* FASTGD_RESTRICT s1 = s0 + state_step;
#pragma omp simd
    for (index_t k = 0; k < K; ++k) {
      const acc_t gk = mean(sum(k));
      double v;
      if constexpr (state_arrays(Kind) == 2)
        v = optimizer_step<Kind>(double(w[k]), gk, l2, 0.0, p, sc, s0[k], s1[k]);
      else
        v = optimizer_step<Kind>(double(w[k]), gk, l2, 0.0, p, sc, s0[k], s0[k]);
      w[k] = T(l1 ? soft_threshold_select(v, t) : v);
    }
  };
  const auto columns = [&](auto mean) {
    for (std::size_t e = 0; e < n;) {
      const index_t j = entries[e].j;
      const acc_t* FASTGD_RESTRICT gr = g + entries[e].r * K;
      const acc_t x = entries[e].x;
      if (e + 1 == n || entries[e + 1].j != j) {
        update(j, [&](index_t k) { return acc_t(0) + gr[k] * x; }, mean);
        ++e;
        continue;
      }
      e = column_sum(entries, n, e, j, g, K, gsum);
      update(j, [&](index_t k) { return gsum[k]; }, mean);
    }
  };
  if (st.inv_bs > 0) {
    const acc_t inv = st.inv_bs;
    columns([inv](acc_t s) { return s * inv; });
  } else {
    const acc_t bs = st.bs;
    columns([bs](acc_t s) { return s / bs; });
  }
}

// The intercepts' step for one optimizer kind, from their gradient sums gb over bs rows, scaled
// by `decay`: the values of the run-time optimizer_step (AdamW's as Adam's: an intercept is never
// decayed), K at a time, with no dispatch per intercept.
template <OptimizerKind Kind, class T>
FASTGD_MULTIVERSION void update_intercepts_of(T* FASTGD_RESTRICT b, const acc_t* FASTGD_RESTRICT gb,
                                              T* FASTGD_RESTRICT s0, T* FASTGD_RESTRICT s1,
                                              index_t K, acc_t bs, double decay,
                                              const OptimizerParams& params,
                                              const StepConstants& sc) noexcept {
  const OptimizerParams p = params;
  const StepConstants c = sc;
#pragma omp simd
  for (index_t k = 0; k < K; ++k) {
    const acc_t bk = acc_t(b[k]);
    double next;
    if constexpr (state_arrays(Kind) == 2)
      next = optimizer_step<Kind>(bk, gb[k] / bs, 0, 0, p, c, s0[k], s1[k]);
    else
      next = optimizer_step<Kind>(bk, gb[k] / bs, 0, 0, p, c, s0[k], s0[k]);
    b[k] = T(decay == 1.0 ? next : bk + (next - bk) * decay);
  }
}

// Whether a call over a's rows updates at least `copied` values (K per stored value of its rows,
// estimated from X's mean row): a copy of `copied` values at its start and end then costs no
// more than its own updates.
template <class T, class I>
bool amortizes_a_copy(const CsrEpochArgs<T, I>& a, index_t K, index_t copied) noexcept {
  const index_t rows = a.X.n_rows;
  if (rows == 0) return false;
  const double stored = double(a.X.end(rows - 1) - a.X.begin(0));
  return stored / double(rows) * double(a.n_rows) * double(K) >= double(copied);
}

template <class T>
using ValuesUpdate = void (*)(double*, acc_t*, T*, T*, index_t, const ValuesStep&);
template <class T>
using ColumnsUpdate = void (*)(T*, T*, index_t, index_t, const Entry*, std::size_t,
                               const acc_t*, acc_t*, index_t, const ValuesStep&);

template <class T>
ValuesUpdate<T> values_update(OptimizerKind kind) noexcept {
  if (kind == OptimizerKind::sgd) return &update_values<OptimizerKind::sgd, T>;
  return with_optimizer(kind, [](auto k) -> ValuesUpdate<T> {
    return &update_values<decltype(k)::value, T>;
  });
}

template <class T>
using InterceptsUpdate = void (*)(T*, const acc_t*, T*, T*, index_t, acc_t, double,
                                  const OptimizerParams&, const StepConstants&);

template <class T>
InterceptsUpdate<T> intercepts_update(OptimizerKind kind) noexcept {
  const OptimizerKind as = kind == OptimizerKind::adamw ? OptimizerKind::adam : kind;
  return with_optimizer(as, [](auto k) -> InterceptsUpdate<T> {
    return &update_intercepts_of<decltype(k)::value, T>;
  });
}

template <class T>
ColumnsUpdate<T> columns_update(OptimizerKind kind) noexcept {
  return with_optimizer(kind, [](auto k) -> ColumnsUpdate<T> {
    return &update_columns<decltype(k)::value, T>;
  });
}

// The general CSR epoch (see the header comment).
template <class T, class I, class Head>
struct GeneralEpoch {
  const CsrEpochArgs<T, I>& a;
  const CsrModelArgs<T>& m;
  const Head& head;
  T* const coef;  // the caller's W
  T* W;           // the coefficients during the call: coef, or in `packed_store`
  T* const b;
  const index_t K, d, P, n, B, n_steps;
  const Penalty pen;
  const OptimizerArgs<T>& opt;
  const AverageArgs<T>& avg;
  const bool plain, averaging, clocked_l1, prefetch;
  // Plain SGD without L1: every step but the dense ones is linear (update_linear), and the
  // average is kept as scikit-learn keeps it (see update_linear): `sums` holds R, no `last`.
  const bool linear;
  const bool carried;  // Untouched::carried: columns carried forward by `maps`, from `last`
  // The clock restarts (materialize) when its scale A falls below this (lazy_penalty.hpp).
  const double restart_below;
  const int n_state;  // the optimizer's state arrays
  const std::int64_t opt_step0, avg_step0;
  const ValuesUpdate<T> update_values_with;
  // Touched columns updated where they are stored (update_columns), with no group copies: W
  // feature-major, an optimizer with state, the clock at A = 1 without an L1 clock, no average.
  const bool in_place;
  const ColumnsUpdate<T> update_columns_with;
  const InterceptsUpdate<T> update_intercepts_with;
  // The linear average of float64 feature-major W: during the call, each touched column's K
  // coefficients and its K sums R side by side (W and sums at a stride of 2K, packed as below),
  // so that a touched column is one run of 2·K·8 bytes, fetched together, instead of two random
  // runs. Its untouched columns stay in the caller's arrays until the end of the call, whose pass
  // over every coefficient (materialize_with_average) the linear average makes anyway, or until
  // a clock restart, which places every column.
  const bool interleaved;
  // The places a packed call can need (places_fit; d for the linear average).
  const index_t places;
  // As for `interleaved`, and for the optimizer's state where the update is in place (float64):
  // each touched column's K coefficients and n_state·K state values side by side in
  // packed_store, in the order the call first touches the columns (its *place*: column j at
  // place slot_of[j], or −1 before its first touch). A column is copied in at its first touch
  // and out at the end of the call, so the copies cost O(touched columns), not O(d): a hashed
  // vocabulary leaves most columns untouched. For an optimizer, only in calls whose updates
  // touch at least d values (amortizes_a_copy), as slot_of is filled once per call; so a short
  // call (partial_fit on a few rows) stays O(its non-zeros). The linear average's calls are
  // O(K·d) anyway.
  const bool packed;
  // Where coefficient (k, j) lives in W, and its sum in sums: at q·col_stride + k·k_stride for
  // q = place(j) (j itself unless packed).
  const index_t col_stride, k_stride;
  // Read at random, one entry per touched column: on huge pages, as NumPy's arrays are.
  HugePageArray<double> u_store, sums_store, packed_store;
  HugePageArray<index_t> last_store, columns_store;
  HugePageArray<std::int32_t> slot_store;
  std::int32_t* const slot_of;     // packed: column j's place, or −1
  index_t* const packed_columns;  // packed: the column at each place
  index_t n_packed = 0;           // packed: the places taken
  double* const u;       // u_j: the clock U of column j's last write (clocked_l1)
  index_t* const last;   // the clock of column j's last write (averaging, carried)
  double* const sums;    // S: the average's sums, in W's layout (averaging)
  // The optimizer's state during the call, in W's layout: array s at state + s·state_step.
  T* state;
  index_t state_step;
  ClockTrack clock;
  MomentumMapTree maps;  // the steps' maps of untouched coordinates (carried)
  std::vector<acc_t> p, g;    // the step's outputs and derivatives, row r at r·K
  std::vector<acc_t> gb;      // the step's intercept gradient sums (K)
  // A group of up to kGroupColumns touched columns, gathered side by side for update_values:
  // their indices, values, gradient sums and optimizer state.
  static constexpr index_t kGroupColumns = 64;
  std::vector<index_t> group_j;
  std::vector<double> group_w;
  std::vector<acc_t> group_g;
  std::vector<T> group_s;
  std::vector<Entry> entries;  // the step's non-zeros, at their columns' places
  bool columns_increase = true;  // the columns of `entries` strictly increase
  acc_t total_loss = 0;
  index_t applied = 0;         // steps applied
  index_t averaged_steps = 0;  // of them, averaged

  GeneralEpoch(const CsrEpochArgs<T, I>& a_, const CsrModelArgs<T>& m_, const Head& head_,
               T* W_, T* b_)
      : a(a_), m(m_), head(head_), coef(W_), W(W_), b(b_), K(m_.K), d(a_.X.n_cols), P(K * d),
        n(a_.n_rows), B(a_.batch_size), n_steps((n + B - 1) / B), pen(a_.penalty),
        opt(m_.optimizer), avg(m_.average), plain(opt.kind == OptimizerKind::sgd),
        averaging(avg.coef != nullptr),
        clocked_l1(pen.l1 > 0 && m_.untouched != Untouched::frozen),
        prefetch(std::size_t(P) * sizeof(T) > kPrefetchCoefficientsAbove),
        linear(plain && !(pen.l1 > 0) && m_.untouched == Untouched::decays),
        carried(m_.untouched == Untouched::carried),
        restart_below(averaging && linear
                          ? std::max(rebase_below<T>(), kLinearAverageRestartBelow)
                          : rebase_below<T>()),
        n_state(state_arrays(opt.kind)), opt_step0(opt.step ? *opt.step : 0),
        avg_step0(avg.step ? *avg.step : 0), update_values_with(values_update<T>(opt.kind)),
        in_place(m_.feature_major && n_state > 0 && m_.untouched != Untouched::decays &&
                 !clocked_l1 && !averaging),
        update_columns_with(columns_update<T>(opt.kind)),
        update_intercepts_with(intercepts_update<T>(opt.kind)),
        interleaved(std::is_same<T, double>::value && averaging && linear && m_.feature_major &&
                    d > 0 && d < index_t(INT32_MAX)),
        places(interleaved ? d : places_fit(a_)),
        packed(interleaved || (std::is_same<T, double>::value && in_place &&
                               amortizes_a_copy(a_, K, d) && places > 0)),
        col_stride(interleaved       ? 2 * K
                   : packed          ? (1 + n_state) * K
                   : m_.feature_major ? K
                                      : 1),
        k_stride(m_.feature_major ? 1 : d), u_store(clocked_l1 ? std::size_t(d) : 0),
        sums_store(averaging && !interleaved ? std::size_t(P) : 0),
        packed_store(packed ? std::size_t(places * col_stride) : 0),
        last_store((averaging && !linear) || carried ? std::size_t(d) : 0),
        columns_store(packed ? std::size_t(places) : 0),
        slot_store(packed ? std::size_t(d) : 0), slot_of(slot_store.get()),
        packed_columns(columns_store.get()), u(u_store.get()),
        last(last_store.get()), sums(interleaved ? packed_store.get() + K : sums_store.get()),
        state(opt.coef_state), state_step(P),
        p(std::size_t(std::min(B, n) * K)),
        g(p.size()), gb(std::size_t(K)), group_j(std::size_t(kGroupColumns)),
        group_w(std::size_t(kGroupColumns * K)), group_g(group_w.size()),
        group_s(std::size_t(n_state) * group_w.size()) {
    clock.restart();
    if (clocked_l1) std::fill(u, u + d, 0.0);
    if (last) std::fill(last, last + d, index_t(0));
    if (carried) maps.reset(n_steps, averaging);
    if constexpr (std::is_same<T, double>::value) {
      if (packed) {
        W = packed_store.get();
        state = W + K;  // unused by the linear average, whose sums are there instead
        state_step = K;
        std::fill(slot_of, slot_of + d, std::int32_t(-1));
      }
    }
    if (averaging && !interleaved) {  // the sums so far (interleaved: at a column's place)
      const double count = sums_count();
      for_each_coefficient([&](index_t q, index_t o) { sums[q] = double(avg.coef[o]) * count; });
    }
  }

  // Calls f(q, o) for each coefficient that W holds: q its position in W and sums, o in the
  // caller's arrays (coef, the average). Packed W holds the columns placed so far.
  template <class F>
  void for_each_coefficient(F&& f) const {
    if (!packed) {
      for (index_t q = 0; q < P; ++q) f(q, q);
      return;
    }
    for (index_t q = 0; q < n_packed; ++q)
      for (index_t k = 0; k < K; ++k) f(q * col_stride + k, packed_columns[q] * K + k);
  }

  // The factor from the average's coefficients to the sums at the call's start: S = count·avg,
  // stored as R = −S by the linear average (see update_linear).
  double sums_count() const noexcept {
    return linear ? -double(averaged_before()) : double(averaged_before());
  }

  // Column j's values v and sums R, for a column the linear average has not placed: the
  // caller's (the clock has not restarted since the call's start, as a restart places every
  // column first).
  void unplaced_column(index_t j, double* FASTGD_RESTRICT v, double* FASTGD_RESTRICT r) const {
    const double count = sums_count();
    for (index_t k = 0; k < K; ++k) {
      v[k] = double(coef[j * K + k]);
      r[k] = double(avg.coef[j * K + k]) * count;
    }
  }

  // The places a packed call can need, min(d, X's stored values), or 0 when they do not fit its
  // 32-bit slots (then the call is not packed).
  static index_t places_fit(const CsrEpochArgs<T, I>& a) noexcept {
    const index_t rows = a.X.n_rows;
    const index_t stored = rows == 0 ? 0 : a.X.end(rows - 1) - a.X.begin(0);
    const index_t places = std::min(a.X.n_cols, stored);
    return places < index_t(INT32_MAX) ? places : 0;
  }

  // Column j's place in W (packed: copied in at its first touch, with its state).
  index_t place(index_t j) noexcept {
    if (!packed) return j;
    std::int32_t q = slot_of[j];
    if (q < 0) {
      q = std::int32_t(n_packed++);
      slot_of[j] = q;
      packed_columns[q] = j;
      T* FASTGD_RESTRICT to = W + index_t(q) * col_stride;
      if constexpr (std::is_same<T, double>::value) {
        if (interleaved) {
          unplaced_column(j, to, to + K);
          return q;
        }
      }
      const T* FASTGD_RESTRICT from = coef + j * K;
      std::copy(from, from + K, to);
      for (int st = 0; st < n_state; ++st) {
        const T* FASTGD_RESTRICT s = opt.coef_state + st * P + j * K;
        std::copy(s, s + K, to + (1 + st) * K);
      }
    }
    return q;
  }
  // The column at place q.
  index_t column_at(index_t q) const noexcept { return packed ? packed_columns[q] : q; }

  // The packed columns copied back to the caller's coef and state.
  void unpack() noexcept {
    for (index_t q = 0; q < n_packed; ++q) {
      const index_t j = packed_columns[q];
      const T* FASTGD_RESTRICT from = W + q * col_stride;
      std::copy(from, from + K, coef + j * K);
      for (int st = 0; st < n_state; ++st)
        std::copy(from + (1 + st) * K, from + (2 + st) * K, opt.coef_state + st * P + j * K);
    }
  }

  index_t at(index_t q, index_t k) const noexcept { return q * col_stride + k * k_stride; }
  // Calls f(k_stride), as a constant 1 when W is feature-major: a column's K values are then
  // contiguous, and the loops over them vector code.
  template <class F>
  void with_k_stride(F&& f) const {
    if (m.feature_major)
      f(std::integral_constant<index_t, 1>{});
    else
      f(k_stride);
  }
  // Steps averaged before this epoch, and whether step s of the epoch is averaged.
  index_t averaged_before() const noexcept {
    return std::max<index_t>(0, avg_step0 - avg.start + 1);
  }
  bool is_averaged(index_t s) const noexcept {
    return averaging && avg_step0 + s + 1 >= avg.start;
  }

  // w_{k,j} as of clock c.
  double read(index_t j, index_t k, index_t c) const noexcept {
    const double v = double(W[at(j, k)]);
    if (!clocked_l1) return clock.A[c] * v;
    return clock.A[c] * soft_threshold(v, clock.U[c] - u[j]);
  }

  // Σ of a coordinate's values over the clocks (from, c] of its untouched run, from its stored
  // value v (and its column's u_j).
  double run_sum(double v, index_t j, index_t from, index_t c) const noexcept {
    if (c <= from) return 0.0;
    if (!clocked_l1) return v * (clock.sum_A[c] - clock.sum_A[from]);
    // soft(v, U_c − u) is non-zero while U_c < |v| + u: on a prefix (from, end] of the run.
    const double reach = std::fabs(v) + u[j];
    const auto first = clock.U.begin() + (from + 1), past = clock.U.begin() + (c + 1);
    const index_t end = index_t(std::lower_bound(first, past, reach) - clock.U.begin()) - 1;
    if (end <= from) return 0.0;
    const double s = reach * (clock.sum_A[end] - clock.sum_A[from]) -
                     (clock.sum_AU[end] - clock.sum_AU[from]);
    return std::copysign(s, v);
  }

  // Adds to column j's sums its values over the clocks (last_j, c] of its untouched run.
  void add_untouched_run(index_t j, index_t c) const noexcept {
    const index_t from = last[j];
    if (c <= from) return;
    if (clocked_l1) {
      for (index_t k = 0; k < K; ++k) sums[at(j, k)] += run_sum(double(W[at(j, k)]), j, from, c);
      return;
    }
    const double sum_A = clock.sum_A[c] - clock.sum_A[from];
    with_k_stride([&](auto ks) {
      double* FASTGD_RESTRICT sum = sums + at(j, 0);
      const T* FASTGD_RESTRICT v = W + at(j, 0);
      for (index_t k = 0; k < K; ++k) sum[k * ks] += double(v[k * ks]) * sum_A;
    });
  }

  // Column j at place q (carried) brought from its last write to clock c (maps.end_at(c)
  // called): its coefficients and momentum buffers mapped by the product of the steps between,
  // their values over those steps added to the average's sums.
  void carry(index_t j, index_t q, index_t c) noexcept {
    const index_t from = last[j];
    if (from == c) return;
    last[j] = c;
    carry_by(q, maps.run_from(from));
  }
  void carry_by(index_t q, const MomentumMap& r) noexcept {
    carry_by(W + at(q, 0), state + at(q, 0), averaging ? sums + at(q, 0) : nullptr, r);
  }
  // The same for a column's coefficients w, buffers v and sums (or nullptr), k_stride apart.
  void carry_by(T* FASTGD_RESTRICT w, T* FASTGD_RESTRICT v, double* FASTGD_RESTRICT sum,
                const MomentumMap& r) noexcept {
    with_k_stride([&](auto ks) {
      if (sum) {
        for (index_t k = 0; k < K; ++k)
          sum[k * ks] += r.s1 * double(w[k * ks]) + r.s2 * double(v[k * ks]);
      }
      for (index_t k = 0; k < K; ++k) {
        const double wk = double(w[k * ks]), vk = double(v[k * ks]);
        w[k * ks] = T(r.p11 * wk + r.p12 * vk);
        v[k * ks] = T(r.p21 * wk + r.p22 * vk);
      }
    });
  }

  // Column j's values as of clock c (A, and the L1 threshold U_c − u_j, or < 0 without) and
  // its optimizer state into slot `slot` of the group.
  void gather(index_t j, index_t slot, double A, double threshold) noexcept {
    with_k_stride([&](auto ks) {
      double* FASTGD_RESTRICT w = group_w.data() + slot * K;
      const T* FASTGD_RESTRICT v = W + at(j, 0);
      if (threshold >= 0) {
        for (index_t k = 0; k < K; ++k) w[k] = A * soft_threshold_select(double(v[k * ks]), threshold);
      } else {
        for (index_t k = 0; k < K; ++k) w[k] = A * double(v[k * ks]);
      }
      const std::size_t G = group_w.size();
      for (int s = 0; s < n_state; ++s) {
        T* FASTGD_RESTRICT out = group_s.data() + s * G + slot * K;
        const T* FASTGD_RESTRICT in = state + s * state_step + at(j, 0);
        for (index_t k = 0; k < K; ++k) out[k] = in[k * ks];
      }
    });
  }

  // Slot `slot`'s new values stored for column j as of clock `next`, its state written back, and
  // with `averaged` its values added to the sums.
  void scatter(index_t j, index_t slot, const Clock& next, bool averaged) noexcept {
    with_k_stride([&](auto ks) {
      const double* FASTGD_RESTRICT w = group_w.data() + slot * K;
      T* FASTGD_RESTRICT v = W + at(j, 0);
      for (index_t k = 0; k < K; ++k) v[k * ks] = T(w[k] * next.inv_A);
      if (averaged) {
        double* FASTGD_RESTRICT sum = sums + at(j, 0);
        for (index_t k = 0; k < K; ++k) sum[k * ks] += double(v[k * ks]) * next.A;
      }
      const std::size_t G = group_w.size();
      for (int s = 0; s < n_state; ++s) {
        const T* FASTGD_RESTRICT in = group_s.data() + s * G + slot * K;
        T* FASTGD_RESTRICT out = state + s * state_step + at(j, 0);
        for (index_t k = 0; k < K; ++k) out[k * ks] = in[k];
      }
    });
  }

  // The group's m columns through the optimizer's step.
  void update_group(index_t m_columns, const ValuesStep& vs) noexcept {
    const std::size_t G = group_w.size();
    T* s0 = n_state > 0 ? group_s.data() : nullptr;
    T* s1 = n_state > 1 ? group_s.data() + G : nullptr;
    update_values_with(group_w.data(), group_g.data(), s0, s1, m_columns * K, vs);
  }

  // Every column brought up to date as of clock c (its average's sums too), for a new segment.
  void materialize(index_t c) noexcept {
    if (carried) {
      std::vector<MomentumMap> runs;
      maps.runs_to(c, runs);
      for (index_t j = 0; j < d; ++j) {
        if (last[j] < c) {
          if (!packed)
            carry_by(j, runs[last[j]]);
          else if (slot_of[j] >= 0)
            carry_by(slot_of[j], runs[last[j]]);
          else  // untouched by the call: in the caller's arrays (feature-major, no average)
            carry_by(coef + j * K, opt.coef_state + j * K, nullptr, runs[last[j]]);
        }
        last[j] = 0;
      }
      clock.restart();
      maps.restart();
      return;
    }
    const Clock now = clock.at(c);
    if (!averaging && now.A == 1.0 && now.U == 0.0) return;
    if (averaging && linear) {  // S = sum_A·v − R; the next segment starts at R = −S
      // Packed: every column placed (places = d), as the restart moves every coefficient.
      if (packed)
        for (index_t j = 0; j < d; ++j) place(j);
      const double sum_A = clock.sum_A[c];
      for_each_coefficient([&](index_t q, index_t) {
        const double v = double(W[q]);
        sums[q] -= sum_A * v;
        W[q] = T(now.A * v);
      });
      clock.restart();
      return;
    }
    for (index_t j = 0; j < d; ++j) {
      if (averaging) add_untouched_run(j, c);
      if (clocked_l1) {
        const double t = now.U - u[j];
        for (index_t k = 0; k < K; ++k)
          W[at(j, k)] = T(now.A * soft_threshold(double(W[at(j, k)]), t));
        u[j] = 0.0;
      } else {
        for (index_t k = 0; k < K; ++k) W[at(j, k)] = T(now.A * double(W[at(j, k)]));
      }
      if (averaging) last[j] = 0;
    }
    clock.restart();
  }

  // The clock after a step with constants sc, from the current one.
  Clock next_clock(const StepConstants& sc) const noexcept {
    const Clock now = clock.at(clock.now());
    switch (m.untouched) {
      case Untouched::decays: return advance(now, sc.lr, pen);
      case Untouched::thresholds: return Clock{1.0, now.U + sc.lr * pen.l1, 1.0};
      case Untouched::carried:
      case Untouched::frozen: break;
    }
    return Clock{};
  }

  // The coefficients (and L1 clocks, optimizer state, average sums) of row i, ahead of its turn:
  // with K·d beyond the caches each non-zero's K coefficients come from DRAM.
  FASTGD_ALWAYS_INLINE void prefetch_row_columns(index_t i) const noexcept {
    for (index_t e = a.X.begin(i); e < a.X.end(i); ++e) {
      const index_t j = a.X.indices[e];
      const index_t q = packed ? index_t(slot_of[j]) : j;
      if (q < 0) {  // packed, its first touch ahead: it is copied in from the caller's arrays
        const index_t bytes = K * index_t(sizeof(T));
        prefetch_lines(coef + j * K, bytes);
        for (int s = 0; s < n_state; ++s) prefetch_lines(opt.coef_state + s * P + j * K, bytes);
        if (interleaved) prefetch_lines(avg.coef + j * K, bytes);
      } else if (packed) {  // one run: the line the two parts share, once
        prefetch_lines(W + q * col_stride, col_stride * index_t(sizeof(T)));
      } else if (m.feature_major) {
        const index_t bytes = K * index_t(sizeof(T));
        prefetch_lines(W + j * col_stride, bytes);
        for (int s = 0; s < n_state; ++s)
          prefetch_lines(state + s * state_step + j * col_stride, bytes);
        if (averaging) prefetch_lines(sums + j * col_stride, K * index_t(sizeof(double)));
      } else {
        for (index_t k = 0; k < K; ++k) FASTGD_PREFETCH(W + k * d + j);
      }
      if (clocked_l1) FASTGD_PREFETCH(u + j);
      if (last) FASTGD_PREFETCH(last + j);
    }
  }

  // The places of row i's columns, ahead of prefetch_row_columns, which reads them: slot_of (d
  // values) is beyond the L2 cache.
  static constexpr index_t kPrefetchPlacesAhead = 2 * kPrefetchAhead;
  FASTGD_ALWAYS_INLINE void prefetch_row_places(index_t i) const noexcept {
    for (index_t e = a.X.begin(i); e < a.X.end(i); ++e) FASTGD_PREFETCH(slot_of + a.X.indices[e]);
  }

  // Phase 1 of a step: the outputs and derivatives of its rows [lo, hi) of the epoch, as of the
  // current clock, and its non-zeros. Returns the rows' weighted loss.
  acc_t predict_rows(index_t lo, index_t hi) noexcept {
    const index_t c = clock.now();
    const double A = clock.A[c];
    acc_t loss = 0;
    entries.clear();
    columns_increase = true;
    index_t previous = -1;  // the last entry's column
    if (carried) maps.end_at(c);
    for (index_t r = 0; r < hi - lo; ++r) {
      const index_t i = row_at(a, lo + r);
      prefetch_permuted(a, lo + r);
      if (prefetch && lo + r + kPrefetchAhead < n)
        prefetch_row_columns(row_at(a, lo + r + kPrefetchAhead));
      if (packed && prefetch && lo + r + kPrefetchPlacesAhead < n)
        prefetch_row_places(row_at(a, lo + r + kPrefetchPlacesAhead));
      acc_t* FASTGD_RESTRICT pr = p.data() + r * K;
      std::fill(pr, pr + K, acc_t(0));
      for (index_t e = a.X.begin(i); e < a.X.end(i); ++e) {
        const index_t j = a.X.indices[e];
        const acc_t x = acc_t(a.X.data[e]);
        if (previous >= j) columns_increase = false;
        previous = j;
        const index_t q = place(j);
        entries.push_back({q, r, x});
        if (carried) carry(j, q, c);
        // The column's optimizer state and average sums, into L1 for this step's update (read,
        // then written): their misses overlap with the prediction's work. Not where they share
        // the column's run, which prefetch_row_columns has fetched whole rows ahead: a second
        // request for its lines made the epoch slower (bench/MEASUREMENTS.md).
        if (m.feature_major && !(packed && prefetch)) {
          for (int st = 0; st < n_state; ++st)
            prefetch_lines<true>(state + st * state_step + q * col_stride,
                                 K * index_t(sizeof(T)));
          if (averaging)
            prefetch_lines<true>(sums + q * col_stride, K * index_t(sizeof(double)));
        }
        if (clocked_l1 && m.feature_major) {
          const T* FASTGD_RESTRICT col = W + j * col_stride;
          const double t = clock.U[c] - u[j], xa = x * A;
#pragma omp simd
          for (index_t k = 0; k < K; ++k) pr[k] += xa * soft_threshold_select(double(col[k]), t);
        } else if (clocked_l1) {
          for (index_t k = 0; k < K; ++k) pr[k] += x * read(j, k, c);
        } else if (m.feature_major) {
          const T* FASTGD_RESTRICT col = W + q * col_stride;
#pragma omp simd
          for (index_t k = 0; k < K; ++k) pr[k] += x * acc_t(col[k]);
        } else {
          for (index_t k = 0; k < K; ++k) pr[k] += x * acc_t(W[k * d + j]);
        }
      }
      for (index_t k = 0; k < K; ++k) pr[k] = (clocked_l1 ? pr[k] : A * pr[k]) + acc_t(b[k]);
      const acc_t si = a.sample_weight ? acc_t(a.sample_weight[i]) : 1.0;
      acc_t* gr = g.data() + r * K;
      loss += si * head.derivatives(i, pr, gr);
      for (index_t k = 0; k < K; ++k) gr[k] *= si;
    }
    return loss;
  }

  // The step's non-zeros by place (a column's, in row order), so that each column's are
  // together; already so when the step's columns strictly increase (one canonical row), in
  // whatever order their places are, unless the caller needs the places in increasing order.
  void sort_by_column(bool increasing_places = false) {
    if (columns_increase && !increasing_places) return;
    const auto decreasing = [](const Entry& x, const Entry& y) { return x.j > y.j; };
    if (std::adjacent_find(entries.begin(), entries.end(), decreasing) == entries.end()) return;
    std::stable_sort(entries.begin(), entries.end(),
                     [](const Entry& x, const Entry& y) { return x.j < y.j; });
  }

  // Phase 2, a lazy step: each touched column's coordinates updated from their summed gradient.
  void update_touched_columns(index_t s, index_t bs, const StepConstants& sc, const Clock& next) {
    const index_t c = clock.now();
    const bool averaged = is_averaged(s);
    sort_by_column();
    clock.push(next, averaged);
    if (carried) maps.push(momentum_step_map(opt.kind, opt.params, sc, pen.l2, averaged));
    const ValuesStep vs{acc_t(bs), inverse_if_exact(bs), &pen, &opt.params, &sc};
    if (in_place) {
      if (carried)  // carried to c by predict_rows
        for (const Entry& e : entries) last[column_at(e.j)] = c + 1;
      update_columns_with(W, state, state_step, col_stride, entries.data(), entries.size(),
                          g.data(), group_g.data(), K, vs);
      return;
    }
    for (std::size_t e = 0; e < entries.size();) {
      index_t m_columns = 0;
      for (; m_columns < kGroupColumns && e < entries.size(); ++m_columns) {
        const index_t j = entries[e].j;
        group_j[m_columns] = j;
        e = column_sum(entries.data(), entries.size(), e, j, g.data(), K,
                       group_g.data() + m_columns * K);
        if (carried) {  // carried to c by predict_rows
          last[j] = c + 1;
        } else if (averaging) {
          add_untouched_run(j, c);
          last[j] = c + 1;
        }
        gather(j, m_columns, clock.A[c], clocked_l1 ? clock.U[c] - u[j] : -1.0);
        if (clocked_l1) u[j] = next.U;
      }
      update_group(m_columns, vs);
      for (index_t slot = 0; slot < m_columns; ++slot)
        scatter(group_j[slot], slot, next, averaged);
    }
  }

  // Phase 2, a linear step (plain SGD, no L1, a > 0): each non-zero's contribution added into
  // v = w / A as it comes (see linear_factor).
  //
  // The average, as scikit-learn keeps it (Xu, 2011): with w_t = A_t·v_t and v changed by δ_s at
  // the steps s that touch it, the sum of w over the segment's averaged steps up to T is
  //   S_T = Σ_t A_t·v_t = sum_A_T·v_T − R,   R = Σ_s δ_s·sum_A_{s−1}
  // (sum_A: the prefix sums of A over averaged steps), so a step adds δ·sum_A to R at the
  // coordinates it changes, and nothing elsewhere: O(non-zeros), with no clock per column.
  void update_linear(index_t s, index_t bs, double lr, const Clock& next) {
    const double factor = linear_factor(lr, acc_t(bs), next);
    const double sum_A = clock.sum_A[clock.now()];
    for (const Entry& e : entries) {
      const acc_t* FASTGD_RESTRICT gr = g.data() + e.r * K;
      const acc_t cx = factor * e.x;
      if (m.feature_major && !averaging) {
        T* FASTGD_RESTRICT col = W + e.j * col_stride;
#pragma omp simd
        for (index_t k = 0; k < K; ++k) col[k] = T(acc_t(col[k]) + cx * gr[k]);
      } else if (m.feature_major) {
        T* FASTGD_RESTRICT col = W + e.j * col_stride;
        double* FASTGD_RESTRICT r = sums + e.j * col_stride;
#pragma omp simd
        for (index_t k = 0; k < K; ++k) {
          const T v = T(acc_t(col[k]) + cx * gr[k]);
          r[k] += (double(v) - double(col[k])) * sum_A;
          col[k] = v;
        }
      } else {
        for (index_t k = 0; k < K; ++k) {
          const index_t q = k * d + e.j;
          const T v = T(acc_t(W[q]) + cx * gr[k]);
          if (averaging) sums[q] += (double(v) - double(W[q])) * sum_A;
          W[q] = v;
        }
      }
    }
    clock.push(next, is_averaged(s));
  }

  // Phase 2, a step with a = 1 − lr·l2 ≤ 0 (plain SGD): applied to every coordinate, from the
  // segment's up-to-date values; the step starts a new segment.
  void update_dense(index_t s, index_t bs, const StepConstants& sc) {
    // Packed (only the linear average steps densely): materialize places every column, and the
    // loops below run over places.
    materialize(clock.now());
    sort_by_column(true);
    const bool averaged = is_averaged(s);
    const ValuesStep vs{acc_t(bs), inverse_if_exact(bs), &pen, &opt.params, &sc};
    std::size_t e = 0;
    for (index_t j0 = 0; j0 < d; j0 += kGroupColumns) {
      const index_t m_columns = std::min(kGroupColumns, d - j0);
      for (index_t slot = 0; slot < m_columns; ++slot) {
        e = column_sum(entries.data(), entries.size(), e, j0 + slot, g.data(), K,
                       group_g.data() + slot * K);
        gather(j0 + slot, slot, 1.0, -1.0);
      }
      update_group(m_columns, vs);
      // The new values start the segment: added to the sums (to R = −S, when linear, below).
      for (index_t slot = 0; slot < m_columns; ++slot)
        scatter(j0 + slot, slot, Clock{}, averaged && !linear);
    }
    if (averaged && linear)
      for_each_coefficient([&](index_t q, index_t) { sums[q] -= double(W[q]); });
  }

  void update_intercepts(index_t rows, const StepConstants& sc) noexcept {
    const acc_t bs = acc_t(rows);
    for (index_t k = 0; k < K; ++k) {
      acc_t sum = 0;
      for (index_t r = 0; r < rows; ++r) sum += g[r * K + k];
      gb[k] = sum;
    }
    if (plain) {
      for (index_t k = 0; k < K; ++k)
        b[k] = T(acc_t(b[k]) - sc.lr * (gb[k] / bs) * a.intercept_decay);
      return;
    }
    // the optimizer's step, scaled by the decay
    T* s0 = opt.intercept_state;
    update_intercepts_with(b, gb.data(), s0, n_state > 1 ? s0 + K : s0, K, bs, a.intercept_decay,
                           opt.params, sc);
  }

  // Step s; false when its loss is not finite (then it is not applied: the caller reports it).
  bool run_step(index_t s) {
    const index_t lo = s * B, hi = std::min(n, lo + B), bs = hi - lo;
    const acc_t loss = predict_rows(lo, hi);
    total_loss += loss;
    if (!std::isfinite(loss)) return false;
    const double lr = a.lrs[s];
    const StepConstants sc = step_constants(opt.kind, opt.params, lr, double(opt_step0 + s + 1));
    if (m.untouched == Untouched::decays && !(1.0 - lr * pen.l2 > 0)) {
      update_dense(s, bs, sc);
    } else {
      const Clock next = next_clock(sc);
      if (linear)
        update_linear(s, bs, lr, next);
      else
        update_touched_columns(s, bs, sc, next);
      if (clock.A.back() < restart_below) materialize(clock.now());
    }
    if (a.fit_intercept) update_intercepts(bs, sc);
    if (is_averaged(s)) {
      ++averaged_steps;
      const index_t k = avg_step0 + s + 1 - avg.start + 1;
      detail::average_into(avg.intercept, b, K, acc_t(k));
    }
    return true;
  }

  // The end of the call with the linear average: materialize's pass and the average's in one,
  // the sums S = sum_A·v − R never stored.
  void materialize_with_average(index_t c, index_t count) noexcept {
    const double A = clock.A[c], sum_A = clock.sum_A[c], scale = -1.0 / double(count);
    const auto finish = [&](double v, double r, index_t o) {
      coef[o] = T(A * v);
      if (count > 0) avg.coef[o] = T((r - sum_A * v) * scale);
    };
    if constexpr (std::is_same<T, double>::value) {
      if (packed) {  // the placed columns from W, the others from the caller's arrays
        double* untouched = group_w.data();  // 2K of its kGroupColumns·K values, free here
        for (index_t j = 0; j < d; ++j) {
          const double* run = untouched;
          if (slot_of[j] >= 0)
            run = W + index_t(slot_of[j]) * col_stride;
          else
            unplaced_column(j, untouched, untouched + K);
          for (index_t k = 0; k < K; ++k) finish(run[k], run[K + k], j * K + k);
        }
        return;
      }
    }
    for (index_t q = 0; q < P; ++q) finish(double(W[q]), sums[q], q);
  }

  acc_t run() {
    for (index_t s = 0; s < n_steps; ++s) {
      if (!run_step(s)) break;
      ++applied;
    }
    const index_t count = averaged_before() + averaged_steps;
    if (averaging && linear) {
      materialize_with_average(clock.now(), count);
    } else {
      materialize(clock.now());
      if (averaging && count > 0) {  // materialized: the sums are S
        const double scale = 1.0 / double(count);
        for (index_t q = 0; q < P; ++q) avg.coef[q] = T(sums[q] * scale);
      }
      if (packed) unpack();
    }
    if (opt.step) *opt.step += applied;
    if (avg.step) *avg.step += applied;
    return total_loss;
  }
};

}  // namespace sparse_detail

// One epoch on CSR data for any head (PointwiseHead, SoftmaxHead), optimizer and average, on one
// thread; W (K·d values in the layout of m.feature_major) and b (K) are updated in place, as are
// the optimizer's state and the average. Returns the progressive loss; a non-finite one stops the
// epoch before its step is applied, as the dense epoch does.
template <class T, class I, class Head>
acc_t sgd_epoch_csr_general(const CsrEpochArgs<T, I>& a, const CsrModelArgs<T>& m,
                            const Head& head, T* W, T* b) {
  sparse_detail::GeneralEpoch<T, I, Head> epoch(a, m, head, W, b);
  return epoch.run();
}

}  // namespace fastgd
