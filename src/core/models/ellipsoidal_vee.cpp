// VEE: sigma_j = lambda_j C with C = D diag(a) D' shared, det(C) = 1 (iterative).
#include "model_util.h"

namespace fastgmm {
namespace models_vee {

using namespace model_util;

// mclust msvee (M-step alone) and mevee (inside EM), Celeux & Govaert (1995) p. 785:
//   C        <- sum_j W_j / lambda_j,  C <- C / det(C)^(1/d)
//   lambda_j <- tr(W_j C^-1) / (d n_j)
//   target   =  N d + d sum_j n_j log(lambda_j)
// repeated while |target - previous| / (1 + |target|) > tol and inner < itmax
// (tol = emControl()$tol[2] = sqrt(eps), itmax = emControl()$itmax[2]; the first iteration
// compares with FLMAX/2, so at least two are run when itmax > 1). mclust starts every M-step
// from lambda_j = 1 (msvee: set in mstepVEE; mevee: reset at each EM iteration), so `prev` is
// not used. sigma_j = lambda_j C with the C of the last iteration; shape and orientation are the
// eigen-decomposition of that C (decreasing), as mstepVEE's svd(C).
// mclust requires every W_j to be positive definite (dpotrf), and so do we.
void mstep_VEE(const Scatter& s, const CovParams*, const InnerControl& ctl, CovParams& out,
               int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  const Index k = s.k, d = s.d;
  const double dd = static_cast<double>(d);
  std::vector<MatrixXd> W(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) {
    W[j] = s.W[j];
    symmetrise(W[j]);
    check_full(W[j], j);
  }
  const long long maxi = max_iter_of(ctl);
  const double tol = tol_of(ctl);
  VectorXd scale = VectorXd::Ones(k);
  MatrixXd C(d, d), Cinv(d, d);
  double prev_target = std::numeric_limits<double>::max() / 2, err;
  long long inner = 0;
  do {
    ++inner;
    C.setZero();
    for (Index j = 0; j < k; ++j) C += W[j] / scale[j];
    symmetrise(C);
    Eigen::LLT<MatrixXd> llt(C);
    if (llt.info() != Eigen::Success) throw_singular(-1);
    const double logdet = 2 * llt.matrixLLT().diagonal().array().log().sum();
    const double g = std::exp(logdet / dd);
    if (!finite(g) || !(g > 0)) throw_singular(-1);
    C /= g;
    llt.compute(C);
    if (llt.info() != Eigen::Success) throw_singular(-1);
    Cinv = llt.solve(MatrixXd::Identity(d, d));
    symmetrise(Cinv);
    double target = N * dd;
    for (Index j = 0; j < k; ++j) {
      scale[j] = W[j].cwiseProduct(Cinv).sum() / (dd * s.n[j]);  // tr(W_j C^-1) / (d n_j)
      if (!finite(scale[j]) || !(scale[j] > 0)) throw_singular(j);
      target += dd * s.n[j] * std::log(scale[j]);
    }
    err = std::abs(target - prev_target) / (1 + std::abs(target));
    prev_target = target;
  } while (err > tol && inner < maxi);

  out.sigma.resize(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) out.sigma[j] = scale[j] * C;
  VectorXd a;
  out.orientation.resize(1);
  eigen_desc(C, a, out.orientation[0], -1);
  if (!(a.minCoeff() > 0)) throw_singular(-1);
  normalise_product(a);
  out.scale = scale;
  out.shape = a.transpose();
  check_output(out, false);
  if (it) *it = static_cast<int>(std::min<long long>(inner, INT_MAX));
}

double np_VEE(Index k, Index d) { return static_cast<double>(k + (d - 1) + d * (d - 1) / 2); }

}  // namespace models_vee

const CovarianceModel& model_VEE() {
  static const CovarianceModel m{"VEE", EShape::Full, ScatterKind::Full, true,
                                 &models_vee::np_VEE, &models_vee::mstep_VEE};
  return m;
}

}  // namespace fastgmm
