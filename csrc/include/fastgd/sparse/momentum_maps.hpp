// Momentum and Nesterov on the coordinates a CSR step does not touch, exactly (general_epoch.hpp,
// Untouched::carried).
//
// With no data gradient and no L1 step, one step of momentum or Nesterov (optimizers.hpp) maps a
// coordinate w and its momentum buffer v linearly: g = l2·w, then
//   v' = μ·v + (1 − dampening)·g        (the first step of a fit: v' = g)
//   w' = w − lr·v'                      (momentum)
//   w' = w − lr·(g + μ·v')              (Nesterov)
// so (w', v') = M_t·(w, v) for a 2×2 matrix M_t of the step's rate, the same for every coordinate.
// A coordinate left alone over steps (a, c] moves by the product M_c ⋯ M_{a+1}. Its inverse is
// ill-conditioned (det M_t = μ, and 0 on the first step), so the products are not kept as prefix
// products to divide; a segment tree over the epoch's steps holds the products of aligned runs
// of steps instead, and any run is the product of O(log) of them, all computed forwards. The
// runs a step asks for all end at that step: the nodes a run takes on its end's side depend only
// on the end, so they are multiplied once per step (end_at), and a run costs the nodes on its
// start's side, about log2(its length) / 2 products.
//
// For averaged SGD a map also carries the row S with Σ over the run's averaged steps u of
// w_u = S·(w, v): the run's contribution to the average's sums.
#pragma once

#include <vector>

#include "../config.hpp"
#include "../optimizers.hpp"

namespace fastgd {

// (w, v) ↦ P·(w, v) over a run of steps, and the sum S·(w, v) of w over its averaged steps.
struct MomentumMap {
  double p11 = 1, p12 = 0, p21 = 0, p22 = 1;
  double s1 = 0, s2 = 0;
};

// The run `first` followed by the run `then`; without `Sums`, S is left at zero (no average).
template <bool Sums>
inline MomentumMap followed_by(const MomentumMap& first, const MomentumMap& then) noexcept {
  MomentumMap r;
  r.p11 = then.p11 * first.p11 + then.p12 * first.p21;
  r.p12 = then.p11 * first.p12 + then.p12 * first.p22;
  r.p21 = then.p21 * first.p11 + then.p22 * first.p21;
  r.p22 = then.p21 * first.p12 + then.p22 * first.p22;
  if constexpr (Sums) {
    r.s1 = first.s1 + then.s1 * first.p11 + then.s2 * first.p21;
    r.s2 = first.s2 + then.s1 * first.p12 + then.s2 * first.p22;
  }
  return r;
}

// One step's map for an untouched coordinate (see the header comment).
inline MomentumMap momentum_step_map(OptimizerKind kind, const OptimizerParams& p,
                                     const StepConstants& sc, double l2, bool averaged) noexcept {
  const double mu = p.momentum;
  MomentumMap m;
  m.p21 = sc.first ? l2 : (1.0 - p.dampening) * l2;  // v' from w
  m.p22 = sc.first ? 0.0 : mu;                       // v' from v
  if (kind == OptimizerKind::nesterov) {
    m.p11 = 1.0 - sc.lr * (l2 + mu * m.p21);
    m.p12 = -sc.lr * mu * m.p22;
  } else {
    m.p11 = 1.0 - sc.lr * m.p21;
    m.p12 = -sc.lr * m.p22;
  }
  if (averaged) {
    m.s1 = m.p11;
    m.s2 = m.p12;
  }
  return m;
}

// The maps of an epoch's steps, pushed in order; after end_at(c), run_from(a) is the product of
// steps [a, c), with the average's sums S when `sums`.
class MomentumMapTree {
 public:
  void reset(index_t n_steps, bool sums) {
    leaves_ = 1;
    while (leaves_ < n_steps) leaves_ *= 2;
    nodes_.assign(std::size_t(2 * leaves_), MomentumMap{});
    index_t levels = 1;
    for (index_t l = leaves_; l > 1; l >>= 1) ++levels;
    tails_.assign(std::size_t(levels + 1), MomentumMap{});
    count_ = 0;
    sums_ = sums;
  }

  // The next push is the first step again (the nodes are rewritten as their steps come).
  void restart() noexcept { count_ = 0; }

  void push(const MomentumMap& m) noexcept {
    if (sums_)
      push_with<true>(m);
    else
      push_with<false>(m);
  }

  // Runs end at step c (≤ the steps pushed) until the next end_at.
  void end_at(index_t c) noexcept {
    end_ = c;
    if (sums_)
      tails_with<true>();
    else
      tails_with<false>();
  }

  MomentumMap run_from(index_t a) const noexcept {
    if (end_ - a == 1) return nodes_[leaves_ + a];
    return sums_ ? run_with<true>(a) : run_with<false>(a);
  }

  // run(a, c) for every a ≤ c, into runs[a]: for bringing every column to c at once.
  void runs_to(index_t c, std::vector<MomentumMap>& runs) const {
    runs.assign(std::size_t(c + 1), MomentumMap{});
    for (index_t a = c - 1; a >= 0; --a)
      runs[a] = sums_ ? followed_by<true>(nodes_[leaves_ + a], runs[a + 1])
                      : followed_by<false>(nodes_[leaves_ + a], runs[a + 1]);
  }

 private:
  // A node is complete when its last step is pushed: the nodes whose runs end at this step.
  template <bool Sums>
  void push_with(const MomentumMap& m) noexcept {
    index_t node = leaves_ + count_++;
    nodes_[node] = m;
    for (; node > 1 && (node & 1); node >>= 1)
      nodes_[node >> 1] = followed_by<Sums>(nodes_[node - 1], nodes_[node]);
  }

  // The segment tree's walk over [a, end_) takes, at each level below the one where its two
  // sides meet, the node left of the end's side when that side is odd: tails_[h] holds their
  // product below level h.
  template <bool Sums>
  void tails_with() noexcept {
    index_t r = end_ + leaves_;
    for (std::size_t h = 0; h + 1 < tails_.size(); ++h, r >>= 1)
      tails_[h + 1] = (r & 1) ? followed_by<Sums>(nodes_[r - 1], tails_[h]) : tails_[h];
  }

  template <bool Sums>
  MomentumMap run_with(index_t a) const noexcept {
    MomentumMap head;
    std::size_t h = 0;
    for (index_t l = a + leaves_, r = end_ + leaves_; l < r; l >>= 1, r >>= 1, ++h)
      if (l & 1) head = followed_by<Sums>(head, nodes_[l++]);
    return followed_by<Sums>(head, tails_[h]);
  }

  std::vector<MomentumMap> nodes_;
  std::vector<MomentumMap> tails_;  // tails_[0] is the identity
  index_t leaves_ = 1, count_ = 0, end_ = 0;
  bool sums_ = false;
};

}  // namespace fastgd
