// The smoothness of a linear model's data term, from which learning_rate="auto" takes its step:
// the largest eigenvalue of the weighted Gram matrix A = X̃ᵀSX̃/n, where X̃ = [X, c·1] (c: the
// intercept's column, 0 without one) and S the sample weights, by power iterations; and the
// largest weighted squared row norm max_i s_i·‖x̃_i‖², the smoothness of one sample's term.
//
// Each power iteration is one fused pass over X: row i's product t_i = s_i·x̃_i·v is added back as
// t_i·x̃_i while the row is still in L1, so Av costs one read of X (dense or CSR), not two.
// Threads take fixed static parts of the rows and sum into their own accumulators, which are
// then added in part order: the result depends on the thread count, never on the scheduling.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "data.hpp"
#include "dense/row_products.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace fastgd {

struct GramBounds {
  double lambda_max = 0.0;  // the largest eigenvalue of A (from below: ‖Av‖ for a unit v)
  double max_row = 0.0;     // max_i s_i·‖x̃_i‖²
  double noise = 0.0;       // (1/n) Σ_i u_i·‖x̃_i‖² (u: the noise weights; 0 without them)
  int iterations = 0;       // power iterations run
  // Every row's ‖x_i‖² is finite, so every value of X is: the row norms' pass checks X's values
  // for free (false also when a square overflows, which the caller tells apart by a scan).
  bool finite_rows = true;
};

namespace detail {

template <class T>
inline double weight_at(const T* sw, index_t i) noexcept {
  return sw ? double(sw[i]) : 1.0;
}

// out[0..d] += Σ_i s_r·x̃_r·(x̃_r·v) over the rows r = i·step, i in [begin, end), of dense X (v in
// X's dtype).
template <class T>
FASTGD_MULTIVERSION void gram_rows(const DenseView<T>& X, const T* sw, double c, const T* v,
                                   acc_t* out, index_t begin, index_t end,
                                   index_t step) noexcept {
  const index_t d = X.n_cols;
  const double cv = c * double(v[d]);
  constexpr int R = 4;  // rows at a time: the loads of v and of out are shared by R rows
  index_t i = begin;
  for (; i + R <= end; i += R) {
    const T* x[R];
    for (int k = 0; k < R; ++k) x[k] = X.row((i + k) * step);
    acc_t t[R];
    dot_rows<R>(x, v, d, t);
    acc_t tc = 0;
    for (int k = 0; k < R; ++k) {
      t[k] = weight_at(sw, (i + k) * step) * (t[k] + cv);
      tc += t[k];
    }
    add_rows<R>(t, x, out, d);
    out[d] += c * tc;
  }
  for (; i < end; ++i) {
    const T* x[1] = {X.row(i * step)};
    acc_t t[1];
    dot_rows<1>(x, v, d, t);
    t[0] = weight_at(sw, i * step) * (t[0] + cv);
    add_rows<1>(t, x, out, d);
    out[d] += c * t[0];
  }
}

// The same over rows of CSR X (v in double: its reads are scattered, not vectors).
template <class T, class I>
void gram_rows(const CsrView<T, I>& X, const T* sw, double c, const double* v, acc_t* out,
               index_t begin, index_t end, index_t step) noexcept {
  const index_t d = X.n_cols;
  for (index_t i = begin * step; i < end * step; i += step) {
    acc_t t = c * v[d];
    for (index_t k = X.begin(i); k < X.end(i); ++k) t += double(X.data[k]) * v[X.indices[k]];
    t *= weight_at(sw, i);
    for (index_t k = X.begin(i); k < X.end(i); ++k) out[X.indices[k]] += t * double(X.data[k]);
    out[d] += c * t;
  }
}

// max over rows [begin, end) of s_i·‖x̃_i‖², and col[j] += s_i·x_ij² over the rows of the power
// iterations' sample, every step-th (the warm start's scales; none when col is null); *finite:
// whether every row's ‖x_i‖² is finite (NaN is dropped by the max, so it is tested apart).
template <class T>
FASTGD_MULTIVERSION double row_norms(const DenseView<T>& X, const T* sw, const T* u, double c,
                                     acc_t* col, index_t begin, index_t end, index_t step,
                                     double*, double* noise, bool* finite) noexcept {
  const index_t d = X.n_cols;
  double best = 0.0, total = 0.0;
  bool all_finite = true;
  for (index_t i = begin; i < end; ++i) {
    const T* x = X.row(i);
    const double s = weight_at(sw, i);
    if (col && i % step == 0) {
#pragma omp simd
      for (index_t j = 0; j < d; ++j) col[j] += s * double(x[j]) * double(x[j]);
    }
    const T* xs[1] = {x};
    acc_t sq[1];
    dot_rows<1>(xs, x, d, sq);
    all_finite = all_finite && std::isfinite(sq[0]);
    best = std::max(best, s * (sq[0] + c * c));
    if (u) total += double(u[i]) * (sq[0] + c * c);
  }
  *noise = total;
  *finite = all_finite;
  return best;
}

template <class T, class I>
double row_norms(const CsrView<T, I>& X, const T* sw, const T* u, double c, acc_t* col,
                 index_t begin, index_t end, index_t step, double* row, double* noise,
                 bool* finite) noexcept {
  // Indices may repeat, and repeats add up (data.hpp), so the sum of the squared entries is not
  // the squared norm of such a row: a row whose indices do not increase strictly is summed per
  // column first (in `row`, d zeros, left zero); the others (scipy's canonical form) are read
  // as they are, without the scattered accesses.
  double best = 0.0, total = 0.0;
  bool all_finite = true;
  for (index_t i = begin; i < end; ++i) {
    const double s = weight_at(sw, i);
    const bool sampled = col && i % step == 0;
    bool increasing = true;
    for (index_t k = X.begin(i) + 1; k < X.end(i) && increasing; ++k)
      increasing = X.indices[k - 1] < X.indices[k];
    double sq = 0.0;
    if (increasing) {
      for (index_t k = X.begin(i); k < X.end(i); ++k) {
        const double x = double(X.data[k]);
        sq += x * x;
        if (sampled) col[X.indices[k]] += s * x * x;
      }
    } else {
      for (index_t k = X.begin(i); k < X.end(i); ++k) row[X.indices[k]] += double(X.data[k]);
      for (index_t k = X.begin(i); k < X.end(i); ++k) {
        const double x = row[X.indices[k]];
        row[X.indices[k]] = 0.0;  // a repeated column counts once, and the buffer is clean again
        sq += x * x;
        if (sampled) col[X.indices[k]] += s * x * x;
      }
    }
    all_finite = all_finite && std::isfinite(sq);
    best = std::max(best, s * (sq + c * c));
    if (u) total += double(u[i]) * (sq + c * c);
  }
  *noise = total;
  *finite = all_finite;
  return best;
}

// A fixed pseudo-random factor in [0.5, 1.5) for coordinate j (SplitMix64 of j): the warm start
// is then almost surely not orthogonal to the top eigenvector, and the same on every run.
inline double jitter(std::uint64_t j) noexcept {
  std::uint64_t z = j + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return 0.5 + double(z >> 11) * 0x1.0p-53;
}

// Sums `parts` accumulators of m values, part by part in order, into out.
inline void reduce_parts(const std::vector<acc_t>& partial, int parts, index_t m, acc_t* out,
                         int threads) noexcept {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static) if (m > 4096 && threads > 1)
#endif
  for (index_t j = 0; j < m; ++j) {
    acc_t s = 0;
    for (int k = 0; k < parts; ++k) s += partial[std::size_t(k) * std::size_t(m) + std::size_t(j)];
    out[j] = s;
  }
  (void)threads;
}

template <class T>
inline index_t stored_values(const DenseView<T>& X) noexcept {
  return X.n_rows * X.n_cols;
}

template <class T, class I>
inline index_t stored_values(const CsrView<T, I>& X) noexcept {
  return X.n_rows > 0 ? X.end(X.n_rows - 1) - X.begin(0) : 0;
}

struct FreeDeleter {
  void operator()(double* p) const noexcept { std::free(p); }
};

template <class View>
using gram_vector_t =
    std::conditional_t<std::is_same_v<View, DenseView<typename View::value_type>>,
                       typename View::value_type, double>;

}  // namespace detail

// λ_max(A) by power iterations from the columns' root mean squares (jittered), stopping when
// ‖Av‖ changes by at most rtol relatively or after max_iter passes (none at max_iter = 0: λ_max
// is then left 0), max_i s_i·‖x̃_i‖², and (1/n) Σ_i u_i·‖x̃_i‖² (the gradient noise's second
// moment, with u_i = s_i·L'(p_i, y_i)²). One pass over all rows for the row norms, then one per
// iteration over every row_step-th row (A estimated from that sample: a pass then reads
// 1/row_step of X); sw and u may be null (all ones; no noise).
template <class View>
GramBounds gram_bounds(const View& X, const typename View::value_type* sw,
                       const typename View::value_type* u, double c, int threads, int max_iter,
                       double rtol, index_t row_step = 1) {
  using V = detail::gram_vector_t<View>;
  const index_t n = X.n_rows, d = X.n_cols, m = d + 1;
  const int parts = int(std::max<index_t>(1, std::min<index_t>(threads, n)));
  // A pass over few values is split no further than one part per PART_MIN_VALUES of them: waking
  // an idle thread (milliseconds for an idle virtual CPU) and adding the parts' accumulators
  // (O(parts·d)) would cost more than the second thread saves on a pass of about a millisecond.
  constexpr index_t PART_MIN_VALUES = index_t(1) << 20;
  const index_t per_row =
      std::max<index_t>(1, detail::stored_values(X) / std::max<index_t>(n, 1));
  const auto parts_for = [&](index_t rows) {
    return int(std::clamp<index_t>(rows * per_row / PART_MIN_VALUES, 1, parts));
  };
  // Without power iterations (max_iter = 0) the O(parts·d) accumulators are not needed.
  const bool power = max_iter > 0;
  std::vector<acc_t> partial(power ? std::size_t(parts) * std::size_t(m) : 0);
  std::vector<double> maxima(std::size_t(parts), 0.0), noises(std::size_t(parts), 0.0);
  std::vector<char> finite(std::size_t(parts), 1);
  std::vector<acc_t> w(power ? static_cast<std::size_t>(m) : 0);
  constexpr bool dense = std::is_same_v<View, DenseView<typename View::value_type>>;
  // calloc: only the pages that rows with repeated indices touch are ever mapped.
  const std::unique_ptr<double, detail::FreeDeleter> scratch(
      dense ? nullptr
            : static_cast<double*>(std::calloc(std::size_t(parts) * std::size_t(d) + 1,
                                               sizeof(double))));
  if (!dense && !scratch) throw std::bad_alloc();
  GramBounds out;
  if (n == 0) return out;
  const index_t step = std::max<index_t>(1, std::min(row_step, n));
  const index_t sampled = (n + step - 1) / step;  // rows 0, step, 2·step, ...

  // Each part's rows go to one loop iteration: whichever thread runs it, its sums are the same.
  const auto run_parts = [&](index_t count, int used, auto&& body) {
#if defined(_OPENMP)
#pragma omp parallel for num_threads(used) schedule(static, 1) if (used > 1)
#endif
    for (int k = 0; k < used; ++k) {
      const detail::Range r = detail::split(count, used, k);
      body(k, power ? partial.data() + std::size_t(k) * std::size_t(m) : nullptr, r.begin,
           r.end);
    }
  };
  const auto over_parts = [&](index_t count, auto&& body) {
    const int used = parts_for(count);
    std::fill_n(partial.begin(), std::size_t(used) * std::size_t(m), acc_t(0));
    run_parts(count, used, body);
    detail::reduce_parts(partial, used, m, w.data(), used);
  };

  const auto norms = [&](int k, acc_t* acc, index_t b, index_t e) {
    double* row = dense ? nullptr : scratch.get() + std::size_t(k) * std::size_t(d);
    bool part_finite = true;
    maxima[std::size_t(k)] = detail::row_norms(X, sw, u, c, acc, b, e, step, row,
                                               &noises[std::size_t(k)], &part_finite);
    finite[std::size_t(k)] = part_finite;
  };
  if (power)
    over_parts(n, norms);
  else
    run_parts(n, parts_for(n), norms);
  out.max_row = *std::max_element(maxima.begin(), maxima.end());
  out.finite_rows = std::all_of(finite.begin(), finite.end(), [](char f) { return f != 0; });
  for (double part : noises) out.noise += part;  // in part order
  out.noise /= double(n);
  if (!power) return out;
  w[std::size_t(d)] = 0.0;
  for (index_t i = 0; i < n; i += step) w[std::size_t(d)] += detail::weight_at(sw, i) * c * c;

  std::vector<V> v(static_cast<std::size_t>(m));
  double norm = 0.0;
  for (index_t j = 0; j < m; ++j) norm += w[j] * detail::jitter(std::uint64_t(j)) *
                                           detail::jitter(std::uint64_t(j));
  if (!(norm > 0.0)) return out;  // X̃ = 0: A = 0
  // v_j ∝ rms_j·jitter_j: large columns weigh most in the top eigenvector of an unscaled X.
  const auto set_v = [&](const auto& from, double scale) {
    for (index_t j = 0; j < m; ++j) v[std::size_t(j)] = V(from(j) * scale);
  };
  set_v([&](index_t j) { return std::sqrt(w[j]) * detail::jitter(std::uint64_t(j)); },
        1.0 / std::sqrt(norm));

  double previous = 0.0;
  for (int it = 1; it <= max_iter; ++it) {
    over_parts(sampled, [&](int, acc_t* acc, index_t b, index_t e) {
      detail::gram_rows(X, sw, c, v.data(), acc, b, e, step);
    });
    double sq = 0.0;
    for (index_t j = 0; j < m; ++j) sq += w[j] * w[j];
    const double lambda = std::sqrt(sq) / double(sampled);
    out.lambda_max = lambda;
    out.iterations = it;
    if (!(lambda > 0.0)) break;
    if (std::fabs(lambda - previous) <= rtol * lambda) break;
    previous = lambda;
    set_v([&](index_t j) { return w[j]; }, 1.0 / std::sqrt(sq));
  }
  return out;
}

}  // namespace fastgd
