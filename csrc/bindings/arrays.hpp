// Buffer checks for the binding: every check raises ValueError (std::invalid_argument) or
// TypeError (py::type_error) naming the argument and saying what was expected and what was given.
// Nothing here converts or copies: arrays arrive with .noconvert() and are used in place.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fastgd/config.hpp"
#include "fastgd/data.hpp"

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

enum class Dtype { float32, float64 };

// The floating dtype of X, which selects the kernel instantiation. dtypes are compared by
// equivalence, not identity: unpickled arrays (e.g. joblib memmaps) carry their own dtype objects.
inline Dtype float_dtype(const py::array& X, const char* name) {
  if (X.dtype().equal(py::dtype::of<float>())) return Dtype::float32;
  if (X.dtype().equal(py::dtype::of<double>())) return Dtype::float64;
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

// An array the kernel writes in place (coef, intercept, optimizer state, averages): exact dtype
// and shape, C-contiguous and writeable. A mismatch is an error, never a conversion, since the
// update would land in a temporary copy.
template <class T>
T* inout_array(py::array& a, const char* name, const std::vector<py::ssize_t>& shape,
               const char* desc) {
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
  if (!(a.flags() & py::array::c_style))
    value_error(std::string(name) + " must be C-contiguous (it is updated in place)");
  if (!a.writeable()) value_error(std::string(name) + " must be writeable (it is updated in place)");
  return static_cast<T*>(a.mutable_data());
}

// Calls f(T{}) with T = float or double according to X's dtype.
template <class F>
decltype(auto) with_dtype(const py::array& X, const char* name, F&& f) {
  return float_dtype(X, name) == Dtype::float32 ? f(float{}) : f(double{});
}

}  // namespace fastgd::bindings
