// HugePageArray: an array that a kernel allocates for one call and reads at random, on huge pages
// when it is large.
//
// The sparse kernels touch one cache line of such an array per non-zero, anywhere in its d
// entries. With 4 KiB pages an array of 128 MiB (d = 2^24 doubles) then also misses the TLB on
// nearly every access, which costs as much again as the cache miss. NumPy asks for transparent huge pages for its own arrays
// of 4 MiB and more; the kernels' scratch does the same, so that its accesses cost what those of
// the caller's coefficients cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fastgd {

// From this many bytes on, a HugePageArray asks for huge pages (NumPy's threshold for its arrays).
constexpr std::size_t kHugePageHintBytes = std::size_t(4) << 20;

// n uninitialized values of a trivial type T (nullptr for n = 0); throws std::bad_alloc. The
// sanitizer build (FASTGD_POISON_SCRATCH, .ci/sanitize) fills floating-point scratch with NaN, so
// a kernel that reads an entry it did not write first gives NaN results, which the tests see:
// fresh pages from the system are zero and would hide it.
template <class T>
class HugePageArray {
  static_assert(std::is_trivial<T>::value, "HugePageArray holds trivial values, never constructed");

 public:
  HugePageArray() = default;
  explicit HugePageArray(std::size_t n) {
    if (n == 0) return;
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = n * sizeof(T);
    void* p = nullptr;
#if defined(__linux__)
    if (bytes >= kHugePageHintBytes) {
      constexpr std::size_t huge = std::size_t(2) << 20;  // x86-64's and arm64's huge page
      const std::size_t rounded = (bytes + huge - 1) / huge * huge;
      if (posix_memalign(&p, huge, rounded) != 0) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
      madvise(p, rounded, MADV_HUGEPAGE);  // only a hint: where it fails, 4 KiB pages it is
#endif
    }
#endif
    if (!p) p = std::malloc(bytes);
    if (!p) throw std::bad_alloc();
    data_.reset(static_cast<T*>(p));
#if defined(FASTGD_POISON_SCRATCH)
    if constexpr (std::is_floating_point<T>::value)
      for (std::size_t k = 0; k < n; ++k) data_[k] = std::numeric_limits<T>::quiet_NaN();
#endif
  }
  T* get() const noexcept { return data_.get(); }

 private:
  struct Free {
    void operator()(T* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<T[], Free> data_;
};

}  // namespace fastgd
