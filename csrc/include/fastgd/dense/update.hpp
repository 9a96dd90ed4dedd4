// The update of one dense step from its slices' gradient buffers: plain SGD with the penalty and
// the optimizers of optimizers.hpp.
#pragma once

#include <algorithm>

#include "../config.hpp"
#include "../dispatch.hpp"
#include "../optimizers.hpp"
#include "../penalties.hpp"
#include "../simd.hpp"

namespace fastgd::detail {

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
  // One slice needs no sums: its buffer is read in place, in one loop (small steps spend much of
  // their time here).
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
  return with_optimizer(kind, [](auto k) -> OptimizerUpdate<T> {
    return &update_weights_with<decltype(k)::value, T>;
  });
}

}  // namespace fastgd::detail
