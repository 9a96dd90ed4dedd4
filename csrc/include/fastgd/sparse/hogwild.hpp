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

// The asynchronous (Hogwild!) epoch (see the header comment). Steps with a ≤ 0 have no lazy
// form; an epoch with any runs synchronously instead.
template <class T, class I, class Loss>
acc_t sgd_epoch_async(const CsrEpochArgs<T, I>& a, const Loss& loss, T* w_out, T* b) {
  const index_t n = a.n_rows, d = a.X.n_cols, B = a.batch_size;
  const index_t n_steps = (n + B - 1) / B;
  const Penalty pen = a.penalty;
  const int nt = int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(a.n_threads)), index_t(kMaxThreads),
                          n_steps})));

  // The clock before and after every step, restarted at (1, 0) after a step that takes A below
  // rebase_below (a segment boundary: there all columns are brought up to date).
  std::vector<Clock> before(n_steps), after(n_steps);
  std::vector<index_t> segment_ends;
  Clock c;
  for (index_t s = 0; s < n_steps; ++s) {
    before[s] = c;
    c = advance(c, a.lrs[s], pen);
    after[s] = c;
    if (c.A < rebase_below<T>() && s + 1 < n_steps) {
      segment_ends.push_back(s + 1);
      c = Clock{};
    }
  }
  segment_ends.push_back(n_steps);

  index_t capacity = 1;
  for (index_t s = 0; s < n_steps; ++s) {
    index_t c = 0;
    for (index_t r = s * B; r < std::min(n, s * B + B); ++r) c += a.X.nnz(row_at(a, r));
    capacity = std::max(capacity, c);
  }
  std::vector<std::vector<Pair>> out(nt);
  std::vector<std::vector<index_t>> tables(nt);
  for (int t = 0; t < nt; ++t) {
    out[t].resize(capacity);
    tables[t].assign(table_size(capacity), -1);
  }
  std::vector<acc_t> losses(nt, 0.0);
  std::vector<std::vector<acc_t>> g_steps(nt, std::vector<acc_t>(std::size_t(std::min(B, n))));
  HugePageArray<double> u(pen.l1 > 0 ? std::size_t(d) : 0);  // the clocks u_j (set in the region)
  const LazyCoef<T, true> w{w_out, u.get()};
  const LazyCoef<T, false> w_plain{w_out, u.get()};
  const ColumnOwners owners(d, nt);
  const bool prefetch = coefficient_bytes<T>(d, pen) > kPrefetchCoefficientsAbove;
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
      acc_t* g_step = g_steps[t].data();
      acc_t my_loss = 0;
      index_t seg_begin = 0;
      barrier(nt);
      for (const index_t seg_end : segment_ends) {
        // Steps seg_begin, seg_begin + nt, ... are mine; the clock restarted at seg_begin.
        for (index_t s = seg_begin + t; s < seg_end; s += nt) {
          const index_t lo = s * B, hi = std::min(n, lo + B);
          const Clock& now = before[s];
          const Clock& next = after[s];
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
          if (a.fit_intercept) store<true>(b, T(acc_t(load<true>(b)) - lr * (gb / bs)));
        }
        barrier(nt);
        // Segment end: bring my columns up to date and restart them at the clock (1, 0).
        w_plain.materialize(c_lo, c_hi, after[seg_end - 1]);
        barrier(nt);
        seg_begin = seg_end;
      }
      losses[t] = my_loss;
    }
  }
  if (team_was_short) return sgd_epoch_sync(rerun_alone(a), loss, w_out, b);
  acc_t total = 0;
  for (acc_t l : losses) total += l;
  return total;
}

}  // namespace fastgd::sparse_detail
