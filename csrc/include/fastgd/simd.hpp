// Runtime choice of the vector instruction set for the hot loops.
//
// A wheel must run on any x86-64 CPU, so the default build targets the SSE2 baseline. The few
// functions that touch every element of X (the row passes) are marked FASTGD_MULTIVERSION: GCC
// compiles them once per level below and picks one when the module is loaded (an ifunc resolved
// once, so a call costs what any call through the PLT costs). Everything they inline (dot
// products, losses) is compiled for that level too. Elsewhere — other compilers, other
// architectures, or a -march=native build, which already targets this CPU — it is a no-op.
//
// Results are bitwise reproducible for a given machine and thread count; two levels can differ
// in the last bits (FMA contraction, vector width change the rounding of the row dot products).
#pragma once

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

}  // namespace fastgd
