// fastgd._core: what the extension was built with (version, compiler, OpenMP, SIMD level).
#include <pybind11/pybind11.h>

#include <string>

#include "fastgd/simd.hpp"
#include "register.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

#ifndef FASTGD_VERSION
#define FASTGD_VERSION "0+unknown"
#endif

namespace fastgd::bindings {

namespace py = pybind11;

namespace {

std::string compiler() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
  return "msvc " + std::to_string(_MSC_VER);
#else
  return "unknown";
#endif
}

int max_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace

void register_info(py::module_& m) {
  m.attr("__version__") = FASTGD_VERSION;
  m.def("max_threads", &max_threads,
        "Threads a kernel uses by default: OpenMP's max (OMP_NUM_THREADS), 1 without OpenMP.");
  m.def(
      "build_info",
      []() {
        py::dict info;
        info["version"] = FASTGD_VERSION;
        info["compiler"] = compiler();
#if defined(_OPENMP)
        info["openmp"] = true;
        info["openmp_version"] = int(_OPENMP);
#else
        info["openmp"] = false;
        info["openmp_version"] = py::none();
#endif
        info["max_threads"] = max_threads();
        // "simd": what the whole build targets; "simd_runtime": what the hot loops run with on
        // this CPU (FASTGD_MULTIVERSION, simd.hpp).
        info["simd"] = compiled_simd_level();
        info["simd_runtime"] = runtime_simd_level();
        return info;
      },
      "What this extension was built with.");
}

}  // namespace fastgd::bindings
