// fastgd._core.read_bandwidth and random_update_seconds: the machine's memory limits, for the
// roofline report and the sparse benchmarks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "arrays.hpp"
#include "fastgd/roofline.hpp"
#include "register.hpp"

namespace fastgd::bindings {

namespace {

double read_bandwidth(const py::array& buffer, int n_threads, int repeats) {
  if (!(buffer.flags() & py::array::c_style))
    value_error("buffer must be a C-contiguous array, got " + describe(buffer));
  if (reinterpret_cast<std::uintptr_t>(buffer.data()) % 8 != 0)
    value_error("buffer must be 8-byte aligned");
  if (buffer.nbytes() < 8) value_error("buffer must hold at least 8 bytes, got " + describe(buffer));
  if (n_threads < 1) value_error("n_threads must be >= 1, got " + std::to_string(n_threads));
  if (repeats < 1) value_error("repeats must be >= 1, got " + std::to_string(repeats));
  py::gil_scoped_release release;  // safe: only the raw buffer of a live argument is read
  return fastgd::read_bandwidth(buffer.data(), index_t(buffer.nbytes()), n_threads, repeats) / 1e9;
}

// The indices, copied and checked to lie in [0, d) (`bound` names d in the error). Copied first:
// the probes write into their buffer with the GIL released, and indices that alias it (a view of
// the same memory) or that another thread changes would otherwise lead its writes anywhere once
// checked.
template <class I>
std::vector<I> checked_indices(const py::array& indices, index_t d, const std::string& bound) {
  if (reinterpret_cast<std::uintptr_t>(indices.data()) % alignof(I) != 0)
    value_error("indices must be aligned to their item size");
  const auto* given = static_cast<const I*>(indices.data());
  std::vector<I> idx(given, given + indices.size());
  for (std::size_t k = 0; k < idx.size(); ++k)
    if (idx[k] < 0 || index_t(idx[k]) >= d)
      value_error("indices must lie in [0, " + bound + ") = [0, " + std::to_string(d) +
                  "), got " + std::to_string(idx[k]) + " at position " + std::to_string(k));
  return idx;
}

template <class I>
double random_updates(py::array& buffer, const py::array& indices, int repeats) {
  const std::vector<I> idx = checked_indices<I>(indices, index_t(buffer.size()), "len(buffer)");
  auto* p = static_cast<double*>(buffer.mutable_data());
  py::gil_scoped_release release;  // safe: `buffer` is a live argument, `idx` our own copy
  return fastgd::random_update_seconds(p, idx.data(), index_t(idx.size()), repeats);
}

double random_update_seconds(py::array& buffer, const py::array& indices, int repeats) {
  inout_array<double>(buffer, "buffer", {py::ssize_t(buffer.size())},
                      "1-D, the coefficients of a float64 epoch");
  if (reinterpret_cast<std::uintptr_t>(buffer.data()) % alignof(double) != 0)
    value_error("buffer must be aligned to 8 bytes");
  if (indices.ndim() != 1 || !unit_stride(indices, 0))
    value_error("indices must be a contiguous 1-D array, got " + describe(indices));
  if (repeats < 1 || repeats > 1000)
    value_error("repeats must be in [1, 1000], got " + std::to_string(repeats));
  if (indices.dtype().equal(py::dtype::of<std::int32_t>()))
    return random_updates<std::int32_t>(buffer, indices, repeats);
  if (indices.dtype().equal(py::dtype::of<std::int64_t>()))
    return random_updates<std::int64_t>(buffer, indices, repeats);
  type_error("indices must be an int32 or int64 array (as scipy's CSR indices), got " +
             describe(indices));
}

template <class I>
double column_updates(py::array& buffer, const py::array& indices, index_t K, index_t d,
                      ColumnUpdate update, int repeats) {
  const std::vector<I> idx = checked_indices<I>(indices, d, "d");
  auto* p = static_cast<double*>(buffer.mutable_data());
  py::gil_scoped_release release;  // safe: `buffer` is a live argument, `idx` our own copy
  return fastgd::column_update_seconds(p, idx.data(), index_t(idx.size()), K, d, update,
                                       repeats);
}

double column_update_seconds(py::array& buffer, const py::array& indices, index_t K,
                             const std::string& update, int repeats) {
  const ColumnUpdate kinds[] = {ColumnUpdate::one, ColumnUpdate::two, ColumnUpdate::interleaved,
                                ColumnUpdate::adagrad};
  const char* names[] = {"one", "two", "interleaved", "adagrad"};
  int which = 0;
  while (which < 4 && update != names[which]) ++which;
  if (which == 4)
    value_error("update must be one of 'one', 'two', 'interleaved', 'adagrad', got '" + update +
                "'");
  if (K < 1 || K > 64) value_error("K must be in [1, 64], got " + std::to_string(K));
  const index_t arrays = which == 0 ? 1 : 2;
  inout_array<double>(buffer, "buffer", {py::ssize_t(buffer.size())},
                      "1-D, K·d values (2·K·d with a second array)");
  if (reinterpret_cast<std::uintptr_t>(buffer.data()) % alignof(double) != 0)
    value_error("buffer must be aligned to 8 bytes");
  if (buffer.size() == 0 || index_t(buffer.size()) % (arrays * K) != 0)
    value_error("buffer must hold a positive multiple of " + std::to_string(arrays * K) +
                " values, got " + std::to_string(buffer.size()));
  const index_t d = index_t(buffer.size()) / (arrays * K);
  if (indices.ndim() != 1 || !unit_stride(indices, 0))
    value_error("indices must be a contiguous 1-D array, got " + describe(indices));
  if (repeats < 1 || repeats > 1000)
    value_error("repeats must be in [1, 1000], got " + std::to_string(repeats));
  if (indices.dtype().equal(py::dtype::of<std::int32_t>()))
    return column_updates<std::int32_t>(buffer, indices, K, d, kinds[which], repeats);
  if (indices.dtype().equal(py::dtype::of<std::int64_t>()))
    return column_updates<std::int64_t>(buffer, indices, K, d, kinds[which], repeats);
  type_error("indices must be an int32 or int64 array (as scipy's CSR indices), got " +
             describe(indices));
}

}  // namespace

void register_roofline(py::module_& m) {
  m.def("read_bandwidth", &read_bandwidth, py::arg("buffer"), py::arg("n_threads"),
        py::arg("repeats") = 5,
        "Best memory read bandwidth in GB/s (1e9 bytes/s) over `repeats` STREAM-style reads of "
        "the whole buffer with `n_threads` threads. Use a buffer far larger than the last-level "
        "cache (>= 1 GiB) to measure main memory.");
  m.def("random_update_seconds", &random_update_seconds, py::arg("buffer").noconvert(),
        py::arg("indices").noconvert(), py::arg("repeats") = 3,
        "Best time in seconds, over `repeats` passes (each with and without software prefetch), "
        "of buffer[i] += 1 for every i in indices, in order, on one thread: the memory floor of "
        "a sparse epoch whose non-zeros have these column indices. Adds 2 * repeats to buffer[i] "
        "per occurrence of i.");
  m.def("column_update_seconds", &column_update_seconds, py::arg("buffer").noconvert(),
        py::arg("indices").noconvert(), py::arg("K"), py::arg("update"), py::arg("repeats") = 3,
        "Best time in seconds, over `repeats` passes on one thread, of the coefficient updates "
        "alone of a softmax CSR epoch with K outputs (feature-major) whose non-zeros have these "
        "column indices, in order: 'one' (the plain update), 'two' (and the same in a second "
        "array, as averaging keeps), 'interleaved' (the two arrays' columns side by side) or "
        "'adagrad' (its accumulators and math). buffer: K·d float64 values for 'one', else "
        "2·K·d (roofline.hpp, column_update_seconds).");
}

}  // namespace fastgd::bindings
