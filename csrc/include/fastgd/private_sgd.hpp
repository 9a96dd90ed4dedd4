// DP-SGD (Abadi et al., CCS 2016) fused into the row pass: each step samples its rows by Poisson
// sampling, clips each sampled row's gradient to norm C, sums, adds N(0, (σC)²) to every
// coefficient and intercept, divides by the expected batch q·n and takes the optimizer's step.
//
// A linear model with K outputs has per-row gradient g_i ⊗ (x_i, 1): K scalars times the row
// (and 1 for the intercepts), so its norm is ‖g_i‖·√(‖x_i‖² + 1) and the clipping is one scale
// per row, computed while the row is in cache. g_i is L'(p_i, y_i) for a pointwise loss (K = 1),
// the K one-vs-rest derivatives L'(p_ik, ±1) (one mechanism for the K models, clipped jointly),
// or softmax(p_i) − e_{y_i} for the softmax.
//
// Randomness is Philox-4x64-10 (philox.hpp) under the fit's 128-bit key, counter
// (block, step, stream, draw): stream kNoiseStream gives the noise of coordinates 4·block to
// 4·block + 3 of a step (coordinate k·d + j for coef[k, j], K·d + k for intercept[k]), draw r of
// noise_draws (secure mode sums 4 normals and halves the sum); stream kSamplingStream gives the
// step's row sampling, one uniform per sampled row (geometric gaps), blocks read in order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "data.hpp"
#include "losses.hpp"
#include "optimizers.hpp"
#include "penalties.hpp"
#include "philox.hpp"
#include "simd.hpp"
#include "softmax.hpp"

namespace fastgd {

inline constexpr std::uint64_t kNoiseStream = 1;
inline constexpr std::uint64_t kSamplingStream = 2;

// The softmax cross-entropy as a loss tag (it is not a pointwise loss).
struct SoftmaxLoss {};

struct PrivateOptions {
  double sampling_rate = 1.0;   // q: each row is in a step with this probability
  double clip_norm = 1.0;       // C
  double noise_std = 0.0;       // σ·C, per coordinate of the step's sum
  double expected_batch = 1.0;  // q·n: the sum is divided by it
  std::uint64_t key[2] = {0, 0};
  int noise_draws = 1;          // normals summed per coordinate (sum / √draws)
  bool fit_intercept = true;
  Penalty penalty{};
};

// The model a private fit trains: K × d coefficients (row-major) and K intercepts.
template <class T>
struct PrivateModel {
  T* coef;
  T* intercept;
  index_t n_outputs;
  index_t n_features;
};

// y as a pointwise single-output loss takes it (one value per row), or class indices (K > 1).
template <class T>
struct PrivateTargets {
  const T* values = nullptr;
  const std::int64_t* classes = nullptr;
};

// The rows of step `step`: each row of [0, n) independently with probability q, in increasing
// order, drawn by geometric gaps (P(gap ≥ k) = (1 − q)^k): O(rows drawn), not O(n).
inline void poisson_rows(const std::uint64_t key[2], std::uint64_t step, index_t n, double q,
                         std::vector<std::int64_t>& rows) {
  rows.clear();
  if (q >= 1.0) {
    for (index_t i = 0; i < n; ++i) rows.push_back(i);
    return;
  }
  const double log_keep = std::log1p(-q);  // < 0 for q in (0, 1)
  PhiloxBlock block{};
  int used = 4;
  std::uint64_t next_block = 0;
  index_t i = -1;
  for (;;) {
    if (used == 4) {
      block = philox4x64_10(PhiloxBlock{{next_block++, step, kSamplingStream, 0}}, key[0], key[1]);
      used = 0;
    }
    const double gap = std::floor(std::log(unit_open_low(block.v[used++])) / log_keep);
    if (!(gap < double(n - 1 - i))) return;
    i += 1 + index_t(gap);
    rows.push_back(i);
  }
}

namespace detail {

// p_k = x·w_k + b_k for the K outputs, and ‖x‖², of row i.
template <class T>
FASTGD_ALWAYS_INLINE double private_row_outputs(const DenseView<T>& X, index_t i,
                                                const PrivateModel<T>& m, double* p) noexcept {
  const T* x = X.row(i);
  const index_t d = m.n_features;
  double sq = 0, dot0 = 0;
  const T* w0 = m.coef;
  // ‖x‖² in the first output's pass over the row
#pragma omp simd reduction(+ : sq, dot0)
  for (index_t j = 0; j < d; ++j) {
    sq += double(x[j]) * double(x[j]);
    dot0 += double(x[j]) * double(w0[j]);
  }
  p[0] = dot0 + double(m.intercept[0]);
  for (index_t k = 1; k < m.n_outputs; ++k) {
    const T* w = m.coef + k * d;
    double dot = 0;
#pragma omp simd reduction(+ : dot)
    for (index_t j = 0; j < d; ++j) dot += double(x[j]) * double(w[j]);
    p[k] = dot + double(m.intercept[k]);
  }
  return sq;
}

template <class T, class I>
FASTGD_ALWAYS_INLINE double private_row_outputs(const CsrView<T, I>& X, index_t i,
                                                const PrivateModel<T>& m, double* p) noexcept {
  const index_t lo = X.begin(i), hi = X.end(i), d = m.n_features;
  double sq = 0, dot0 = 0;
  for (index_t s = lo; s < hi; ++s) {
    sq += double(X.data[s]) * double(X.data[s]);
    dot0 += double(X.data[s]) * double(m.coef[X.indices[s]]);
  }
  p[0] = dot0 + double(m.intercept[0]);
  for (index_t k = 1; k < m.n_outputs; ++k) {
    const T* w = m.coef + k * d;
    double dot = 0;
    for (index_t s = lo; s < hi; ++s) dot += double(X.data[s]) * double(w[X.indices[s]]);
    p[k] = dot + double(m.intercept[k]);
  }
  return sq;
}

// sum_k += c_k·x (the coefficients' part of the row's clipped gradient).
template <class T>
FASTGD_ALWAYS_INLINE void private_row_accumulate(const DenseView<T>& X, index_t i, index_t K,
                                                 index_t d, const double* c,
                                                 double* FASTGD_RESTRICT sum) noexcept {
  const T* x = X.row(i);
  for (index_t k = 0; k < K; ++k) {
    if (c[k] == 0.0) continue;
    double* FASTGD_RESTRICT s = sum + k * d;
    const double ck = c[k];
#pragma omp simd
    for (index_t j = 0; j < d; ++j) s[j] += ck * double(x[j]);
  }
}

template <class T, class I>
FASTGD_ALWAYS_INLINE void private_row_accumulate(const CsrView<T, I>& X, index_t i, index_t K,
                                                 index_t d, const double* c,
                                                 double* FASTGD_RESTRICT sum) noexcept {
  const index_t lo = X.begin(i), hi = X.end(i);
  for (index_t k = 0; k < K; ++k) {
    if (c[k] == 0.0) continue;
    double* s = sum + k * d;
    for (index_t s_ = lo; s_ < hi; ++s_) s[X.indices[s_]] += c[k] * double(X.data[s_]);
  }
}

// Fetch row i (and its target) ahead of its turn: sampled rows are scattered over X.
template <class T>
FASTGD_ALWAYS_INLINE void private_prefetch(const DenseView<T>& X, index_t i,
                                           const PrivateTargets<T>& y) noexcept {
  prefetch_lines(X.row(i), X.n_cols * index_t(sizeof(T)));
  if (y.values) FASTGD_PREFETCH(y.values + i);
  if (y.classes) FASTGD_PREFETCH(y.classes + i);
}

template <class T, class I>
FASTGD_ALWAYS_INLINE void private_prefetch(const CsrView<T, I>& X, index_t i,
                                           const PrivateTargets<T>& y) noexcept {
  const index_t lo = X.begin(i), nnz = X.end(i) - lo;
  prefetch_lines(X.data + lo, nnz * index_t(sizeof(T)));
  prefetch_lines(X.indices + lo, nnz * index_t(sizeof(I)));
  if (y.values) FASTGD_PREFETCH(y.values + i);
  if (y.classes) FASTGD_PREFETCH(y.classes + i);
}

// g_i, the loss's derivatives with respect to the K outputs p of row i.
template <class T, class Loss>
FASTGD_ALWAYS_INLINE void private_row_derivatives(const Loss& loss, const PrivateTargets<T>& y,
                                                  index_t i, index_t K, const double* p,
                                                  double* g) noexcept {
  if constexpr (std::is_same_v<Loss, SoftmaxLoss>) {
    const std::int64_t c = y.classes[i];
    softmax_cross_entropy(
        K, [&](index_t k) { return p[k]; }, [&](index_t k) { return k == c ? 1.0 : 0.0; }, 0.0,
        [&](index_t k, double dk) { g[k] = dk; });
  } else if (y.classes) {  // one-vs-rest: output k's label is +1 for class k, −1 for the rest
    for (index_t k = 0; k < K; ++k) g[k] = loss.derivative(p[k], y.classes[i] == k ? 1.0 : -1.0);
  } else {
    g[0] = loss.derivative(p[0], double(y.values[i]));
  }
}

// The clipping factor min(1, C/‖g_i ⊗ (x_i, 1)‖) of a row with derivatives g and ‖x‖² = sq.
FASTGD_ALWAYS_INLINE double private_clip_scale(const double* g, index_t K, double sq,
                                               const PrivateOptions& o) noexcept {
  double gg = 0;
  for (index_t k = 0; k < K; ++k) gg += g[k] * g[k];
  const double norm = std::sqrt(gg * (sq + (o.fit_intercept ? 1.0 : 0.0)));
  return norm > o.clip_norm ? o.clip_norm / norm : 1.0;
}

// The noise of coordinates 4·block .. 4·block + 3 of a step, in units of σC.
FASTGD_ALWAYS_INLINE void private_noise4(const PrivateOptions& o, std::uint64_t step,
                                         std::uint64_t block, double out[4]) noexcept {
  out[0] = out[1] = out[2] = out[3] = 0.0;
  for (int r = 0; r < o.noise_draws; ++r) {
    double z[4];
    box_muller4(philox4x64_10(PhiloxBlock{{block, step, kNoiseStream, std::uint64_t(r)}},
                              o.key[0], o.key[1]),
                z);
    for (int c = 0; c < 4; ++c) out[c] += z[c];
  }
  const double scale = o.noise_std / std::sqrt(double(o.noise_draws));
  for (int c = 0; c < 4; ++c) out[c] *= scale;
}

}  // namespace detail

// One step's noisy update: g = (sum + N(0, (σC)²)) / (q·n) per coordinate, then the optimizer's
// step with the penalty (the intercepts unpenalized). The noise comes before the optimizer, so
// the optimizer's state is post-processing of the private gradients. `sum` (K·(d + 1) values)
// is zeroed for the next step.
template <OptimizerKind Opt, class T>
FASTGD_MULTIVERSION void private_update(const PrivateModel<T>& m, double* sum,
                                        const PrivateOptions& o, std::uint64_t step, double lr,
                                        OptimizerArgs<T>& opt) noexcept {
  const index_t K = m.n_outputs, kd = K * m.n_features, total = kd + K;
  const double t = double(opt.step ? ++*opt.step : std::int64_t(step) + 1);
  const StepConstants sc = step_constants(Opt, opt.params, lr, t);
  const int n_state = state_arrays(Opt);
  T dummy0 = 0, dummy1 = 0;
  const double inv_batch = 1.0 / o.expected_batch;
  for (index_t base = 0; base < total; base += 4) {
    double noise[4];
    detail::private_noise4(o, step, std::uint64_t(base / 4), noise);
    const index_t end = std::min(total, base + 4);
    for (index_t c = base; c < end; ++c) {
      const double g = (sum[c] + noise[c - base]) * inv_batch;
      sum[c] = 0.0;
      if (c < kd) {
        T& s0 = n_state > 0 ? opt.coef_state[c] : dummy0;
        T& s1 = n_state > 1 ? opt.coef_state[kd + c] : dummy1;
        m.coef[c] = T(optimizer_step<Opt>(double(m.coef[c]), g, o.penalty.l2, o.penalty.l1,
                                          opt.params, sc, s0, s1));
      } else if (o.fit_intercept) {
        const index_t k = c - kd;
        T& s0 = n_state > 0 ? opt.intercept_state[k] : dummy0;
        T& s1 = n_state > 1 ? opt.intercept_state[K + k] : dummy1;
        m.intercept[k] =
            T(optimizer_step(Opt, double(m.intercept[k]), g, opt.params, sc, s0, s1));
      }
    }
  }
}

// The rows of one step through the model: each row's outputs, derivatives and clipping factor,
// and its clipped gradient added to `sum` (K·d coefficients, then K intercepts). `scratch`
// holds 3K values. Instruction-set clones (simd.hpp), as the plain row passes.
template <class T, class View, class Loss>
FASTGD_MULTIVERSION void private_rows(const View& X, const PrivateTargets<T>& y,
                                      const PrivateModel<T>& m, const Loss& loss,
                                      const std::int64_t* rows, index_t n_rows,
                                      const PrivateOptions& o, double* sum,
                                      double* scratch) noexcept {
  const index_t K = m.n_outputs, d = m.n_features;
  double *p = scratch, *g = scratch + K, *c = scratch + 2 * K;
  for (index_t r = 0; r < n_rows; ++r) {
    if (r + kPrefetchRows < n_rows) detail::private_prefetch(X, rows[r + kPrefetchRows], y);
    const index_t i = rows[r];
    const double sq = detail::private_row_outputs(X, i, m, p);
    detail::private_row_derivatives(loss, y, i, K, p, g);
    const double scale = detail::private_clip_scale(g, K, sq, o);
    for (index_t k = 0; k < K; ++k) c[k] = scale * g[k];
    detail::private_row_accumulate(X, i, K, d, c, sum);
    if (o.fit_intercept)
      for (index_t k = 0; k < K; ++k) sum[K * d + k] += c[k];
  }
}

// Steps first_step .. first_step + n_steps − 1 of a private fit, lrs[s] the rate of each; `sum`
// is scratch of K·(d + 1) zeros (left zeroed). Returns the number of rows sampled in all.
template <class T, class View, class Loss, class Update>
std::int64_t private_sgd_steps(const View& X, const PrivateTargets<T>& y,
                               const PrivateModel<T>& m, const Loss& loss, const double* lrs,
                               index_t n_steps, std::uint64_t first_step,
                               const PrivateOptions& o, double* sum, Update update) {
  std::vector<std::int64_t> rows;
  rows.reserve(std::size_t(std::min<double>(double(X.n_rows), 2.0 * o.expected_batch + 64.0)));
  std::vector<double> scratch(3 * static_cast<std::size_t>(m.n_outputs));
  std::int64_t seen = 0;
  for (index_t s = 0; s < n_steps; ++s) {
    const std::uint64_t step = first_step + std::uint64_t(s);
    poisson_rows(o.key, step, X.n_rows, o.sampling_rate, rows);
    seen += std::int64_t(rows.size());
    private_rows(X, y, m, loss, rows.data(), index_t(rows.size()), o, sum, scratch.data());
    update(sum, step, lrs[s]);
  }
  return seen;
}

}  // namespace fastgd
