// Input checks on device data, so that bad values are reported (ValueError, naming the argument)
// before any work, as on the CPU, without copying the data to the host. Each kernel lowers a
// device-side "first bad index" with atomicMin; the host reads that one value back.
#include <cuda_runtime.h>

#include <climits>

#include "row_pass.cuh"

namespace fastgd::cuda {

namespace detail {
namespace {

constexpr unsigned long long kNone = ULLONG_MAX;
constexpr int kCheckThreads = 256;

unsigned grid_for(index_t items) {
  return unsigned(std::max<index_t>(1, std::min<index_t>((items + kCheckThreads - 1) / kCheckThreads, 65535)));
}

// Holds the device-side result; read() synchronizes and returns the index or -1.
class FirstIndex {
 public:
  FirstIndex() : mem_(sizeof(unsigned long long)) {
    FASTGD_CUDA_CHECK(cudaMemsetAsync(mem_.as<void>(), 0xff, sizeof(unsigned long long),
                                      cudaStreamLegacy));
  }
  unsigned long long* ptr() const { return mem_.as<unsigned long long>(); }
  index_t read() const {
    unsigned long long v = kNone;
    FASTGD_CUDA_CHECK(cudaMemcpyAsync(&v, ptr(), sizeof(v), cudaMemcpyDeviceToHost,
                                      cudaStreamLegacy));
    FASTGD_CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy));
    return v == kNone ? -1 : index_t(v);
  }

 private:
  DeviceBuffer mem_;
};

// One warp per row, lanes over the columns (coalesced).
template <class T>
__global__ void nonfinite_rows_kernel(const T* X, index_t n, index_t d, index_t ld,
                                      unsigned long long* first) {
  const index_t warps = index_t(gridDim.x) * blockDim.x / kWarpSize;
  const int lane = threadIdx.x % kWarpSize;
  for (index_t i = (index_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarpSize; i < n;
       i += warps) {
    bool bad = false;
    for (index_t j = lane; j < d; j += kWarpSize) bad |= !isfinite(double(X[i * ld + j]));
    if (__any_sync(0xffffffffu, bad) && lane == 0) atomicMin(first, (unsigned long long)i);
  }
}

enum class Predicate { nonfinite, not_plus_minus_one, negative };

template <class T, Predicate P>
__global__ void vector_kernel(const T* v, index_t n, unsigned long long* first) {
  for (index_t i = index_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += index_t(gridDim.x) * blockDim.x) {
    const double x = double(v[i]);
    bool bad;
    if constexpr (P == Predicate::nonfinite) bad = !isfinite(x);
    else if constexpr (P == Predicate::not_plus_minus_one) bad = !(x == 1.0 || x == -1.0);
    else bad = x < 0.0;
    if (bad) atomicMin(first, (unsigned long long)i);
  }
}

// seen[v] marks values met so far; the entry that finds its value already marked is reported.
__global__ void order_kernel(const std::int64_t* order, index_t m, index_t n, unsigned* seen,
                             unsigned long long* first) {
  for (index_t q = index_t(blockIdx.x) * blockDim.x + threadIdx.x; q < m;
       q += index_t(gridDim.x) * blockDim.x) {
    const std::int64_t v = order[q];
    if (v < 0 || v >= n || atomicExch(seen + v, 1u) != 0u)
      atomicMin(first, (unsigned long long)q);
  }
}

template <Predicate P>
index_t run_vector(DType dtype, const void* v, index_t n) {
  FirstIndex first;
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    vector_kernel<T, P><<<grid_for(n), kCheckThreads, 0, cudaStreamLegacy>>>(
        static_cast<const T*>(v), n, first.ptr());
    FASTGD_CUDA_CHECK_LAUNCH();
    return 0;
  });
  return first.read();
}

}  // namespace
}  // namespace detail

index_t first_nonfinite_row(DType dtype, const Matrix& X) {
  detail::FirstIndex first;
  detail::with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    const unsigned blocks = detail::grid_for(X.n_rows * detail::kWarpSize);
    detail::nonfinite_rows_kernel<T><<<blocks, detail::kCheckThreads, 0, cudaStreamLegacy>>>(
        static_cast<const T*>(X.data), X.n_rows, X.n_cols, X.row_stride, first.ptr());
    FASTGD_CUDA_CHECK_LAUNCH();
    return 0;
  });
  return first.read();
}

index_t first_nonfinite(DType dtype, const void* v, index_t n) {
  return detail::run_vector<detail::Predicate::nonfinite>(dtype, v, n);
}
index_t first_not_plus_minus_one(DType dtype, const void* v, index_t n) {
  return detail::run_vector<detail::Predicate::not_plus_minus_one>(dtype, v, n);
}
index_t first_negative(DType dtype, const void* v, index_t n) {
  return detail::run_vector<detail::Predicate::negative>(dtype, v, n);
}

index_t first_bad_order_entry(const std::int64_t* order, index_t m, index_t n) {
  detail::FirstIndex first;
  detail::DeviceBuffer seen(std::size_t(n) * sizeof(unsigned));
  FASTGD_CUDA_CHECK(
      cudaMemsetAsync(seen.as<void>(), 0, std::size_t(n) * sizeof(unsigned), cudaStreamLegacy));
  detail::order_kernel<<<detail::grid_for(m), detail::kCheckThreads, 0, cudaStreamLegacy>>>(
      order, m, n, seen.as<unsigned>(), first.ptr());
  FASTGD_CUDA_CHECK_LAUNCH();
  return first.read();
}

}  // namespace fastgd::cuda
