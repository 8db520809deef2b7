// Ellipsoidal models with closed-form M-steps: EEE, VVV, EEV, EVV. All read the full W_j.
#include "model_util.h"

namespace fastgmm {
namespace models_ellipsoidal {

using namespace model_util;

void no_decomposition(CovParams& out) {
  out.scale.resize(0);
  out.shape.resize(0, 0);
  out.orientation.clear();
}

// mclust mseee: Sigma = sum_j W_j / N, shared by all components (mclust reports no
// scale/shape/orientation for EEE).
void mstep_EEE(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  MatrixXd W = s.W[0];
  for (Index j = 1; j < s.k; ++j) W += s.W[j];
  symmetrise(W);
  check_full(W, -1);
  const MatrixXd Sigma = W / N;
  out.sigma.assign(static_cast<std::size_t>(s.k), Sigma);
  no_decomposition(out);
  check_output(out, true);
  if (it) *it = 0;
}

// mclust msvvv: sigma_j = W_j / n_j.
void mstep_VVV(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  check_scatter(s, ScatterKind::Full);
  out.sigma.resize(static_cast<std::size_t>(s.k));
  for (Index j = 0; j < s.k; ++j) {
    MatrixXd W = s.W[j];
    symmetrise(W);
    check_full(W, j);
    out.sigma[j] = W / s.n[j];
  }
  no_decomposition(out);
  check_output(out, false);
  if (it) *it = 0;
}

// EEV, mclust mseev (Celeux & Govaert 1995, closed form): W_j = D_j diag(omega_j) D_j' with
// omega_j decreasing; B = sum_j omega_j; lambda = gm(B) / N; a = B / gm(B); D_j per component.
// sigma_j = lambda D_j diag(a) D_j'. mclust does not require each W_j to be non-singular
// (only B > 0), and neither do we.
void mstep_EEV(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  const Index k = s.k, d = s.d;
  out.orientation.resize(static_cast<std::size_t>(k));
  VectorXd B = VectorXd::Zero(d);
  for (Index j = 0; j < k; ++j) {
    MatrixXd W = s.W[j];
    symmetrise(W);
    if (!W.allFinite()) throw_singular(j);
    VectorXd omega;
    eigen_desc(W, omega, out.orientation[j], j);
    B += omega.cwiseMax(0.0);  // mclust's omega are squared singular values (>= 0)
  }
  if (!B.allFinite() || !(B.minCoeff() > corr_floor(d) * B.maxCoeff())) throw_singular(-1);
  const double g = geo_mean(B);
  VectorXd a = B / g;
  normalise_product(a);
  const double lambda = g / N;
  out.sigma.resize(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) out.sigma[j] = compose(lambda, out.orientation[j], a);
  out.scale = VectorXd::Constant(1, lambda);
  out.shape = a.transpose();
  check_output(out, false);
  if (it) *it = 0;
}

// EVV, mclust msevv (closed form): g_j = det(W_j)^(1/d); C_j = W_j / g_j;
// lambda = sum_j g_j / N; sigma_j = lambda C_j; shape_j, D_j = eigen-decomposition of C_j
// (decreasing).
void mstep_EVV(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  const Index k = s.k, d = s.d;
  std::vector<MatrixXd> W(static_cast<std::size_t>(k));
  VectorXd g(k);
  double sum = 0;
  for (Index j = 0; j < k; ++j) {
    W[j] = s.W[j];
    symmetrise(W[j]);
    check_full(W[j], j);
    Eigen::LLT<MatrixXd> llt(W[j]);
    if (llt.info() != Eigen::Success) throw_singular(j);
    const double logdet = 2 * llt.matrixLLT().diagonal().array().log().sum();
    g[j] = std::exp(logdet / static_cast<double>(d));
    if (!finite(g[j]) || !(g[j] > 0)) throw_singular(j);
    sum += g[j];
  }
  const double lambda = sum / N;
  out.sigma.resize(static_cast<std::size_t>(k));
  out.orientation.resize(static_cast<std::size_t>(k));
  out.shape.resize(k, d);
  for (Index j = 0; j < k; ++j) {
    const MatrixXd C = W[j] / g[j];
    out.sigma[j] = lambda * C;
    VectorXd a;
    eigen_desc(C, a, out.orientation[j], j);
    if (!(a.minCoeff() > 0)) throw_singular(j);
    normalise_product(a);
    out.shape.row(j) = a.transpose();
  }
  out.scale = VectorXd::Constant(1, lambda);
  check_output(out, false);
  if (it) *it = 0;
}

double np_EEE(Index, Index d) { return static_cast<double>(d * (d + 1) / 2); }
double np_VVV(Index k, Index d) { return static_cast<double>(k * d * (d + 1) / 2); }
double np_EEV(Index k, Index d) { return static_cast<double>(1 + (d - 1) + k * d * (d - 1) / 2); }
double np_EVV(Index k, Index d) { return static_cast<double>(1 - k + k * d * (d + 1) / 2); }

}  // namespace models_ellipsoidal

const CovarianceModel& model_EEE() {
  static const CovarianceModel m{"EEE", EShape::Tied, ScatterKind::Full, false,
                                 &models_ellipsoidal::np_EEE, &models_ellipsoidal::mstep_EEE};
  return m;
}

#define FASTGMM_ELLIPSOIDAL_MODEL(NAME)                                                     \
  const CovarianceModel& model_##NAME() {                                                  \
    static const CovarianceModel m{#NAME, EShape::Full, ScatterKind::Full, false,           \
                                   &models_ellipsoidal::np_##NAME,                         \
                                   &models_ellipsoidal::mstep_##NAME};                     \
    return m;                                                                               \
  }
FASTGMM_ELLIPSOIDAL_MODEL(EEV)
FASTGMM_ELLIPSOIDAL_MODEL(EVV)
FASTGMM_ELLIPSOIDAL_MODEL(VVV)
#undef FASTGMM_ELLIPSOIDAL_MODEL

}  // namespace fastgmm
