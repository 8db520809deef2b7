// Log-densities of a block: L (b x k) = log prop_j + log N(x_i | mean_j, sigma_j),
// in the shared-origin form (two variants) or the anchored form, for all
// components or a range j0 .. j1 - 1 of them (component groups run in
// parallel: block_terms() first computes what they share).
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

// Per-block values every component range reads (features, X U, |x|^2).
template <typename T>
void block_terms(const Terms<T>& t, Variant v, Work<T>& wk) {
  wk.L.resize(wk.X.rows(), t.k);
  if (t.form == Form::Anchored || (v == Variant::Direct && t.d <= max_direct_d)) return;
  switch (t.shape) {
    case EShape::Full:
      if (v == Variant::Gemm && quadratic_features(t.d)) load_features(ScatterKind::Full, wk);
      break;
    case EShape::Tied:  // X U with the level's own product (Eigen's would be baseline code)
      wk.XU.resize(wk.X.rows(), t.d);
      ab<T>(wk.X.data(), wk.X.rows(), t.d, t.U.data(), t.d, t.d, nullptr, wk.X.rows(),
            wk.XU.data(), wk.X.rows());
      if (v == Variant::Gemm) wk.sq = wk.XU.rowwise().squaredNorm();
      break;
    case EShape::Diag:
      if (v == Variant::Gemm) load_features(ScatterKind::Diag, wk);
      break;
    case EShape::Spherical:
      if (v == Variant::Gemm) wk.sq = wk.X.rowwise().squaredNorm();
      break;
  }
}

template <typename T>
void log_density_shared(const Terms<T>& t, Variant v, Work<T>& wk, Scratch<T>& sc, Index j0,
                        Index j1) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = t.d, g = j1 - j0;
  T* L = wk.L.data() + j0 * b;
  auto Lc = [&](Index j) { return Eigen::Map<Vec<T>>(wk.L.data() + j * b, b); };
  auto& acc = sc.a;
  if (v == Variant::Direct && d <= max_direct_d) {
    const DirectForm f = t.shape == EShape::Full   ? DirectForm::Full
                         : t.shape == EShape::Tied ? DirectForm::Tied
                         : t.shape == EShape::Diag ? DirectForm::Diag
                                                   : DirectForm::Spherical;
    direct_log_density<T>(f, d, X.data(), b,
                          t.dt.range(j0, d, t.shape == EShape::Tied, t.shape == EShape::Spherical),
                          t.cst.data() + j0, g, L);
    return;
  }
  switch (t.shape) {
    case EShape::Full:
      if (v == Variant::Gemm && quadratic_features(d)) {
        const T* th = t.Theta.data() + j0 * t.Theta.rows();  // rows: [x, then Y's features]
        ab<T>(X.data(), b, d, th, t.Theta.rows(), g, t.cstf.data() + j0, b, L, b);
        ab<T>(wk.Y.data(), b, wk.Y.cols(), th + d, t.Theta.rows(), g, nullptr, b, L, b, true);
      } else if (v == Variant::Gemm) {
        for (Index i0 = j0; i0 < j1; i0 += t.group) {
          const Index m = std::min(t.group, j1 - i0);
          sc.Z.resize(b, m * d);
          ab<T>(X.data(), b, d, t.U.data() + i0 * d * d, d, m * d, nullptr, b, sc.Z.data(), b);
          for (Index j = i0; j < i0 + m; ++j) {
            acc.setZero(b);
            for (Index c = 0; c < d; ++c)
              acc.array() += (sc.Z.col((j - i0) * d + c).array() - t.mU(j, c)).square();
            Lc(j).array() = t.cst[j] - T(0.5) * acc.array();
          }
        }
      } else {
        for (Index j = j0; j < j1; ++j) {
          const auto U = t.U.middleCols(j * d, d);
          acc.setZero(b);
          for (Index c = 0; c < d; ++c) {
            sc.b = X.col(0) * U(0, c);
            for (Index i = 1; i <= c; ++i) sc.b += X.col(i) * U(i, c);
            acc.array() += (sc.b.array() - t.mU(j, c)).square();
          }
          Lc(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case EShape::Tied:
      if (v == Variant::Gemm) {
        ab<T>(wk.XU.data(), b, d, t.mUt.data() + j0 * d, d, g, nullptr, b, L, b);
        for (Index j = j0; j < j1; ++j)
          Lc(j).array() = t.cst[j] - T(0.5) * (wk.sq.array() - T(2) * Lc(j).array() + t.mU2[j]);
      } else {
        for (Index j = j0; j < j1; ++j) {
          acc.setZero(b);
          for (Index c = 0; c < d; ++c) acc.array() += (wk.XU.col(c).array() - t.mU(j, c)).square();
          Lc(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case EShape::Diag:
      if (v == Variant::Gemm) {
        const T* q = t.Qt.data() + j0 * 2 * d;  // rows: [x, x.^2]
        ab<T>(X.data(), b, d, q, 2 * d, g, t.cstg.data() + j0, b, L, b);
        ab<T>(wk.Y.data(), b, d, q + d, 2 * d, g, nullptr, b, L, b, true);
      } else {
        for (Index j = j0; j < j1; ++j) {
          acc.setZero(b);
          for (Index c = 0; c < d; ++c)
            acc.array() += (X.col(c).array() - t.mean(j, c)).square() * t.P(j, c);
          Lc(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case EShape::Spherical:
      if (v == Variant::Gemm) {
        ab<T>(X.data(), b, d, t.meant.data() + j0 * d, d, g, nullptr, b, L, b);
        for (Index j = j0; j < j1; ++j)
          Lc(j).array() = t.cst[j] - T(0.5) * t.P(j, 0) *
                                         (wk.sq.array() - T(2) * Lc(j).array() + t.mU2[j]);
      } else {
        for (Index j = j0; j < j1; ++j) {
          sc.b.setZero(b);
          for (Index c = 0; c < d; ++c) sc.b.array() += (X.col(c).array() - t.mean(j, c)).square();
          Lc(j).array() = t.cst[j] - T(0.5) * t.P(j, 0) * sc.b.array();
        }
      }
      break;
  }
}

// Anchored: every component's term is formed from x - mean_j.
template <typename T>
void log_density_anchored(const Terms<T>& t, Work<T>& wk, Scratch<T>& sc, Index j0, Index j1) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = t.d;
  auto Lc = [&](Index j) { return Eigen::Map<Vec<T>>(wk.L.data() + j * b, b); };
  const bool full = t.shape == EShape::Full || t.shape == EShape::Tied;
  if (d <= max_direct_d) {
    const DirectForm f = t.shape == EShape::Full   ? DirectForm::FullAnchored
                         : t.shape == EShape::Tied ? DirectForm::TiedAnchored
                         : t.shape == EShape::Diag ? DirectForm::Diag
                                                   : DirectForm::Spherical;
    direct_log_density<T>(f, d, X.data(), b,
                          t.dt.range(j0, d, t.shape == EShape::Tied, t.shape == EShape::Spherical),
                          t.cst.data() + j0, j1 - j0, wk.L.data() + j0 * b);
    return;
  }
  auto& acc = sc.a;
  for (Index j = j0; j < j1; ++j) {
    if (full) {
      sc.RZ = X.rowwise() - t.mean.row(j);
      sc.Z.resize(b, d);
      const T* Uj = t.U.data() + (t.shape == EShape::Tied ? 0 : j * d * d);
      ab<T>(sc.RZ.data(), b, d, Uj, d, d, nullptr, b, sc.Z.data(), b);
      acc = sc.Z.rowwise().squaredNorm();
      Lc(j).array() = t.cst[j] - T(0.5) * acc.array();
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
      Lc(j).array() = t.cst[j] - T(0.5) * acc.array();
    }
  }
}

// Components j0 .. j1 - 1; block_terms() must have run on the block.
template <typename T>
void log_density(const Terms<T>& t, Variant v, Work<T>& wk, Scratch<T>& sc, Index j0, Index j1) {
  if (t.form == Form::Anchored)
    log_density_anchored(t, wk, sc, j0, j1);
  else
    log_density_shared(t, v, wk, sc, j0, j1);
}

// All components.
template <typename T>
void log_density(const Terms<T>& t, Variant v, Work<T>& wk, Scratch<T>& sc) {
  block_terms(t, v, wk);
  log_density(t, v, wk, sc, 0, t.k);
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
