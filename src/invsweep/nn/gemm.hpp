#pragma once
// A float32 matrix product for the shapes of small networks (64-wide layers, batches of a few
// hundred), without the packing of Eigen's blocked product.
//
// c [m, n] (+)= l [m, k] · r [k, n], where l is column-major (column p at l + p·ldl), r is
// addressed by strides (element (p, j) at r[p·rs_p + j·rs_j], so that r may be a matrix or
// the transpose of one) and c is column-major (column j at c + j·ldc). Blocks of up to 64 rows
// of c by 6 columns stay in 24 AVX-512 registers over the inner dimension: each step loads
// up to 4 packets of a column of l and broadcasts 6 values of r. l is read in place (with
// m = 64 a column is four packets; the last packet of a block is masked when m is not a
// multiple of 16), so nothing is copied.
//
// Why: at 64 rows Eigen's float kernel (48 × 4 on AVX-512) runs one full and one quarter-full
// row panel, packs both operands on every product and zeroes its destination first; on the
// small training case that was 61 % kernel + 11 % packing + 2 % memset of a step.
#include "invsweep/core/eigen.hpp"

namespace invsweep::nn::gemm {

/// True when the product below is compiled for this build (AVX-512); without it callers keep
/// Eigen's product.
#if defined(__AVX512F__)
inline constexpr bool kAvailable = true;
#else
inline constexpr bool kAvailable = false;
#endif

/// What is done to a block of c before it is stored (after the whole inner dimension):
/// nothing, + bias[row], or tanh(· + bias[row]) (Eigen's vectorised float tanh, the same
/// function as `Array::tanh()`).
enum class Epilogue { none, bias, bias_tanh };

/// c = l·r (`accumulate` false) or c += l·r (true), with `epilogue` applied to the result.
/// Requires kAvailable; m, n, k ≥ 0.
void product(const float* l, Index ldl, Index m, Index k, const float* r, Index rs_p, Index rs_j, float* c, Index ldc,
             Index n, bool accumulate, Epilogue epilogue = Epilogue::none, const float* bias = nullptr);

}  // namespace invsweep::nn::gemm
