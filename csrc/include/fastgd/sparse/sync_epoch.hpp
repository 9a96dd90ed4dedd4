// The synchronous CSR epoch (deterministic), on any number of threads.
//
// The rows of a step are split over threads, which
// compute p_i and L'(p_i, y_i) (reading w only) and emit the pairs (j, g_i·x_ij) into private
// buffers, bucketed by the thread that owns column j (columns are split into contiguous ranges).
// After a barrier each thread gathers its columns' pairs in row order, sorts them stably by j when
// they are not already increasing, sums each column's pairs in row order and updates it. Every
// column's gradient is thus summed in the same order whatever the thread count, and the per-row
// losses and intercept gradients are summed in row order by one thread: the result does not
// depend on the thread count at all.
//
// Nothing inside the parallel regions throws: buffers that may grow do so under try/catch, and a
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

// The synchronous epoch (see the header comment).
template <class T, class I, class Loss>
acc_t sgd_epoch_sync(const CsrEpochArgs<T, I>& a, const Loss& loss, T* w_out, T* b) {
  const index_t n = a.n_rows, d = a.X.n_cols, B = a.batch_size;
  const index_t n_steps = (n + B - 1) / B, max_batch = std::min(B, n);
  const Penalty pen = a.penalty;

  // The epoch's non-zeros: all of X's when it takes every row (the order's rows are distinct).
  index_t nnz = 0;
  if (n == a.X.n_rows)
    nnz = a.X.end(n - 1) - a.X.begin(0);
  else
    for (index_t r = 0; r < n; ++r) nnz += a.X.nnz(row_at(a, r));
  const index_t per_step = nnz / n_steps;
  const std::size_t coef_bytes = coefficient_bytes<T>(d, pen);
  const index_t useful =
      coef_bytes > kSparseThreadsAbove ? per_step / kMinSparseWorkPerThread : index_t(1);
  const int nt = int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(a.n_threads)), index_t(kMaxThreads),
                            max_batch, useful})));

  // Step s is linear without L1 and with a = 1 − lr·l2 > 0 (see add_pairs).
  auto linear_step = [&](index_t s) { return !(pen.l1 > 0) && 1.0 - a.lrs[s] * pen.l2 > 0; };
  // Each thread's pair buffer holds the most non-zeros its share of a step's rows can have. One
  // thread on linear steps only writes no pairs (see `direct` below), and skips this pass over
  // the rows (about 4% of a per-sample epoch at d = 2^16 and 2^20).
  bool pairs = nt > 1;
  for (index_t s = 0; s < n_steps && !pairs; ++s) pairs = !linear_step(s);
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
  std::vector<std::vector<Pair>> out(nt), mine(nt > 1 ? nt : 0);
  std::vector<std::vector<index_t>> tables(nt);
  for (int t = 0; t < nt; ++t) out[t].resize(std::max<index_t>(1, capacity[t]));
  if (nt > 1) {  // room for twice a fair share of a step's pairs; grown in the region if needed
    const index_t most = *std::max_element(capacity.begin(), capacity.end());
    for (auto& m : mine) m.resize(std::size_t(2 * most + 64));
  }
  for (int t = 0; t < nt; ++t)
    tables[t].assign(table_size(nt > 1 ? index_t(mine[t].size()) : capacity[t]), -1);
  // offsets[t·(nt+1) + o]: where thread t's pairs for owner o start in out[t].
  std::vector<index_t> offsets(std::size_t(nt) * (nt + 1), 0);
  std::vector<acc_t> g_rows(max_batch), loss_rows(max_batch);
  // The w_j one row's prediction read, for direct_row steps (per-sample L1): room for the
  // epoch's longest row.
  const bool per_sample_l1 = pen.l1 > 0 && nt == 1 && B == 1;
  index_t longest = 0;
  if (per_sample_l1)
    for (index_t r = 0; r < n; ++r) longest = std::max(longest, a.X.nnz(row_at(a, r)));
  std::vector<double> kept(static_cast<std::size_t>(longest));
  HugePageArray<double> u(pen.l1 > 0 ? std::size_t(d) : 0);  // the clocks u_j (set in the region)
  const LazyCoef<T, false> w{w_out, u.get()};
  const ColumnOwners owners(d, nt);
  const bool prefetch = coef_bytes > kPrefetchCoefficientsAbove;
  acc_t total_loss = 0;
  Failure failure;
  bool team_was_short = false;

#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    if (!short_team(nt, team_was_short)) {
      const int t = thread_id();
      const index_t c_lo = owners.begin(t), c_hi = owners.begin(t + 1);
      if (w.u) std::fill(w.u + c_lo, w.u + c_hi, 0.0);
      Pair* buf = out[t].data();
      index_t* off = offsets.data() + std::size_t(t) * (nt + 1);
      Clock now;  // every thread keeps the same clock: the same arithmetic on the same rates
      // After a lazy step: the clock moves on, and restarts at (1, 0) before A underflows.
      auto move_clock = [&](const Clock& next) {
        now = next;
        if (now.A < rebase_below<T>()) {
          w.materialize(c_lo, c_hi, now);
          now = Clock{};
        }
      };
      barrier(nt);
      for (index_t s = 0; s < n_steps; ++s) {
        const index_t lo = s * B, hi = std::min(n, lo + B);
        const Range rows = split(hi - lo, nt, t);
        const acc_t bb = acc_t(*b);
        const double lr = a.lrs[s];
        const double scale = 1.0 - lr * pen.l2;
        const acc_t bs = acc_t(hi - lo);
        const bool linear = linear_step(s);
        // One thread on a linear step reads its rows again in phase 2 instead of writing pairs.
        const bool direct = linear && nt == 1;
        // Likewise an L1 step of one row with strictly increasing columns (each column once), on
        // one thread: its prediction keeps the w_j it reads, and its update takes them and the
        // row instead of pairs and a second read (the same bits; elasticnet per-sample epochs
        // 1.3-1.4x faster at d = 2^16 and 2^20).
        const bool direct_row =
            per_sample_l1 && scale > 0 && strictly_increasing(a.X, row_at(a, lo));
        // Phase 1: predictions and derivatives of my rows; my pairs, bucketed by column owner.
        std::fill(off, off + nt + 1, index_t(0));
        for (index_t r = rows.begin; r < rows.end; ++r) {
          const index_t i = row_at(a, lo + r);
          prefetch_permuted(a, lo + r);
          if (prefetch && lo + r + kPrefetchAhead < n)
            prefetch_coefficients(a.X, row_at(a, lo + r + kPrefetchAhead), w.v, w.u);
          const acc_t p = w.u ? predict(a.X, i, w, now, bb, direct_row ? kept.data() : nullptr)
                                     : predict_scaled(a.X, i, w.v, now.A, bb);
          const acc_t yi = acc_t(a.y[i]), si = a.sample_weight ? acc_t(a.sample_weight[i]) : 1.0;
          const acc_t g = si * loss.derivative(p, yi);
          g_rows[r] = g;
          loss_rows[r] = si * loss.value(p, yi);
          if (g != 0 && nt > 1)
            for (index_t k = a.X.begin(i); k < a.X.end(i); ++k) ++off[owners.owner(a.X.indices[k]) + 1];
        }
        for (int o = 0; o < nt; ++o) off[o + 1] += off[o];
        if (!direct && !direct_row) {
          index_t fill[kMaxThreads];
          std::copy(off, off + nt, fill);
          for (index_t r = rows.begin; r < rows.end; ++r) {
            const acc_t g = g_rows[r];
            if (g == 0) continue;  // as the dense kernel: a zero derivative adds nothing
            const index_t i = row_at(a, lo + r);
            for (index_t k = a.X.begin(i); k < a.X.end(i); ++k) {
              const index_t j = a.X.indices[k];
              buf[fill[owners.owner(j)]++] = {j, g * acc_t(a.X.data[k])};
            }
          }
          if (nt == 1) off[1] = fill[0];
        }
        barrier(nt);
        // Phase 2: my columns' pairs, in row order, applied.
        if (linear) {
          const Clock next = advance(now, lr, pen);
          const double c = linear_factor(lr, bs, next);
          if (direct) {
            for (index_t r = rows.begin; r < rows.end; ++r)
              if (g_rows[r] != 0) add_row(a.X, row_at(a, lo + r), g_rows[r], w.v, c);
          } else {
            for (int k = 0; k < nt; ++k) {
              const index_t* ok = offsets.data() + std::size_t(k) * (nt + 1);
              add_pairs(out[k].data() + ok[t], ok[t + 1] - ok[t], w.v, c);
            }
          }
          move_clock(next);
        } else if (direct_row) {
          const Clock next = advance(now, lr, pen);
          if (g_rows[0] != 0)
            update_row(a.X, row_at(a, lo), g_rows[0], w, kept.data(), bs, lr, pen, next);
          move_clock(next);
        } else {
          // Summed per column first: the L1 step (or a ≤ 0) is not linear in the gradient.
          Pair* p = buf;
          index_t m = off[1];
          if (nt > 1) {
            m = 0;
            for (int k = 0; k < nt; ++k) {
              const index_t* ok = offsets.data() + std::size_t(k) * (nt + 1);
              m += ok[t + 1] - ok[t];
            }
            try {
              if (index_t(mine[t].size()) < m) {
                mine[t].resize(std::size_t(m) + m / 2);
                tables[t].assign(table_size(index_t(mine[t].size())), -1);
              }
            } catch (...) {
              failure.set(std::current_exception());
            }
            if (!failure.failed.load()) {
              p = mine[t].data();
              index_t q = 0;
              for (int k = 0; k < nt; ++k) {
                const index_t* ok = offsets.data() + std::size_t(k) * (nt + 1);
                std::copy(out[k].data() + ok[t], out[k].data() + ok[t + 1], p + q);
                q += ok[t + 1] - ok[t];
              }
            } else {
              m = 0;
            }
          }
          m = combine_pairs(p, m, tables[t]);
          if (scale > 0) {
            const Clock next = advance(now, lr, pen);
            update_touched(p, m, w, bs, lr, pen, now, next);
            move_clock(next);
          } else {
            update_dense(p, m, w, c_lo, c_hi, bs, lr, pen, now);
            now = Clock{};
          }
        }
        if (t == 0) {
          acc_t gb = 0, ls = 0;
          for (index_t r = 0; r < hi - lo; ++r) {
            gb += g_rows[r];
            ls += loss_rows[r];
          }
          total_loss += ls;
          if (a.fit_intercept) *b = T(acc_t(*b) - lr * (gb / bs));
        }
        barrier(nt);
        if (failure.failed.load()) break;  // every thread sees it after the same barrier
      }
      w.materialize(c_lo, c_hi, now);
    }
  }
  if (team_was_short) return sgd_epoch_sync(rerun_alone(a), loss, w_out, b);
  failure.rethrow();
  return total_loss;
}

}  // namespace fastgd::sparse_detail
