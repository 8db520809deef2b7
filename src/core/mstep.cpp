#include "mstep.h"

#include <cmath>

namespace fastgmm {

namespace {

[[noreturn]] void collapsed(Index j) {
  throw ModelError("component " + std::to_string(j + 1) +
                   " collapsed (it holds no observations); try reg_covar > 0, "
                   "another start, or fewer components");
}

[[noreturn]] void singular(CovType cov, Index j) {
  std::string who = cov == CovType::Tied ? std::string("the tied covariance")
                                         : "covariance of component " + std::to_string(j + 1);
  throw ModelError(who + " is singular; set reg_covar > 0 (e.g. 1e-6) or check for "
                         "constant or duplicated columns");
}

}  // namespace

Params mstep(const Stats& st, CovType cov, const VectorXd& reg) {
  const Index k = st.s1.rows(), d = st.s1.cols();
  if (reg.size() != d) throw std::logic_error("reg_covar must have one value per dimension");
  const double total = st.s0.sum();
  const double tiny = 1e-12 * total;
  Params p;
  p.cov = cov;
  p.k = k;
  p.d = d;
  p.prop = st.s0 / total;
  p.mean.resize(k, d);
  for (Index j = 0; j < k; ++j) {
    if (!(st.s0[j] > tiny)) collapsed(j);
    p.mean.row(j) = st.s1.row(j) / st.s0[j];
  }
  p.sigma.assign(k, MatrixXd::Zero(d, d));
  switch (cov) {
    case CovType::Full:
      for (Index j = 0; j < k; ++j) {
        MatrixXd c = st.s2.middleCols(j * d, d) / st.s0[j] -
                     p.mean.row(j).transpose() * p.mean.row(j);
        c = 0.5 * (c + c.transpose());
        c.diagonal() += reg;
        p.sigma[j] = c;
      }
      break;
    case CovType::Tied: {
      MatrixXd c = st.s2;
      for (Index j = 0; j < k; ++j)
        c -= st.s0[j] * p.mean.row(j).transpose() * p.mean.row(j);
      c /= total;
      c = 0.5 * (c + c.transpose());
      c.diagonal() += reg;
      for (Index j = 0; j < k; ++j) p.sigma[j] = c;
      break;
    }
    case CovType::Diag:
    case CovType::Spherical:
      for (Index j = 0; j < k; ++j) {
        Eigen::ArrayXd v = (st.s2.row(j).transpose() / st.s0[j]).array() -
                           p.mean.row(j).transpose().array().square();
        if (cov == CovType::Spherical)
          v.setConstant(v.mean() + reg.mean());
        else
          v += reg.array();
        const double vmax = v.maxCoeff();
        for (Index i = 0; i < d; ++i) {
          if (!(v[i] > 1e-24 * vmax)) singular(cov, j);
          p.sigma[j](i, i) = v[i];
        }
      }
      break;
  }
  return p;
}

namespace {

// Upper factor U with U U' = sigma^-1; returns log det U.
double precision_factor(const MatrixXd& sigma, CovType cov, Index j, Eigen::Ref<MatrixXd> U) {
  Eigen::LLT<MatrixXd> llt(sigma);
  if (llt.info() != Eigen::Success) singular(cov, j);
  const MatrixXd L = llt.matrixL();
  const Index d = sigma.rows();
  const double maxdiag = L.diagonal().maxCoeff();
  if (!(L.diagonal().minCoeff() > 1e-12 * maxdiag) || !std::isfinite(maxdiag)) singular(cov, j);
  MatrixXd Linv = L.triangularView<Eigen::Lower>().solve(MatrixXd::Identity(d, d));
  U = Linv.transpose();
  U.triangularView<Eigen::StrictlyLower>().setZero();
  return -L.diagonal().array().log().sum();
}

}  // namespace

Prepared prepare(const Params& p) {
  const Index k = p.k, d = p.d;
  const double half_log2pi = 0.5 * std::log(2 * M_PI);
  Prepared q;
  q.cov = p.cov;
  q.k = k;
  q.d = d;
  q.mean = p.mean;
  q.cst.resize(k);
  switch (p.cov) {
    case CovType::Full:
      q.U.resize(d, k * d);
      q.mU.resize(k, d);
      for (Index j = 0; j < k; ++j) {
        double ld = precision_factor(p.sigma[j], p.cov, j, q.U.middleCols(j * d, d));
        q.mU.row(j) = p.mean.row(j) * q.U.middleCols(j * d, d);
        q.cst[j] = std::log(p.prop[j]) + ld - d * half_log2pi;
      }
      break;
    case CovType::Tied: {
      q.U.resize(d, d);
      double ld = precision_factor(p.sigma[0], p.cov, 0, q.U);
      q.mU = p.mean * q.U;
      for (Index j = 0; j < k; ++j) q.cst[j] = std::log(p.prop[j]) + ld - d * half_log2pi;
      break;
    }
    case CovType::Diag:
    case CovType::Spherical: {
      const bool sph = p.cov == CovType::Spherical;
      q.P.resize(k, sph ? 1 : d);
      for (Index j = 0; j < k; ++j) {
        Eigen::ArrayXd v = p.sigma[j].diagonal().array();
        if (!(v.minCoeff() > 0) || !std::isfinite(v.maxCoeff())) singular(p.cov, j);
        if (sph)
          q.P(j, 0) = 1 / v[0];
        else
          q.P.row(j) = v.inverse().matrix().transpose();
        q.cst[j] = std::log(p.prop[j]) - 0.5 * v.log().sum() - d * half_log2pi;
      }
      break;
    }
  }
  return q;
}

}  // namespace fastgmm
