// Runtime choice of the vector instruction set for the hot loops.
//
// A wheel must run on any x86-64 CPU, so the default build targets the SSE2 baseline. The few
// functions that touch every element of X (the row passes) are marked FASTGD_MULTIVERSION: GCC
// compiles them once per level below and picks one when the module is loaded (an ifunc resolved
// once, so a call costs what any call through the PLT costs). Everything they inline (dot
// products, losses) is compiled for that level too. Elsewhere — other compilers, other
// architectures, or a -march=native build, which already targets this CPU — it is a no-op.
//
// The clones compute bitwise the same results: the build keeps a*b+c as two roundings
// (-ffp-contract=off, CMakeLists.txt) and the dot products sum in the fixed lanes of a Vec (below)
// whatever the register width, so only the speed depends on the CPU.
#pragma once

#include <cstdlib>
#include <cstring>

#include "config.hpp"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(FASTGD_NATIVE_BUILD)
// x86-64-v4: AVX-512 F/BW/CD/DQ/VL. x86-64-v3: AVX2, FMA, BMI1/2. default: the build's target.
#define FASTGD_MULTIVERSION \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define FASTGD_HAS_MULTIVERSION 1
#else
#define FASTGD_MULTIVERSION
#define FASTGD_HAS_MULTIVERSION 0
#endif

namespace fastgd {

// A fixed-size vector of T, 64 bytes (16 floats, 8 doubles), for the dot products: one AVX-512
// register, two AVX2 or four SSE2 registers, whichever the clone has. GCC/Clang's vector extension
// is used rather than an `omp simd reduction`, whose lane sum GCC leaves to a scalar loop through
// memory, and rather than intrinsics, which would need one version per instruction set.
constexpr int kVecBytes = 64;
#if defined(__GNUC__)
template <class T, int Bytes = kVecBytes>
struct VecOf {
  typedef T type __attribute__((vector_size(Bytes)));
};
template <class T>
using Vec = typename VecOf<T>::type;
#else
template <class T>
struct Vec {  // the same operations, element by element, for compilers without the extension
  T v[kVecBytes / sizeof(T)] = {};
  Vec& operator+=(const Vec& o) {
    for (std::size_t l = 0; l < kVecBytes / sizeof(T); ++l) v[l] += o.v[l];
    return *this;
  }
  Vec operator*(const Vec& o) const {
    Vec r;
    for (std::size_t l = 0; l < kVecBytes / sizeof(T); ++l) r.v[l] = v[l] * o.v[l];
    return r;
  }
};
#endif

template <class T>
FASTGD_ALWAYS_INLINE Vec<T> load_vec(const T* p) noexcept {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);  // an unaligned vector load
  return v;
}

#if defined(__GNUC__)
// A Vec is kVecBytes wide in every clone, but a clone's registers may be narrower: 32 bytes with
// AVX2, 16 with SSE2 or NEON. GCC keeps an array of vectors wider than a register in memory, so
// every += on it becomes a store and a load. The hot loops therefore hold a Vec as `Parts`
// register-wide pieces, piece q holding lanes [q·W, (q+1)·W); the lanes, the order of the sums and so the results do not depend on Parts.
template <class T, int Parts>
using Piece = typename VecOf<T, kVecBytes / Parts>::type;

// A 16-byte vector: the narrowest piece of every clone (SSE2 / NEON register), used for the
// columns of a row past its last whole Vec (simd.hpp's users, e.g. d = 100 floats = 6 Vecs + 4).
template <class T>
using Vec16 = typename VecOf<T, 16>::type;

// The sum of the lanes of a vector of `Bytes` bytes plus the 16-byte `extra`: halved down to 16
// bytes by vector adds, `extra` added there, then those lanes in order.
template <class T, int Bytes>
FASTGD_ALWAYS_INLINE T sum_vector(const typename VecOf<T, Bytes>::type& v,
                                  const Vec16<T>& extra) noexcept {
  if constexpr (Bytes > 16) {
    using Half = typename VecOf<T, Bytes / 2>::type;
    Half lo, hi;
    std::memcpy(&lo, &v, sizeof lo);
    std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
    return sum_vector<T, Bytes / 2>(lo + hi, extra);
  } else {
    const Vec16<T> u = v + extra;
    T s = 0;
    for (std::size_t l = 0; l < Bytes / sizeof(T); ++l) s += u[l];
    return s;
  }
}

// The sum of the lanes of the Vec held as pieces p[0..Parts), plus `extra`: the same tree of adds
// as for the whole Vec (its halving first adds the upper half's pieces onto the lower half's).
// Clobbers p.
template <class T, int Parts>
FASTGD_ALWAYS_INLINE T sum_lanes(Piece<T, Parts>* p, const Vec16<T>& extra) noexcept {
  for (int n = Parts; n > 1; n /= 2)
    for (int q = 0; q < n / 2; ++q) p[q] += p[q + n / 2];
  return sum_vector<T, kVecBytes / Parts>(p[0], extra);
}

// How many pieces a Vec takes in the registers of the clone that runs here (see Piece).
// FASTGD_VEC_PARTS=1, 2 or 4 in the environment overrides it (slower, same results: the tests
// check that all three give the same bits).
inline int detect_vec_parts() noexcept {
  if (const char* forced = std::getenv("FASTGD_VEC_PARTS")) {
    const int parts = std::atoi(forced);
    if (parts == 1 || parts == 2 || parts == 4) return parts;
  }
#if FASTGD_HAS_MULTIVERSION
  __builtin_cpu_init();  // this runs as a static initializer, possibly before libgcc's own
  if (__builtin_cpu_supports("x86-64-v4")) return 1;
  if (__builtin_cpu_supports("x86-64-v3")) return 2;
  return 4;
#elif defined(__AVX512F__)
  return 1;
#elif defined(__AVX__)
  return 2;
#else
  return 4;
#endif
}
inline const int kVecParts = detect_vec_parts();  // once, when the module is loaded
#endif

// The widest instruction set the build targets everywhere (the compiler's target).
inline const char* compiled_simd_level() noexcept {
#if defined(__AVX512F__)
  return "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE4_2__)
  return "sse4.2";
#elif defined(__SSE2__) || defined(_M_X64)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "scalar";
#endif
}

// The instruction set the FASTGD_MULTIVERSION loops run with on this CPU: the first of the
// clone levels above that the CPU supports (the order GCC's resolver uses), else the build's.
inline const char* runtime_simd_level() noexcept {
#if FASTGD_HAS_MULTIVERSION
  if (__builtin_cpu_supports("x86-64-v4")) return "avx512f";
  if (__builtin_cpu_supports("x86-64-v3")) return "avx2+fma";
#endif
  return compiled_simd_level();
}

// The losses L(p_k, y_k) and derivatives L'(p_k, y_k) of R rows, in one loop that GCC vectorizes
// across the rows where the loss allows it (the log-loss's exp and log1p are branch-free for this,
// exp_log.hpp), so that the losses cost little next to the row's dot product. Each lane computes
// what the scalar code would: the same bits. (Here, not in losses.hpp: the CUDA sources include that, and
// their host compiler runs without OpenMP, which would warn of the pragma.)
template <int R, class Loss>
FASTGD_ALWAYS_INLINE void losses_of(const Loss& loss, const acc_t* p, const acc_t* y,
                                    acc_t* value, acc_t* derivative) noexcept {
#pragma omp simd
  for (int k = 0; k < R; ++k) {
    value[k] = loss.value(p[k], y[k]);
    derivative[k] = loss.derivative(p[k], y[k]);
  }
}

}  // namespace fastgd
