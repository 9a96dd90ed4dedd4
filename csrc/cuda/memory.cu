// Devices and memory: the probe behind fastgd.HAS_CUDA, and the few allocation and copy calls
// that fastgd.cuda's DeviceArray needs (so that fastgd needs neither CuPy nor PyTorch).
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda_check.hpp"
#include "kernels.hpp"

namespace fastgd::cuda {

namespace {
// The probe's outcome, kept for runtime_status(): cudaGetDeviceCount fails without a driver
// (cudaErrorInsufficientDriver) or without a device (cudaErrorNoDevice); both mean "no GPU".
cudaError_t probe(int* count) noexcept {
  *count = 0;
  const cudaError_t err = cudaGetDeviceCount(count);
  if (err != cudaSuccess) {
    *count = 0;
    (void)cudaGetLastError();  // clear it: the runtime must not report it from a later call
  }
  return err;
}
}  // namespace

int device_count() noexcept {
  int count = 0;
  probe(&count);
  return count;
}

std::string runtime_status() {
  int count = 0, runtime = 0, driver = 0;
  const cudaError_t err = probe(&count);
  (void)cudaRuntimeGetVersion(&runtime);
  (void)cudaDriverGetVersion(&driver);  // 0 when no driver is installed
  std::string s = "CUDA runtime " + std::to_string(runtime / 1000) + "." +
                  std::to_string(runtime % 1000 / 10) + ", driver " +
                  (driver ? std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10)
                          : std::string("not found")) +
                  ": ";
  if (err != cudaSuccess)
    return s + "no usable device (" + cudaGetErrorName(err) + ": " + cudaGetErrorString(err) + ")";
  return s + std::to_string(count) + " device(s)";
}

std::string device_name(int device) {
  cudaDeviceProp prop{};
  FASTGD_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

int current_device() {
  int dev = 0;
  FASTGD_CUDA_CHECK(cudaGetDevice(&dev));
  return dev;
}

void set_device(int device) { FASTGD_CUDA_CHECK(cudaSetDevice(device)); }

int pointer_device(const void* ptr, const char* name) {
  cudaPointerAttributes attr{};
  FASTGD_CUDA_CHECK(cudaPointerGetAttributes(&attr, ptr));
  if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)
    throw std::invalid_argument(std::string(name) +
                                " must be in GPU memory (a device array), but its pointer is "
                                "host memory");
  return attr.device;
}

std::uintptr_t device_malloc(std::size_t bytes) {
  void* p = nullptr;
  FASTGD_CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
  return reinterpret_cast<std::uintptr_t>(p);
}

void device_free(std::uintptr_t ptr) noexcept { (void)cudaFree(reinterpret_cast<void*>(ptr)); }

void copy(void* dst, const void* src, std::size_t bytes) {
  FASTGD_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}

void synchronize() { FASTGD_CUDA_CHECK(cudaDeviceSynchronize()); }

void stream_synchronize(std::uintptr_t stream) {
  FASTGD_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)));
}

}  // namespace fastgd::cuda
