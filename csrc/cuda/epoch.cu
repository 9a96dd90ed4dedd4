// One minibatch SGD epoch in one persistent cooperative kernel (DESIGN.md "Exact semantics"; the
// CPU's fastgd::sgd_epoch is the reference). Step s takes rows order[s·B : (s+1)·B] (b_s rows)
// and lrs[s]:
//   p_i = x_i·w + b,  g = (1/b_s) Σ s_i·L'(p_i, y_i)·x_i,  g_b = (1/b_s) Σ s_i·L'(p_i, y_i)
//   w ← w − lr·(g + l2·w),  b ← b − lr·g_b,  w ← soft_threshold(w, lr·l1)
//
// One grid barrier per step, the CPU driver's scheme carried over to blocks:
//  1. Each block keeps its own copy of (w, b) (shared memory). Its warps split its share of the
//     batch rows (warp_row_pass) into per-warp accumulators, which the block sums in warp order
//     into its partial gradient, written to a global buffer (one slice per block).
//  2. grid.sync().
//  3. Every block reads all G partials, adds them in block order 0..G−1 (so every block gets the
//     same sum, bit for bit) and applies the same update to its own copy. No block waits for
//     another's update before its next row pass, hence no second barrier.
// The partial buffers alternate between two sets by step parity: a block that runs ahead into
// step s+1 writes set (s+1)&1 while slower blocks may still read set s&1 after barrier s; it
// cannot get further ahead, since step s+1 ends with barrier s+1. Results depend only on the
// inputs and the grid size (epoch_grid), never on timing.
//
// Follow-ups for speed (need an H100 to measure): 16-byte row loads; rows kept in registers
// between the dot product and the gradient update; for small batches, a thread-block cluster
// (its barrier is cheaper than the grid's: bench/MEASUREMENTS.md) with the partials in
// distributed shared memory; a two-level reduction instead of every block reading all G
// partials when G is large.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "row_pass.cuh"

namespace cg = cooperative_groups;

namespace fastgd::cuda {

namespace detail {
namespace {

// Rows per warp per step that the automatic grid aims at: fewer rows per warp means more blocks,
// each of which then reads all G partials after the barrier (G²·d reads per step). A first
// guess, to be tuned on an H100 (bench/gpu.py sweeps n_blocks).
constexpr index_t kTargetRowsPerWarp = 8;

template <class T>
struct EpochParams {
  Rows<T> rows;
  index_t n_rows, batch_size, n_steps;
  const double* lrs;  // device, n_steps values
  Penalty penalty;
  bool fit_intercept;
  T* coef;       // in/out, written by block 0 at the end
  T* intercept;  // in/out
  double* partials;    // 2 sets × G blocks × (d + 2)
  double* acc_global;  // nullptr: accumulators and the weight copy in shared memory
  T* w_global;         // per-block weight copies when not in shared memory
  double* loss_out;    // the progressive loss of the epoch
};

template <class T, class Loss>
__global__ void __launch_bounds__(kThreads) sgd_epoch_kernel(EpochParams<T> a, Loss loss) {
  cg::grid_group grid = cg::this_grid();
  extern __shared__ double smem[];  // kWarps·d accumulators, then d weights of type T
  __shared__ double warp_gb[kWarps], warp_loss[kWarps];
  __shared__ T shared_b;
  const index_t d = a.rows.d, G = gridDim.x, blk = blockIdx.x;
  const int warp = threadIdx.x / kWarpSize;
  double* acc;
  T* w;
  if (a.acc_global) {
    acc = a.acc_global + blk * kWarps * d;
    w = a.w_global + blk * d;
  } else {
    acc = smem;
    w = reinterpret_cast<T*>(smem + kWarps * d);
  }
  for (index_t j = threadIdx.x; j < d; j += blockDim.x) w[j] = a.coef[j];
  for (index_t j = threadIdx.x; j < kWarps * d; j += blockDim.x) acc[j] = 0.0;
  T b = a.intercept[0];
  double total_loss = 0.0;  // kept by thread 0 of block 0
  __syncthreads();

  for (index_t s = 0; s < a.n_steps; ++s) {
    const index_t lo = s * a.batch_size, hi = min(a.n_rows, lo + a.batch_size);
    const index_t bs = hi - lo;
    double* set = a.partials + (s & 1) * G * (d + 2);

    // 1. This warp's rows of the batch: part (blk·kWarps + warp) of G·kWarps.
    const Range mine = split(bs, G * kWarps, blk * kWarps + warp);
    double ls = 0.0, gb = 0.0;
    warp_row_pass(a.rows, lo + mine.begin, lo + mine.end, w, double(b), loss, acc + warp * d, ls,
                  gb);
    if (threadIdx.x % kWarpSize == 0) {
      warp_gb[warp] = gb;
      warp_loss[warp] = ls;
    }
    __syncthreads();
    reduce_block(acc, d, warp_gb, warp_loss, set + blk * (d + 2));

    // 2. The step's one grid-wide barrier (it orders the partials' writes before the reads).
    grid.sync();

    // 3. The same update in every block. __ldcg reads through L2 only: the partials were
    // written by other multiprocessors, and this one may hold an old copy from step s−2 in L1.
    const double lr = a.lrs[s];
    for (index_t j = threadIdx.x; j < d; j += blockDim.x) {
      double g = 0.0;
      for (index_t k = 0; k < G; ++k) g += __ldcg(set + k * (d + 2) + j);
      w[j] = T(update_coordinate(double(w[j]), g / double(bs), lr, a.penalty));
    }
    if (threadIdx.x == 0) {
      double g = 0.0, step_loss = 0.0;
      for (index_t k = 0; k < G; ++k) g += __ldcg(set + k * (d + 2) + d);
      if (a.fit_intercept) b = T(double(b) - lr * (g / double(bs)));
      shared_b = b;
      if (blk == 0) {
        for (index_t k = 0; k < G; ++k) step_loss += __ldcg(set + k * (d + 2) + d + 1);
        total_loss += step_loss;
      }
    }
    __syncthreads();  // the new weights, before the next row pass reads them
    b = shared_b;
  }

  // Every block holds the same weights: block 0 writes them back. All blocks read coef before
  // the first barrier, so this write cannot race with those reads.
  if (blk == 0) {
    for (index_t j = threadIdx.x; j < d; j += blockDim.x) a.coef[j] = w[j];
    if (threadIdx.x == 0) {
      a.intercept[0] = b;
      *a.loss_out = total_loss;
    }
  }
}

// How an epoch is laid out on the current device: the kernel, its shared memory and its grid.
template <class T, class Loss>
struct Plan {
  int blocks = 1;
  bool shared = true;
  std::size_t shared_bytes = 0;
};

template <class T, class Loss>
Plan<T, Loss> plan(index_t d, index_t batch, int n_blocks) {
  const auto kernel = &sgd_epoch_kernel<T, Loss>;
  int dev = 0, cooperative = 0;
  FASTGD_CUDA_CHECK(cudaGetDevice(&dev));
  FASTGD_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, dev));
  if (!cooperative)
    throw std::runtime_error("sgd_epoch: this CUDA device does not support cooperative launches, "
                             "which the GPU epoch needs");
  Plan<T, Loss> p;
  const std::size_t acc_bytes = std::size_t(kWarps) * std::size_t(d) * sizeof(double);
  p.shared_bytes = acc_bytes + std::size_t(d) * sizeof(T);
  p.shared = p.shared_bytes <= max_shared_per_block();
  int per_sm = 0;
  if (p.shared) {
    FASTGD_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(p.shared_bytes)));
    FASTGD_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads,
                                                                    p.shared_bytes));
    p.shared = per_sm > 0;
  }
  if (!p.shared) {
    p.shared_bytes = 0;
    FASTGD_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0));
  }
  if (per_sm < 1)
    throw std::runtime_error("sgd_epoch: the CUDA kernel cannot be resident on this device "
                             "(occupancy 0)");
  // A cooperative launch needs every block resident at once.
  index_t max_blocks = index_t(per_sm) * multiprocessors();
  if (!p.shared)
    max_blocks = std::min<index_t>(max_blocks,
                                   std::max<index_t>(1, kMaxGlobalAccBytes / acc_bytes));
  index_t G = n_blocks > 0 ? index_t(n_blocks)
                           : (batch + kWarps * kTargetRowsPerWarp - 1) / (kWarps * kTargetRowsPerWarp);
  p.blocks = int(std::max<index_t>(1, std::min(G, max_blocks)));
  return p;
}

template <class T, class Loss>
double run(const EpochArgs& a, const Loss& loss) {
  const index_t d = a.X.n_cols, n = a.n_rows, B = a.batch_size;
  const index_t n_steps = (n + B - 1) / B;
  const Plan<T, Loss> p = plan<T, Loss>(d, std::min(B, n), a.n_blocks);
  const index_t G = p.blocks;

  // One device buffer: the learning rates, the loss, the two sets of partials and, for wide data, the
  // per-block accumulators and weight copies. Each piece starts on a 256-byte boundary.
  auto round = [](std::size_t x) { return (x + 255) / 256 * 256; };
  const std::size_t lrs_bytes = round(std::size_t(n_steps) * sizeof(double));
  const std::size_t loss_bytes = round(sizeof(double));
  const std::size_t part_bytes = round(2 * std::size_t(G) * std::size_t(d + 2) * sizeof(double));
  const std::size_t accg_bytes =
      p.shared ? 0 : round(std::size_t(G) * kWarps * std::size_t(d) * sizeof(double));
  const std::size_t wg_bytes = p.shared ? 0 : round(std::size_t(G) * std::size_t(d) * sizeof(T));
  DeviceBuffer scratch(lrs_bytes + loss_bytes + part_bytes + accg_bytes + wg_bytes);
  std::size_t off = 0;
  double* lrs = scratch.as<double>(off);
  double* loss_out = scratch.as<double>(off += lrs_bytes);
  double* partials = scratch.as<double>(off += loss_bytes);
  double* acc_global = p.shared ? nullptr : scratch.as<double>(off += part_bytes);
  T* w_global = p.shared ? nullptr : scratch.as<T>(off += accg_bytes);
  FASTGD_CUDA_CHECK(cudaMemcpyAsync(lrs, a.lrs_host, std::size_t(n_steps) * sizeof(double),
                                    cudaMemcpyHostToDevice, cudaStreamLegacy));

  EpochParams<T> params{
      {static_cast<const T*>(a.X.data), a.X.row_stride, d, static_cast<const T*>(a.y),
       static_cast<const T*>(a.sample_weight), a.order},
      n, B, n_steps, lrs, a.penalty, a.fit_intercept, static_cast<T*>(a.coef),
      static_cast<T*>(a.intercept), partials, acc_global, w_global, loss_out};
  Loss loss_arg = loss;
  void* args[] = {&params, &loss_arg};
  FASTGD_CUDA_CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<void*>(&sgd_epoch_kernel<T, Loss>),
                                                dim3(unsigned(G)), dim3(kThreads), args,
                                                p.shared_bytes, cudaStreamLegacy));
  double total = 0.0;
  FASTGD_CUDA_CHECK(cudaMemcpyAsync(&total, loss_out, sizeof(double), cudaMemcpyDeviceToHost,
                                    cudaStreamLegacy));
  FASTGD_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
  return total;
}

}  // namespace
}  // namespace detail

double sgd_epoch(const EpochArgs& a) {
  return detail::with_dtype(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    return with_loss(a.loss, a.epsilon,
                     [&](const auto& loss) { return detail::run<T>(a, loss); });
  });
}

EpochGrid epoch_grid(DType dtype, index_t d, index_t batch, int n_blocks) {
  // The plan does not depend on the loss beyond register use; squared error stands for all.
  return detail::with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    const auto p = detail::plan<T, losses::SquaredError>(d, batch, n_blocks);
    return EpochGrid{p.blocks, detail::kThreads, p.shared};
  });
}

}  // namespace fastgd::cuda
