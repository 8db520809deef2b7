// Register-blocked log-densities for small d (the "direct" variant): a group
// of rows is held in SIMD registers, one register per column, and every
// component's Mahalanobis term is formed there, exploiting the triangular
// precision factor. No B x k d temporary, half the flops of the product form.
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

// L (b x k, col-major with leading dimension b, b a multiple of W) from X
// (b x D, col-major).
// Shared-origin form: y = U_j' x - mU_j. Anchored form (Anch): y = U_j' (x - a_j),
// exact however far a_j lies from the origin. Tied: one factor for all j.
// Row vectors per step of direct_full: two for double in 32-byte vectors (AVX2), so that
// each component's sums form two independent chains (one chain of 4 rows runs at the FMA's
// latency, not its throughput); one elsewhere: a vector of 8 or more rows keeps the FMAs
// busy (AVX-512; float in AVX2), and the baseline level is kept small (measured: two there
// add 214 KB of code to the library).
template <typename T>
constexpr int direct_rows() {
  return simd_bytes == 32 && sizeof(T) == 8 ? 2 : 1;
}

// The shared-origin form with two row vectors where 16 registers cannot hold
// both vectors' D columns: y for up to 5 columns c at a time (10 registers),
// each x_i loaded once per such group and used for all of its c >= i. 0.7 loads
// per FMA at D = 10, against 1.5 when x is read from memory in each FMA. Each
// sum is formed in the same order as in direct_full.
template <typename T, int D>
void direct_full_grouped(const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst,
                         Eigen::Index k, T* L) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int G = 2, CB = 5;
  for (Eigen::Index r = 0; r < b; r += G * S::W) {
    const T* x = X + r;
    for (Eigen::Index j = 0; j < k; ++j) {
      const T* U = dt.U + j * D * D;
      const T* m = dt.M + j * D;
      V acc[G] = {S::splat(0), S::splat(0)};
#pragma GCC unroll 4
      for (int c0 = 0; c0 < D; c0 += CB) {
        const int c1 = c0 + CB < D ? c0 + CB : D;
        V y[G][CB];
#pragma GCC unroll 16
        for (int i = 0; i < c1; ++i) {
          V xi[G];
#pragma GCC unroll 2
          for (int g = 0; g < G; ++g) xi[g] = S::load(x + i * b + g * S::W);
#pragma GCC unroll 8
          for (int c = i > c0 ? i : c0; c < c1; ++c) {
            const T u = U[c * D + i];
#pragma GCC unroll 2
            for (int g = 0; g < G; ++g)  // x_0 u - m: -m + x_0 u without negating m
              y[g][c - c0] = i == 0 ? xi[g] * u - S::splat(m[c]) : y[g][c - c0] + xi[g] * u;
          }
        }
#pragma GCC unroll 8
        for (int c = c0; c < c1; ++c)
#pragma GCC unroll 2
          for (int g = 0; g < G; ++g) acc[g] += y[g][c - c0] * y[g][c - c0];
      }
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) S::store(L + j * b + r + g * S::W, cst[j] - T(0.5) * acc[g]);
    }
  }
}

template <typename T, int D, bool Anch, bool Tied>
void direct_full(const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst, Eigen::Index k,
                 T* L) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int G = direct_rows<T>();  // b is a multiple of row_pad, so of G * W
  if constexpr (G == 2 && !Anch && !Tied) {
    direct_full_grouped<T, D>(X, b, dt, cst, k, L);
    return;
  }
  for (Eigen::Index r = 0; r < b; r += G * S::W) {
    V x[G][D];
#pragma GCC unroll 2
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
      for (int c = 0; c < D; ++c) x[g][c] = S::load(X + c * b + r + g * S::W);
    for (Eigen::Index j = 0; j < k; ++j) {
      const T* U = dt.U + (Tied ? 0 : j * D * D);
      V acc[G];
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) acc[g] = S::splat(0);
      V z[G][D];  // anchored: the rows about a_j
      if (Anch) {
        const T* a = dt.A + j * D;
#pragma GCC unroll 2
        for (int g = 0; g < G; ++g)
#pragma GCC unroll 16
          for (int c = 0; c < D; ++c) z[g][c] = x[g][c] - a[c];
      }
      const V(&v)[G][D] = Anch ? z : x;
      const T* m = Anch ? nullptr : dt.M + j * D;
#pragma GCC unroll 16
      for (int c = 0; c < D; ++c) {
        V y[G];
#pragma GCC unroll 2
        for (int g = 0; g < G; ++g)  // shared origin: x_0 u - m, the value of -m + x_0 u
          y[g] = Anch ? v[g][0] * U[c * D] : v[g][0] * U[c * D] - S::splat(m[c]);
#pragma GCC unroll 16
        for (int i = 1; i <= c; ++i) {
          const T u = U[c * D + i];
#pragma GCC unroll 2
          for (int g = 0; g < G; ++g) y[g] += v[g][i] * u;
        }
#pragma GCC unroll 2
        for (int g = 0; g < G; ++g) acc[g] += y[g] * y[g];
      }
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) S::store(L + j * b + r + g * S::W, cst[j] - T(0.5) * acc[g]);
    }
  }
}

// Shared-origin tied form: y = U' x once per row, then |y - mU_j|^2.
template <typename T, int D>
void direct_tied(const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst, Eigen::Index k,
                 T* L) {
  using S = Simd<T>;
  using V = typename S::V;
  const T* U = dt.U;
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
      const T* m = dt.M + j * D;
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

// Diagonal (Sph = false) and spherical (Sph = true): (x - mean_j) is formed
// directly, so this form is anchored.
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
      const T* m = dt.A + j * D;
      const T* p = dt.P + j * (Sph ? 1 : D);
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
void direct_dispatch(DirectForm f, const T* X, Eigen::Index b, const DirectTerms<T>& dt, const T* cst,
                     Eigen::Index k, T* L) {
  switch (f) {
    case DirectForm::Full: direct_full<T, D, false, false>(X, b, dt, cst, k, L); break;
    case DirectForm::FullAnchored: direct_full<T, D, true, false>(X, b, dt, cst, k, L); break;
    case DirectForm::Tied: direct_tied<T, D>(X, b, dt, cst, k, L); break;
    case DirectForm::TiedAnchored: direct_full<T, D, true, true>(X, b, dt, cst, k, L); break;
    case DirectForm::Diag: direct_diag<T, D, false>(X, b, dt, cst, k, L); break;
    case DirectForm::Spherical: direct_diag<T, D, true>(X, b, dt, cst, k, L); break;
  }
}

// Runs the kernel for the block's d (1 .. max_direct_d).
template <typename T>
void direct_log_density(DirectForm f, Eigen::Index d, const T* X, Eigen::Index b,
                        const DirectTerms<T>& dt, const T* cst, Eigen::Index k, T* L) {
  switch (d) {
#define FASTGMM_DIRECT_CASE(n) \
  case n: direct_dispatch<T, n>(f, X, b, dt, cst, k, L); break;
    FASTGMM_DIRECT_CASE(1) FASTGMM_DIRECT_CASE(2) FASTGMM_DIRECT_CASE(3) FASTGMM_DIRECT_CASE(4)
    FASTGMM_DIRECT_CASE(5) FASTGMM_DIRECT_CASE(6) FASTGMM_DIRECT_CASE(7) FASTGMM_DIRECT_CASE(8)
    FASTGMM_DIRECT_CASE(9) FASTGMM_DIRECT_CASE(10) FASTGMM_DIRECT_CASE(11) FASTGMM_DIRECT_CASE(12)
    FASTGMM_DIRECT_CASE(13) FASTGMM_DIRECT_CASE(14) FASTGMM_DIRECT_CASE(15) FASTGMM_DIRECT_CASE(16)
#undef FASTGMM_DIRECT_CASE
    default: throw std::logic_error("direct kernel: d out of range");
  }
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
