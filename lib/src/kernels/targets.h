// Which Highway targets are compiled. Included before any Highway header in every SIMD file.
//  - x86-64: dynamic dispatch (foreach_target.h + HWY_EXPORT) so one binary picks AVX-512 or AVX2
//    at run time; SSE4 is the fallback. AVX3_DL adds nothing our kernels use, so it is skipped to
//    halve compile time.
//  - ARM: static dispatch only. Highway's aarch64 NEON target asks for the AES extension, which
//    Pi 3/4 cores lack, so the build's -march (armv8-a / armv7-a+neon-vfpv4) decides the target.
#ifndef EDGEVAE_KERNELS_TARGETS_H_
#define EDGEVAE_KERNELS_TARGETS_H_

#if defined(__aarch64__) || defined(__arm__)
#ifndef HWY_COMPILE_ONLY_STATIC
#define HWY_COMPILE_ONLY_STATIC 1
#endif
#else
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_AVX3_DL | HWY_SSSE3)
#endif
#endif

#endif  // EDGEVAE_KERNELS_TARGETS_H_
