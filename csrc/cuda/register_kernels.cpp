// fastgd._cuda: loss_and_grad and sgd_epoch on device arrays. fastgd.cuda (Python) reads the
// arrays' __cuda_array_interface__, checks shapes and dtypes and passes raw device pointers as
// integers, the loss and penalty as fastgd._core's Loss and Penalty enums (module.cpp imports
// _core so that they are known here); this file checks the scalars, that each pointer is device
// memory on X's device, and the values (on the device, before any work), then releases the GIL
// for the kernel. Releasing it is safe: only raw device buffers, owned by the caller's live
// arrays, are touched.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fastgd/dispatch.hpp"
#include "fastgd/penalties.hpp"
#include "kernels.hpp"
#include "register.hpp"

namespace fastgd::cuda::bindings {

namespace py = pybind11;

namespace {

[[noreturn]] void value_error(const std::string& msg) { throw std::invalid_argument(msg); }

std::string at(index_t i) { return " (first at index " + std::to_string(i) + ")"; }

DType parse_dtype(const std::string& s) {
  if (s == "float32") return DType::float32;
  if (s == "float64") return DType::float64;
  throw py::type_error("X must be a float32 or float64 device array, got dtype " + s);
}

Penalty checked_penalty(PenaltyKind kind, double alpha, double l1_ratio) {
  if (!(std::isfinite(alpha) && alpha >= 0))
    value_error("alpha must be a finite number >= 0, got " + std::to_string(alpha));
  if (!(l1_ratio >= 0 && l1_ratio <= 1))
    value_error("l1_ratio must be in [0, 1], got " + std::to_string(l1_ratio));
  return make_penalty(kind, alpha, l1_ratio);
}

void check_epsilon(double epsilon) {
  if (!(std::isfinite(epsilon) && epsilon >= 0))
    value_error("epsilon must be a finite number >= 0, got " + std::to_string(epsilon));
}

const void* ptr(std::uintptr_t p) { return reinterpret_cast<const void*>(p); }

// Makes X's device current for the call and restores the caller's device afterwards.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) : previous_(current_device()) {
    if (device != previous_) set_device(device);
  }
  ~DeviceGuard() {
    try {
      set_device(previous_);
    } catch (...) {  // a destructor must not throw; the call's own error, if any, is reported
    }
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

// Every device pointer of a call must be GPU memory on X's device.
void require_same_device(int device, std::uintptr_t p, const char* name) {
  if (!p) return;
  const int dev = pointer_device(ptr(p), name);
  if (dev != device)
    value_error(std::string(name) + " is on CUDA device " + std::to_string(dev) +
                " but X is on device " + std::to_string(device) + "; move it to X's device");
}

Matrix check_matrix(std::uintptr_t X, index_t n, index_t d, index_t ld) {
  if (n < 1 || d < 1)
    value_error("X must have at least one sample and one feature, got shape (" +
                std::to_string(n) + ", " + std::to_string(d) + ")");
  if (ld < d) value_error("X's row stride must be >= its number of columns");
  return {ptr(X), n, d, ld};
}

// The value checks of the CPU binding, run on the device. `check_input` = false skips the pass
// over X (callers that checked it once already); y and sample_weight are always checked.
void check_values(DType dtype, const Matrix& X, std::uintptr_t y, std::uintptr_t sw,
                  LossKind loss, bool check_input) {
  if (!is_pointwise(loss)) value_error("loss='multinomial' does not run on the GPU yet");
  const index_t n = X.n_rows;
  if (check_input) {
    if (index_t i = first_nonfinite_row(dtype, X); i >= 0)
      value_error("X contains NaN or inf (first in row " + std::to_string(i) + ")");
  }
  if (index_t i = first_nonfinite(dtype, ptr(y), n); i >= 0)
    value_error("y contains NaN or inf" + at(i));
  if (is_classification(loss)) {
    if (index_t i = first_not_plus_minus_one(dtype, ptr(y), n); i >= 0)
      value_error("y must hold labels -1 or +1 for a classification loss" + at(i));
  }
  if (sw) {
    if (index_t i = first_nonfinite(dtype, ptr(sw), n); i >= 0)
      value_error("sample_weight contains NaN or inf" + at(i));
    if (index_t i = first_negative(dtype, ptr(sw), n); i >= 0)
      value_error("sample_weight must be >= 0" + at(i));
  }
}

py::tuple loss_and_grad(const std::string& dtype_name, std::uintptr_t X, index_t n, index_t d,
                        index_t ld, std::uintptr_t y, std::uintptr_t sample_weight,
                        std::uintptr_t coef, double intercept, LossKind loss,
                        PenaltyKind penalty, double alpha, double l1_ratio, double epsilon,
                        std::uintptr_t grad, bool check_input) {
  const DType dtype = parse_dtype(dtype_name);
  const Matrix Xm = check_matrix(X, n, d, ld);
  const Penalty pen = checked_penalty(penalty, alpha, l1_ratio);
  check_epsilon(epsilon);
  if (!std::isfinite(intercept)) value_error("intercept must be finite");
  const int device = pointer_device(ptr(X), "X");
  DeviceGuard guard(device);
  require_same_device(device, y, "y");
  require_same_device(device, sample_weight, "sample_weight");
  require_same_device(device, coef, "coef");
  require_same_device(device, grad, "grad");
  ObjectiveResult r{};
  {
    py::gil_scoped_release release;  // safe: raw device buffers of live arrays only
    check_values(dtype, Xm, y, sample_weight, loss, check_input);
    if (index_t j = first_nonfinite(dtype, ptr(coef), d); j >= 0)
      value_error("coef contains NaN or inf" + at(j));
    r = fastgd::cuda::loss_and_grad({dtype, Xm, ptr(y), ptr(sample_weight), ptr(coef), intercept,
                                     loss, epsilon, pen, reinterpret_cast<void*>(grad)});
  }
  return py::make_tuple(r.objective, r.grad_intercept);
}

double sgd_epoch(const std::string& dtype_name, std::uintptr_t X, index_t n, index_t d,
                 index_t ld, std::uintptr_t y, std::uintptr_t coef, std::uintptr_t intercept,
                 const py::array_t<double, py::array::c_style>& lrs, index_t batch_size,
                 std::uintptr_t order, index_t order_len, LossKind loss, PenaltyKind penalty,
                 double alpha, double l1_ratio, double epsilon, std::uintptr_t sample_weight,
                 bool fit_intercept, bool check_input, int n_blocks) {
  const DType dtype = parse_dtype(dtype_name);
  const Matrix Xm = check_matrix(X, n, d, ld);
  const Penalty pen = checked_penalty(penalty, alpha, l1_ratio);
  check_epsilon(epsilon);
  if (batch_size < 1) value_error("batch_size must be >= 1, got " + std::to_string(batch_size));
  if (n_blocks < 0) value_error("n_blocks must be >= 0 (0: automatic)");
  index_t n_rows = n;
  if (order) {
    if (order_len < 1 || order_len > n)
      value_error("order must hold 1 to " + std::to_string(n) + " distinct row indices, got " +
                  std::to_string(order_len));
    n_rows = order_len;
  }
  const index_t n_steps = (n_rows + batch_size - 1) / batch_size;
  if (lrs.ndim() != 1 || lrs.shape(0) != n_steps)
    value_error("lrs must have shape (" + std::to_string(n_steps) +
                ",) (one learning rate per step: ceil(len(order) / batch_size))");
  const double* lr = lrs.data();
  for (index_t s = 0; s < n_steps; ++s)
    if (!(std::isfinite(lr[s]) && lr[s] >= 0))
      value_error("lrs must be finite and >= 0, got " + std::to_string(lr[s]) + at(s));
  const int device = pointer_device(ptr(X), "X");
  DeviceGuard guard(device);
  require_same_device(device, y, "y");
  require_same_device(device, coef, "coef");
  require_same_device(device, intercept, "intercept");
  require_same_device(device, order, "order");
  require_same_device(device, sample_weight, "sample_weight");
  py::gil_scoped_release release;  // safe: raw device buffers of live arrays only
  check_values(dtype, Xm, y, sample_weight, loss, check_input);
  if (index_t j = first_nonfinite(dtype, ptr(coef), d); j >= 0)
    value_error("coef contains NaN or inf" + at(j));
  if (index_t j = first_nonfinite(dtype, ptr(intercept), 1); j >= 0)
    value_error("intercept contains NaN or inf");
  const auto* perm = static_cast<const std::int64_t*>(ptr(order));
  // Always checked, whatever check_input says: a bad index would read outside X.
  if (perm) {
    if (index_t k = first_bad_order_entry(perm, n_rows, n); k >= 0)
      value_error("order must hold distinct row indices in [0, " + std::to_string(n) +
                  "); entry " + std::to_string(k) + " is out of range or repeated");
  }
  return fastgd::cuda::sgd_epoch({dtype, Xm, ptr(y), ptr(sample_weight), perm, n_rows, lr,
                                  batch_size, loss, epsilon, pen, fit_intercept,
                                  reinterpret_cast<void*>(coef),
                                  reinterpret_cast<void*>(intercept), n_blocks});
}

}  // namespace

void register_kernels(py::module_& m) {
  m.def("loss_and_grad", &loss_and_grad, py::arg("dtype"), py::arg("X"), py::arg("n"),
        py::arg("d"), py::arg("ld"), py::arg("y"), py::arg("sample_weight"), py::arg("coef"),
        py::arg("intercept"), py::arg("loss"), py::arg("penalty"), py::arg("alpha"),
        py::arg("l1_ratio"), py::arg("epsilon"), py::arg("grad"), py::arg("check_input"),
        "Objective and gradient on device buffers (pointers as integers; 0 = absent); writes "
        "grad, returns (objective, grad_intercept). See fastgd.ops.loss_and_grad.");
  m.def("sgd_epoch", &sgd_epoch, py::arg("dtype"), py::arg("X"), py::arg("n"), py::arg("d"),
        py::arg("ld"), py::arg("y"), py::arg("coef"), py::arg("intercept"),
        py::arg("lrs").noconvert(), py::arg("batch_size"), py::arg("order"),
        py::arg("order_len"), py::arg("loss"), py::arg("penalty"), py::arg("alpha"),
        py::arg("l1_ratio"), py::arg("epsilon"), py::arg("sample_weight"),
        py::arg("fit_intercept"), py::arg("check_input"), py::arg("n_blocks") = 0,
        "One minibatch SGD epoch on device buffers in one cooperative kernel, in place; returns "
        "the progressive loss. See fastgd.ops.sgd_epoch.");
  m.def(
      "epoch_grid",
      [](const std::string& dtype, index_t d, index_t batch_size, int n_blocks) {
        const EpochGrid g = epoch_grid(parse_dtype(dtype), d, batch_size, n_blocks);
        return py::make_tuple(g.blocks, g.threads, g.shared);
      },
      py::arg("dtype"), py::arg("d"), py::arg("batch_size"), py::arg("n_blocks") = 0,
      "(blocks, threads per block, shared) of the epoch kernel on the current device: shared "
      "is whether the per-block buffers fit in shared memory.");
}

}  // namespace fastgd::cuda::bindings
