// Products of tall, skinny blocks (rows in SIMD lanes, register tiles), the
// two shapes of the hot loop. Rows must be a multiple of row_pad (padded with
// zeros). Faster here than a general GEMM, which spends its time packing.
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

// Register tile: TI x TJ accumulators (TJ up to tile_j_max, below).
constexpr int tile_i = simd_bytes >= 64 ? 4 : 2;

// The columns of A in atb(): stored (column f at x + f ld), or, with pairs,
// the products x_i x_c of two columns of x (b x d), for the pairs i <= c in
// packed() order: the quadratic features of the full statistics, formed as
// they are read rather than stored (writing them to memory and reading them
// back took 13% of a full pass at d = 10: the block's features outgrow L1,
// and each line written went to L2 and back).
template <typename T>
struct ACols {
  const T* x;
  Eigen::Index ld;
  bool pairs = false;
  // Column f: x + i ld, times x + c ld with pairs (else c is null).
  void at(Eigen::Index f, const T*& a, const T*& c) const {
    if (!pairs) {
      a = x + f * ld;
      c = nullptr;
      return;
    }
    Eigen::Index j = 0;  // f = packed(i, j)
    while (packed(0, j + 1) <= f) ++j;
    a = x + (f - packed(0, j)) * ld;
    c = x + j * ld;
  }
  // Column f + 1 from column f's pointers (packed order: i runs to j, then j steps).
  void next(const T* a, const T* c, const T*& a1, const T*& c1) const {
    a1 = a + ld;
    c1 = c;
    if (pairs && a1 > c) {
      a1 = x;
      c1 = c + ld;
    }
  }
};

template <typename T, int TI, int TJ, bool Pairs>
inline void atb_tile(const ACols<T>& A, Eigen::Index f0, const T* B, Eigen::Index ldb,
                     Eigen::Index n, double* C, Eigen::Index ldc) {
  using S = Simd<T>;
  using V = typename S::V;
  const T* pa[TI];
  const T* pc[TI];
  A.at(f0, pa[0], pc[0]);
  for (int i = 1; i < TI; ++i) A.next(pa[i - 1], pc[i - 1], pa[i], pc[i]);
  V acc[TI][TJ];
#pragma GCC unroll 8
  for (int i = 0; i < TI; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < TJ; ++j) acc[i][j] = S::splat(0);
  for (Eigen::Index r = 0; r < n; r += S::W) {
    V a[TI];
#pragma GCC unroll 8
    for (int i = 0; i < TI; ++i) a[i] = Pairs ? S::load(pa[i] + r) * S::load(pc[i] + r) : S::load(pa[i] + r);
#pragma GCC unroll 8
    for (int j = 0; j < TJ; ++j) {
      V b = S::load(B + j * ldb + r);
      in_register(b);  // (else 12 loads for 10 FMAs in AVX2, not 7)
#pragma GCC unroll 8
      for (int i = 0; i < TI; ++i) acc[i][j] += a[i] * b;
    }
  }
  // (Unrolled, so the sums stay in registers: a loop over the tile reads each back from memory.)
#pragma GCC unroll 8
  for (int i = 0; i < TI; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < TJ; ++j) C[i + j * ldc] += double(hsum<T>(acc[i][j]));
}

// Columns j .. j + TJ - 1 of C, every row: tiles of tile_i rows of C, then one
// of the last 1 .. tile_i - 1.
// Formed columns: whole tiles only (see atb_pairs()).
template <typename T, int TJ, bool Pairs>
inline void atb_cols(const ACols<T>& A, Eigen::Index p, const T* B, Eigen::Index ldb,
                     Eigen::Index n, double* C, Eigen::Index ldc) {
  Eigen::Index i = 0;
  for (; i + tile_i <= p; i += tile_i) atb_tile<T, tile_i, TJ, Pairs>(A, i, B, ldb, n, C + i, ldc);
  if constexpr (!Pairs) {
    switch (p - i) {
      case 3: atb_tile<T, 3, TJ, false>(A, i, B, ldb, n, C + i, ldc); break;
      case 2: atb_tile<T, 2, TJ, false>(A, i, B, ldb, n, C + i, ldc); break;
      case 1: atb_tile<T, 1, TJ, false>(A, i, B, ldb, n, C + i, ldc); break;
      default: break;
    }
  }
}

// C (p x q, leading dimension ldc, double) += A' B for A (n x p) and B (n x q).
// The q columns of B in tiles of at most tile_j_max (4 x 5 accumulators with
// 32 vector registers, 2 x 5 with 16), as equal as possible (10 = 5 + 5, not
// 4 + 4 + 2: narrow tiles load more per product). B's tile is the outer loop:
// its columns stay in the L1 cache while A's stream past. Each C entry is
// summed in the same order whatever its tile, and the same whether A's
// columns are stored or formed.
constexpr int tile_j_max = 5;

template <typename T, bool Pairs>
void atb(const ACols<T>& A, Eigen::Index p, const T* B, Eigen::Index ldb, Eigen::Index q,
         Eigen::Index n, double* C, Eigen::Index ldc) {
  for (Eigen::Index j = 0; j < q;) {
    const Eigen::Index left = q - j, tiles = (left + tile_j_max - 1) / tile_j_max;
    const Eigen::Index w = (left + tiles - 1) / tiles;
    const T* Bj = B + j * ldb;
    double* Cj = C + j * ldc;
    switch (w) {
      case 5: atb_cols<T, 5, Pairs>(A, p, Bj, ldb, n, Cj, ldc); break;
      case 4: atb_cols<T, 4, Pairs>(A, p, Bj, ldb, n, Cj, ldc); break;
      case 3: atb_cols<T, 3, Pairs>(A, p, Bj, ldb, n, Cj, ldc); break;
      case 2: atb_cols<T, 2, Pairs>(A, p, Bj, ldb, n, Cj, ldc); break;
      default: atb_cols<T, 1, Pairs>(A, p, Bj, ldb, n, Cj, ldc); break;
    }
    j += w;
  }
}

template <typename T>
void atb(const T* A, Eigen::Index lda, Eigen::Index p, const T* B, Eigen::Index ldb, Eigen::Index q,
         Eigen::Index n, double* C, Eigen::Index ldc) {
  atb<T, false>(ACols<T>{A, lda}, p, B, ldb, q, n, C, ldc);
}

// C (d(d+1)/2 x q) += Y' B, Y the products x_i x_c (i <= c, packed order) of
// the columns of X (n x d), formed as they are read; the last p mod tile_i
// are stored in tmp (room for tile_i - 1 columns of n) and read from there
// (formed tiles of every width would add about 60 KB of code to the library).
template <typename T>
void atb_pairs(const T* X, Eigen::Index ldx, Eigen::Index d, const T* B, Eigen::Index ldb,
               Eigen::Index q, Eigen::Index n, double* C, Eigen::Index ldc, T* tmp) {
  using S = Simd<T>;
  const ACols<T> A{X, ldx, true};
  const Eigen::Index p = d * (d + 1) / 2, whole = p / tile_i * tile_i;
  atb<T, true>(A, whole, B, ldb, q, n, C, ldc);
  for (Eigen::Index f = whole; f < p; ++f) {
    const T *a, *c;
    A.at(f, a, c);
    T* t = tmp + (f - whole) * n;
    for (Eigen::Index r = 0; r < n; r += S::W) S::store(t + r, S::load(a + r) * S::load(c + r));
  }
  if (p > whole) atb<T>(tmp, n, p - whole, B, ldb, q, n, C + whole, ldc);
}

template <typename T, int RG, int TJ>
inline void ab_tile(const T* A, Eigen::Index lda, Eigen::Index p, const T* Bm, Eigen::Index ldb,
                    const T* bias, bool add, T* C, Eigen::Index ldc) {
  using S = Simd<T>;
  using V = typename S::V;
  V acc[RG][TJ];
#pragma GCC unroll 2
  for (int g = 0; g < RG; ++g)
#pragma GCC unroll 8
    for (int j = 0; j < TJ; ++j)
      acc[g][j] = add ? S::load(C + j * ldc + g * S::W) : S::splat(bias ? bias[j] : T(0));
  for (Eigen::Index c = 0; c < p; ++c) {
    V a[RG];
#pragma GCC unroll 2
    for (int g = 0; g < RG; ++g) a[g] = S::load(A + c * lda + g * S::W);
#pragma GCC unroll 8
    for (int j = 0; j < TJ; ++j) {
      const T bj = Bm[c + j * ldb];
#pragma GCC unroll 2
      for (int g = 0; g < RG; ++g) acc[g][j] += a[g] * bj;
    }
  }
#pragma GCC unroll 2
  for (int g = 0; g < RG; ++g)
#pragma GCC unroll 8
    for (int j = 0; j < TJ; ++j) S::store(C + j * ldc + g * S::W, acc[g][j]);
}

// One block of rows of C for all columns: tiles of 8, then 4, 2, 1 columns;
// in AVX2 (16 vector registers, two row vectors) as equal as possible, at most
// 6 (12 accumulators, the two vectors and a broadcast fill 15 registers).
template <typename T, int RG>
inline void ab_rows(const T* A, Eigen::Index lda, Eigen::Index p, const T* Bm, Eigen::Index ldb,
                    Eigen::Index q, const T* bias, bool add, T* C, Eigen::Index ldc) {
  Eigen::Index j = 0;
  auto bj = [&](Eigen::Index j) { return bias ? bias + j : nullptr; };
  if (simd_bytes == 32) {
    while (j < q) {
      const Eigen::Index left = q - j, w = (left + (left + 5) / 6 - 1) / ((left + 5) / 6);
      const T* B = Bm + j * ldb;
      T* Cj = C + j * ldc;
      switch (w) {
        case 6: ab_tile<T, RG, 6>(A, lda, p, B, ldb, bj(j), add, Cj, ldc); break;
        case 5: ab_tile<T, RG, 5>(A, lda, p, B, ldb, bj(j), add, Cj, ldc); break;
        case 4: ab_tile<T, RG, 4>(A, lda, p, B, ldb, bj(j), add, Cj, ldc); break;
        case 3: ab_tile<T, RG, 3>(A, lda, p, B, ldb, bj(j), add, Cj, ldc); break;
        case 2: ab_tile<T, RG, 2>(A, lda, p, B, ldb, bj(j), add, Cj, ldc); break;
        default: ab_tile<T, RG, 1>(A, lda, p, B, ldb, bj(j), add, Cj, ldc); break;
      }
      j += w;
    }
    return;
  }
  for (; j + 8 <= q; j += 8) ab_tile<T, RG, 8>(A, lda, p, Bm + j * ldb, ldb, bj(j), add, C + j * ldc, ldc);
  if (j + 4 <= q) { ab_tile<T, RG, 4>(A, lda, p, Bm + j * ldb, ldb, bj(j), add, C + j * ldc, ldc); j += 4; }
  if (j + 2 <= q) { ab_tile<T, RG, 2>(A, lda, p, Bm + j * ldb, ldb, bj(j), add, C + j * ldc, ldc); j += 2; }
  if (j < q) ab_tile<T, RG, 1>(A, lda, p, Bm + j * ldb, ldb, bj(j), add, C + j * ldc, ldc);
}

// C (n x q) = A (n x p) Bm (p x q) + bias (one value per column of C, or
// null); with add, C += A Bm (bias unused), summed on from C's values exactly
// as one product over the two As side by side would be.
template <typename T>
void ab(const T* A, Eigen::Index lda, Eigen::Index p, const T* Bm, Eigen::Index ldb, Eigen::Index q,
        const T* bias, Eigen::Index n, T* C, Eigen::Index ldc, bool add = false) {
  constexpr int W = Simd<T>::W;
  constexpr int RG = simd_bytes >= 32 ? 2 : 1;  // row vectors per tile
  Eigen::Index r = 0;
  for (; r + RG * W <= n; r += RG * W) ab_rows<T, RG>(A + r, lda, p, Bm, ldb, q, bias, add, C + r, ldc);
  for (; r < n; r += W) ab_rows<T, 1>(A + r, lda, p, Bm, ldb, q, bias, add, C + r, ldc);
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
