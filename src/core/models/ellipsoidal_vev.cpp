// VEV: sigma_j = lambda_j D_j diag(a) D_j' with a shared shape a (iterative).
#include "model_util.h"

namespace fastgmm {
namespace models_vev {

using namespace model_util;

// mclust msvev (M-step alone) and mevev (inside EM). W_j = D_j diag(omega_j) D_j' with
// omega_j decreasing (mclust: squared singular values of the QR factor of the weighted data);
// the orientations D_j are fixed, and lambda, a alternate:
//   lambda_j <- sum_i omega_ij / a_i / (d n_j)
//   a_i      <- sum_j omega_ij / lambda_j,  then a <- a / gm(a)
// until err = max(max_i |da_i| / (1 + a_i), max_j |dlambda_j| / (1 + lambda_j)) < tol or
// inner >= itmax (tol = emControl()$tol[2] = sqrt(eps), itmax = emControl()$itmax[2]).
// Start (msvev, and mevev's first M-step): a = B / gm(B) with B = sum_j omega_j, and
// lambda_j = gm(B) / (n_j N) (msvev's value; it only enters the first err). mevev starts every
// later M-step from the previous a and lambda, which is what `prev` gives.
// As mclust, a singular W_j is allowed as long as B > 0 and every W_j is non-zero.
void mstep_VEV(const Scatter& s, const CovParams* prev, const InnerControl& ctl, CovParams& out,
               int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  const Index k = s.k, d = s.d;
  const double dd = static_cast<double>(d);
  MatrixXd omega(k, d);  // row j: eigenvalues of W_j, decreasing
  out.orientation.resize(static_cast<std::size_t>(k));
  VectorXd var(k);
  for (Index j = 0; j < k; ++j) {
    MatrixXd W = s.W[j];
    symmetrise(W);
    if (!W.allFinite()) throw_singular(j);
    VectorXd ev;
    eigen_desc(W, ev, out.orientation[j], j);
    omega.row(j) = ev.cwiseMax(0.0).transpose();
    var[j] = omega.row(j).sum() / s.n[j];
  }
  check_component_variances(var);
  VectorXd shape = omega.colwise().sum().transpose();
  if (!shape.allFinite() || !(shape.minCoeff() > corr_floor(d) * shape.maxCoeff()))
    throw_singular(-1);

  VectorXd scale(k);
  if (prev && prev->scale.size() == k && prev->shape.rows() == 1 && prev->shape.cols() == d &&
      prev->scale.allFinite() && prev->shape.allFinite() && prev->scale.minCoeff() > 0 &&
      prev->shape.minCoeff() > 0) {
    scale = prev->scale;
    shape = prev->shape.row(0).transpose();
  } else {
    const double g = geo_mean(shape);
    for (Index j = 0; j < k; ++j) scale[j] = g / (s.n[j] * N);
    shape /= g;
  }

  const long long maxi = max_iter_of(ctl);
  const double tol = tol_of(ctl);
  long long inner = 0;
  double err;
  do {
    const VectorXd wshape = shape, wscale = scale;
    shape.setZero();
    for (Index j = 0; j < k; ++j) {
      double sum = 0;
      for (Index i = 0; i < d; ++i) sum += omega(j, i) / wshape[i];
      scale[j] = (sum / s.n[j]) / dd;
      if (!finite(scale[j]) || !(scale[j] > 0)) throw_singular(j);
      shape += omega.row(j).transpose() / scale[j];
    }
    ++inner;
    if (!shape.allFinite() || !(shape.minCoeff() > 0)) throw_singular(-1);
    normalise_product(shape);
    err = 0;
    for (Index i = 0; i < d; ++i) err = std::max(err, std::abs(wshape[i] - shape[i]) / (1 + shape[i]));
    for (Index j = 0; j < k; ++j) err = std::max(err, std::abs(scale[j] - wscale[j]) / (1 + scale[j]));
  } while (err >= tol && inner < maxi);

  out.sigma.resize(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) out.sigma[j] = compose(scale[j], out.orientation[j], shape);
  out.scale = scale;
  out.shape = shape.transpose();
  check_output(out, false);
  if (it) *it = static_cast<int>(std::min<long long>(inner, INT_MAX));
}

double np_VEV(Index k, Index d) { return static_cast<double>(k + (d - 1) + k * d * (d - 1) / 2); }

}  // namespace models_vev

const CovarianceModel& model_VEV() {
  static const CovarianceModel m{"VEV", EShape::Full, ScatterKind::Full, true,
                                 &models_vev::np_VEV, &models_vev::mstep_VEV};
  return m;
}

}  // namespace fastgmm
