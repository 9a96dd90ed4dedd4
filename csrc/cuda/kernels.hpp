// The CUDA core's host interface: plain C++ (no CUDA or pybind11 types), so the bindings are
// compiled by the host compiler and only csrc/cuda/*.cu sees nvcc.
//
// Every pointer named here is device memory (or managed memory) on the current device, except
// where it says host. Functions synchronize before they return and throw std::runtime_error
// (FASTGD_CUDA_CHECK, with file:line) on any CUDA failure.
#pragma once

#include <cstdint>
#include <string>

#include "fastgd/config.hpp"
#include "fastgd/losses.hpp"
#include "fastgd/penalties.hpp"

namespace fastgd::cuda {

enum class DType { float32, float64 };

// A dense row-major matrix in device memory: n_rows × n_cols, row_stride elements apart.
struct Matrix {
  const void* data;
  index_t n_rows, n_cols, row_stride;
};

// ---- memory.cu: devices and memory ----
int device_count() noexcept;   // 0 when there is no driver, no device, or any probe error
std::string runtime_status();  // why device_count() is what it is (for messages)
std::string device_name(int device);
int current_device();
void set_device(int device);
// The device a pointer lives on; throws std::invalid_argument naming `name` when it is host
// memory (unregistered or pinned), so that a kernel never dereferences a host pointer.
int pointer_device(const void* ptr, const char* name);
std::uintptr_t device_malloc(std::size_t bytes);
void device_free(std::uintptr_t ptr) noexcept;
void copy(void* dst, const void* src, std::size_t bytes);  // any direction (unified addressing)
void synchronize();
void stream_synchronize(std::uintptr_t stream);  // a cudaStream_t given as an integer

// ---- checks.cu: input checks on device data; each returns the first bad index, or -1 ----
index_t first_nonfinite_row(DType dtype, const Matrix& X);
index_t first_nonfinite(DType dtype, const void* v, index_t n);
index_t first_not_plus_minus_one(DType dtype, const void* v, index_t n);
index_t first_negative(DType dtype, const void* v, index_t n);
// An index of `order` (m entries) that is outside [0, n) or repeats an earlier-seen value.
// Which of two repeated entries is reported depends on timing; that there is one does not.
index_t first_bad_order_entry(const std::int64_t* order, index_t m, index_t n);

// ---- objective.cu: the full-batch objective and gradient, one pass over X ----
struct ObjectiveArgs {
  DType dtype;
  Matrix X;
  const void* y;
  const void* sample_weight;  // nullptr: all ones
  const void* coef;           // d values
  double intercept;
  LossKind loss;
  double epsilon;
  Penalty penalty;
  void* grad;  // out: d values
};
struct ObjectiveResult {
  double objective, grad_intercept;
};
ObjectiveResult loss_and_grad(const ObjectiveArgs& a);

// ---- epoch.cu: one minibatch SGD epoch in one cooperative kernel ----
struct EpochArgs {
  DType dtype;
  Matrix X;
  const void* y;
  const void* sample_weight;   // nullptr: all ones
  const std::int64_t* order;   // nullptr: rows 0..n_rows−1
  index_t n_rows;              // rows in the epoch
  const double* lrs_host;      // host: one learning rate per step
  index_t batch_size;
  LossKind loss;
  double epsilon;
  Penalty penalty;
  bool fit_intercept;
  void* coef;       // d values, updated in place
  void* intercept;  // 1 value, updated in place
  int n_blocks;     // 0: chosen from the batch size and the device (see epoch.cu)
};
double sgd_epoch(const EpochArgs& a);

// The grid an epoch would use, for benchmarks and notes: blocks, threads per block, whether the
// per-block buffers fit in shared memory.
struct EpochGrid {
  int blocks, threads;
  bool shared;
};
EpochGrid epoch_grid(DType dtype, index_t d, index_t batch, int n_blocks);

}  // namespace fastgd::cuda
