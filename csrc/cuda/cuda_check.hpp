// Every CUDA runtime call and kernel launch goes through FASTGD_CUDA_CHECK: a failure throws
// std::runtime_error (Python: RuntimeError) naming the call, the error and the file:line.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace fastgd::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file,
                                          int line) {
  throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(err) + " (" +
                           cudaGetErrorString(err) + ") in " + what + " at " + file + ":" +
                           std::to_string(line));
}

}  // namespace fastgd::cuda

#define FASTGD_CUDA_CHECK(call)                                                    \
  do {                                                                             \
    const cudaError_t fastgd_err_ = (call);                                        \
    if (fastgd_err_ != cudaSuccess)                                                \
      ::fastgd::cuda::throw_cuda_error(fastgd_err_, #call, __FILE__, __LINE__);    \
  } while (0)

// After a <<<...>>> launch: a bad configuration shows up in cudaGetLastError at once; faults in
// the kernel itself surface at the next synchronizing call, which is checked too.
#define FASTGD_CUDA_CHECK_LAUNCH() FASTGD_CUDA_CHECK(cudaGetLastError())
