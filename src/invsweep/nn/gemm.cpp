#include "invsweep/nn/gemm.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace invsweep::nn::gemm {

#if defined(__AVX512F__)

namespace {

// Rows of c per block (4 packets) and columns per block: 4 × 6 accumulators, 4 packets of l
// and a broadcast use 29 of the 32 registers.
constexpr std::size_t kPackets = 4;
constexpr Index kRows = 16 * static_cast<Index>(kPackets);
constexpr std::size_t kCols = 6;
// Inner-dimension chunk: kRows × kInner floats of l (32 KiB) stay in L1 across the column
// blocks of c (the weight gradient's l is [64, batch]).
constexpr Index kInner = 128;

// Offsets of packet i (16 floats) and of column j in a block.
constexpr Index I(std::size_t i) {
  return 16 * static_cast<Index>(i);
}
constexpr Index J(std::size_t j) {
  return static_cast<Index>(j);
}

// A block of MP packets (the last one masked by `last`) by NB columns of c over p in [0, k).
template <std::size_t MP, std::size_t NB>
void block(const float* l, Index ldl, Index k, const float* r, Index rs_p, Index rs_j, float* c, Index ldc,
           __mmask16 last, bool accumulate, Epilogue epi, const float* bias) {
  __m512 acc[MP][NB];
#pragma GCC unroll 8
  for (std::size_t j = 0; j < NB; ++j)
#pragma GCC unroll 4
    for (std::size_t i = 0; i < MP; ++i)
      acc[i][j] = accumulate ? (i + 1 < MP ? _mm512_loadu_ps(c + J(j) * ldc + I(i))
                                           : _mm512_maskz_loadu_ps(last, c + J(j) * ldc + I(i)))
                             : _mm512_setzero_ps();
  for (Index p = 0; p < k; ++p) {
    const float* lp = l + p * ldl;
    __m512 lv[MP];
#pragma GCC unroll 4
    for (std::size_t i = 0; i < MP; ++i)
      lv[i] = i + 1 < MP ? _mm512_loadu_ps(lp + I(i)) : _mm512_maskz_loadu_ps(last, lp + I(i));
    const float* rp = r + p * rs_p;
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NB; ++j) {
      const __m512 b = _mm512_set1_ps(rp[J(j) * rs_j]);
#pragma GCC unroll 4
      for (std::size_t i = 0; i < MP; ++i)
        acc[i][j] = _mm512_fmadd_ps(lv[i], b, acc[i][j]);
    }
  }
  if (epi != Epilogue::none) {
    __m512 bv[MP];
#pragma GCC unroll 4
    for (std::size_t i = 0; i < MP; ++i)
      bv[i] = i + 1 < MP ? _mm512_loadu_ps(bias + I(i)) : _mm512_maskz_loadu_ps(last, bias + I(i));
#pragma GCC unroll 8
    for (std::size_t j = 0; j < NB; ++j)
#pragma GCC unroll 4
      for (std::size_t i = 0; i < MP; ++i) {
        acc[i][j] = _mm512_add_ps(acc[i][j], bv[i]);
        if (epi == Epilogue::bias_tanh) acc[i][j] = Eigen::internal::ptanh(acc[i][j]);
      }
  }
#pragma GCC unroll 8
  for (std::size_t j = 0; j < NB; ++j)
#pragma GCC unroll 4
    for (std::size_t i = 0; i < MP; ++i) {
      if (i + 1 < MP)
        _mm512_storeu_ps(c + J(j) * ldc + I(i), acc[i][j]);
      else
        _mm512_mask_storeu_ps(c + J(j) * ldc + I(i), last, acc[i][j]);
    }
}

using BlockFn = void (*)(const float*, Index, Index, const float*, Index, Index, float*, Index, __mmask16, bool,
                         Epilogue, const float*);

template <std::size_t MP, std::size_t... NB>
constexpr std::array<BlockFn, sizeof...(NB)> row_of(std::index_sequence<NB...>) {
  return {&block<MP, NB + 1>...};
}

// kBlocks[mp - 1][nb - 1]
constexpr std::array<std::array<BlockFn, kCols>, kPackets> kBlocks = {
    row_of<1>(std::make_index_sequence<kCols>{}), row_of<2>(std::make_index_sequence<kCols>{}),
    row_of<3>(std::make_index_sequence<kCols>{}), row_of<4>(std::make_index_sequence<kCols>{})};

}  // namespace

void product(const float* l, Index ldl, Index m, Index k, const float* r, Index rs_p, Index rs_j, float* c, Index ldc,
             Index n, bool accumulate, Epilogue epilogue, const float* bias) {
  if (m <= 0 || n <= 0) return;
  for (Index i0 = 0; i0 < m; i0 += kRows) {
    const Index rows = std::min(kRows, m - i0);
    const auto mp = static_cast<std::size_t>((rows + 15) / 16);
    const Index tail = rows - I(mp - 1);  // 1..16 rows in the last packet
    const __mmask16 last = static_cast<__mmask16>(tail == 16 ? 0xFFFF : (1u << tail) - 1u);
    const float* bias_i = bias != nullptr ? bias + i0 : nullptr;
    if (k <= 0) {
      // Empty inner dimension: c = 0 (or unchanged) with the epilogue.
      for (Index j = 0; j < n; ++j)
        kBlocks[mp - 1][0](l + i0, ldl, 0, r, rs_p, rs_j, c + j * ldc + i0, ldc, last, accumulate, epilogue, bias_i);
      continue;
    }
    for (Index p0 = 0; p0 < k; p0 += kInner) {
      const Index kk = std::min(kInner, k - p0);
      const bool acc = accumulate || p0 > 0;
      const Epilogue epi = p0 + kk == k ? epilogue : Epilogue::none;
      const float* lb = l + p0 * ldl + i0;
      const float* rb = r + p0 * rs_p;
      for (Index j0 = 0; j0 < n; j0 += static_cast<Index>(kCols)) {
        const Index nb = std::min(static_cast<Index>(kCols), n - j0);
        kBlocks[mp - 1][static_cast<std::size_t>(nb - 1)](lb, ldl, kk, rb + j0 * rs_j, rs_p, rs_j, c + j0 * ldc + i0,
                                                          ldc, last, acc, epi, bias_i);
      }
    }
  }
}

#else

void product(const float*, Index, Index, Index, const float*, Index, Index, float*, Index, Index, bool, Epilogue,
             const float*) {
  throw std::logic_error("nn::gemm::product needs AVX-512");
}

#endif

}  // namespace invsweep::nn::gemm
