// What the CPU kernels share at every instruction-set level: the block and
// scratch types, the parameter terms laid out for the kernels, the variants.
// Nothing here depends on the SIMD width; the kernels themselves (simd.h,
// simd_math.h, tall_kernels.h, direct_kernel.h, block.h, estep.h, stats.h)
// are compiled once per level by kernels/level.h (see dispatch.h).
#pragma once
#include <Eigen/Dense>
#include <algorithm>

#include "../mstep.h"
#include "../model.h"
#include "../source/source.h"

namespace fastgmm {

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

constexpr int max_direct_d = 16;

// Rows of blocks are padded to a multiple of this, for every lane count.
constexpr Eigen::Index row_pad = 16;

// A block of rows and what its components share: `rows` real rows, then
// zero-weight padding. Kernels on a range of components read X, Y, w (and
// XU, sq) and write only their own columns of L.
template <typename T>
struct Work {
  Mat<T> X, L, Y;
  Mat<T> XU;          // Tied, shared form: X U
  Vec<T> w, sq;       // weights; Spherical / Tied: per-row squared norms
  Vec<T> aux;         // normalize(): per-row maxima, sums and entropy terms
  Index rows = 0;
  int features = -1;  // which features Y holds (a ScatterKind), -1: none
};

// Temporaries of one task (one per component group when they run in parallel).
template <typename T>
struct Scratch {
  Mat<T> Z, RZ;
  Vec<T> a, b;
  MatrixXd C;  // double products
};

// Parameter terms laid out for the kernel, component j at column j (pointers
// to the first component of a range; j counts from there).
template <typename T>
struct DirectTerms {
  const T* U = nullptr;  // Full: d*d per component (col-major factors); Tied: one d*d
  const T* M = nullptr;  // d per component: mU (Full, Tied)
  const T* A = nullptr;  // d per component: the means (anchored forms, Diag, Spherical)
  const T* P = nullptr;  // Diag: d precisions per component; Spherical: 1
  DirectTerms range(Eigen::Index j0, Eigen::Index d, bool tied, bool sph) const {
    DirectTerms r = *this;
    if (U && !tied) r.U += j0 * d * d;
    if (M) r.M += j0 * d;
    if (A) r.A += j0 * d;
    if (P) r.P += j0 * (sph ? 1 : d);
    return r;
  }
};

// Which direct form: the E-step shape, and for Full/Tied whether anchored.
enum class DirectForm { Full, FullAnchored, Tied, TiedAnchored, Diag, Spherical };

// Features of the product forms, per row: Full [x, x_i x_c (i <= c)],
// Diag [x, x.^2], Trace [x, |x|^2].
inline Index n_features(ScatterKind kind, Index d) {
  switch (kind) {
    case ScatterKind::Full: return d + d * (d + 1) / 2;
    case ScatterKind::Diag: return 2 * d;
    default: return d + 1;
  }
}
// The quadratic features are used while there are few of them.
inline bool quadratic_features(Index d) { return d * (d + 1) / 2 <= 528; }

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
