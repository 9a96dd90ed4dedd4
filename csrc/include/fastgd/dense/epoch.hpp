// The dense minibatch SGD epoch (sgd_epoch): the rows of each step split into fixed slices, each
// summed into accumulators of its own, the slices' sums added in slice order, so the result depends
// only on the inputs and the thread count, never on timing or on which thread computed what.
//
// Nothing inside the parallel region allocates or throws: its buffers are sized before it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "../config.hpp"
#include "../data.hpp"
#include "../optimizers.hpp"
#include "../parallel.hpp"
#include "../penalties.hpp"
#include "../simd.hpp"
#include "../step_sync.hpp"
#include "row_slice.hpp"
#include "slice_accumulators.hpp"
#include "small_batch.hpp"
#include "threads.hpp"
#include "update.hpp"

namespace fastgd {

// Inputs of one minibatch epoch (DESIGN.md, "Exact semantics"); the targets belong to the model.
template <class T>
struct EpochArgs {
  DenseView<T> X;
  const T* sample_weight;     // nullptr: all ones
  const std::int64_t* order;  // rows of the epoch, in order (distinct); nullptr: 0..n−1
  index_t n_rows;             // rows in the epoch: len(order), or n without order
  const double* lrs;          // one per step: ceil(n_rows / batch_size)
  index_t batch_size;
  Penalty penalty;
  bool fit_intercept;
  int n_threads;
  OptimizerArgs<T> optimizer{};  // plain SGD by default
  AverageArgs<T> average{};      // off by default
  CumulativeL1 cumulative{};     // l1_method="cumulative" (penalty.l1 is then 0); off by default
  // A block order's rows to stream, one per position (RowSlice::stream); nullptr: none.
  const std::int64_t* stream = nullptr;
};

namespace detail {

// One minibatch epoch on the general path (any model, optimizer, average and thread count): its
// sizes, its accumulators, and the two parts of a step, the slices' sums (compute) and the update
// (apply_step). The steps run on one thread (run_one_thread) or on several (run_threads).
template <class T, class Model>
struct MinibatchEpoch {
  const EpochArgs<T>& a;
  const Model& model;
  T* const w;
  T* const b;
  const index_t n, B, P, m, n_steps;
  const int nt, per, slices;
  const OptimizerArgs<T>& opt;
  const AverageArgs<T>& avg;
  const bool plain;
  const int ns;  // the optimizer's state arrays
  const OptimizerUpdate<T> update_with;
  const std::int64_t opt_step0, avg_step0;
  T* const st[2];   // the optimizer's state of the coefficients
  T* const bst[2];  // and of the intercepts
  // A gradient buffer per slice and a private one per thread (nt == 1: just one): the
  // coefficients' accumulators, the intercepts' (at P), and the slice's loss (at loss_at).
  SliceAccumulators accumulators;
  const index_t loss_at;
  // Written by the thread that applies each step: on a line of its own, away from the variables
  // that every thread reads at every step.
  struct alignas(64) {
    acc_t value = 0;
  } total_loss;
  // Steps applied: all of them, unless training diverges (apply_step).
  index_t applied;

  MinibatchEpoch(const EpochArgs<T>& a_, const Model& model_, int nt_, T* w_, T* b_)
      : a(a_), model(model_), w(w_), b(b_), n(a_.n_rows), B(a_.batch_size),
        P(model_.n_coef(a_.X.n_cols)), m(model_.n_intercepts()), n_steps((n + B - 1) / B),
        nt(nt_), per(slices_per_thread(std::min(B, n), P, nt)), slices(nt * per),
        opt(a_.optimizer), avg(a_.average), plain(opt.kind == OptimizerKind::sgd),
        ns(state_arrays(opt.kind)), update_with(optimizer_update<T>(opt.kind)),
        opt_step0(opt.step ? *opt.step : 0), avg_step0(avg.step ? *avg.step : 0),
        st{opt.coef_state, opt.coef_state ? opt.coef_state + P : nullptr},
        bst{opt.intercept_state, opt.intercept_state ? opt.intercept_state + m : nullptr},
        accumulators(nt > 1 ? slices + nt : 1, P, m), loss_at(accumulators.stride - 1),
        applied(n_steps) {}

  // Positions [begin, end) of the epoch's order that slice k of step s reads (empty past the end).
  Range slice_rows(index_t s, int k) const noexcept {
    const index_t lo = std::min(n, s * B), hi = std::min(n, lo + B);
    const Range rows = split(hi - lo, slices, k);
    return Range{lo + rows.begin, lo + rows.end};
  }

  // Slice k of step s into buf, from the weights as they are after step s − 1. Its rows are
  // prefetched on into those its thread most likely reads next: on one thread, all the rows after
  // them (a small batch is shorter than the prefetch distance); else the next slice of its block,
  // or the first of the block in the next step.
  FASTGD_ALWAYS_INLINE void compute(index_t s, int k, acc_t* buf) const noexcept {
    const Range rows = slice_rows(s, k);
    const Range next = nt == 1           ? Range{rows.end, n}
                       : (k + 1) % per ? slice_rows(s, k + 1)
                                       : slice_rows(s + 1, k + 1 - per);
    const RowSlice slice{a.order, rows, next, a.stream};
    std::fill(buf, buf + P + m, acc_t(0));
    buf[loss_at] = model.pass(a.X, a.sample_weight, slice, w, b, buf, buf + P);
  }

  // Step s from its slices' buffers grads[0..slices), summed in that order. A non-finite loss
  // means the weights diverged (or the data overflow): the step is not applied and the epoch
  // stops, leaving the last finite weights and returning the non-finite loss for the caller to
  // report.
  FASTGD_ALWAYS_INLINE bool apply_step(index_t s, const acc_t* const* grads) noexcept {
    const index_t lo = s * B, hi = std::min(n, lo + B);
    const acc_t lr = a.lrs[s], bs = acc_t(hi - lo);
    acc_t ls = 0;
    for (int k = 0; k < slices; ++k) ls += grads[k][loss_at];
    total_loss.value += ls;
    if (!std::isfinite(ls)) {
      applied = s;
      return false;
    }
    const StepConstants c = step_constants(opt.kind, opt.params, lr, double(opt_step0 + s + 1));
    if (plain) {
      update_weights(w, P, grads, slices, hi - lo, lr, a.penalty);
      if (a.cumulative.q) cumulative_clip_all(w, P, lr, a.cumulative);
    } else
      update_with(w, P, grads, slices, hi - lo, a.penalty, opt.params, c, st[0], st[1]);
    if (a.fit_intercept) update_intercepts(grads, lr, bs, c);
    average(s);
    return true;
  }

  FASTGD_ALWAYS_INLINE void update_intercepts(const acc_t* const* grads, acc_t lr, acc_t bs,
                                              const StepConstants& c) noexcept {
    for (index_t k = 0; k < m; ++k) {
      acc_t gb = 0;
      for (int u = 0; u < slices; ++u) gb += grads[u][P + k];
      T dummy = 0;
      b[k] = plain ? T(acc_t(b[k]) - lr * (gb / bs))
                   : T(optimizer_step(opt.kind, acc_t(b[k]), gb / bs, opt.params, c,
                                      ns > 0 ? bst[0][k] : dummy, ns > 1 ? bst[1][k] : dummy));
    }
  }

  // The running average after step s. It does not feed back into training.
  FASTGD_ALWAYS_INLINE void average(index_t s) noexcept {
    const std::int64_t step = avg_step0 + s + 1;
    if (avg.coef && step >= avg.start) {
      const acc_t k = acc_t(step - avg.start + 1);
      average_into(avg.coef, w, P, k);
      average_into(avg.intercept, b, m, k);
    }
  }

  void run_one_thread() noexcept {
    acc_t* buf = accumulators.grad(0);
    for (index_t s = 0; s < n_steps; ++s) {
      compute(s, 0, buf);
      if (!apply_step(s, &buf)) break;
    }
  }

  // Each gradient buffer belongs either to a slice (its result, see StepSync::swap_result) or to
  // one thread (`mine`, where it computes). The thread that applies a step gathers the slices'
  // buffers into its row of `gathered` (a cache line apart from the others' rows).
  void run_threads() {
    const index_t row = ((slices + 7) / 8) * 8 + 8;
    std::vector<const acc_t*> gathered(nt * row);
    StepSync sync(slices);
    for (int k = 0; k < slices; ++k) sync.set_result(k, accumulators.grad(k));
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
    {
      // Any team size works (a nested or limited team may have fewer threads than nt): the
      // slices are claimed, not assigned.
      const int t = thread_id();
      run_thread(t, sync, gathered.data() + t * row);
      sync.leave(team_size());
    }
  }

  // Thread t's part of the multi-threaded epoch: it claims slices until the last step is
  // published, and applies each step whose last slice it completes.
  FASTGD_ALWAYS_INLINE void run_thread(int t, StepSync& sync, const acc_t** grads) noexcept {
    acc_t* mine = accumulators.grad(slices + t);
    // How long a slice and an update take this thread: the last one's time, but at most twice
    // the previous estimate, so that one during which it was descheduled does not count.
    std::uint64_t slice_ticks = 0, update_ticks = 0;
    auto estimate = [](std::uint64_t& e, std::uint64_t took) {
      e = e ? std::min(took, 2 * e) : took;
    };
    for (;;) {
      const std::int64_t s = sync.step();
      if (s >= n_steps) break;
      int k = sync.claim(s, t * per);
      if (k < 0) {  // all claimed: wait for the step, or back up a late slice
        k = sync.wait(s, slice_ticks, update_ticks, t * per);
        if (k < 0) continue;
      }
      const std::uint64_t start = ticks();
      compute(s, k, mine);
      estimate(slice_ticks, ticks() - start);
      if (!sync.complete(s, k)) continue;  // a late or backup copy: dropped
      mine = sync.swap_result(k, mine);
      if (sync.last(s)) {
        for (int u = 0; u < slices; ++u) grads[u] = sync.result<acc_t>(u);
        const std::uint64_t begin = ticks();
        // After a divergence, publishing the last step ends the epoch for every thread.
        sync.publish(apply_step(s, grads) ? s : n_steps - 1);
        estimate(update_ticks, ticks() - begin);
      }
    }
  }

  // The steps' loss; the optimizer's and the average's step counts move on by the steps applied.
  acc_t finish() noexcept {
    if (opt.step) *opt.step += applied;
    if (avg.step) *avg.step += applied;
    return total_loss.value;
  }
};

}  // namespace detail

// One epoch of minibatch SGD. Updates the model's P coefficients w and m intercepts b in place and
// returns the progressive loss Σ_i s_i·L_i, each computed with the weights before the step that
// uses row i. Steps of a few rows on one thread take the small-batch path (small_batch.hpp).
//
// With nt > 1 threads all steps run in one parallel region, synchronized by a StepSync
// (step_sync.hpp) instead of a barrier: each step's rows are split into a fixed number of slices
// (slices_per_thread blocks of consecutive rows per thread), each computed by whichever thread
// claims it into a gradient buffer of its own; the thread that completes the last slice of the
// step sums the slices' buffers in slice order, updates w, b, the optimizer state and the average
// in place (one copy of each), and publishes the step. So the results depend on nt, through the
// slices, but never on timing or on which thread computed which slice, and a slow or descheduled
// thread holds no one up: the others compute its slices.
//
// sgd_epoch (below) runs this on a 64-byte-aligned w.
template <class T, class Model>
acc_t sgd_epoch_aligned(const EpochArgs<T>& a, const Model& model, T* w, T* b) {
  const index_t n = a.n_rows, B = a.batch_size;
  const int nt = threads_for(std::min(B, n), model.n_coef(a.X.n_cols), a.n_threads);
  if constexpr (Model::kSmallBatchPath) {
    if (nt == 1 && B <= detail::kMaxSmallBatch && a.optimizer.kind == OptimizerKind::sgd &&
        !a.average.coef)
      return B == 1 ? detail::small_batch_epoch<true>(a.X, model.y, a.sample_weight, a.order,
                                                      a.stream, n, B, a.lrs, a.penalty,
                                                      a.cumulative, a.fit_intercept, model.loss,
                                                      w, b)
                    : detail::small_batch_epoch<false>(a.X, model.y, a.sample_weight, a.order,
                                                       a.stream, n, B, a.lrs, a.penalty,
                                                       a.cumulative, a.fit_intercept, model.loss,
                                                       w, b);
  }
  detail::MinibatchEpoch<T, Model> epoch(a, model, nt, w, b);
  if (nt == 1)
    epoch.run_one_thread();
  else
    epoch.run_threads();
  return epoch.finish();
}

// One epoch of minibatch SGD (sgd_epoch_aligned), on a 64-byte-aligned copy of w when w is not
// aligned (NumPy aligns its arrays to 16 bytes): then no Vec load or store of w straddles two
// cache lines, and each step's stores of w forward whole to the next step's loads.
template <class T, class Model>
acc_t sgd_epoch(const EpochArgs<T>& a, const Model& model, T* w, T* b) {
  const index_t P = model.n_coef(a.X.n_cols);
  if (reinterpret_cast<std::uintptr_t>(w) % kVecBytes == 0) return sgd_epoch_aligned(a, model, w, b);
  std::vector<T> buffer(P + kVecBytes / sizeof(T));
  T* aligned = buffer.data();
  while (reinterpret_cast<std::uintptr_t>(aligned) % kVecBytes) ++aligned;
  std::copy(w, w + P, aligned);
  const acc_t loss = sgd_epoch_aligned(a, model, aligned, b);
  std::copy(aligned, aligned + P, w);
  return loss;
}

}  // namespace fastgd
