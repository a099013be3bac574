// Force-included into every translation unit by GCC < 13 (cmake/Warnings.cmake): silences two
// false positives of GCC 12 that it reports inside its own headers, and nothing else.
//
// - GCC 12's AVX-512 intrinsics initialise their "undefined" vectors from themselves
//   (`__m512d __Y = __Y;`), and -Wmaybe-uninitialized reports that in every function where
//   Eigen's packet math inlines them — pages of it in a -march=native build (GCC bug 105593,
//   fixed in GCC 13).
// - libstdc++ 12's std::string concatenation (`"[" + std::string(n, '=') + ...`) trips
//   -Wrestrict with an impossible size (GCC bug 105651).
// - Where an Eigen reduction over a vector that might be empty is inlined, -Wnull-dereference
//   points at the intrinsics' aligned load (and at Eigen's Redux.h, which
//   src/invsweep/core/eigen.hpp includes with the same warning off).
//
// Such a report is governed by the pragma state at the lines of the header it points into, so
// including those headers first, with the warning off, silences exactly those reports; both
// warnings stay on for the project's own code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wrestrict"
#pragma GCC diagnostic ignored "-Wnull-dereference"
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#ifdef __cplusplus
#include <string>
#endif
#pragma GCC diagnostic pop
