// Buffer checks for the binding: every check raises ValueError (std::invalid_argument) or
// TypeError (py::type_error) naming the argument and saying what was expected and what was given.
// Nothing here converts or copies: arrays arrive with .noconvert() and are used in place.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fastgd/config.hpp"
#include "fastgd/data.hpp"
#include "fastgd/dispatch.hpp"
#include "fastgd/validation.hpp"

namespace fastgd::bindings {

namespace py = pybind11;

inline std::string describe(const py::array& a) {
  std::ostringstream s;
  s << py::str(a.dtype()).cast<std::string>() << " array of shape (";
  for (py::ssize_t k = 0; k < a.ndim(); ++k) s << (k ? ", " : "") << a.shape(k);
  s << (a.ndim() == 1 ? ",)" : ")");
  return s.str();
}

[[noreturn]] inline void value_error(const std::string& msg) { throw std::invalid_argument(msg); }
[[noreturn]] inline void type_error(const std::string& msg) { throw py::type_error(msg); }

// The floating dtype of X, which selects the kernel instantiation. dtypes are compared by
// equivalence, not identity: unpickled arrays (e.g. joblib memmaps) carry their own dtype objects.
inline ValueType float_dtype(const py::array& X, const char* name) {
  if (X.dtype().equal(py::dtype::of<float>())) return ValueType::float32;
  if (X.dtype().equal(py::dtype::of<double>())) return ValueType::float64;
  type_error(std::string(name) + " must be a float32 or float64 array (native byte order), got " +
             describe(X) +
             "; convert it once, e.g. np.asarray(" + name + ", dtype=np.float64)");
}

template <class T>
void require_dtype(const py::array& a, const char* name, const char* why) {
  if (!a.dtype().equal(py::dtype::of<T>()))
    type_error(std::string(name) + " must have dtype " +
               py::str(py::dtype::of<T>()).cast<std::string>() + " (" + why + "), got " +
               describe(a));
}

// Contiguous in the sense the kernels need: unit stride between consecutive elements.
inline bool unit_stride(const py::array& a, py::ssize_t axis) {
  return a.shape(axis) <= 1 || a.strides(axis) == a.itemsize();
}

template <class T>
DenseView<T> dense_view(const py::array& X, const char* name) {
  if (X.ndim() != 2)
    value_error(std::string(name) + " must be a 2-D array (n_samples, n_features), got " +
                describe(X));
  if (X.shape(0) < 1 || X.shape(1) < 1)
    value_error(std::string(name) + " must have at least one sample and one feature, got " +
                describe(X));
  if (!unit_stride(X, 1) || X.strides(0) % py::ssize_t(sizeof(T)) != 0)
    value_error(std::string(name) +
                " must be row-major with contiguous rows (X.strides[1] == X.itemsize), got "
                "strides (" + std::to_string(X.strides(0)) + ", " +
                std::to_string(X.strides(1)) + "); use np.ascontiguousarray(" + name +
                ") once before training");
  return {static_cast<const T*>(X.data()), X.shape(0), X.shape(1),
          X.strides(0) / py::ssize_t(sizeof(T))};
}

// A read-only 1-D input of length n in the kernel's dtype (the Python layer converts y,
// sample_weight, lrs and order to that dtype first).
template <class T>
const T* input_vector(const py::array& a, const char* name, index_t n, const char* n_desc) {
  require_dtype<T>(a, name, "the Python layer converts it");
  if (a.ndim() != 1 || a.shape(0) != n)
    value_error(std::string(name) + " must have shape (" + std::to_string(n) + ",) (" + n_desc +
                "), got " + describe(a));
  if (!unit_stride(a, 0)) value_error(std::string(name) + " must be contiguous");
  return static_cast<const T*>(a.data());
}

// Whether a (..., K, d) array holds each (K, d) matrix in Fortran order (a feature's K values side
// by side) and its leading axes in C order: the layout of a softmax's coefficients on CSR data.
inline bool is_feature_major(const py::array& a) {
  const py::ssize_t nd = a.ndim();
  if (nd < 2) return false;
  py::ssize_t expected = py::ssize_t(a.itemsize());
  if (a.shape(nd - 2) > 1 && a.strides(nd - 2) != expected) return false;
  expected *= a.shape(nd - 2);
  if (a.shape(nd - 1) > 1 && a.strides(nd - 1) != expected) return false;
  expected *= a.shape(nd - 1);
  for (py::ssize_t k = nd - 3; k >= 0; --k) {
    if (a.shape(k) > 1 && a.strides(k) != expected) return false;
    expected *= a.shape(k);
  }
  return true;
}

// An array the kernel writes in place (coef, intercept, optimizer state, averages): exact dtype
// and shape, C-contiguous (or, with feature_major, in that layout) and writeable. A mismatch is an error, never a conversion, since the
// update would land in a temporary copy.
template <class T>
T* inout_array(py::array& a, const char* name, const std::vector<py::ssize_t>& shape,
               const char* desc, bool feature_major = false) {
  require_dtype<T>(a, name, "it is updated in place");
  bool same = a.ndim() == py::ssize_t(shape.size());
  for (size_t k = 0; same && k < shape.size(); ++k) same = a.shape(py::ssize_t(k)) == shape[k];
  if (!same) {
    std::string want = "(";
    for (size_t k = 0; k < shape.size(); ++k)
      want += (k ? ", " : "") + std::to_string(shape[k]);
    want += shape.size() == 1 ? ",)" : ")";
    value_error(std::string(name) + " must have shape " + want + " (" + desc + "), got " +
                describe(a));
  }
  if (!(feature_major ? is_feature_major(a) : bool(a.flags() & py::array::c_style)))
    value_error(std::string(name) +
                (feature_major ? " must have coef's layout, Fortran order in its last two axes"
                               : " must be C-contiguous") +
                " (it is updated in place), got " + describe(a));
  if (!a.writeable()) value_error(std::string(name) + " must be writeable (it is updated in place)");
  return static_cast<T*>(a.mutable_data());
}

// Calls f(T{}) with T = float or double according to X's dtype.
template <class F>
decltype(auto) with_dtype(const py::array& X, const char* name, F&& f) {
  return with_value_type(float_dtype(X, name), std::forward<F>(f));
}

// ---- Checks of values, shared by the dense and the sparse entry points ----

inline std::string at_index(index_t i) { return " (first at index " + std::to_string(i) + ")"; }

inline void check_penalty_and_threads(double alpha, double l1_ratio, double epsilon,
                                      int n_threads) {
  if (!(std::isfinite(alpha) && alpha >= 0))
    value_error("alpha must be a finite number >= 0, got " + std::to_string(alpha));
  if (!(l1_ratio >= 0 && l1_ratio <= 1))
    value_error("l1_ratio must be in [0, 1], got " + std::to_string(l1_ratio));
  if (!(std::isfinite(epsilon) && epsilon >= 0))
    value_error("epsilon must be a finite number >= 0, got " + std::to_string(epsilon));
  if (n_threads < 1) value_error("n_threads must be >= 1, got " + std::to_string(n_threads));
}

// y of a pointwise loss: n finite targets; labels ±1 for a classification loss.
template <class T>
void check_target_values(const T* y, index_t n, bool classification) {
  if (index_t i = first_nonfinite(y, n); i >= 0) value_error("y contains NaN or inf" + at_index(i));
  if (classification) {
    if (index_t i = first_not_plus_minus_one(y, n); i >= 0)
      value_error("y must hold labels -1 or +1 for a classification loss, got " +
                  std::to_string(double(y[i])) + at_index(i));
  }
}

// sample_weight (nullptr: none): n finite values >= 0.
template <class T>
void check_sample_weight_values(const T* sw, index_t n) {
  if (sw) {
    if (index_t i = first_nonfinite(sw, n); i >= 0)
      value_error("sample_weight contains NaN or inf" + at_index(i));
    if (index_t i = first_negative(sw, n); i >= 0)
      value_error("sample_weight must be >= 0, got " + std::to_string(double(sw[i])) +
                  at_index(i));
  }
}

// The epoch's rows: distinct indices in [0, n) (nullptr and n rows without `order`).
inline const std::int64_t* check_order(const std::optional<py::array>& order, index_t n,
                                       index_t* n_rows) {
  *n_rows = n;
  if (!order) return nullptr;
  if (order->ndim() != 1 || order->shape(0) < 1 || order->shape(0) > n)
    value_error("order must be a 1-D array of 1 to " + std::to_string(n) +
                " distinct row indices, got " + describe(*order));
  *n_rows = order->shape(0);
  const std::int64_t* perm =
      input_vector<std::int64_t>(*order, "order", *n_rows, "distinct row indices");
  if (index_t k = first_non_permutation(perm, *n_rows, n); k >= 0)
    value_error("order must hold distinct row indices in [0, " + std::to_string(n) + "); entry " +
                std::to_string(k) + " (" + std::to_string(perm[k]) +
                ") is out of range or repeated");
  return perm;
}

// One finite learning rate >= 0 per step.
inline const double* check_lrs(const py::array& lrs, index_t n_steps) {
  const std::string desc =
      "one learning rate per step: ceil(len(order) / batch_size) = " + std::to_string(n_steps);
  const double* lr = input_vector<double>(lrs, "lrs", n_steps, desc.c_str());
  for (index_t s = 0; s < n_steps; ++s)
    if (!(std::isfinite(lr[s]) && lr[s] >= 0))
      value_error("lrs must be finite and >= 0, got " + std::to_string(lr[s]) + at_index(s));
  return lr;
}

// Read-only coefficients (loss_and_grad): X's dtype, this shape, C-contiguous, finite.
template <class T>
const T* check_coef(const py::array& coef, const std::vector<py::ssize_t>& shape) {
  require_dtype<T>(coef, "coef", "it must match X's dtype");
  bool same = coef.ndim() == py::ssize_t(shape.size());
  for (size_t k = 0; same && k < shape.size(); ++k) same = coef.shape(py::ssize_t(k)) == shape[k];
  if (!same || !(coef.flags() & py::array::c_style))
    value_error("coef must have shape (" + std::to_string(shape[0]) +
                (shape.size() > 1 ? ", " + std::to_string(shape[1]) : std::string(",")) +
                ") and be C-contiguous, got " + describe(coef));
  const T* w = static_cast<const T*>(coef.data());
  if (index_t j = first_nonfinite(w, index_t(coef.size())); j >= 0)
    value_error("coef contains NaN or inf" + at_index(j));
  return w;
}

// The weights an epoch updates in place: coef of `coef_shape` (C order, or feature_major, see
// is_feature_major) and `m` intercepts, finite.
template <class T>
std::pair<T*, T*> check_weights(py::array& coef, py::array& intercept,
                                const std::vector<py::ssize_t>& coef_shape, index_t m,
                                bool feature_major = false) {
  T* w = inout_array<T>(coef, "coef", coef_shape, "one per column of X (and class)",
                        feature_major);
  T* b = inout_array<T>(intercept, "intercept", {py::ssize_t(m)}, "updated in place");
  if (index_t j = first_nonfinite(w, index_t(coef.size())); j >= 0)
    value_error("coef contains NaN or inf" + at_index(j));
  if (index_t j = first_nonfinite(b, m); j >= 0)
    value_error("intercept contains NaN or inf" + at_index(j));
  return {w, b};
}

// A CSR matrix given as its three arrays and its shape: dtypes, lengths and structure (indptr
// starts at 0, never decreases, ends at len(data); indices in [0, n_cols)), and with
// `check_finite` its values. The structure is always checked: the kernels index with it.
template <class T, class I>
CsrView<T, I> csr_view(const py::array& data, const py::array& indices, const py::array& indptr,
                       index_t n_rows, index_t n_cols, bool check_finite, int n_threads) {
  if (n_rows < 1 || n_cols < 1)
    value_error("X must have at least one sample and one feature, got shape (" +
                std::to_string(n_rows) + ", " + std::to_string(n_cols) + ")");
  if (data.ndim() != 1 || indices.ndim() != 1 || data.shape(0) != indices.shape(0))
    value_error("X.data and X.indices must be 1-D arrays of the same length, got " +
                describe(data) + " and " + describe(indices));
  if (indptr.ndim() != 1 || indptr.shape(0) != n_rows + 1)
    value_error("X.indptr must have shape (" + std::to_string(n_rows + 1) +
                ",) (n_samples + 1), got " + describe(indptr));
  if (!unit_stride(data, 0) || !unit_stride(indices, 0) || !unit_stride(indptr, 0))
    value_error("X.data, X.indices and X.indptr must be contiguous");
  const index_t nnz = data.shape(0);
  const T* v = static_cast<const T*>(data.data());
  const I* idx = static_cast<const I*>(indices.data());
  const I* ptr = static_cast<const I*>(indptr.data());
  CsrCheck c{};
  index_t first_bad_value = -1;
  {
    py::gil_scoped_release release;  // passes over the three buffers only
    c = check_csr(ptr, idx, n_rows, n_cols, nnz, n_threads);
    if (c.problem == CsrProblem::none && check_finite)
      first_bad_value = first_nonfinite_parallel(v, nnz, n_threads);
  }
  const std::string w = std::to_string(c.where);
  switch (c.problem) {
    case CsrProblem::none: break;
    case CsrProblem::indptr_start:
      value_error("X.indptr must start at 0, got " + std::to_string(index_t(ptr[0])));
    case CsrProblem::indptr_decreasing:
      value_error("X.indptr must be non-decreasing, but X.indptr[" + w + "] = " +
                  std::to_string(index_t(ptr[c.where])) + " < X.indptr[" +
                  std::to_string(c.where - 1) + "] = " + std::to_string(index_t(ptr[c.where - 1])));
    case CsrProblem::indptr_end:
      value_error("X.indptr must end at len(X.data) = " + std::to_string(nnz) + ", got " +
                  std::to_string(index_t(ptr[n_rows])));
    case CsrProblem::index_out_of_range:
      value_error("X.indices must be column indices in [0, " + std::to_string(n_cols) +
                  "), got " + std::to_string(index_t(idx[c.where])) + " at position " + w);
  }
  // scikit-learn's words, so that estimators raise what its users expect
  if (first_bad_value >= 0)
    value_error(std::string("Input X contains ") +
                (std::isnan(v[first_bad_value]) ? "NaN" : "infinity") + " (X.data[" +
                std::to_string(first_bad_value) + "])");
  return {v, idx, ptr, n_rows, n_cols};
}

// Calls f(I{}) with I = int32 or int64, the index dtype shared by indices and indptr.
template <class F>
decltype(auto) with_index_dtype(const py::array& indices, const py::array& indptr, F&& f) {
  const bool i32 = indices.dtype().equal(py::dtype::of<std::int32_t>()) &&
                   indptr.dtype().equal(py::dtype::of<std::int32_t>());
  const bool i64 = indices.dtype().equal(py::dtype::of<std::int64_t>()) &&
                   indptr.dtype().equal(py::dtype::of<std::int64_t>());
  if (!i32 && !i64)
    type_error("X.indices and X.indptr must both be int32 or both int64, got " +
               describe(indices) + " and " + describe(indptr));
  return with_index_type(i32 ? IndexType::int32 : IndexType::int64, std::forward<F>(f));
}

}  // namespace fastgd::bindings

