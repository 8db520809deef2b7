// E-step terms in the compute type T, laid out for the kernels.
#pragma once
#include <algorithm>

#include "../mstep.h"
#include "block.h"

namespace fastgmm {

// The two families of kernels of a pass (see cpu_engine.cpp for the choice):
//   Shared:   products over per-row features of x - origin, one for all
//             components; second moments about the origin, re-anchored after
//             the pass. Fast; loses digits as the means move away from the
//             origin (about 2 log10(offset) of them).
//   Anchored: each component works with x - a_j (a_j its mean): exact
//             wherever the components lie.
enum class Form { Shared, Anchored };
// Kernel variants of the shared form.
enum class Variant { Gemm = 0, Direct = 1 };
constexpr int n_variants = 2;

template <typename T>
struct Terms {
  EShape shape;
  Form form;
  Index k, d, group;  // group: components per product in the large-d full forms
  Vec<T> cst;         // per-component constant of the log-density
  Vec<T> cstg;        // Diag, shared: cst with the means folded in
  Mat<T> U;           // Full: d x (k d); Tied: d x d
  Mat<T> mU;          // k x d
  Mat<T> P, mean;     // k x d (Diag) or k x 1 (Spherical); k x d
  Mat<T> Qt;          // Diag, shared: [P .* mean, -P / 2]', 2d x k
  Mat<T> mUt, meant;  // d x k: mU' (Full, Tied), mean' (all shapes)
  Vec<T> mU2;         // Tied: |mU_j|^2; Spherical: |mean_j|^2
  Mat<T> Theta;       // Full, shared, quadratic features: log-density = features * Theta + cstf
  Vec<T> cstf;
  Mat<T> Pt;          // Diag: d x k; Spherical: 1 x k (P')
  DirectTerms<T> dt;  // pointers into the above, for the register-blocked kernel
  MatrixXd anchor;    // d x k: the anchors as the kernels see them (double(T(mean)))

  // Not copyable: dt points into the members.
  Terms(const Terms&) = delete;
  Terms& operator=(const Terms&) = delete;
  Terms(const Prepared& q, Form f) : shape(q.shape), form(f), k(q.k), d(q.d) {
    group = std::max<Index>(1, std::min<Index>(k, 512 / std::max<Index>(d, 1)));
    cst = q.cst.cast<T>();
    mean = q.mean.cast<T>();
    meant = mean.transpose();
    anchor = meant.template cast<double>();
    dt.A = meant.data();
    if (shape == EShape::Full || shape == EShape::Tied) {
      U = q.U.cast<T>();
      mU = q.mU.cast<T>();
      mU2 = q.mU.rowwise().squaredNorm().cast<T>();
      mUt = mU.transpose();
      dt.U = U.data();
      dt.M = mUt.data();
      if (shape == EShape::Full && f == Form::Shared && quadratic_features(d)) {
        // x'Px - 2 x'P mu + mu'P mu over the features [x, x_i x_c (i <= c)].
        MatrixXd th(n_features(ScatterKind::Full, d), k);
        VectorXd cf(k);
        for (Index j = 0; j < k; ++j) {
          const MatrixXd Uj = q.U.middleCols(j * d, d);
          const MatrixXd Pj = Uj * Uj.transpose();
          const VectorXd Pm = Pj * q.mean.row(j).transpose();
          th.col(j).head(d) = Pm;
          for (Index c = 0; c < d; ++c)
            for (Index i = 0; i <= c; ++i)
              th(d + packed(i, c), j) = i == c ? -0.5 * Pj(i, i) : -Pj(i, c);
          cf[j] = q.cst[j] - 0.5 * q.mean.row(j).dot(Pm);
        }
        Theta = th.cast<T>();
        cstf = cf.cast<T>();
      }
    } else {
      P = q.P.cast<T>();
      Pt = P.transpose();
      dt.P = Pt.data();
      if (shape == EShape::Diag) {
        MatrixXd pm = q.mean.cwiseProduct(q.P);
        MatrixXd qq(k, 2 * d);
        qq << pm, -0.5 * q.P;
        Qt = qq.transpose().cast<T>();
        VectorXd c = q.cst - 0.5 * pm.cwiseProduct(q.mean).rowwise().sum();
        cstg = c.cast<T>();
      } else {
        mU2 = q.mean.rowwise().squaredNorm().cast<T>();
      }
    }
  }
};

}  // namespace fastgmm
