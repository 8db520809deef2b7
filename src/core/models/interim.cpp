// Interim registry with the closed-form models EII, VII, EEI, VVI, EEE, VVV.
// (Replaced by the full set of fourteen.)
#include <cmath>

#include "covariance_model.h"

namespace fastgmm {

namespace {

[[noreturn]] void singular(Index j, bool common) {
  throw ModelError((common ? std::string("the common covariance")
                           : "covariance of component " + std::to_string(j + 1)) +
                   " is singular; set reg_covar > 0 (e.g. 1e-6) or check for constant or "
                   "duplicated columns");
}

void check_var(const Eigen::ArrayXd& v, Index j, bool common) {
  if (!(v.minCoeff() > 0) || !std::isfinite(v.maxCoeff()) || !(v.minCoeff() > 1e-24 * v.maxCoeff()))
    singular(j, common);
}

void diag_out(const Scatter& s, const Eigen::MatrixXd& var, CovParams& out) {
  out.sigma.assign(s.k, MatrixXd::Zero(s.d, s.d));
  for (Index j = 0; j < s.k; ++j) out.sigma[j].diagonal() = var.row(var.rows() == 1 ? 0 : j).transpose();
}

void mstep_EII(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double lam = s.Wt.sum() / (double(s.d) * s.n.sum());
  check_var(Eigen::ArrayXd::Constant(1, lam), 0, true);
  diag_out(s, MatrixXd::Constant(1, s.d, lam), out);
  out.scale = VectorXd::Constant(1, lam);
  *it = 0;
}

void mstep_VII(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  MatrixXd var(s.k, s.d);
  out.scale.resize(s.k);
  for (Index j = 0; j < s.k; ++j) {
    const double lam = s.Wt[j] / (double(s.d) * s.n[j]);
    check_var(Eigen::ArrayXd::Constant(1, lam), j, false);
    var.row(j).setConstant(lam);
    out.scale[j] = lam;
  }
  diag_out(s, var, out);
  *it = 0;
}

void mstep_EEI(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const Eigen::ArrayXd v = (s.Wd.colwise().sum() / s.n.sum()).transpose().array();
  check_var(v, 0, true);
  diag_out(s, v.matrix().transpose(), out);
  *it = 0;
}

void mstep_VVI(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  MatrixXd var(s.k, s.d);
  for (Index j = 0; j < s.k; ++j) {
    var.row(j) = s.Wd.row(j) / s.n[j];
    check_var(var.row(j).transpose().array(), j, false);
  }
  diag_out(s, var, out);
  *it = 0;
}

void mstep_EEE(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  MatrixXd W = MatrixXd::Zero(s.d, s.d);
  for (Index j = 0; j < s.k; ++j) W += s.W[j];
  W /= s.n.sum();
  out.sigma.assign(s.k, 0.5 * (W + W.transpose()));
  *it = 0;
}

void mstep_VVV(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  out.sigma.resize(s.k);
  for (Index j = 0; j < s.k; ++j) out.sigma[j] = s.W[j] / s.n[j];
  *it = 0;
}

double df_EII(Index, Index) { return 1; }
double df_VII(Index k, Index) { return double(k); }
double df_EEI(Index, Index d) { return double(d); }
double df_VVI(Index k, Index d) { return double(k * d); }
double df_EEE(Index, Index d) { return double(d * (d + 1) / 2); }
double df_VVV(Index k, Index d) { return double(k * d * (d + 1) / 2); }

}  // namespace

const std::vector<CovarianceModel>& covariance_models() {
  static const std::vector<CovarianceModel> m = {
      {"EII", EShape::Spherical, ScatterKind::Trace, false, df_EII, mstep_EII},
      {"VII", EShape::Spherical, ScatterKind::Trace, false, df_VII, mstep_VII},
      {"EEI", EShape::Diag, ScatterKind::Diag, false, df_EEI, mstep_EEI},
      {"VVI", EShape::Diag, ScatterKind::Diag, false, df_VVI, mstep_VVI},
      {"EEE", EShape::Tied, ScatterKind::Full, false, df_EEE, mstep_EEE},
      {"VVV", EShape::Full, ScatterKind::Full, false, df_VVV, mstep_VVV},
  };
  return m;
}

const CovarianceModel* find_covariance_model(const std::string& name) {
  for (const CovarianceModel& m : covariance_models())
    if (name == m.name) return &m;
  return nullptr;
}

}  // namespace fastgmm
