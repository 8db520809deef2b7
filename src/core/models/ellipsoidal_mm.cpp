// EVE (sigma_j = lambda D diag(a_j) D') and VVE (sigma_j = lambda_j D diag(a_j) D'): a shared
// orientation D, fitted by the MM algorithms of Browne & McNicholas (2014) as mclust does.
#include <Eigen/LU>
#include <Eigen/SVD>

#include "model_util.h"

namespace fastgmm {
namespace models_mm {

using namespace model_util;

// Orthogonal polar factor P R' of F = P diag(s) R' (the SVD's U V'; mclust: dgesvd).
// Computed by Higham's scaled Newton iteration X <- (z X + X^-T / z) / 2 (Frobenius-norm
// scaling z while far from convergence), which converges quadratically to the polar factor
// of a nonsingular F in about 6 to 10 d x d inversions: several times faster than an SVD at
// the d of these models, where the M-step iterates hundreds of polar factors per EM
// iteration. The result is verified (P orthogonal, P'F symmetric positive semidefinite to
// rounding) and recomputed from the SVD where F is singular or the check fails.
bool polar_ok(const MatrixXd& P, const MatrixXd& F) {
  const Index d = F.rows();
  const double tol = 1e-12 * std::max(1.0, static_cast<double>(d));
  if (!P.allFinite()) return false;
  if ((P.transpose() * P - MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff() > tol) return false;
  const MatrixXd H = P.transpose() * F;
  const double hmax = std::max(H.cwiseAbs().maxCoeff(), 1e-300);
  if ((H - H.transpose()).cwiseAbs().maxCoeff() > tol * hmax) return false;
  return H.diagonal().minCoeff() >= -tol * hmax;
}

MatrixXd polar(const MatrixXd& F) {
  const Index d = F.rows();
  MatrixXd X = F, Xn(d, d);
  bool scale = true;
  for (int it = 0; it < 60; ++it) {
    Eigen::PartialPivLU<MatrixXd> lu(X);
    const MatrixXd Xi = lu.inverse();
    if (!Xi.allFinite()) break;
    const double xn = X.norm(), xin = Xi.norm();
    const double z = scale && xn > 0 && xin > 0 ? std::sqrt(xin / xn) : 1.0;
    Xn = 0.5 * (z * X + Xi.transpose() / z);
    const double delta = (Xn - X).norm() / Xn.norm();
    X.swap(Xn);
    if (delta < 1e-2) scale = false;
    if (delta < 1e-15) break;
    if (delta < 1e-8) {  // quadratic convergence: one more step reaches rounding
      Eigen::PartialPivLU<MatrixXd> lu2(X);
      X = 0.5 * (X + lu2.inverse().transpose());
      break;
    }
  }
  if (polar_ok(X, F)) return X;
  Eigen::JacobiSVD<MatrixXd> svd(F, Eigen::ComputeFullU | Eigen::ComputeFullV);
  return svd.matrixU() * svd.matrixV().transpose();
}

// mclust mseve / msvve (M-step alone) and meeve / mevve (inside EM). Each iteration:
//   MM1: F = sum_j diag(a_j)^-1 D' (W_j - omega_j I), omega_j the largest eigenvalue of W_j;
//        F = P S R'  ->  D <- R P'
//   MM2: F = sum_j W_j D (diag(a_j)^-1 - max_i(1/a_ij) I);  F = P S R'  ->  D <- P R'
//   b_j = diag(D' W_j D);
//     EVE: a_j = b_j / gm(b_j);                              target += sum_i b_ij / a_ij
//     VVE: lambda_j = gm(b_j / n_j), a_j = b_j / (n_j lambda_j); target += sum_i b_ij / a_ij
// repeated while |target - previous| / (1 + |target|) > tol and inner < itmax
// (tol = emControl()$tol[2] = sqrt(eps), itmax = emControl()$itmax[2]); EVE: lambda = target /
// (N d) at the end. The iteration starts from D = I, a_j = 1 (mstepEVE/mstepVVE, and the first
// M-step of meEVE/meVVE); meEVE/meVVE then start each M-step from the previous D and a_j
// ("we don't re-initialize shape and orientation"), which is what `prev` gives. The shape and
// orientation are kept in the iteration's order and signs (not sorted), as mclust reports them.
// mclust requires every W_j to be positive definite, and so do we.
template <bool VariableVolume>
void mstep_mm(const Scatter& s, const CovParams* prev, const InnerControl& ctl, CovParams& out,
              int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  const Index k = s.k, d = s.d;
  const double dd = static_cast<double>(d);
  std::vector<MatrixXd> W(static_cast<std::size_t>(k));
  VectorXd omega(k);
  for (Index j = 0; j < k; ++j) {
    W[j] = s.W[j];
    symmetrise(W[j]);
    check_full(W[j], j);
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(W[j], Eigen::EigenvaluesOnly);
    if (es.info() != Eigen::Success) throw_singular(j);
    omega[j] = es.eigenvalues()[d - 1];
  }

  MatrixXd D = MatrixXd::Identity(d, d);
  MatrixXd A = MatrixXd::Ones(k, d);  // row j: a_j
  if (prev && prev->orientation.size() == 1 && prev->orientation[0].rows() == d &&
      prev->orientation[0].cols() == d && prev->shape.rows() == k && prev->shape.cols() == d &&
      prev->orientation[0].allFinite() && prev->shape.allFinite() && prev->shape.minCoeff() > 0 &&
      (prev->orientation[0].transpose() * prev->orientation[0] - MatrixXd::Identity(d, d))
              .cwiseAbs()
              .maxCoeff() < 1e-8) {
    D = prev->orientation[0];
    A = prev->shape;
  }
  VectorXd scale = VectorXd::Ones(VariableVolume ? k : 1);

  const long long maxi = max_iter_of(ctl);
  const double tol = tol_of(ctl);
  double prev_target = std::numeric_limits<double>::max() / 2, target, err;
  long long inner = 0;
  MatrixXd F(d, d), T(d, d);
  // DW[j] = D' W_j for the current D: computed by the shape step and reused by the next MM1,
  // so an iteration costs 2 k d^3 flops plus two d x d SVDs.
  std::vector<MatrixXd> DW(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) DW[j].noalias() = D.transpose() * W[j];
  do {
    ++inner;
    // MM1
    F.setZero();
    for (Index j = 0; j < k; ++j) {
      const VectorXd ainv = A.row(j).transpose().cwiseInverse();
      F += ainv.asDiagonal() * (DW[j] - omega[j] * D.transpose());  // A_j^-1 D' (W_j - omega_j I)
    }
    D = polar(F).transpose();
    // MM2
    F.setZero();
    for (Index j = 0; j < k; ++j) {
      T.noalias() = W[j] * D;
      const VectorXd ainv = A.row(j).transpose().cwiseInverse();
      F += T * ainv.asDiagonal();
      F -= ainv.maxCoeff() * T;
    }
    D = polar(F);
    // shape (and VVE's volume), target
    target = 0;
    for (Index j = 0; j < k; ++j) {
      DW[j].noalias() = D.transpose() * W[j];
      VectorXd b(d);
      for (Index i = 0; i < d; ++i) b[i] = DW[j].row(i).dot(D.col(i));  // (D' W_j D)_ii
      if (!b.allFinite() || !(b.minCoeff() > 0)) throw_singular(j);
      VectorXd a;
      if (VariableVolume) {
        a = b / s.n[j];
        scale[j] = geo_mean(a);
        a /= scale[j];
      } else {
        a = b / geo_mean(b);
      }
      if (!a.allFinite() || !(a.minCoeff() > kVarFloor * a.maxCoeff())) throw_singular(j);
      A.row(j) = a.transpose();
      target += (b.array() / a.array()).sum();
    }
    err = std::abs(target - prev_target) / (1 + std::abs(target));
    prev_target = target;
  } while (err > tol && inner < maxi);
  if (!VariableVolume) scale[0] = target / (N * dd);
  if (!finite(scale.sum()) || !(scale.minCoeff() > 0)) throw_singular(-1);

  // Exact normalisation of the reported shape rows (mclust's differ from it by rounding).
  for (Index j = 0; j < k; ++j) {
    VectorXd a = A.row(j).transpose();
    normalise_product(a);
    A.row(j) = a.transpose();
  }
  out.sigma.resize(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j)
    out.sigma[j] = compose(scale[VariableVolume ? j : 0], D, A.row(j).transpose());
  out.scale = scale;
  out.shape = A;
  out.orientation.assign(1, D);
  check_output(out, false);
  if (it) *it = static_cast<int>(std::min<long long>(inner, INT_MAX));
}

void mstep_EVE(const Scatter& s, const CovParams* p, const InnerControl& c, CovParams& o, int* it) {
  mstep_mm<false>(s, p, c, o, it);
}
void mstep_VVE(const Scatter& s, const CovParams* p, const InnerControl& c, CovParams& o, int* it) {
  mstep_mm<true>(s, p, c, o, it);
}

double np_EVE(Index k, Index d) { return static_cast<double>(1 + k * (d - 1) + d * (d - 1) / 2); }
double np_VVE(Index k, Index d) { return static_cast<double>(k + k * (d - 1) + d * (d - 1) / 2); }

}  // namespace models_mm

const CovarianceModel& model_EVE() {
  static const CovarianceModel m{"EVE", EShape::Full, ScatterKind::Full, true,
                                 &models_mm::np_EVE, &models_mm::mstep_EVE};
  return m;
}

const CovarianceModel& model_VVE() {
  static const CovarianceModel m{"VVE", EShape::Full, ScatterKind::Full, true,
                                 &models_mm::np_VVE, &models_mm::mstep_VVE};
  return m;
}

}  // namespace fastgmm
