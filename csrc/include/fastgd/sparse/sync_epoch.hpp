// The synchronous CSR epoch (deterministic), on any number of threads.
//
// The rows of a step are split over threads, which compute p_i and L'(p_i, y_i) (reading w only)
// and emit the pairs (j, g_i·x_ij) into private buffers, bucketed by the thread that owns column j
// (columns are split into contiguous ranges). After a barrier each thread gathers its columns'
// pairs in row order, sums each column's pairs in row order (combine_pairs) and updates it. Every
// column's gradient is thus summed in the same order whatever the thread count, and the per-row
// losses and intercept gradients are summed in row order by one thread: the result does not
// depend on the thread count at all.
//
// Nothing inside the parallel region throws: buffers that may grow do so under try/catch, and a
// failure stops every thread at the same barrier; the driver rethrows after the region.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
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
#include "threads.hpp"

namespace fastgd::sparse_detail {

// The buffers that the threads of a synchronous epoch share, sized before its parallel region.
template <class T>
struct SyncBuffers {
  std::vector<std::vector<Pair>> out;        // out[t]: thread t's pairs of a step, by owner
  std::vector<std::vector<Pair>> mine;       // mine[t] (nt > 1): the pairs of thread t's columns
  std::vector<std::vector<index_t>> tables;  // tables[t]: thread t's table for combine_pairs
  std::vector<index_t> offsets;  // offsets[t·(nt+1) + o]: where thread t's pairs for owner o start
  std::vector<acc_t> g_rows, loss_rows;  // g_i and s_i·L_i of the step's rows, in row order
  // The w_j one row's prediction read, for direct_row steps (per-sample L1): room for the
  // epoch's longest row.
  std::vector<double> kept;
  HugePageArray<double> u;  // the clocks u_j with L1 (set in the region)

  // capacity[t]: the most non-zeros thread t's share of a step's rows has (pair_capacity).
  template <class I>
  SyncBuffers(const CsrEpochArgs<T, I>& a, int nt, const std::vector<index_t>& capacity,
              bool per_sample_l1)
      : out(nt),
        mine(nt > 1 ? nt : 0),
        tables(nt),
        u(a.penalty.l1 > 0 ? std::size_t(a.X.n_cols) : 0) {
    for (int t = 0; t < nt; ++t) out[t].resize(std::max<index_t>(1, capacity[t]));
    if (nt > 1) {  // room for twice a fair share of a step's pairs; grown in the region if needed
      const index_t most = *std::max_element(capacity.begin(), capacity.end());
      for (auto& m : mine) m.resize(std::size_t(2 * most + 64));
    }
    for (int t = 0; t < nt; ++t)
      tables[t].assign(table_size(nt > 1 ? index_t(mine[t].size()) : capacity[t]), -1);
    offsets.assign(std::size_t(nt) * (nt + 1), 0);
    const index_t n = a.n_rows, max_batch = std::min(a.batch_size, n);
    g_rows.resize(max_batch);
    loss_rows.resize(max_batch);
    index_t longest = 0;
    if (per_sample_l1)
      for (index_t r = 0; r < n; ++r) longest = std::max(longest, a.X.nnz(row_at(a, r)));
    kept.resize(static_cast<std::size_t>(longest));
  }
};

// The most non-zeros that thread t's share of a step's rows has, over the epoch (0 for all when
// `pairs` is false: no thread writes pairs).
template <class T, class I>
std::vector<index_t> pair_capacity(const CsrEpochArgs<T, I>& a, int nt, bool pairs) {
  const index_t n = a.n_rows, B = a.batch_size, n_steps = (n + B - 1) / B;
  std::vector<index_t> capacity(nt, 0);
  for (index_t s = 0; s < n_steps && pairs; ++s) {
    const index_t lo = s * B, hi = std::min(n, lo + B);
    for (int t = 0; t < nt; ++t) {
      const Range rows = split(hi - lo, nt, t);
      index_t c = 0;
      for (index_t r = lo + rows.begin; r < lo + rows.end; ++r) c += a.X.nnz(row_at(a, r));
      capacity[t] = std::max(capacity[t], c);
    }
  }
  return capacity;
}

// One step of the synchronous epoch, as every thread sees it.
struct SyncStep {
  index_t lo, hi;  // its positions [lo, hi) in the epoch's order
  acc_t b;         // the intercept before it
  double lr;
  double scale;  // a = 1 − lr·l2
  acc_t bs;      // its rows
  bool linear;   // linear in the pairs (see add_pairs)
  // One thread on a linear step reads its rows again in phase 2 instead of writing pairs.
  bool direct;
  // Likewise an L1 step of one row with strictly increasing columns (each column once), on one
  // thread: its prediction keeps the w_j it reads, and its update takes them and the row instead
  // of pairs and a second read (the same bits).
  bool direct_row;
};

// What one thread of the synchronous epoch holds: its columns, its pair buffer and its clock.
struct SyncThread {
  int t;
  index_t c_lo, c_hi;  // its columns
  Pair* buf;           // its pairs of a step, bucketed by column owner
  index_t* off;        // where its pairs for each owner start in buf
  Clock now;           // every thread keeps the same clock: the same arithmetic on the same rates
};

// The synchronous epoch (see the header comment): what its threads share, and each step's phases.
// The helpers of a step are inlined by force: they are named parts of one loop.
template <class T, class I, class Loss>
struct SyncEpoch {
  const CsrEpochArgs<T, I>& a;
  const Loss& loss;
  T* b;
  const Penalty pen;
  const index_t n, B, n_steps;
  const int nt;
  const bool per_sample_l1;
  SyncBuffers<T> buffers;
  const LazyCoef<T, false> w;
  const ColumnOwners owners;
  const bool prefetch;
  acc_t total_loss = 0;
  Failure failure;

  SyncEpoch(const CsrEpochArgs<T, I>& a_, const Loss& loss_, T* w_out, T* b_)
      : a(a_), loss(loss_), b(b_), pen(a_.penalty), n(a_.n_rows), B(a_.batch_size),
        n_steps((n + B - 1) / B), nt(sync_threads(a_)),
        per_sample_l1(pen.l1 > 0 && nt == 1 && B == 1),
        buffers(a_, nt, pair_capacity(a_, nt, writes_pairs()), per_sample_l1),
        w{w_out, buffers.u.get()}, owners(a_.X.n_cols, nt),
        prefetch(coefficient_bytes<T>(a_.X.n_cols, pen) > kPrefetchCoefficientsAbove) {}

  // Step s is linear without L1 and with a = 1 − lr·l2 > 0 (see add_pairs).
  bool linear_step(index_t s) const noexcept {
    return !(pen.l1 > 0) && 1.0 - a.lrs[s] * pen.l2 > 0;
  }
  // Whether any step writes pairs: one thread on linear steps only writes none (see `direct`),
  // and skips sizing their buffers (a pass over the rows).
  bool writes_pairs() const noexcept {
    bool pairs = nt > 1;
    for (index_t s = 0; s < n_steps && !pairs; ++s) pairs = !linear_step(s);
    return pairs;
  }

  FASTGD_ALWAYS_INLINE SyncStep step(index_t s) const noexcept {
    SyncStep st;
    st.lo = s * B;
    st.hi = std::min(n, st.lo + B);
    st.b = acc_t(*b);
    st.lr = a.lrs[s];
    st.scale = 1.0 - st.lr * pen.l2;
    st.bs = acc_t(st.hi - st.lo);
    st.linear = linear_step(s);
    st.direct = st.linear && nt == 1;
    st.direct_row = per_sample_l1 && st.scale > 0 && strictly_increasing(a.X, row_at(a, st.lo));
    return st;
  }

  // Thread t's part of the epoch: its rows of every step, then its columns.
  void run_thread(int t) {
    SyncThread me{t, owners.begin(t), owners.begin(t + 1), buffers.out[t].data(),
                  buffers.offsets.data() + std::size_t(t) * (nt + 1), Clock{}};
    if (w.u) std::fill(w.u + me.c_lo, w.u + me.c_hi, 0.0);
    barrier(nt);
    for (index_t s = 0; s < n_steps; ++s) {
      const SyncStep st = step(s);
      const Range rows = split(st.hi - st.lo, nt, t);
      predict_rows(st, rows, me);
      if (!st.direct && !st.direct_row) bucket_pairs(st, rows, me);
      barrier(nt);
      // Phase 2: my columns' pairs, in row order, applied.
      if (st.linear)
        apply_linear(st, rows, me);
      else if (st.direct_row)
        apply_row(st, me);
      else
        apply_summed(st, me);
      // Batch size 1 (check_options), so one thread: the row's columns are all mine.
      if (a.cumulative.q) clip_row(a.X, row_at(a, st.lo), w.v, me.now.A, st.lr, a.cumulative);
      if (t == 0) finish_step(st);
      barrier(nt);
      if (failure.failed.load()) break;  // every thread sees it after the same barrier
    }
    w.materialize(me.c_lo, me.c_hi, me.now);
  }

  // Phase 1: predictions and derivatives of my rows; with nt > 1, how many of my pairs go to each
  // column owner, as offsets into my buffer.
  FASTGD_ALWAYS_INLINE void predict_rows(const SyncStep& st, const Range& rows,
                                         SyncThread& me) noexcept {
    index_t* off = me.off;
    std::fill(off, off + nt + 1, index_t(0));
    for (index_t r = rows.begin; r < rows.end; ++r) {
      const index_t i = row_at(a, st.lo + r);
      prefetch_permuted(a, st.lo + r);
      if (prefetch && st.lo + r + kPrefetchAhead < n)
        prefetch_coefficients(a.X, row_at(a, st.lo + r + kPrefetchAhead), w.v, w.u);
      const acc_t p = w.u ? predict(a.X, i, w, me.now, st.b,
                                    st.direct_row ? buffers.kept.data() : nullptr)
                          : predict_scaled(a.X, i, w.v, me.now.A, st.b);
      const acc_t yi = acc_t(a.y[i]), si = a.sample_weight ? acc_t(a.sample_weight[i]) : 1.0;
      const acc_t g = si * loss.derivative(p, yi);
      buffers.g_rows[r] = g;
      buffers.loss_rows[r] = si * loss.value(p, yi);
      if (g != 0 && nt > 1)
        for (index_t k = a.X.begin(i); k < a.X.end(i); ++k)
          ++off[owners.owner(a.X.indices[k]) + 1];
    }
    for (int o = 0; o < nt; ++o) off[o + 1] += off[o];
  }

  // My rows' pairs into my buffer, bucketed by column owner, each bucket in row order.
  FASTGD_ALWAYS_INLINE void bucket_pairs(const SyncStep& st, const Range& rows,
                                         SyncThread& me) noexcept {
    index_t fill[kMaxThreads];
    std::copy(me.off, me.off + nt, fill);
    for (index_t r = rows.begin; r < rows.end; ++r) {
      const acc_t g = buffers.g_rows[r];
      if (g == 0) continue;  // as the dense kernel: a zero derivative adds nothing
      const index_t i = row_at(a, st.lo + r);
      for (index_t k = a.X.begin(i); k < a.X.end(i); ++k) {
        const index_t j = a.X.indices[k];
        me.buf[fill[owners.owner(j)]++] = {j, g * acc_t(a.X.data[k])};
      }
    }
    if (nt == 1) me.off[1] = fill[0];
  }

  // Where thread k's pairs for each owner start in out[k].
  const index_t* offsets_of(int k) const noexcept {
    return buffers.offsets.data() + std::size_t(k) * (nt + 1);
  }

  // A linear step: each pair (or, direct, each row's non-zero) added into v_j as it comes.
  FASTGD_ALWAYS_INLINE void apply_linear(const SyncStep& st, const Range& rows,
                                         SyncThread& me) noexcept {
    const Clock next = advance(me.now, st.lr, pen);
    const double c = linear_factor(st.lr, st.bs, next);
    if (st.direct) {
      for (index_t r = rows.begin; r < rows.end; ++r)
        if (buffers.g_rows[r] != 0)
          add_row(a.X, row_at(a, st.lo + r), buffers.g_rows[r], w.v, c);
    } else {
      for (int k = 0; k < nt; ++k) {
        const index_t* ok = offsets_of(k);
        add_pairs(buffers.out[k].data() + ok[me.t], ok[me.t + 1] - ok[me.t], w.v, c);
      }
    }
    move_clock(me, next);
  }

  // A direct_row step: the row's columns updated from the w_j its prediction kept.
  FASTGD_ALWAYS_INLINE void apply_row(const SyncStep& st, SyncThread& me) noexcept {
    const Clock next = advance(me.now, st.lr, pen);
    if (buffers.g_rows[0] != 0)
      update_row(a.X, row_at(a, st.lo), buffers.g_rows[0], w, buffers.kept.data(), st.bs, st.lr,
                 pen, next);
    move_clock(me, next);
  }

  // Any other step, summed per column first: the L1 step (or a ≤ 0) is not linear in the gradient.
  FASTGD_ALWAYS_INLINE void apply_summed(const SyncStep& st, SyncThread& me) {
    Pair* p = me.buf;
    index_t m = me.off[1];
    if (nt > 1) p = gather_pairs(me, m);
    m = combine_pairs(p, m, buffers.tables[me.t]);
    if (st.scale > 0) {
      const Clock next = advance(me.now, st.lr, pen);
      update_touched(p, m, w, st.bs, st.lr, pen, me.now, next);
      move_clock(me, next);
    } else {
      update_dense(p, m, w, me.c_lo, me.c_hi, st.bs, st.lr, pen, me.now);
      me.now = Clock{};
    }
  }

  // The pairs of my columns from every thread's buckets, in thread (so row) order, into mine[t];
  // m is set to their count. Growing mine[t] may fail: then the failure is recorded for every
  // thread to stop after the step, and m is 0.
  FASTGD_ALWAYS_INLINE Pair* gather_pairs(const SyncThread& me, index_t& m) noexcept {
    const int t = me.t;
    m = 0;
    for (int k = 0; k < nt; ++k) {
      const index_t* ok = offsets_of(k);
      m += ok[t + 1] - ok[t];
    }
    try {
      if (index_t(buffers.mine[t].size()) < m) {
        buffers.mine[t].resize(std::size_t(m) + m / 2);
        buffers.tables[t].assign(table_size(index_t(buffers.mine[t].size())), -1);
      }
    } catch (...) {
      failure.set(std::current_exception());
    }
    if (failure.failed.load()) {
      m = 0;
      return me.buf;
    }
    Pair* p = buffers.mine[t].data();
    index_t q = 0;
    for (int k = 0; k < nt; ++k) {
      const index_t* ok = offsets_of(k);
      std::copy(buffers.out[k].data() + ok[t], buffers.out[k].data() + ok[t + 1], p + q);
      q += ok[t + 1] - ok[t];
    }
    return p;
  }

  // After a lazy step: the clock moves on, and restarts at (1, 0) before A underflows.
  FASTGD_ALWAYS_INLINE void move_clock(SyncThread& me, const Clock& next) const noexcept {
    me.now = next;
    if (me.now.A < rebase_below<T>()) {
      w.materialize(me.c_lo, me.c_hi, me.now);
      me.now = Clock{};
    }
  }

  // Thread 0, at the end of a step: its losses and intercept gradient summed in row order, and
  // the intercept's update.
  FASTGD_ALWAYS_INLINE void finish_step(const SyncStep& st) noexcept {
    acc_t gb = 0, ls = 0;
    for (index_t r = 0; r < st.hi - st.lo; ++r) {
      gb += buffers.g_rows[r];
      ls += buffers.loss_rows[r];
    }
    total_loss += ls;
    if (a.fit_intercept) *b = T(acc_t(*b) - st.lr * (gb / st.bs) * a.intercept_decay);
  }
};

// The synchronous epoch (see the header comment).
template <class T, class I, class Loss>
acc_t sgd_epoch_sync(const CsrEpochArgs<T, I>& a, const Loss& loss, T* w, T* b) {
  SyncEpoch<T, I, Loss> epoch(a, loss, w, b);
  if (!run_on_team(epoch)) return sgd_epoch_sync(rerun_alone(a), loss, w, b);
  epoch.failure.rethrow();
  return epoch.total_loss;
}

}  // namespace fastgd::sparse_detail
