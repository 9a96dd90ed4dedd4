// fastgd._cuda: the device probe and the raw memory calls behind fastgd.cuda.DeviceArray.
// Pointers cross the boundary as integers (as in __cuda_array_interface__).
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "kernels.hpp"
#include "register.hpp"

#ifndef FASTGD_CUDA_ARCHITECTURES
#define FASTGD_CUDA_ARCHITECTURES "unknown"
#endif

namespace fastgd::cuda::bindings {

namespace py = pybind11;

void register_device(py::module_& m) {
  m.def("device_count", &device_count,
        "Number of usable CUDA devices; 0 (never an error) without a driver or a device.");
  m.def("runtime_status", &runtime_status,
        "The CUDA runtime and driver versions and the outcome of the device probe, in words.");
  m.def("architectures", []() { return std::string(FASTGD_CUDA_ARCHITECTURES); },
        "The CUDA architectures the kernels were compiled for (CMAKE_CUDA_ARCHITECTURES).");
  m.def("device_name", &device_name, py::arg("device"), "The name of CUDA device `device`.");
  m.def("current_device", &current_device, "The calling thread's current CUDA device.");
  m.def(
      "malloc", [](std::size_t nbytes) { return device_malloc(nbytes); }, py::arg("nbytes"),
      "cudaMalloc on the current device; returns the pointer as an integer.");
  m.def(
      "free", [](std::uintptr_t ptr) { device_free(ptr); }, py::arg("ptr"),
      "cudaFree of a pointer from malloc (errors are ignored: it runs from finalizers).");
  m.def(
      "copy",
      [](std::uintptr_t dst, std::uintptr_t src, std::size_t nbytes) {
        py::gil_scoped_release release;  // safe: raw pointers only, kept alive by the caller
        copy(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), nbytes);
      },
      py::arg("dst"), py::arg("src"), py::arg("nbytes"),
      "cudaMemcpy of nbytes, any direction (host or device pointers, unified addressing).");
  m.def(
      "stream_synchronize",
      [](std::uintptr_t stream) {
        py::gil_scoped_release release;  // safe: touches no Python object
        stream_synchronize(stream);
      },
      py::arg("stream"),
      "cudaStreamSynchronize of a stream handle given as an integer (__cuda_array_interface__).");
  m.def(
      "synchronize",
      []() {
        py::gil_scoped_release release;  // safe: touches no Python object
        synchronize();
      },
      "cudaDeviceSynchronize.");
}

}  // namespace fastgd::cuda::bindings
