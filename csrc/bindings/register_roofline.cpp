// fastgd._core.read_bandwidth: the machine's memory read bandwidth, for the roofline report.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

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

}  // namespace

void register_roofline(py::module_& m) {
  m.def("read_bandwidth", &read_bandwidth, py::arg("buffer"), py::arg("n_threads"),
        py::arg("repeats") = 5,
        "Best memory read bandwidth in GB/s (1e9 bytes/s) over `repeats` STREAM-style reads of "
        "the whole buffer with `n_threads` threads. Use a buffer far larger than the last-level "
        "cache (>= 1 GiB) to measure main memory.");
}

}  // namespace fastgd::bindings
