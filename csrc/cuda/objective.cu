// The full-batch objective and gradient on the GPU (DESIGN.md "Exact semantics"):
//   F = (1/n) Σ s_i·L(x_i·w + b, y_i) + α·R(w),  ∇_w F = (1/n) Σ g_i·x_i + l2·w + l1·sign(w),
//   ∂F/∂b = (1/n) Σ g_i,  g_i = s_i·L'(p_i, y_i).
// One pass over X: blocks take contiguous row ranges, write one partial sum each, and a second
// (tiny) kernel adds the partials in block order 0..G−1 and applies the penalty. The result
// depends only on the inputs and the grid size G, which depends only on n, d and the device.
#include <cuda_runtime.h>

#include <algorithm>

#include "row_pass.cuh"

namespace fastgd::cuda {

namespace detail {
namespace {

template <class T, class Loss>
__global__ void __launch_bounds__(kThreads)
    objective_kernel(Rows<T> r, index_t n, const T* __restrict__ w, double b, Loss loss,
                     double* acc_global, double* partials) {
  extern __shared__ double acc_shared[];
  __shared__ double warp_gb[kWarps], warp_loss[kWarps];
  const index_t d = r.d;
  const int warp = threadIdx.x / kWarpSize;
  double* acc = acc_global ? acc_global + index_t(blockIdx.x) * kWarps * d : acc_shared;
  for (index_t j = threadIdx.x; j < kWarps * d; j += blockDim.x) acc[j] = 0.0;
  __syncthreads();
  const Range rows = split(n, gridDim.x, blockIdx.x);
  const Range mine = split(rows.end - rows.begin, kWarps, warp);
  double ls = 0.0, gb = 0.0;
  warp_row_pass(r, rows.begin + mine.begin, rows.begin + mine.end, w, b, loss, acc + warp * d, ls,
                gb);
  if (threadIdx.x % kWarpSize == 0) {
    warp_gb[warp] = gb;
    warp_loss[warp] = ls;
  }
  __syncthreads();
  reduce_block(acc, d, warp_gb, warp_loss, partials + index_t(blockIdx.x) * (d + 2));
}

// grad_j = (Σ_k partial_k[j]) / n + l2·w_j + l1·sign(w_j), the partials added in block order.
template <class T>
__global__ void finish_grad_kernel(const double* partials, int G, index_t d, index_t n,
                                   const T* __restrict__ w, Penalty pen, T* grad) {
  for (index_t j = index_t(blockIdx.x) * blockDim.x + threadIdx.x; j < d;
       j += index_t(gridDim.x) * blockDim.x) {
    double g = 0.0;
    for (int k = 0; k < G; ++k) g += partials[index_t(k) * (d + 2) + j];
    const double wj = double(w[j]);
    const double sign = wj > 0 ? 1.0 : (wj < 0 ? -1.0 : 0.0);
    grad[j] = T(g / double(n) + pen.l2 * wj + pen.l1 * sign);
  }
}

// One block: out[0] = objective, out[1] = ∂F/∂b. Each thread sums a strided share, then a fixed
// tree in shared memory: deterministic.
constexpr int kFinishThreads = 256;
template <class T>
__global__ void __launch_bounds__(kFinishThreads)
    finish_scalars_kernel(const double* partials, int G, index_t d, index_t n,
                          const T* __restrict__ w, Penalty pen, double* out) {
  __shared__ double s[4][kFinishThreads];
  double gb = 0.0, ls = 0.0, sq = 0.0, ab = 0.0;
  for (int k = threadIdx.x; k < G; k += blockDim.x) {
    gb += partials[index_t(k) * (d + 2) + d];
    ls += partials[index_t(k) * (d + 2) + d + 1];
  }
  for (index_t j = threadIdx.x; j < d; j += blockDim.x) {
    const double wj = double(w[j]);
    sq += wj * wj;
    ab += fabs(wj);
  }
  s[0][threadIdx.x] = gb;
  s[1][threadIdx.x] = ls;
  s[2][threadIdx.x] = sq;
  s[3][threadIdx.x] = ab;
  __syncthreads();
  for (int half = kFinishThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half)
      for (int q = 0; q < 4; ++q) s[q][threadIdx.x] += s[q][threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[0] = s[1][0] / double(n) + pen.value(s[2][0], s[3][0]);
    out[1] = s[0][0] / double(n);
  }
}

template <class T, class Loss>
ObjectiveResult run(const ObjectiveArgs& a, const Loss& loss) {
  const index_t n = a.X.n_rows, d = a.X.n_cols;
  const auto kernel = &objective_kernel<T, Loss>;
  // Placement of the accumulators, and the grid: as many blocks as fit on the device at once
  // (one wave), but no more than there are groups of rows for the warps.
  const std::size_t acc_bytes = std::size_t(kWarps) * std::size_t(d) * sizeof(double);
  bool shared = acc_bytes <= max_shared_per_block();
  int per_sm = 0;
  if (shared) {
    FASTGD_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(acc_bytes)));
    FASTGD_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, acc_bytes));
    shared = per_sm > 0;
  }
  if (!shared)
    FASTGD_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0));
  per_sm = std::max(per_sm, 1);
  index_t G = std::min<index_t>(index_t(per_sm) * multiprocessors(),
                                (n + kWarps * kRowsAtOnce - 1) / (kWarps * kRowsAtOnce));
  if (!shared) G = std::min<index_t>(G, std::max<index_t>(1, kMaxGlobalAccBytes / acc_bytes));
  G = std::max<index_t>(G, 1);

  const std::size_t partial_bytes = std::size_t(G) * std::size_t(d + 2) * sizeof(double);
  const std::size_t global_acc_bytes = shared ? 0 : std::size_t(G) * acc_bytes;
  const std::size_t out_offset = partial_bytes + global_acc_bytes;
  DeviceBuffer scratch(out_offset + 2 * sizeof(double));
  double* partials = scratch.as<double>();
  double* acc_global = shared ? nullptr : scratch.as<double>(partial_bytes);
  double* out = scratch.as<double>(out_offset);

  const Rows<T> rows{static_cast<const T*>(a.X.data), a.X.row_stride, d,
                     static_cast<const T*>(a.y), static_cast<const T*>(a.sample_weight), nullptr};
  const T* w = static_cast<const T*>(a.coef);
  const double b = double(T(a.intercept));  // the CPU kernel's b: the intercept in X's dtype
  kernel<<<unsigned(G), kThreads, shared ? acc_bytes : 0, cudaStreamLegacy>>>(
      rows, n, w, b, loss, acc_global, partials);
  FASTGD_CUDA_CHECK_LAUNCH();
  const unsigned grad_blocks = unsigned(std::min<index_t>((d + 255) / 256, 4096));
  finish_grad_kernel<T><<<grad_blocks, 256, 0, cudaStreamLegacy>>>(
      partials, int(G), d, n, w, a.penalty, static_cast<T*>(a.grad));
  FASTGD_CUDA_CHECK_LAUNCH();
  finish_scalars_kernel<T><<<1, kFinishThreads, 0, cudaStreamLegacy>>>(partials, int(G), d, n,
                                                                       w, a.penalty, out);
  FASTGD_CUDA_CHECK_LAUNCH();
  double host[2];
  FASTGD_CUDA_CHECK(
      cudaMemcpyAsync(host, out, sizeof(host), cudaMemcpyDeviceToHost, cudaStreamLegacy));
  FASTGD_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
  return {host[0], host[1]};
}

}  // namespace
}  // namespace detail

ObjectiveResult loss_and_grad(const ObjectiveArgs& a) {
  return detail::with_dtype(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    return with_loss(a.loss, a.epsilon,
                     [&](const auto& loss) { return detail::run<T>(a, loss); });
  });
}

}  // namespace fastgd::cuda
