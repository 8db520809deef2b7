// Log-densities of a block: L (b x k) = log prop_j + log N(x_i | mean_j, sigma_j),
// in the shared-origin form (two variants) or the anchored form.
#pragma once
#include "tall_kernels.h"
#include "terms.h"

namespace fastgmm {

template <typename T>
void log_density_shared(const Terms<T>& t, Variant v, Work<T>& wk) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = t.d, k = t.k;
  Mat<T>& L = wk.L;
  auto& acc = wk.a;
  if (v == Variant::Direct && d <= max_direct_d) {
    const DirectForm f = t.shape == EShape::Full ? DirectForm::Full
                         : t.shape == EShape::Tied ? DirectForm::Tied
                         : t.shape == EShape::Diag ? DirectForm::Diag
                                                   : DirectForm::Spherical;
    direct_log_density<T>(f, d, X.data(), b, t.dt, t.cst.data(), k, L.data());
    return;
  }
  switch (t.shape) {
    case EShape::Full:
      if (v == Variant::Gemm && quadratic_features(d)) {
        load_features(ScatterKind::Full, wk);
        ab<T>(wk.Y.data(), b, wk.Y.cols(), t.Theta.data(), t.Theta.rows(), k, t.cstf.data(), b,
              L.data(), b);
      } else if (v == Variant::Gemm) {
        for (Index j0 = 0; j0 < k; j0 += t.group) {
          const Index g = std::min(t.group, k - j0);
          wk.Z.noalias() = X * t.U.middleCols(j0 * d, g * d);
          for (Index j = j0; j < j0 + g; ++j) {
            acc.setZero(b);
            for (Index c = 0; c < d; ++c)
              acc.array() += (wk.Z.col((j - j0) * d + c).array() - t.mU(j, c)).square();
            L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
          }
        }
      } else {
        for (Index j = 0; j < k; ++j) {
          const auto U = t.U.middleCols(j * d, d);
          acc.setZero(b);
          for (Index c = 0; c < d; ++c) {
            wk.b = X.col(0) * U(0, c);
            for (Index i = 1; i <= c; ++i) wk.b += X.col(i) * U(i, c);
            acc.array() += (wk.b.array() - t.mU(j, c)).square();
          }
          L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case EShape::Tied:
      wk.Z.noalias() = X * t.U;
      if (v == Variant::Gemm) {
        acc = wk.Z.rowwise().squaredNorm();
        ab<T>(wk.Z.data(), b, d, t.dt.M.data(), d, k, nullptr, b, L.data(), b);
        for (Index j = 0; j < k; ++j)
          L.col(j).array() =
              t.cst[j] - T(0.5) * (acc.array() - T(2) * L.col(j).array() + t.mU2[j]);
      } else {
        for (Index j = 0; j < k; ++j) {
          acc.setZero(b);
          for (Index c = 0; c < d; ++c) acc.array() += (wk.Z.col(c).array() - t.mU(j, c)).square();
          L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case EShape::Diag:
      if (v == Variant::Gemm) {
        load_features(ScatterKind::Diag, wk);
        ab<T>(wk.Y.data(), b, 2 * d, t.Qt.data(), 2 * d, k, t.cstg.data(), b, L.data(), b);
      } else {
        for (Index j = 0; j < k; ++j) {
          acc.setZero(b);
          for (Index c = 0; c < d; ++c)
            acc.array() += (X.col(c).array() - t.mean(j, c)).square() * t.P(j, c);
          L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case EShape::Spherical:
      acc = X.rowwise().squaredNorm();
      if (v == Variant::Gemm) {
        ab<T>(X.data(), b, d, t.dt.M.data(), d, k, nullptr, b, L.data(), b);
        for (Index j = 0; j < k; ++j)
          L.col(j).array() = t.cst[j] - T(0.5) * t.P(j, 0) *
                                            (acc.array() - T(2) * L.col(j).array() + t.mU2[j]);
      } else {
        for (Index j = 0; j < k; ++j) {
          wk.b.setZero(b);
          for (Index c = 0; c < d; ++c) wk.b.array() += (X.col(c).array() - t.mean(j, c)).square();
          L.col(j).array() = t.cst[j] - T(0.5) * t.P(j, 0) * wk.b.array();
        }
      }
      break;
  }
}

// Anchored: every component's term is formed from x - mean_j.
template <typename T>
void log_density_anchored(const Terms<T>& t, Work<T>& wk) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = t.d, k = t.k;
  Mat<T>& L = wk.L;
  const bool full = t.shape == EShape::Full || t.shape == EShape::Tied;
  if (d <= max_direct_d) {
    const DirectForm f = t.shape == EShape::Full   ? DirectForm::FullAnchored
                         : t.shape == EShape::Tied ? DirectForm::TiedAnchored
                         : t.shape == EShape::Diag ? DirectForm::Diag
                                                   : DirectForm::Spherical;
    direct_log_density<T>(f, d, X.data(), b, t.dt, t.cst.data(), k, L.data());
    return;
  }
  auto& acc = wk.a;
  for (Index j = 0; j < k; ++j) {
    if (full) {
      wk.RZ = X.rowwise() - t.mean.row(j);
      wk.Z.resize(b, d);
      const T* Uj = t.U.data() + (t.shape == EShape::Tied ? 0 : j * d * d);
      ab<T>(wk.RZ.data(), b, d, Uj, d, d, nullptr, b, wk.Z.data(), b);
      acc = wk.Z.rowwise().squaredNorm();
      L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
    } else {
      acc.setZero(b);
      const bool sph = t.shape == EShape::Spherical;
      for (Index c = 0; c < d; ++c) {
        if (sph)
          acc.array() += (X.col(c).array() - t.mean(j, c)).square();
        else
          acc.array() += (X.col(c).array() - t.mean(j, c)).square() * t.P(j, c);
      }
      if (sph) acc *= t.P(j, 0);
      L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
    }
  }
}

template <typename T>
void log_density(const Terms<T>& t, Variant v, Work<T>& wk) {
  wk.L.resize(wk.X.rows(), t.k);
  if (t.form == Form::Anchored)
    log_density_anchored(t, wk);
  else
    log_density_shared(t, v, wk);
}

}  // namespace fastgmm
