// Device code shared by the objective (objective.cu) and the epoch (epoch.cu) kernels: the fused
// row pass of one warp and the fixed-order reduction of a block's warps. The loss formulas come
// from fastgd/losses.hpp (FASTGD_HD), the same code as the CPU's.
//
// Layout of the work: a warp takes a contiguous range of rows; for each row its 32 lanes split
// the columns (lane l takes j = l, l+32, ...), so the loads of a row are coalesced. The dot
// product is summed over the lanes with an xor butterfly, which leaves the same value, bit for
// bit, in every lane (each level adds a+b in one lane and b+a in its partner: equal). So every
// lane holds p_i and g_i, and lane l adds g_i·x_ij into the warp's accumulator for its own
// columns: no two lanes, and no two warps, ever write the same accumulator.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "fastgd/config.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/losses.hpp"
#include "fastgd/penalties.hpp"
#include "cuda_check.hpp"
#include "kernels.hpp"

namespace fastgd::cuda::detail {

constexpr int kWarpSize = 32;
constexpr int kWarps = 8;  // warps per block
constexpr int kThreads = kWarps * kWarpSize;
// Rows a warp works on at once: their loads are issued together (more bytes in flight per warp)
// before the first butterfly waits on them.
constexpr int kRowsAtOnce = 4;

// [begin, end) of part k of `count` items split into `parts` near-equal contiguous parts (the
// CPU's detail::split).
struct Range {
  index_t begin, end;
};
__host__ __device__ inline Range split(index_t count, index_t parts, index_t k) {
  const index_t base = count / parts, extra = count % parts;
  const index_t begin = k * base + (k < extra ? k : extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int off = kWarpSize / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// The rows of an epoch or objective: X, targets, optional weights and permutation.
template <class T>
struct Rows {
  const T* X;
  index_t ld;  // row stride, elements
  index_t d;
  const T* y;
  const T* sw;                // nullptr: all ones
  const std::int64_t* order;  // nullptr: position q is row q
  __device__ __forceinline__ index_t row(index_t q) const { return order ? index_t(order[q]) : q; }
};

// One warp's rows, positions [begin, end): adds g_i·x_i to `acc` (this warp's d accumulators),
// and Σ s_i·L_i and Σ g_i to loss_sum and gb_sum (the same in every lane). w may live in shared
// or global memory.
template <class T, class Loss>
__device__ void warp_row_pass(const Rows<T>& r, index_t begin, index_t end, const T* w, double b,
                              const Loss& loss, double* acc, double& loss_sum, double& gb_sum) {
  const int lane = threadIdx.x % kWarpSize;
  const index_t d = r.d;
  index_t q = begin;
  for (; q + kRowsAtOnce <= end; q += kRowsAtOnce) {
    const T* x[kRowsAtOnce];
    index_t idx[kRowsAtOnce];
    double p[kRowsAtOnce];
#pragma unroll
    for (int k = 0; k < kRowsAtOnce; ++k) {
      idx[k] = r.row(q + k);
      x[k] = r.X + idx[k] * r.ld;
      p[k] = 0.0;
    }
    for (index_t j = lane; j < d; j += kWarpSize) {
      const double wj = double(w[j]);
#pragma unroll
      for (int k = 0; k < kRowsAtOnce; ++k) p[k] += double(x[k][j]) * wj;
    }
    double g[kRowsAtOnce];
    bool any = false;
#pragma unroll
    for (int k = 0; k < kRowsAtOnce; ++k) {
      const double pk = warp_sum(p[k]) + b;
      const double yk = double(r.y[idx[k]]), sk = r.sw ? double(r.sw[idx[k]]) : 1.0;
      loss_sum += sk * loss.value(pk, yk);
      g[k] = sk * loss.derivative(pk, yk);
      gb_sum += g[k];
      any |= g[k] != 0.0;
    }
    // Margin losses give g = 0 for most rows late in training: skip their second read.
    // (`any` is the same in every lane, so the warp does not diverge.)
    if (any) {
      for (index_t j = lane; j < d; j += kWarpSize) {
        double v = acc[j];
#pragma unroll
        for (int k = 0; k < kRowsAtOnce; ++k) v += g[k] * double(x[k][j]);
        acc[j] = v;
      }
    }
  }
  for (; q < end; ++q) {
    const index_t i = r.row(q);
    const T* x = r.X + i * r.ld;
    double p = 0.0;
    for (index_t j = lane; j < d; j += kWarpSize) p += double(x[j]) * double(w[j]);
    p = warp_sum(p) + b;
    const double yi = double(r.y[i]), si = r.sw ? double(r.sw[i]) : 1.0;
    loss_sum += si * loss.value(p, yi);
    const double g = si * loss.derivative(p, yi);
    gb_sum += g;
    if (g != 0.0)
      for (index_t j = lane; j < d; j += kWarpSize) acc[j] += g * double(x[j]);
  }
}

// After a block's row pass (and a __syncthreads): out[j] = Σ_{w=0..kWarps−1} acc[w·d + j], in
// warp order, for j in [0, d); the accumulators are cleared for the next pass. Then
// out[d] = Σ_w warp_gb[w], out[d+1] = Σ_w warp_loss[w], also in warp order.
__device__ inline void reduce_block(double* acc, index_t d, const double* warp_gb,
                                    const double* warp_loss, double* out) {
  for (index_t j = threadIdx.x; j < d; j += blockDim.x) {
    double s = 0.0;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      s += acc[w * d + j];
      acc[w * d + j] = 0.0;
    }
    out[j] = s;
  }
  if (threadIdx.x == 0) {
    double gb = 0.0, ls = 0.0;
    for (int w = 0; w < kWarps; ++w) {
      gb += warp_gb[w];
      ls += warp_loss[w];
    }
    out[d] = gb;
    out[d + 1] = ls;
  }
}

// Calls f(T{}) with T = float or double.
template <class F>
decltype(auto) with_dtype(DType dtype, F&& f) {
  return dtype == DType::float32 ? f(float{}) : f(double{});
}

// Where a block's kWarps·d gradient accumulators live: in shared memory when they fit, else in
// a global scratch buffer, one slice per block (wide data; slower, but the same code).
struct AccPlacement {
  bool shared;
  std::size_t shared_bytes;  // dynamic shared memory per block
};

// The largest global scratch the accumulators of wide data may take: it bounds the block count.
constexpr std::size_t kMaxGlobalAccBytes = std::size_t(256) << 20;

// Device memory for one call, freed when it goes out of scope (stream-ordered, so the pool
// makes repeated epochs cheap). The destructor must not throw: a failure there is ignored,
// and any real fault has been reported by the checked synchronization before it.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) {
    if (bytes) FASTGD_CUDA_CHECK(cudaMallocAsync(&ptr_, bytes, cudaStreamLegacy));
  }
  ~DeviceBuffer() {
    if (ptr_) (void)cudaFreeAsync(ptr_, cudaStreamLegacy);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  template <class U>
  U* as(std::size_t offset_bytes = 0) const {
    return reinterpret_cast<U*>(static_cast<char*>(ptr_) + offset_bytes);
  }

 private:
  void* ptr_ = nullptr;
};

// Dynamic shared memory a block may use on the current device (after opting in).
inline std::size_t max_shared_per_block() {
  int dev = 0, bytes = 0;
  FASTGD_CUDA_CHECK(cudaGetDevice(&dev));
  FASTGD_CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  return std::size_t(bytes);
}

inline int multiprocessors() {
  int dev = 0, sms = 0;
  FASTGD_CUDA_CHECK(cudaGetDevice(&dev));
  FASTGD_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  return sms;
}

}  // namespace fastgd::cuda::detail
