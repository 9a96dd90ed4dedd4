// The fused drivers on CSR data: the full-batch objective-and-gradient pass and the minibatch SGD
// epoch, each step at O(non-zeros of its batch), independent of the number of columns d.
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
// up to date and is applied densely.
// At the end of the call every coordinate is brought up to date once (O(d) per call).
//
// Threads, synchronous mode (deterministic): the rows of a step are split over threads, which
// compute p_i and L'(p_i, y_i) (reading w only) and emit the pairs (j, g_i·x_ij) into private
// buffers, bucketed by the thread that owns column j (columns are split into contiguous ranges).
// After a barrier each thread gathers its columns' pairs in row order, sorts them stably by j when
// they are not already increasing, sums each column's pairs in row order and updates it. Every
// column's gradient is thus summed in the same order whatever the thread count, and the per-row
// losses and intercept gradients are summed in row order by one thread: the result does not
// depend on the thread count at all.
//
// Asynchronous mode (Hogwild!): threads take the steps round-robin and each applies its own steps
// without any barrier, reading and writing the shared coefficients with relaxed atomic loads and
// stores (no locks; updates of other threads may be missed or interleave). The clock of step s is
// precomputed, so a thread reads and writes as of its own step. Not deterministic.
//
// Nothing inside the parallel regions throws: buffers that may grow do so under try/catch, and a
// failure stops every thread at the same barrier; the driver rethrows after the region.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <vector>

#include "config.hpp"
#include "data.hpp"
#include "parallel.hpp"
#include "penalties.hpp"
#include "scratch.hpp"
#include "simd.hpp"


namespace fastgd {

namespace sparse_detail {

using detail::barrier;
using detail::Range;
using detail::split;
using detail::short_team;
using detail::thread_id;

constexpr int kMaxThreads = 64;

// Which thread owns column j: (j·mult) >> 48 with mult = floor(T·2^48 / d), a multiply instead of a
// division per non-zero. Owner o holds the columns [begin(o), begin(o+1)).
struct ColumnOwners {
  index_t d;
  int parts;
  std::uint64_t mult;
  ColumnOwners(index_t d_, int parts_)
      : d(d_), parts(parts_), mult((std::uint64_t(parts_) << 48) / std::uint64_t(d_)) {}
  int owner(index_t j) const noexcept {
    return parts == 1 ? 0 : int((std::uint64_t(j) * mult) >> 48);
  }
  index_t begin(int o) const noexcept {
    if (parts == 1) return o == 0 ? 0 : d;
    const std::uint64_t b = ((std::uint64_t(o) << 48) + mult - 1) / mult;
    return std::min<index_t>(d, index_t(b));
  }
};

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

// One non-zero's contribution g_i·x_ij to column j's gradient sum.
struct Pair {
  index_t j;
  acc_t g;
};

// Sums the pairs of equal columns, in place: p[0:returned) holds each column once, in order of
// first occurrence, with its contributions added in the order they came (row order), so the sums
// do not depend on how pairs were bucketed over threads. O(m) with a small open-addressing table
// (`table`: table_size(m) entries, all -1; left all -1 again). Strictly increasing pairs
// (one canonical row) are returned as they are.
inline index_t combine_pairs(Pair* p, index_t m, std::vector<index_t>& table) noexcept {
  bool increasing = true;
  for (index_t k = 1; k < m && increasing; ++k) increasing = p[k - 1].j < p[k].j;
  if (increasing) return m;
  // table = [slots (a power of two) | the slot each unique column took, to clear them after].
  const std::uint64_t size = std::uint64_t(table.size()) / 2, mask = size - 1;
  index_t* slots = table.data();
  index_t* used = table.data() + size;
  int shift = 64;
  for (std::uint64_t z = size; z > 1; z >>= 1) --shift;
  index_t unique = 0;
  for (index_t k = 0; k < m; ++k) {
    const index_t j = p[k].j;
    std::uint64_t h = (std::uint64_t(j) * 0x9E3779B97F4A7C15ull) >> shift;
    while (slots[h] >= 0 && p[slots[h]].j != j) h = (h + 1) & mask;
    if (slots[h] < 0) {
      slots[h] = unique;
      used[unique] = index_t(h);
      p[unique++] = p[k];
    } else {
      p[slots[h]].g += p[k].g;
    }
  }
  for (index_t k = 0; k < unique; ++k) slots[used[k]] = -1;
  return unique;
}

// Table size for combine_pairs of up to m pairs: twice a power of two >= 2m.
inline std::size_t table_size(index_t m) noexcept {
  std::size_t size = 2;
  while (size < std::size_t(2 * m)) size <<= 1;
  return 2 * size;
}

// Rows this far ahead get their coefficients prefetched: with large d each non-zero reads a
// coefficient from DRAM, and a row's 10-100 independent misses overlap better with the next rows'.
// (Into L2 on a Zen 4, d = 2^20 to 2^24, 40 non-zeros per row: 2 was 1-5% faster than 4, and 8
// and 16 up to 3% slower; 1 as fast as 4.)
constexpr index_t kPrefetchAhead = 2;

// Only when the coefficients (and the L1 clocks) span more than this: while they fit in the L2
// cache, the prefetches are pure overhead (about 15% of a per-sample epoch at d = 2^16 in
// float64, 512 KiB, on the development machine).
constexpr std::size_t kPrefetchCoefficientsAbove = std::size_t(1) << 20;

// The bytes the kernel reads per coefficient: v_j, and u_j with L1.
template <class T>
inline std::size_t coefficient_bytes(index_t d, const Penalty& pen) noexcept {
  return std::size_t(d) * (sizeof(T) + (pen.l1 > 0 ? sizeof(double) : 0));
}

// Row i's coefficients v_j and, with L1, their clocks u_j (u: nullptr without). Inlined by force,
// as every prefetch helper (config.hpp, prefetch_lines).
template <class T, class I>
FASTGD_ALWAYS_INLINE void prefetch_coefficients(const CsrView<T, I>& X, index_t i, const T* v,
                                                const double* u) noexcept {
  const index_t hi = X.end(i);
  if (u) {
    for (index_t k = X.begin(i); k < hi; ++k) {
      FASTGD_PREFETCH(v + X.indices[k]);
      FASTGD_PREFETCH(u + X.indices[k]);
    }
  } else {
    for (index_t k = X.begin(i); k < hi; ++k) FASTGD_PREFETCH(v + X.indices[k]);
  }
}

// p_i = x_i·w + b and g_i = s_i·L'(p_i, y_i) for row i, with w read lazily as of clock c; with
// `kept`, the w_j it read are kept in kept[0:nnz(i)) (for update_row).
template <class T, class I, bool Relaxed>
inline acc_t predict(const CsrView<T, I>& X, index_t i, const LazyCoef<T, Relaxed>& w,
                     const Clock& c, acc_t b, double* kept = nullptr) noexcept {
  acc_t p = b;
  const index_t lo = X.begin(i), hi = X.end(i);
  for (index_t k = lo; k < hi; ++k) {
    const double wj = w.read(X.indices[k], c);
    if (kept) kept[k - lo] = wj;
    p += acc_t(X.data[k]) * wj;
  }
  return p;
}

// The same without L1, where w_j = A·v_j for every j: A factors out of the sum, and the sum runs
// in four independent chains (with one, a row's 40 dependent adds, not its loads, set the pace).
template <class T, class I, bool Relaxed = false>
inline acc_t predict_scaled(const CsrView<T, I>& X, index_t i, const T* v, double A,
                            acc_t b) noexcept {
  const I* indices = X.indices;  // in locals: see add_row
  const T* data = X.data;
  acc_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  index_t k = X.begin(i);
  const index_t hi = X.end(i);
  for (; k + 4 <= hi; k += 4) {
    s0 += acc_t(data[k]) * acc_t(load<Relaxed>(v + indices[k]));
    s1 += acc_t(data[k + 1]) * acc_t(load<Relaxed>(v + indices[k + 1]));
    s2 += acc_t(data[k + 2]) * acc_t(load<Relaxed>(v + indices[k + 2]));
    s3 += acc_t(data[k + 3]) * acc_t(load<Relaxed>(v + indices[k + 3]));
  }
  for (; k < hi; ++k) s0 += acc_t(data[k]) * acc_t(load<Relaxed>(v + indices[k]));
  return b + A * ((s0 + s1) + (s2 + s3));
}

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

// Records the first exception of a parallel region; rethrown by the driver after the region.
struct Failure {
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  void set(std::exception_ptr e) noexcept {
    bool expected = false;
    if (failed.compare_exchange_strong(expected, true)) error = e;
  }
  void rethrow() const {
    if (error) std::rethrow_exception(error);
  }
};

}  // namespace sparse_detail

// Below this many non-zeros per thread in a step, one thread is cheaper than the two barriers.
constexpr index_t kMinSparseWorkPerThread = 4096;

// The synchronous epoch's threads share the coefficients: each step's updates invalidate the other
// threads' cached copies of them. While the coefficients fit in the caches that makes a second
// thread a loss (2-4x slower epochs at d = 2^16, batch 256, on the 2-core development machine;
// even at d = 2^20); once they span far more than the caches every access misses anyway, and the
// threads pay (1.3-1.4x faster at d = 2^24). Below this many bytes of coefficients, one thread.
constexpr std::size_t kSparseThreadsAbove = std::size_t(16) << 20;

// Inputs of one minibatch epoch on CSR data (DESIGN.md, "Exact semantics").
template <class T, class I>
struct CsrEpochArgs {
  CsrView<T, I> X;
  const T* y;
  const T* sample_weight;     // nullptr: all ones
  const std::int64_t* order;  // rows of the epoch, in order (distinct); nullptr: 0..n−1
  index_t n_rows;             // rows in the epoch: len(order), or n without order
  const double* lrs;          // one per step: ceil(n_rows / batch_size)
  index_t batch_size;
  Penalty penalty;
  bool fit_intercept;
  int n_threads;
  bool asynchronous;  // Hogwild! (non-deterministic) instead of synchronous steps
};

namespace sparse_detail {

// These drivers split their rows and columns into nt static parts, which a short OpenMP team
// would leave undone, silently: each region checks its team first (detail::short_team), and the
// driver then reruns the call on one thread.
template <class T, class I>
CsrEpochArgs<T, I> rerun_alone(CsrEpochArgs<T, I> a) noexcept {
  a.n_threads = 1;
  return a;
}

template <class T, class I>
inline index_t row_at(const CsrEpochArgs<T, I>& a, index_t r) noexcept {
  return a.order ? index_t(a.order[r]) : r;
}

// Through a permutation, a row's CSR entries, target and weight are read at random (in order the
// hardware prefetcher streams them). They are prefetched in stages, each reading addresses that
// the previous one brought in: the row's indptr entry 2·kPrefetchRows (config.hpp) positions
// before it is used, its entries and target kPrefetchRows before, its coefficients
// kPrefetchAhead before (see prefetch_coefficients). Without this a shuffled epoch was 6x slower
// than one in order (d = 2^20, 40 non-zeros per row, per-sample steps).
template <class T, class I>
FASTGD_ALWAYS_INLINE void prefetch_permuted(const CsrEpochArgs<T, I>& a, index_t pos) noexcept {
  if (!a.order) return;
  if (pos + 2 * kPrefetchRows < a.n_rows)
    FASTGD_PREFETCH(a.X.indptr + a.order[pos + 2 * kPrefetchRows]);
  if (pos + kPrefetchRows < a.n_rows) {
    const index_t i = index_t(a.order[pos + kPrefetchRows]);
    const index_t k = a.X.begin(i), m = a.X.nnz(i);
    prefetch_lines(a.X.indices + k, m * index_t(sizeof(I)));
    prefetch_lines(a.X.data + k, m * index_t(sizeof(T)));
    FASTGD_PREFETCH(a.y + i);
    if (a.sample_weight) FASTGD_PREFETCH(a.sample_weight + i);
  }
}

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
  Scratch<double> u(pen.l1 > 0 ? std::size_t(d) : 0);  // the clocks u_j (set in the region)
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
  Scratch<double> u(pen.l1 > 0 ? std::size_t(d) : 0);  // the clocks u_j (set in the region)
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

// Whether every step of the epoch has a lazy form, a = 1 − lr·l2 > 0 (see the header comment):
// the asynchronous and the per-sample drivers need it.
template <class T, class I>
inline bool all_lazy(const CsrEpochArgs<T, I>& a) noexcept {
  const index_t n_steps = (a.n_rows + a.batch_size - 1) / a.batch_size;
  for (index_t s = 0; s < n_steps; ++s)
    if (!(1.0 - a.lrs[s] * a.penalty.l2 > 0)) return false;
  return true;
}

// Per-sample steps (batch 1) without L1, on one thread: scikit-learn's SGD on sparse data, the
// most common sparse epoch, as one loop with nothing per step but the step itself: the steps of
// sgd_epoch_sync on one thread without its per-step bookkeeping for threads and batches (1.05-1.2x
// faster at d = 2^16 to 2^24 on the development machine), and with each non-zero's update taking
// one product, (c·g)·x_ij, instead of c·(g·x_ij) (1.08-1.11x; a rounding apart from the other
// drivers, whose pairs need g·x_ij). Every step must be lazy (all_lazy). On that Zen 4 the
// loop runs about 3 instructions per cycle, at d = 2^10 (in L1) as at 2^16 (in L2): AVX-512
// gathers and scatters for the dot product and the update were 1.1-1.3x slower.
template <class T, class I, class Loss>
acc_t sgd_epoch_per_sample(const CsrEpochArgs<T, I>& a, const Loss& loss, T* v, T* b) {
  const index_t n = a.n_rows, d = a.X.n_cols;
  const Penalty pen = a.penalty;
  const LazyCoef<T, false> w{v, nullptr};
  const bool prefetch = coefficient_bytes<T>(d, pen) > kPrefetchCoefficientsAbove;
  Clock now;
  acc_t total_loss = 0;
  for (index_t s = 0; s < n; ++s) {
    const index_t i = row_at(a, s);
    prefetch_permuted(a, s);
    if (prefetch && s + kPrefetchAhead < n)
      prefetch_coefficients(a.X, row_at(a, s + kPrefetchAhead), v, nullptr);
    const acc_t p = predict_scaled(a.X, i, v, now.A, acc_t(*b));
    const acc_t yi = acc_t(a.y[i]), si = a.sample_weight ? acc_t(a.sample_weight[i]) : 1.0;
    const acc_t g = si * loss.derivative(p, yi);
    total_loss += si * loss.value(p, yi);
    const double lr = a.lrs[s];
    const Clock next = advance(now, lr, pen);
    if (g != 0) add_scaled_row(a.X, i, linear_factor(lr, 1.0, next) * g, v);
    now = next;
    if (now.A < rebase_below<T>()) {
      w.materialize(0, d, now);
      now = Clock{};
    }
    if (a.fit_intercept) *b = T(acc_t(*b) - lr * g);
  }
  w.materialize(0, d, now);
  return total_loss;
}

}  // namespace sparse_detail

// One epoch of minibatch SGD on CSR data; updates w (d values) and *b in place and returns the
// progressive loss, as fastgd::sgd_epoch does on dense data.
template <class T, class I, class Loss>
acc_t sgd_epoch_csr(const CsrEpochArgs<T, I>& a, const Loss& loss, T* w, T* b) {
  if (a.asynchronous && detail::usable_threads(a.n_threads) > 1 && sparse_detail::all_lazy(a))
    return sparse_detail::sgd_epoch_async(a, loss, w, b);
  if (a.batch_size == 1 && a.n_rows > 0 && !(a.penalty.l1 > 0) && sparse_detail::all_lazy(a))
    return sparse_detail::sgd_epoch_per_sample(a, loss, w, b);
  return sparse_detail::sgd_epoch_sync(a, loss, w, b);
}

// Objective F(w, b) and its (sub)gradient on CSR data, as fastgd::loss_and_grad on dense data.
// Rows are split over threads for the predictions; then each thread sums the gradient of its own
// range of columns over all rows in row order (deterministic, independent of the thread count).
template <class T, class I, class Loss>
acc_t loss_and_grad_csr(const CsrView<T, I>& X, const T* y, const T* sw, const T* w, acc_t b,
                        const Loss& loss, const Penalty& pen, T* grad, acc_t* grad_b,
                        int n_threads) {
  const index_t n = X.n_rows, d = X.n_cols;
  const index_t nnz = X.end(n - 1);
  const int nt = int(std::max<index_t>(
      1, std::min<index_t>({index_t(detail::usable_threads(n_threads)),
                          index_t(sparse_detail::kMaxThreads),
                            (nnz + d) / (4 * kMinSparseWorkPerThread)})));
  std::vector<acc_t> g_rows(n), loss_rows(n);
  Scratch<acc_t> sums{std::size_t(d)};  // the column sums, added into at random
  acc_t* acc = sums.get();
  const sparse_detail::ColumnOwners owners(d, nt);
  const sparse_detail::LazyCoef<T, false> coef{const_cast<T*>(w), nullptr};
  bool team_was_short = false;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    if (!detail::short_team(nt, team_was_short)) {
      const int t = sparse_detail::thread_id();
      const sparse_detail::Range rows = sparse_detail::split(n, nt, t);
      // Four rows' losses at a time, in one vector where the loss allows (losses_of).
      acc_t p[4], yk[4], value[4], derivative[4];
      for (index_t i0 = rows.begin; i0 < rows.end; i0 += 4) {
        const int m = int(std::min<index_t>(4, rows.end - i0));
        for (int k = 0; k < m; ++k) {
          p[k] = sparse_detail::predict(X, i0 + k, coef, sparse_detail::Clock{}, b);
          yk[k] = acc_t(y[i0 + k]);
        }
        if (m == 4) {
          losses_of<4>(loss, p, yk, value, derivative);
        } else {
          for (int k = 0; k < m; ++k) losses_of<1>(loss, p + k, yk + k, value + k, derivative + k);
        }
        for (int k = 0; k < m; ++k) {
          const acc_t si = sw ? acc_t(sw[i0 + k]) : 1.0;
          g_rows[i0 + k] = si * derivative[k];
          loss_rows[i0 + k] = si * value[k];
        }
      }
      sparse_detail::barrier(nt);
      const index_t c_lo = owners.begin(t), c_hi = owners.begin(t + 1);
      std::fill(acc + c_lo, acc + c_hi, acc_t(0));
      for (index_t i = 0; i < n; ++i) {
        const acc_t g = g_rows[i];
        if (g == 0) continue;
        for (index_t k = X.begin(i); k < X.end(i); ++k) {
          const index_t j = X.indices[k];
          if (j >= c_lo && j < c_hi) acc[j] += g * acc_t(X.data[k]);
        }
      }
      for (index_t j = c_lo; j < c_hi; ++j) {
        const acc_t wj = w[j];
        const acc_t sign = wj > 0 ? 1.0 : (wj < 0 ? -1.0 : 0.0);
        grad[j] = T(acc[j] / acc_t(n) + pen.l2 * wj + pen.l1 * sign);
      }
    }
  }
  if (team_was_short) return loss_and_grad_csr(X, y, sw, w, b, loss, pen, grad, grad_b, 1);
  acc_t loss_sum = 0, gb = 0, sq = 0, ab = 0;
  for (index_t i = 0; i < n; ++i) {
    loss_sum += loss_rows[i];
    gb += g_rows[i];
  }
  for (index_t j = 0; j < d; ++j) {
    sq += acc_t(w[j]) * acc_t(w[j]);
    ab += std::fabs(acc_t(w[j]));
  }
  *grad_b = gb / acc_t(n);
  return loss_sum / acc_t(n) + pen.value(sq, ab);
}

}  // namespace fastgd
