// The fused drivers: the full-batch objective-and-gradient pass and the minibatch SGD epoch.
//
// Both read each row of X once: p_i = x_i·w + b, g_i = s_i·L'(p_i, y_i), and grad += g_i·x_i while
// the row is still in L1. The rows of a batch are split into fixed slices (as many as threads,
// or a few per thread, see slices_per_thread), each summed into a gradient buffer of its own; the
// buffers are summed in slice order, so the result depends only on the inputs and the thread
// count, never on timing or on which thread computed what.
//
// Nothing inside the parallel regions allocates or throws: scratch space is sized before them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "data.hpp"
#include "optimizers.hpp"
#include "parallel.hpp"
#include "penalties.hpp"
#include "simd.hpp"
#include "step_sync.hpp"

namespace fastgd {

namespace detail {

// Dot products accumulate in the data's type, in the lanes of a Vec (simd.hpp): float32 rows get
// single-precision vector FMAs, half the work of widening every element to double, and the
// lanes are independent partial sums, so no add waits on the previous one. Every kDotChunk
// columns the partial sums are added in double, so the rounding error is bounded by the chunk
// length, not by d.
constexpr index_t kDotChunk = 512;

// p_k = x_k·w for R rows at once: the loads of w are shared, and the R sums are independent.
#if defined(__GNUC__)
// The Vec accumulators as Parts register-wide pieces each (simd.hpp, Piece).
template <int R, int Parts, class T>
FASTGD_ALWAYS_INLINE void dot_rows_in(const T* const* x, const T* FASTGD_RESTRICT w, index_t d,
                                      acc_t* p) noexcept {
  constexpr index_t L = kVecBytes / sizeof(T), W = L / Parts;
  using P = Piece<T, Parts>;
  for (int k = 0; k < R; ++k) p[k] = 0;
  for (index_t j0 = 0; j0 < d; j0 += kDotChunk) {
    const index_t j1 = std::min(d, j0 + kDotChunk);
    // Zeroed piece by piece: `= {}` on the array makes GCC clear it in memory (a rep stos per
    // call) before it moves into registers.
    P s[R][Parts];
    for (int k = 0; k < R; ++k)
      for (int q = 0; q < Parts; ++q) s[k][q] = P{};
    index_t j = j0;
    for (; j + L <= j1; j += L) {
      P wj[Parts];
      for (int q = 0; q < Parts; ++q) std::memcpy(&wj[q], w + j + q * W, sizeof(P));
      for (int k = 0; k < R; ++k)
        for (int q = 0; q < Parts; ++q) {
          P xj;
          std::memcpy(&xj, x[k] + j + q * W, sizeof xj);
          s[k][q] += xj * wj[q];
        }
    }
    // The columns past the last whole Vec: 16 bytes at a time into a vector of their own (its
    // lanes join the Vec's in sum_lanes), the last few one by one. (Element by element instead:
    // 1% slower at d = 100 floats, 7% at 104 and 108, a row pass in L2 on a Zen 4.)
    constexpr index_t L16 = 16 / sizeof(T);
    Vec16<T> part[R];
    for (int k = 0; k < R; ++k) part[k] = Vec16<T>{};
    for (; j + L16 <= j1; j += L16) {
      Vec16<T> wj;
      std::memcpy(&wj, w + j, sizeof wj);
      for (int k = 0; k < R; ++k) {
        Vec16<T> xj;
        std::memcpy(&xj, x[k] + j, sizeof xj);
        part[k] += xj * wj;
      }
    }
    T tail[R] = {};
    for (; j < j1; ++j)
      for (int k = 0; k < R; ++k) tail[k] += x[k][j] * w[j];
    for (int k = 0; k < R; ++k) p[k] += acc_t(sum_lanes<T, Parts>(s[k], part[k]) + tail[k]);
  }
}

template <int R, class T>
FASTGD_ALWAYS_INLINE void dot_rows(const T* const* x, const T* FASTGD_RESTRICT w, index_t d,
                                   acc_t* p) noexcept {
  // One predictable branch per call; each clone compiles all three (same results).
  switch (kVecParts) {
    case 1: return dot_rows_in<R, 1>(x, w, d, p);
    case 2: return dot_rows_in<R, 2>(x, w, d, p);
    default: return dot_rows_in<R, 4>(x, w, d, p);
  }
}
#else
template <int R, class T>
FASTGD_ALWAYS_INLINE void dot_rows(const T* const* x, const T* FASTGD_RESTRICT w, index_t d,
                                   acc_t* p) noexcept {
  constexpr index_t L = kVecBytes / sizeof(T);
  for (int k = 0; k < R; ++k) p[k] = 0;
  for (index_t j0 = 0; j0 < d; j0 += kDotChunk) {
    const index_t j1 = std::min(d, j0 + kDotChunk);
    Vec<T> s[R] = {};
    T tail[R] = {};
    index_t j = j0;
    for (; j + L <= j1; j += L) {
      const Vec<T> wj = load_vec(w + j);
      for (int k = 0; k < R; ++k) s[k] += load_vec(x[k] + j) * wj;
    }
    for (; j < j1; ++j)
      for (int k = 0; k < R; ++k) tail[k] += x[k][j] * w[j];
    for (int k = 0; k < R; ++k) {
      T sk = 0;
      for (T v : s[k].v) sk += v;
      p[k] += acc_t(sk + tail[k]);
    }
  }
}
#endif

// grad += Σ_k g_k·x_k over R rows: one read-modify-write of the gradient buffer for R rows. The
// R products are combined in the data's type (one widening to double per element, not R), and
// added to the double accumulators, which carry the sum over the batch.
template <int R, class T>
FASTGD_ALWAYS_INLINE void add_rows(const acc_t* g, const T* const* x, acc_t* FASTGD_RESTRICT grad,
                     index_t d) noexcept {
  T gk[R];
  for (int k = 0; k < R; ++k) gk[k] = T(g[k]);
#pragma omp simd
  for (index_t j = 0; j < d; ++j) {
    T v = 0;
    for (int k = 0; k < R; ++k) v += gk[k] * x[k][j];
    grad[j] += acc_t(v);
  }
}

// The rows one thread reads in one step: positions [rows.begin, rows.end) of the epoch's order,
// and the positions it reads in its next step (empty if none), so that prefetching runs on past
// the end of the step instead of stalling at the start of every small batch.
struct RowSlice {
  const std::int64_t* order;  // nullptr: position = row index
  Range rows;
  Range next;
  index_t row_at(index_t r) const noexcept { return order ? index_t(order[r]) : r; }
  // How many positions ahead rows are prefetched: kPrefetchRows through a permutation,
  // kPrefetchBytes' worth of rows in order.
  template <class T>
  static index_t prefetch_distance(const DenseView<T>& X, const std::int64_t* order) noexcept {
    if (order) return kPrefetchRows;
    return std::max<index_t>(1, kPrefetchBytes / std::max<index_t>(1, X.n_cols * sizeof(T)));
  }
  // Prefetch the row `ahead` positions after r (in this slice or the next one), and through a
  // permutation also its entries of the per-row arrays (targets, sample weights; null: none):
  // read at random, they miss the cache as the row does, and a row's loss waits for its target.
  // (Inlined by force, as every prefetch helper: config.hpp, prefetch_lines.)
  template <class T, class... PerRow>
  FASTGD_ALWAYS_INLINE void prefetch_ahead(const DenseView<T>& X, index_t r, index_t ahead,
                                           const PerRow*... per_row) const noexcept {
    index_t q = r + ahead;
    if (q >= rows.end) {
      q = next.begin + (q - rows.end);
      if (q >= next.end) return;
    }
    const index_t i = row_at(q);
    prefetch_lines(X.row(i), X.n_cols * index_t(sizeof(T)));
    if (order) ((per_row ? FASTGD_PREFETCH(per_row + i) : void()), ...);
  }
};

// The fused row pass over one slice: adds g_i·x_i into grad (which it does not clear), returns
// Σ s_i·L(p_i, y_i) and adds Σ g_i into *grad_b. Compiled for several instruction sets.
template <class T, class Loss>
FASTGD_MULTIVERSION acc_t row_pass(const DenseView<T>& X, const T* y, const T* sw,
                                   const RowSlice& slice, const T* w, acc_t b, const Loss& loss,
                                   acc_t* FASTGD_RESTRICT grad, acc_t* grad_b) noexcept {
  const index_t d = X.n_cols;
  acc_t loss_sum = 0, gb = 0;
  // One row's share: its loss and its factor g = s·L'(p, y), from L(p, y) and L'(p, y).
  auto factor = [&](index_t i, acc_t value, acc_t derivative) {
    const acc_t si = sw ? acc_t(sw[i]) : acc_t(1);
    loss_sum += si * value;
    const acc_t g = si * derivative;
    gb += g;
    return g;
  };
  const index_t ahead = RowSlice::prefetch_distance(X, slice.order);
  index_t r = slice.rows.begin;
  for (; r + 4 <= slice.rows.end; r += 4) {
    const T* x[4];
    index_t idx[4];
    for (int k = 0; k < 4; ++k) {
      slice.prefetch_ahead(X, r + k, ahead, y, sw);
      idx[k] = slice.row_at(r + k);
      x[k] = X.row(idx[k]);
    }
    acc_t p[4], yk[4], value[4], derivative[4], g[4];
    dot_rows<4>(x, w, d, p);
    for (int k = 0; k < 4; ++k) {
      p[k] += b;
      yk[k] = acc_t(y[idx[k]]);
    }
    losses_of<4>(loss, p, yk, value, derivative);
    for (int k = 0; k < 4; ++k) g[k] = factor(idx[k], value[k], derivative[k]);
    // Margin losses (hinge, ...) give g = 0 for most rows late in training: skip their reads.
    if (g[0] != 0 || g[1] != 0 || g[2] != 0 || g[3] != 0) add_rows<4>(g, x, grad, d);
  }
  for (; r < slice.rows.end; ++r) {
    slice.prefetch_ahead(X, r, ahead, y, sw);
    const index_t i = slice.row_at(r);
    const T* x = X.row(i);
    acc_t p, g;
    dot_rows<1>(&x, w, d, &p);
    p += b;
    g = factor(i, loss.value(p, acc_t(y[i])), loss.derivative(p, acc_t(y[i])));
    if (g != 0) add_rows<1>(&g, &x, grad, d);
  }
  *grad_b += gb;
  return loss_sum;
}

// The update of one step: w_j ← coord(j, w_j, (Σ_k grads[k][j]) / b_s) for all j, the slices'
// gradient buffers (`slices` of them) summed in order 0..slices−1.
template <class T, class Coord>
FASTGD_ALWAYS_INLINE void for_each_mean_gradient(T* FASTGD_RESTRICT w, index_t d,
                                                 const acc_t* const* grads, int slices, index_t bs,
                                                 Coord coord) noexcept {
  // In column chunks, so that each loop is a plain vector loop (a loop over threads inside the
  // loop over columns would keep it scalar).
  constexpr index_t kChunk = 64;
  acc_t sum[kChunk];
  // One slice needs no sums: its buffer is read in place, in one loop (epochs 2-4% faster at
  // batch 8 and 32, d = 100, one thread, than in chunks).
  const index_t chunk = slices > 1 ? kChunk : d;
  auto run = [&](auto mean) {
    for (index_t j0 = 0; j0 < d; j0 += chunk) {
      const index_t m = std::min(chunk, d - j0);
      const acc_t* g = grads[0] + j0;
      if (slices > 1) {
        std::copy(g, g + m, sum);
        for (int k = 1; k < slices; ++k) {
          const acc_t* gk = grads[k] + j0;
#pragma omp simd
          for (index_t j = 0; j < m; ++j) sum[j] += gk[j];
        }
        g = sum;
      }
      T* FASTGD_RESTRICT wc = w + j0;
#pragma omp simd
      for (index_t j = 0; j < m; ++j) wc[j] = T(coord(j0 + j, acc_t(wc[j]), mean(g[j])));
    }
  };
  // The mean is a division, so that batch_size = n gives bitwise the gradient of loss_and_grad.
  // For a power-of-two batch, multiplying by 2⁻ᵏ is exactly that division (both round the same
  // real number once) and costs a fraction of it; small steps spend much of their time here.
  if ((bs & (bs - 1)) == 0) {
    const acc_t inv = 1.0 / acc_t(bs);
    run([inv](acc_t x) { return x * inv; });
  } else {
    const acc_t div = acc_t(bs);
    run([div](acc_t x) { return x / div; });
  }
}

// The update of one step, plain SGD: w_j ← update_coordinate(w_j, ḡ_j, lr, pen), where ḡ_j is the
// batch mean of the gradient, the slices' buffers (`slices` of them) summed in order 0..slices−1.
// Compiled for several instruction sets: the division and the L1 step are vector work.
template <class T>
FASTGD_MULTIVERSION void update_weights(T* FASTGD_RESTRICT w, index_t d,
                                        const acc_t* const* grads, int slices, index_t bs, acc_t lr,
                                        const Penalty& pen) noexcept {
  for_each_mean_gradient(w, d, grads, slices, bs, [&](index_t, acc_t wj, acc_t gj) {
    return update_coordinate(wj, gj, lr, pen);
  });
}

// The same with an optimizer (optimizers.hpp): its state s0 (and s1), d values each.
template <OptimizerKind K, class T>
FASTGD_MULTIVERSION void update_weights_with(T* FASTGD_RESTRICT w, index_t d,
                                             const acc_t* const* grads, int slices, index_t bs,
                                             const Penalty& pen, const OptimizerParams& p,
                                             const StepConstants& c, T* FASTGD_RESTRICT s0,
                                             T* FASTGD_RESTRICT s1) noexcept {
  for_each_mean_gradient(w, d, grads, slices, bs, [&](index_t j, acc_t wj, acc_t gj) {
    return optimizer_step<K>(wj, gj, pen.l2, pen.l1, p, c, s0[j], state_arrays(K) == 2 ? s1[j]
                                                                                   : s0[j]);
  });
}

template <class T>
using OptimizerUpdate = void (*)(T*, index_t, const acc_t* const*, int, index_t, const Penalty&,
                                 const OptimizerParams&, const StepConstants&, T*, T*);

// The update function of a kind known at run time: chosen once per epoch.
template <class T>
OptimizerUpdate<T> optimizer_update(OptimizerKind kind) noexcept {
  switch (kind) {
    case OptimizerKind::momentum: return &update_weights_with<OptimizerKind::momentum, T>;
    case OptimizerKind::nesterov: return &update_weights_with<OptimizerKind::nesterov, T>;
    case OptimizerKind::adagrad: return &update_weights_with<OptimizerKind::adagrad, T>;
    case OptimizerKind::rmsprop: return &update_weights_with<OptimizerKind::rmsprop, T>;
    case OptimizerKind::adam: return &update_weights_with<OptimizerKind::adam, T>;
    case OptimizerKind::adamw: return &update_weights_with<OptimizerKind::adamw, T>;
    case OptimizerKind::sgd: break;
  }
  return &update_weights_with<OptimizerKind::sgd, T>;
}

// avg ← avg + (w − avg) / k over d values (averaged SGD).
template <class T>
inline void average_into(T* FASTGD_RESTRICT avg, const T* FASTGD_RESTRICT w, index_t d,
                         acc_t k) noexcept {
#pragma omp simd
  for (index_t j = 0; j < d; ++j) avg[j] = T(acc_t(avg[j]) + (acc_t(w[j]) - acc_t(avg[j])) / k);
}

// Per-thread scratch: a gradient buffer of P accumulators (the coefficients), m for the
// intercepts and one for the loss, padded to whole cache lines (and one line apart) so threads
// never share a line.
struct Scratch {
  index_t n_coef, stride;  // accumulators per thread
  std::vector<acc_t> data;
  Scratch(int threads, index_t P, index_t m = 1)
      : n_coef(P), stride(((P + m + 1 + 7) / 8) * 8 + 8), data(threads * stride) {}
  acc_t* grad(int t) noexcept { return data.data() + t * stride; }
  acc_t* grad_b(int t) noexcept { return data.data() + t * stride + n_coef; }
  acc_t& loss(int t) noexcept { return data[t * stride + stride - 1]; }
};

// Steps of at most this many rows on one thread take the small-batch path (small_batch_epoch).
// Against the general one (Zen 4, d = 100, float32, same process): batch 2 2.1x faster, 4 1.5x,
// 8 1.25x; batch 12 and 16 1.2x slower.
constexpr index_t kMaxSmallBatch = 8;

// The update of one small step from its rows x[0..rows) and their factors c_k = lr·g_k/b_s:
// w ← w − (u·w + Σ_k c_k·x_k) with u = lr·l2, then L1's step (threshold t = lr·l1, or none), in
// the data's type. Widening every element to double and back was most of the work of a float32
// per-sample step (Zen 4, d = 100: epochs 1.6x faster in float, with or without L1), and buys
// little: u·w + Σ c_k·x_k is small next to w except in the first steps from w = 0.
template <class T>
FASTGD_ALWAYS_INLINE void small_batch_update(T* FASTGD_RESTRICT w, const T* const* x, const T* c,
                                             index_t rows, index_t d, T u, T t) noexcept {
  if (rows == 1) {  // one pass over w, not the three of the chunks below
    const T* FASTGD_RESTRICT x0 = x[0];
    const T c0 = c[0];
    if (t == 0) {
#pragma omp simd
      for (index_t j = 0; j < d; ++j) w[j] = w[j] - (u * w[j] + c0 * x0[j]);
    } else {
#pragma omp simd
      for (index_t j = 0; j < d; ++j) {
        const T v = w[j] - (u * w[j] + c0 * x0[j]), a = std::fabs(v) - t;
        w[j] = a > 0 ? std::copysign(a, v) : T(0);
      }
    }
    return;
  }
  // acc = u·w + c_0·x_0 + c_1·x_1 + ..., summed in that order, 64 columns at a time: a loop over
  // rows inside the loop over columns would keep it scalar, so rows are added R at a time.
  constexpr index_t kChunk = 64;
  alignas(64) T acc[kChunk];
  for (index_t j0 = 0; j0 < d; j0 += kChunk) {
    const index_t m = std::min(kChunk, d - j0);
    T* FASTGD_RESTRICT wc = w + j0;
#pragma omp simd
    for (index_t j = 0; j < m; ++j) acc[j] = u * wc[j];
    auto add = [&](auto R, index_t k) {
#pragma omp simd
      for (index_t j = 0; j < m; ++j) {
        T v = acc[j];
        for (int q = 0; q < R; ++q) v += c[k + q] * x[k + q][j0 + j];
        acc[j] = v;
      }
    };
    index_t k = 0;
    for (; k + 4 <= rows; k += 4) add(std::integral_constant<int, 4>{}, k);
    for (; k < rows; ++k) add(std::integral_constant<int, 1>{}, k);
    if (t == 0) {
#pragma omp simd
      for (index_t j = 0; j < m; ++j) wc[j] = wc[j] - acc[j];
    } else {
#pragma omp simd
      for (index_t j = 0; j < m; ++j) {
        const T v = wc[j] - acc[j], a = std::fabs(v) - t;
        wc[j] = a > 0 ? std::copysign(a, v) : T(0);
      }
    }
  }
}

// Steps of at most kMaxSmallBatch rows on one thread (scikit-learn's per-sample loop at batch
// size 1): the step's gradient is Σ g_k·x_k over rows still in L1, so the update reads them again
// and writes w directly, with no gradient buffer to clear, fill and read back (a batch-8 epoch
// spent a quarter of its time on that buffer). Mathematically the general step, w ← w − lr·(g +
// l2·w), then L1, but in the data's type (small_batch_update).
//
// Compiled apart for batch size 1 (kPerSample), where the step's size is a constant: its factor
// and row then stay in registers (8% faster epochs than through the arrays).
template <bool kPerSample, class T, class Loss>
FASTGD_MULTIVERSION acc_t small_batch_epoch(const DenseView<T>& X, const T* y, const T* sw,
                                            const std::int64_t* order, index_t n, index_t B,
                                            const double* lrs, const Penalty& pen,
                                            bool fit_intercept, const Loss& loss,
                                            T* FASTGD_RESTRICT w, T* b) noexcept {
  const index_t d = X.n_cols;  // n: rows in the epoch (len(order), or all of X)
  const RowSlice all{order, {0, n}, {n, n}};
  const index_t ahead = RowSlice::prefetch_distance(X, order);
  acc_t loss_sum = 0;
  T bias = *b;
  const T* x[kMaxSmallBatch];
  T c[kMaxSmallBatch];
  for (index_t lo = 0, s = 0; lo < n; lo += B, ++s) {
    const index_t rows = kPerSample ? 1 : std::min(B, n - lo);
    // lr/b_s: computed before the step's dot products, it keeps a division off the chain from
    // one step's prediction to the next (exact for b_s = 1).
    const acc_t lr = lrs[s], scale = lr / acc_t(rows);
    acc_t step_loss = 0, gb = 0;
    // One row's share: its loss, g = s·L'(p, y) and the factor c = g·lr/b_s of its row, from
    // L(p, y) and L'(p, y).
    auto factor = [&](index_t k, index_t i, acc_t value, acc_t derivative) {
      const acc_t si = sw ? acc_t(sw[i]) : acc_t(1);
      step_loss += si * value;
      const acc_t g = si * derivative;
      c[k] = T(scale * g);
      gb += g;
    };
    index_t k = 0;
    for (; k + 4 <= rows; k += 4) {
      index_t idx[4];
      for (int q = 0; q < 4; ++q) {
        all.prefetch_ahead(X, lo + k + q, ahead, y, sw);
        idx[q] = all.row_at(lo + k + q);
        x[k + q] = X.row(idx[q]);
      }
      acc_t p[4], yq[4], value[4], derivative[4];
      dot_rows<4>(x + k, w, d, p);
      for (int q = 0; q < 4; ++q) {
        p[q] += acc_t(bias);
        yq[q] = acc_t(y[idx[q]]);
      }
      losses_of<4>(loss, p, yq, value, derivative);
      for (int q = 0; q < 4; ++q) factor(k + q, idx[q], value[q], derivative[q]);
    }
    for (; k < rows; ++k) {
      all.prefetch_ahead(X, lo + k, ahead, y, sw);
      const index_t i = all.row_at(lo + k);
      x[k] = X.row(i);
      acc_t p;
      dot_rows<1>(x + k, w, d, &p);
      p += acc_t(bias);
      factor(k, i, loss.value(p, acc_t(y[i])), loss.derivative(p, acc_t(y[i])));
    }
    loss_sum += step_loss;
    if (!std::isfinite(step_loss)) break;  // diverged: keep the last finite weights, report it
    small_batch_update(w, x, c, rows, d, T(lr * pen.l2), T(lr * pen.l1));
    if (fit_intercept) bias = T(acc_t(bias) - scale * gb);
  }
  *b = bias;
  return loss_sum;
}

// The fused row pass of the softmax model over one slice (see SoftmaxModel): per row, K dot
// products, the softmax, then grad_k += s·(q_k − t_k)·x for each class. Row blocks of 4 would
// need 4·K partial sums; K dots per row over a row already in L1 cost no extra memory traffic.
template <class T>
FASTGD_MULTIVERSION acc_t softmax_pass(const DenseView<T>& X, const T* sw, const RowSlice& slice,
                                       const T* W, const T* b, index_t K,
                                       const std::int64_t* labels, const T* probs,
                                       double smoothing, acc_t* FASTGD_RESTRICT grad,
                                       acc_t* FASTGD_RESTRICT grad_b) noexcept {
  const index_t d = X.n_cols;
  constexpr index_t kMaxStack = 64;  // classes held on the stack; more are done in chunks
  const index_t ahead = RowSlice::prefetch_distance(X, slice.order);
  acc_t loss_sum = 0;
  for (index_t r = slice.rows.begin; r < slice.rows.end; ++r) {
    slice.prefetch_ahead(X, r, ahead, sw, labels);
    const index_t i = slice.row_at(r);
    const T* x = X.row(i);
    const acc_t si = sw ? acc_t(sw[i]) : acc_t(1);
    // Two passes over the classes (max and normaliser, then the gradient); p_k is recomputed
    // in the second only when K exceeds the stack buffer.
    acc_t p_buf[kMaxStack];
    auto logit = [&](index_t k) {
      if (k < kMaxStack) return p_buf[k];
      acc_t p;
      const T* wk = W + k * d;
      dot_rows<1>(&x, wk, d, &p);
      return p + acc_t(b[k]);
    };
    acc_t pmax = -INFINITY;
    for (index_t k = 0; k < K; ++k) {
      acc_t p;
      const T* wk = W + k * d;
      dot_rows<1>(&x, wk, d, &p);
      p += acc_t(b[k]);
      if (k < kMaxStack) p_buf[k] = p;
      pmax = std::max(pmax, p);
    }
    acc_t z = 0;
    for (index_t k = 0; k < K; ++k) z += std::exp(logit(k) - pmax);
    const acc_t log_z = pmax + std::log(z);
    const acc_t uniform = smoothing / acc_t(K);
    acc_t row_loss = 0;
    for (index_t k = 0; k < K; ++k) {
      acc_t t = labels ? acc_t(labels[i] == k) : acc_t(probs[i * K + k]);
      t = (1.0 - smoothing) * t + uniform;
      const acc_t p = logit(k);
      row_loss += t * (log_z - p);  // −t_k·log q_k
      const acc_t g = si * (std::exp(p - log_z) - t);
      grad_b[k] += g;
      if (g != 0) add_rows<1>(&g, &x, grad + k * d, d);
    }
    loss_sum += si * row_loss;
  }
  return loss_sum;
}

}  // namespace detail

// Below this many multiply-adds per thread, a step is cheaper on one thread than the barrier
// that splitting it would need (about 0.6 µs per step for the barrier and the cross-core reads of
// the gradient buffers, measured on the 2-core development machine: d = 100 splits from 128 rows).
constexpr index_t kMinWorkPerThread = 6400;

// Threads worth using for steps of `rows` rows of width d (at most `requested`).
inline int threads_for(index_t rows, index_t d, int requested) noexcept {
  const index_t useful = std::max<index_t>(1, rows * d / kMinWorkPerThread);
  return int(std::max<index_t>(1, std::min<index_t>(detail::usable_threads(requested), useful)));
}

// A multi-threaded step is split into more slices than threads, a block of consecutive slices per
// thread, so that a thread that runs slower (a busy sibling core, an interrupt) does not hold the
// step up: the others claim what is left of its block (step_sync.hpp). Measured on the 2-core
// development machine (KVM, a noisy host): one thread often ran 3-6x slower than the other for
// stretches of seconds, and with one slice per thread each step waited for it.
constexpr int kSlicesPerThread = 4;
// A slice has at least this many rows: each costs a claim, a cleared gradient buffer and the
// hand-off of its result to the thread that applies the step. At batch 256 on 2 threads (d = 100)
// one slice per thread was 4% faster than two; at batch 4096 and full batch four were as fast
// (same process, alternating epochs).
constexpr index_t kMinRowsPerSlice = 128;
// And all slices' buffers together at most this many bytes.
constexpr index_t kMaxSliceBytes = index_t(64) << 20;

// Slices per thread for steps of `rows` rows and P coefficients on nt threads.
inline int slices_per_thread(index_t rows, index_t P, int nt) noexcept {
  if (nt == 1) return 1;
  const index_t by_rows = rows / (nt * kMinRowsPerSlice);
  const index_t by_bytes = kMaxSliceBytes / (nt * std::max<index_t>(1, P) * index_t(sizeof(acc_t)));
  return int(std::max<index_t>(1, std::min<index_t>({kSlicesPerThread, by_rows, by_bytes})));
}

// A model says how many coefficients and intercepts it has and how a slice of rows adds to the
// gradient; the drivers below do the rest (threads, the update, optimizers, averaging).
//
// LinearModel: one output, p = x·w + b, any pointwise loss (losses.hpp).
template <class T, class Loss>
struct LinearModel {
  static constexpr bool kSmallBatchPath = true;  // detail::small_batch_epoch applies
  const Loss& loss;
  const T* y;
  index_t n_coef(index_t d) const noexcept { return d; }
  index_t n_intercepts() const noexcept { return 1; }
  acc_t pass(const DenseView<T>& X, const T* sw, const detail::RowSlice& slice, const T* w,
             const T* b, acc_t* grad, acc_t* grad_b) const noexcept {
    return detail::row_pass(X, y, sw, slice, w, acc_t(b[0]), loss, grad, grad_b);
  }
};

// SoftmaxModel: K outputs p = W·x + b (W is K×d, row-major), cross-entropy against a target
// distribution t: hard labels (one-hot), or the rows of a probability matrix (soft labels),
// optionally smoothed, t ← (1 − ε)·t + ε/K. L = logsumexp(p) − Σ_k t_k·p_k, ∂L/∂p_k = q_k − t_k
// with q = softmax(p).
template <class T>
struct SoftmaxModel {
  static constexpr bool kSmallBatchPath = false;
  index_t K;
  const std::int64_t* labels;  // class of each row in [0, K), or nullptr
  const T* probs;              // n × K target probabilities, or nullptr
  double smoothing;            // ε
  index_t n_coef(index_t d) const noexcept { return K * d; }
  index_t n_intercepts() const noexcept { return K; }

  acc_t pass(const DenseView<T>& X, const T* sw, const detail::RowSlice& slice, const T* W,
             const T* b, acc_t* grad, acc_t* grad_b) const noexcept {
    return detail::softmax_pass(X, sw, slice, W, b, K, labels, probs, smoothing, grad, grad_b);
  }
};

// Objective F(w, b) = (1/n) Σ s_i·L_i + α·R(w) of a model and its (sub)gradient: grad (its P
// coefficients) and grad_b (its m intercepts). The L1 part of the subgradient is sign(w)·l1,
// zero at w = 0. One pass over X.
template <class T, class Model>
acc_t loss_and_grad(const DenseView<T>& X, const T* sw, const T* w, const T* b,
                    const Model& model, const Penalty& pen, T* grad, acc_t* grad_b,
                    int n_threads) {
  const index_t n = X.n_rows, d = X.n_cols, P = model.n_coef(d), m = model.n_intercepts();
  const int nt = threads_for(n, P, n_threads);
  // The slices of a full-batch step of sgd_epoch, so that its gradient is bitwise this one; here
  // each thread computes its own block of them.
  const int per = slices_per_thread(n, P, nt), slices = nt * per;
  detail::Scratch scratch(slices, P, m);
  acc_t loss_sum = 0, sq = 0, ab = 0;

#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
  {
    // Any team size works (a nested or limited team may have fewer threads than nt).
    const int t = detail::thread_id(), team = detail::team_size();
    for (int u = t; u < nt; u += team)
      for (int k = u * per; k < (u + 1) * per; ++k) {
        acc_t* g = scratch.grad(k);
        std::fill(g, g + P + m, acc_t(0));  // the coefficients' and the intercepts' accumulators
        const detail::Range rows = detail::split(n, slices, k);
        const index_t next_end = k + 1 < (u + 1) * per ? detail::split(n, slices, k + 1).end : n;
        const detail::RowSlice slice{nullptr, rows, {rows.end, next_end}};
        scratch.loss(k) = model.pass(X, sw, slice, w, b, g, scratch.grad_b(k));
      }
    detail::barrier(team);
    const detail::Range cols = detail::split(P, team, t);
    for (index_t j = cols.begin; j < cols.end; ++j) {
      acc_t gj = 0;
      for (int k = 0; k < slices; ++k) gj += scratch.grad(k)[j];
      const acc_t wj = w[j];
      const acc_t sign = wj > 0 ? 1.0 : (wj < 0 ? -1.0 : 0.0);
      grad[j] = T(gj / acc_t(n) + pen.l2 * wj + pen.l1 * sign);
    }
  }
  for (int k = 0; k < slices; ++k) loss_sum += scratch.loss(k);
  for (index_t c = 0; c < m; ++c) {
    acc_t gb = 0;
    for (int k = 0; k < slices; ++k) gb += scratch.grad_b(k)[c];
    grad_b[c] = gb / acc_t(n);
  }
  for (index_t j = 0; j < P; ++j) {
    sq += acc_t(w[j]) * acc_t(w[j]);
    ab += std::fabs(acc_t(w[j]));
  }
  return loss_sum / acc_t(n) + pen.value(sq, ab);
}

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
};

// One epoch of minibatch SGD. Updates the model's P coefficients w and m intercepts b in place and
// returns the progressive loss Σ_i s_i·L_i, each computed with the weights before the step that
// uses row i.
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
  const index_t n = a.n_rows, d = a.X.n_cols, B = a.batch_size;
  const index_t P = model.n_coef(d), m = model.n_intercepts();
  const index_t n_steps = (n + B - 1) / B;
  const int nt = threads_for(std::min(B, n), P, a.n_threads);
  const int per = slices_per_thread(std::min(B, n), P, nt), slices = nt * per;
  const OptimizerArgs<T>& opt = a.optimizer;
  const AverageArgs<T>& avg = a.average;
  const bool plain = opt.kind == OptimizerKind::sgd;
  if constexpr (Model::kSmallBatchPath) {
    if (nt == 1 && B <= detail::kMaxSmallBatch && plain && !avg.coef)
      return B == 1 ? detail::small_batch_epoch<true>(a.X, model.y, a.sample_weight, a.order, n,
                                                      B, a.lrs, a.penalty, a.fit_intercept,
                                                      model.loss, w, b)
                    : detail::small_batch_epoch<false>(a.X, model.y, a.sample_weight, a.order, n,
                                                       B, a.lrs, a.penalty, a.fit_intercept,
                                                       model.loss, w, b);
  }
  const int ns = state_arrays(opt.kind);
  const auto update_with = detail::optimizer_update<T>(opt.kind);
  const std::int64_t opt_step0 = opt.step ? *opt.step : 0;
  const std::int64_t avg_step0 = avg.step ? *avg.step : 0;
  T* const st[2] = {opt.coef_state, opt.coef_state ? opt.coef_state + P : nullptr};
  T* const bst[2] = {opt.intercept_state, opt.intercept_state ? opt.intercept_state + m : nullptr};
  // A gradient buffer per slice and a private one per thread (nt == 1: just one): the
  // coefficients' accumulators, the intercepts' (at P), and the slice's loss (at loss_at).
  detail::Scratch scratch(nt > 1 ? slices + nt : 1, P, m);
  const index_t loss_at = scratch.stride - 1;
  // Written by the thread that applies each step: on a line of its own, away from the variables
  // that every thread reads at every step.
  struct alignas(64) {
    acc_t value = 0;
  } total_loss;

  // Positions [begin, end) of the epoch's order that slice k of step s reads (empty past the end).
  auto slice_rows = [&](index_t s, int k) {
    const index_t lo = std::min(n, s * B), hi = std::min(n, lo + B);
    const detail::Range rows = detail::split(hi - lo, slices, k);
    return detail::Range{lo + rows.begin, lo + rows.end};
  };
  // Slice k of step s into buf, from the weights as they are after step s − 1. Its rows are
  // prefetched on into those its thread most likely reads next: on one thread, all the rows after
  // them (a small batch is shorter than the prefetch distance); else the next slice of its block,
  // or the first of the block in the next step.
  auto compute = [&](index_t s, int k, acc_t* buf) {
    const detail::Range rows = slice_rows(s, k);
    const detail::Range next = nt == 1           ? detail::Range{rows.end, n}
                               : (k + 1) % per ? slice_rows(s, k + 1)
                                               : slice_rows(s + 1, k + 1 - per);
    const detail::RowSlice slice{a.order, rows, next};
    std::fill(buf, buf + P + m, acc_t(0));
    buf[loss_at] = model.pass(a.X, a.sample_weight, slice, w, b, buf, buf + P);
  };
  // Steps applied: all of them, unless training diverges (below).
  index_t applied = n_steps;
  // Step s from its slices' buffers grads[0..nt), summed in that order. A non-finite loss means
  // the weights diverged (or the data overflow): the step is not applied and the epoch stops,
  // leaving the last finite weights and returning the non-finite loss for the caller to report.
  auto update = [&](index_t s, const acc_t* const* grads) {
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
    if (plain)
      detail::update_weights(w, P, grads, slices, hi - lo, lr, a.penalty);
    else
      update_with(w, P, grads, slices, hi - lo, a.penalty, opt.params, c, st[0], st[1]);
    if (a.fit_intercept) {
      for (index_t k = 0; k < m; ++k) {
        acc_t gb = 0;
        for (int u = 0; u < slices; ++u) gb += grads[u][P + k];
        T dummy = 0;
        b[k] = plain ? T(acc_t(b[k]) - lr * (gb / bs))
                     : T(optimizer_step(opt.kind, acc_t(b[k]), gb / bs, opt.params, c,
                                        ns > 0 ? bst[0][k] : dummy, ns > 1 ? bst[1][k] : dummy));
      }
    }
    // The average does not feed back into training.
    const std::int64_t step = avg_step0 + s + 1;
    if (avg.coef && step >= avg.start) {
      const acc_t k = acc_t(step - avg.start + 1);
      detail::average_into(avg.coef, w, P, k);
      detail::average_into(avg.intercept, b, m, k);
    }
    return true;
  };

  if (nt == 1) {
    acc_t* buf = scratch.grad(0);
    for (index_t s = 0; s < n_steps; ++s) {
      compute(s, 0, buf);
      if (!update(s, &buf)) break;
    }
  } else {
    // Each gradient buffer belongs either to a slice (its result, see StepSync::swap_result) or
    // to one thread (`mine`, where it computes). The thread that applies a step gathers the
    // slices' buffers into its row of `gathered` (a cache line apart from the others' rows).
    const index_t row = ((slices + 7) / 8) * 8 + 8;
    std::vector<const acc_t*> gathered(nt * row);
    detail::StepSync sync(slices);
    for (int k = 0; k < slices; ++k) sync.set_result(k, scratch.grad(k));
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
    {
      // Any team size works (a nested or limited team may have fewer threads than nt): the
      // slices are claimed, not assigned.
      const int t = detail::thread_id();
      acc_t* mine = scratch.grad(slices + t);
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
        const std::uint64_t start = detail::ticks();
        compute(s, k, mine);
        estimate(slice_ticks, detail::ticks() - start);
        if (!sync.complete(s, k)) continue;  // a late or backup copy: dropped
        mine = sync.swap_result(k, mine);
        if (sync.last(s)) {
          const acc_t** grads = gathered.data() + t * row;
          for (int u = 0; u < slices; ++u) grads[u] = sync.result<acc_t>(u);
          const std::uint64_t begin = detail::ticks();
          // After a divergence, publishing the last step ends the epoch for every thread.
          sync.publish(update(s, grads) ? s : n_steps - 1);
          estimate(update_ticks, detail::ticks() - begin);
        }
      }
      sync.leave(detail::team_size());
    }
  }
  if (opt.step) *opt.step += applied;
  if (avg.step) *avg.step += applied;
  return total_loss.value;
}

// One epoch of minibatch SGD (sgd_epoch_aligned), on a 64-byte-aligned copy of w when w is not
// aligned (NumPy aligns its arrays to 16 bytes): then no Vec load or store of w straddles two
// cache lines, and each step's stores of w forward whole to the next step's loads. Per-sample
// epochs at d = 100 on a Zen 4: 1.3x faster in cache, 1.7x from DRAM; batch 8 to 256: 2-3%.
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
