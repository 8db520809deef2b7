// Statistics of a block from its weighted responsibilities R (b x k): the
// shared form (moments about the origin, all components in one product over
// the row features) and the anchored form (moments about each a_j).
#pragma once
#include "tall_kernels.h"
#include "terms.h"

namespace fastgmm {

// Adds sum r x, sum r x x' (its packed triangle, diagonal or trace) about the
// origin; st's anchors are the origin (zero).
template <typename T>
void accumulate_shared(ScatterKind kind, const Mat<T>& R, Work<T>& wk, Stats& st) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = X.cols(), k = R.cols();
  st.s0 += R.colwise().sum().transpose().template cast<double>();
  if (kind != ScatterKind::Full || quadratic_features(d)) {
    load_features(kind, wk);
    const Index nf = wk.Y.cols();
    MatrixXd& G = wk.C;  // features' R
    G.setZero(nf, k);
    atb<T>(wk.Y.data(), b, nf, R.data(), b, k, b, G.data(), nf);
    st.s1 += G.topRows(d);
    st.s2 += G.bottomRows(nf - d);
    return;
  }
  // Full, large d: block j of Z' X is sum r_j x x', for a group of j at once.
  Mat<T> s1 = X.transpose() * R;
  st.s1 += s1.template cast<double>();
  const Index group = std::max<Index>(1, std::min<Index>(k, 512 / std::max<Index>(d, 1)));
  for (Index j0 = 0; j0 < k; j0 += group) {
    const Index g = std::min(group, k - j0);
    wk.Z.resize(b, g * d);
    for (Index j = 0; j < g; ++j)
      wk.Z.middleCols(j * d, d) = X.array().colwise() * R.col(j0 + j).array();
    Mat<T> s2 = wk.Z.transpose() * X;
    for (Index j = 0; j < g; ++j) {
      auto S = st.s2.col(j0 + j);
      for (Index c = 0; c < d; ++c)
        for (Index i = 0; i <= c; ++i) S[packed(i, c)] += double(s2(j * d + i, c));
    }
  }
}

// Adds sum r (x - a_j), sum r (x - a_j)(x - a_j)' (packed, diagonal or trace),
// with A (d x k) the anchors in T; st's anchors are double(A).
template <typename T>
void accumulate_anchored(ScatterKind kind, const Mat<T>& A, const Mat<T>& R, Work<T>& wk,
                         Stats& st) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = X.cols(), k = R.cols();
  st.s0 += R.colwise().sum().transpose().template cast<double>();
  for (Index j = 0; j < k; ++j) {
    const auto r = R.col(j).array();
    switch (kind) {
      case ScatterKind::Full: {
        wk.Z = X.rowwise() - A.col(j).transpose();  // x - a_j
        wk.RZ = wk.Z.array().colwise() * r;
        st.s1.col(j) += wk.RZ.colwise().sum().transpose().template cast<double>();
        MatrixXd& C = wk.C;
        C.setZero(d, d);
        atb<T>(wk.RZ.data(), b, d, wk.Z.data(), b, d, b, C.data(), d);
        auto S = st.s2.col(j);
        for (Index c = 0; c < d; ++c)
          for (Index i = 0; i <= c; ++i) S[packed(i, c)] += C(i, c);
        break;
      }
      case ScatterKind::Diag:
        for (Index c = 0; c < d; ++c) {
          const auto z = X.col(c).array() - A(c, j);
          const auto rz = (z * r).eval();
          st.s1(c, j) += double(rz.sum());
          st.s2(c, j) += double((rz * z).sum());
        }
        break;
      case ScatterKind::Trace: {
        wk.a.setZero(b);
        for (Index c = 0; c < d; ++c) {
          const auto z = (X.col(c).array() - A(c, j)).eval();
          st.s1(c, j) += double((z * r).sum());
          wk.a.array() += z.square();
        }
        st.s2(0, j) += double((wk.a.array() * r).sum());
        break;
      }
    }
  }
}

}  // namespace fastgmm
