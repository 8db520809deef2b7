// Register-blocked log-densities for small d (the "direct" variant): a group
// of rows is held in SIMD registers, one register per column, and every
// component's Mahalanobis term is formed there, exploiting the triangular
// precision factor. No B x k d temporary, half the flops of the product form.
#pragma once
#include "model.h"
#include "simd.h"

namespace fastgmm {

constexpr int max_direct_d = 16;

// Rows of blocks are padded to a multiple of this, for every lane count.
constexpr Eigen::Index row_pad = 16;

// Parameter terms laid out for the kernel (column j of each holds component j).
template <typename T>
struct DirectTerms {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> U;  // full: d*d x k (col-major factor); tied: d*d x 1
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> M;  // d x k: mU (full, tied) or means (diag, spherical)
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> P;  // diag: d x k precisions; spherical: 1 x k
};

// L (b x k, col-major, b a multiple of W) from X (b x D, col-major).
template <typename T, int D>
void direct_full(const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst, Eigen::Index k,
                 T* L) {
  using S = Simd<T>;
  using V = typename S::V;
  for (Eigen::Index r = 0; r < b; r += S::W) {
    V x[D];
#pragma GCC unroll 16
    for (int c = 0; c < D; ++c) x[c] = S::load(X + c * b + r);
    for (Eigen::Index j = 0; j < k; ++j) {
      const T* U = dt.U.data() + j * D * D;
      const T* m = dt.M.data() + j * D;
      V acc = S::splat(0);
#pragma GCC unroll 16
      for (int c = 0; c < D; ++c) {
        V y = S::splat(-m[c]);
#pragma GCC unroll 16
        for (int i = 0; i <= c; ++i) y += x[i] * U[c * D + i];
        acc += y * y;
      }
      S::store(L + j * b + r, cst[j] - T(0.5) * acc);
    }
  }
}

template <typename T, int D>
void direct_tied(const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst, Eigen::Index k,
                 T* L) {
  using S = Simd<T>;
  using V = typename S::V;
  const T* U = dt.U.data();
  for (Eigen::Index r = 0; r < b; r += S::W) {
    V x[D], y[D];
#pragma GCC unroll 16
    for (int c = 0; c < D; ++c) x[c] = S::load(X + c * b + r);
#pragma GCC unroll 16
    for (int c = 0; c < D; ++c) {
      y[c] = S::splat(0);
#pragma GCC unroll 16
      for (int i = 0; i <= c; ++i) y[c] += x[i] * U[c * D + i];
    }
    for (Eigen::Index j = 0; j < k; ++j) {
      const T* m = dt.M.data() + j * D;
      V acc = S::splat(0);
#pragma GCC unroll 16
      for (int c = 0; c < D; ++c) {
        V e = y[c] - m[c];
        acc += e * e;
      }
      S::store(L + j * b + r, cst[j] - T(0.5) * acc);
    }
  }
}

// diag (Sph = false) and spherical (Sph = true).
template <typename T, int D, bool Sph>
void direct_diag(const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst, Eigen::Index k,
                 T* L) {
  using S = Simd<T>;
  using V = typename S::V;
  for (Eigen::Index r = 0; r < b; r += S::W) {
    V x[D];
#pragma GCC unroll 16
    for (int c = 0; c < D; ++c) x[c] = S::load(X + c * b + r);
    for (Eigen::Index j = 0; j < k; ++j) {
      const T* m = dt.M.data() + j * D;
      const T* p = dt.P.data() + j * (Sph ? 1 : D);
      V acc = S::splat(0);
#pragma GCC unroll 16
      for (int c = 0; c < D; ++c) {
        V e = x[c] - m[c];
        acc += Sph ? e * e : e * e * p[c];
      }
      if (Sph) acc *= p[0];
      S::store(L + j * b + r, cst[j] - T(0.5) * acc);
    }
  }
}

template <typename T, int D>
void direct_dispatch(CovType cov, const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst,
                     Eigen::Index k, T* L) {
  switch (cov) {
    case CovType::Full: direct_full<T, D>(X, b, dt, cst, k, L); break;
    case CovType::Tied: direct_tied<T, D>(X, b, dt, cst, k, L); break;
    case CovType::Diag: direct_diag<T, D, false>(X, b, dt, cst, k, L); break;
    case CovType::Spherical: direct_diag<T, D, true>(X, b, dt, cst, k, L); break;
  }
}

// Runs the kernel for the block's d (1 .. max_direct_d).
template <typename T>
void direct_log_density(CovType cov, Eigen::Index d, const T* X, Eigen::Index b,
                        const DirectTerms<T>& dt, const T* cst, Eigen::Index k, T* L) {
  switch (d) {
#define FASTGMM_DIRECT_CASE(n) \
  case n: direct_dispatch<T, n>(cov, X, b, dt, cst, k, L); break;
    FASTGMM_DIRECT_CASE(1) FASTGMM_DIRECT_CASE(2) FASTGMM_DIRECT_CASE(3) FASTGMM_DIRECT_CASE(4)
    FASTGMM_DIRECT_CASE(5) FASTGMM_DIRECT_CASE(6) FASTGMM_DIRECT_CASE(7) FASTGMM_DIRECT_CASE(8)
    FASTGMM_DIRECT_CASE(9) FASTGMM_DIRECT_CASE(10) FASTGMM_DIRECT_CASE(11) FASTGMM_DIRECT_CASE(12)
    FASTGMM_DIRECT_CASE(13) FASTGMM_DIRECT_CASE(14) FASTGMM_DIRECT_CASE(15) FASTGMM_DIRECT_CASE(16)
#undef FASTGMM_DIRECT_CASE
    default: throw std::logic_error("direct kernel: d out of range");
  }
}

}  // namespace fastgmm
