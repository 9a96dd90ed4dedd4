// The asynchronous CSR epoch (Hogwild!): not deterministic.
//
// Threads take the steps round-robin and each applies its own steps
// without any barrier, reading and writing the shared coefficients with relaxed atomic loads and
// stores (no locks; updates of other threads may be missed or interleave). The clock of step s is
// precomputed, so a thread reads and writes as of its own step. Not deterministic.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "../config.hpp"
#include "../huge_page_array.hpp"
#include "../parallel.hpp"
#include "../penalties.hpp"
#include "column_updates.hpp"
#include "epoch_args.hpp"
#include "lazy_penalty.hpp"
#include "pairs.hpp"
#include "predict.hpp"
#include "sync_epoch.hpp"
#include "threads.hpp"

namespace fastgd::sparse_detail {

// The clock before and after every step of an asynchronous epoch, restarted at (1, 0) after a
// step that takes A below rebase_below (a segment boundary: there all columns are brought up to
// date).
struct ClockSchedule {
  std::vector<Clock> before, after;
  std::vector<index_t> segment_ends;  // the first step after each segment (the last: n_steps)
};

template <class T>
ClockSchedule clock_schedule(const double* lrs, index_t n_steps, const Penalty& pen) {
  ClockSchedule out{std::vector<Clock>(n_steps), std::vector<Clock>(n_steps), {}};
  Clock c;
  for (index_t s = 0; s < n_steps; ++s) {
    out.before[s] = c;
    c = advance(c, lrs[s], pen);
    out.after[s] = c;
    if (c.A < rebase_below<T>() && s + 1 < n_steps) {
      out.segment_ends.push_back(s + 1);
      c = Clock{};
    }
  }
  out.segment_ends.push_back(n_steps);
  return out;
}

// The most non-zeros of one step's rows (at least 1): the room of a thread's pair buffer.
template <class T, class I>
index_t most_step_nonzeros(const CsrEpochArgs<T, I>& a) noexcept {
  const index_t n = a.n_rows, B = a.batch_size, n_steps = (n + B - 1) / B;
  index_t capacity = 1;
  for (index_t s = 0; s < n_steps; ++s) {
    index_t c = 0;
    for (index_t r = s * B; r < std::min(n, s * B + B); ++r) c += a.X.nnz(row_at(a, r));
    capacity = std::max(capacity, c);
  }
  return capacity;
}

// The asynchronous (Hogwild!) epoch (see the header comment): what its threads share, and one
// thread's steps.
template <class T, class I, class Loss>
struct HogwildEpoch {
  const CsrEpochArgs<T, I>& a;
  const Loss& loss;
  T* const b;
  const Penalty pen;
  const index_t n, B, n_steps;
  const int nt;
  const ClockSchedule clocks;
  const index_t capacity;                    // most_step_nonzeros
  std::vector<std::vector<Pair>> out;        // out[t]: thread t's pairs of a step
  std::vector<std::vector<index_t>> tables;  // tables[t]: thread t's table for combine_pairs
  std::vector<acc_t> losses;                 // losses[t]: thread t's rows' losses
  std::vector<std::vector<acc_t>> g_steps;   // g_steps[t]: g_i of thread t's step's rows
  HugePageArray<double> u;                   // the clocks u_j with L1 (set in the region)
  const LazyCoef<T, true> w;
  const LazyCoef<T, false> w_plain;
  const ColumnOwners owners;
  const bool prefetch;

  HogwildEpoch(const CsrEpochArgs<T, I>& a_, const Loss& loss_, T* w_out, T* b_)
      : a(a_), loss(loss_), b(b_), pen(a_.penalty), n(a_.n_rows), B(a_.batch_size),
        n_steps((n + B - 1) / B), nt(async_threads(a_)),
        clocks(clock_schedule<T>(a_.lrs, n_steps, pen)), capacity(most_step_nonzeros(a_)),
        out(nt, std::vector<Pair>(capacity)),
        tables(nt, std::vector<index_t>(table_size(capacity), -1)), losses(nt, 0.0),
        g_steps(nt, std::vector<acc_t>(std::size_t(std::min(B, n)))),
        u(pen.l1 > 0 ? std::size_t(a_.X.n_cols) : 0), w{w_out, u.get()}, w_plain{w_out, u.get()},
        owners(a_.X.n_cols, nt),
        prefetch(coefficient_bytes<T>(a_.X.n_cols, pen) > kPrefetchCoefficientsAbove) {}

  // Thread t's steps: seg_begin + t, seg_begin + t + nt, ... of each segment, then its columns
  // brought up to date at the segment's end.
  void run_thread(int t) noexcept {
    const index_t c_lo = owners.begin(t), c_hi = owners.begin(t + 1);
    if (w.u) std::fill(w.u + c_lo, w.u + c_hi, 0.0);
    acc_t my_loss = 0;
    index_t seg_begin = 0;
    barrier(nt);
    for (const index_t seg_end : clocks.segment_ends) {
      // Steps seg_begin, seg_begin + nt, ... are mine; the clock restarted at seg_begin.
      for (index_t s = seg_begin + t; s < seg_end; s += nt) run_step(s, t, my_loss);
      barrier(nt);
      // Segment end: bring my columns up to date and restart them at the clock (1, 0).
      w_plain.materialize(c_lo, c_hi, clocks.after[seg_end - 1]);
      barrier(nt);
      seg_begin = seg_end;
    }
    losses[t] = my_loss;
  }

  // Step s on thread t, as of its precomputed clock; its rows' losses are added to my_loss.
  FASTGD_ALWAYS_INLINE void run_step(index_t s, int t, acc_t& my_loss) noexcept {
    Pair* buf = out[t].data();
    acc_t* g_step = g_steps[t].data();
    const index_t lo = s * B, hi = std::min(n, lo + B);
    const Clock& now = clocks.before[s];
    const Clock& next = clocks.after[s];
    const acc_t bb = acc_t(load<true>(b));
    acc_t gb = 0;
    index_t m = 0;
    for (index_t r = lo; r < hi; ++r) {
      const index_t i = row_at(a, r);
      prefetch_permuted(a, r);
      if (prefetch) {  // the row kPrefetchAhead ahead among this thread's rows
        const index_t q = r + kPrefetchAhead < hi ? r + kPrefetchAhead
                                                  : r + kPrefetchAhead + (nt - 1) * B;
        if (q < n) prefetch_coefficients(a.X, row_at(a, q), w.v, w.u);
      }
      const acc_t p = w.u ? predict(a.X, i, w, now, bb)
                          : predict_scaled<T, I, true>(a.X, i, w.v, now.A, bb);
      const acc_t yi = acc_t(a.y[i]), si = a.sample_weight ? acc_t(a.sample_weight[i]) : 1.0;
      const acc_t g = si * loss.derivative(p, yi);
      my_loss += si * loss.value(p, yi);
      gb += g;
      g_step[r - lo] = g;
      if (g == 0 || !w.u) continue;  // without L1 the rows are read again below
      for (index_t k = a.X.begin(i); k < a.X.end(i); ++k)
        buf[m++] = {index_t(a.X.indices[k]), g * acc_t(a.X.data[k])};
    }
    const double lr = a.lrs[s];
    const acc_t bs = acc_t(hi - lo);
    if (w.u) {
      m = combine_pairs(buf, m, tables[t]);
      update_touched(buf, m, w, bs, lr, pen, now, next);
    } else {  // linear: each non-zero added as it comes, as add_pairs would add its pair
      const double c = linear_factor(lr, bs, next);
      for (index_t r = lo; r < hi; ++r)
        if (g_step[r - lo] != 0) add_row<true>(a.X, row_at(a, r), g_step[r - lo], w.v, c);
    }
    if (a.fit_intercept)
      store<true>(b, T(acc_t(load<true>(b)) - lr * (gb / bs) * a.intercept_decay));
  }
};

// The asynchronous (Hogwild!) epoch (see the header comment). Steps with a ≤ 0 have no lazy
// form; an epoch with any runs synchronously instead.
template <class T, class I, class Loss>
acc_t sgd_epoch_async(const CsrEpochArgs<T, I>& a, const Loss& loss, T* w, T* b) {
  HogwildEpoch<T, I, Loss> epoch(a, loss, w, b);
  if (!run_on_team(epoch)) return sgd_epoch_sync(rerun_alone(a), loss, w, b);
  acc_t total = 0;
  for (acc_t l : epoch.losses) total += l;
  return total;
}

}  // namespace fastgd::sparse_detail
