#include "mstep.h"

#include <cmath>

namespace fastgmm {

namespace {

[[noreturn]] void collapsed(Index j) {
  throw ModelError("component " + std::to_string(j + 1) +
                   " collapsed (it holds no observations); try reg_covar > 0, "
                   "another start, or fewer components");
}

[[noreturn]] void singular(EShape shape, Index j) {
  std::string who = shape == EShape::Tied ? std::string("the tied covariance")
                                          : "covariance of component " + std::to_string(j + 1);
  throw ModelError(who + " is singular; set reg_covar > 0 (e.g. 1e-6) or check for "
                         "constant or duplicated columns");
}

}  // namespace

Params mstep(const Stats& st, const CovarianceModel* model, const MStepOptions& opt,
             const Params* prev, int* inner_iters) {
  const Index k = st.k, d = st.d;
  const double total = st.s0.sum();
  const double tiny = 1e-12 * total;
  Params p;
  p.model = model;
  p.k = k;
  p.d = d;
  p.prop = st.s0 / total;
  p.mean.resize(k, d);
  Scatter sc;
  sc.k = k;
  sc.d = d;
  sc.n = st.s0;
  const VectorXd reg = opt.reg.size() == d ? opt.reg : VectorXd::Zero(d);
  switch (model->scatter) {
    case ScatterKind::Full: sc.W.resize(k); break;
    case ScatterKind::Diag: sc.Wd.resize(k, d); break;
    case ScatterKind::Trace: sc.Wt.resize(k); break;
  }
  if (st.kind != model->scatter)
    throw std::logic_error("statistics of the wrong kind for the covariance model");
  for (Index j = 0; j < k; ++j) {
    const double n = st.s0[j];
    if (!(n > tiny)) collapsed(j);
    const VectorXd m1 = st.s1.col(j) / n;  // mean - anchor
    p.mean.row(j) = (st.anchor.col(j) + m1).transpose();
    const auto s = st.s2.col(j);
    switch (model->scatter) {
      case ScatterKind::Full: {
        MatrixXd W(d, d);
        for (Index c = 0; c < d; ++c)
          for (Index i = 0; i <= c; ++i) {
            const double v = s[packed(i, c)] - st.s1(i, j) * m1[c];
            W(i, c) = v;
            W(c, i) = v;
          }
        for (Index c = 0; c < d; ++c) W(c, c) = std::max(W(c, c), 0.0) + n * reg[c];
        sc.W[j] = W;
        break;
      }
      case ScatterKind::Diag:
        for (Index c = 0; c < d; ++c)
          sc.Wd(j, c) = std::max(s[c] - st.s1(c, j) * m1[c], 0.0) + n * reg[c];
        break;
      case ScatterKind::Trace:
        sc.Wt[j] = std::max(s[0] - st.s1.col(j).dot(m1), 0.0) + n * reg.sum();
        break;
    }
  }
  int it = 0;
  model->mstep(sc, prev ? &prev->cov : nullptr, opt.inner, p.cov, &it);
  if (inner_iters) *inner_iters = it;
  return p;
}

namespace {

// Upper factor U with U U' = sigma^-1; returns log det U.
double precision_factor(const MatrixXd& sigma, EShape shape, Index j, Eigen::Ref<MatrixXd> U) {
  Eigen::LLT<MatrixXd> llt(sigma);
  if (llt.info() != Eigen::Success) singular(shape, j);
  const MatrixXd L = llt.matrixL();
  const Index d = sigma.rows();
  const double maxdiag = L.diagonal().maxCoeff();
  if (!(L.diagonal().minCoeff() > 1e-12 * maxdiag) || !std::isfinite(maxdiag)) singular(shape, j);
  MatrixXd Linv = L.triangularView<Eigen::Lower>().solve(MatrixXd::Identity(d, d));
  U = Linv.transpose();
  U.triangularView<Eigen::StrictlyLower>().setZero();
  return -L.diagonal().array().log().sum();
}

}  // namespace

Prepared prepare(const Params& p, Executor* ex) {
  const Index k = p.k, d = p.d;
  const double half_log2pi = 0.5 * std::log(2 * M_PI);
  Prepared q;
  q.shape = p.model->shape;
  q.k = k;
  q.d = d;
  q.mean = p.mean;
  q.cst.resize(k);
  if (Index(p.cov.sigma.size()) != k) throw std::logic_error("parameters without covariances");
  for (Index j = 0; j < k; ++j)
    if (!(p.prop[j] > 0) || !std::isfinite(p.prop[j]))
      throw ModelError("the proportion of component " + std::to_string(j + 1) +
                       " is not positive");
  switch (q.shape) {
    case EShape::Full: {
      q.U.resize(d, k * d);
      q.mU.resize(k, d);
      auto one = [&](Index j) {
        const double ld = precision_factor(p.cov.sigma[j], q.shape, j, q.U.middleCols(j * d, d));
        q.mU.row(j) = p.mean.row(j) * q.U.middleCols(j * d, d);
        q.cst[j] = std::log(p.prop[j]) + ld - d * half_log2pi;
      };
      if (ex && k > 1 && double(k) * d * d * d > 2e6)
        run_tasks(*ex, k, one);
      else
        for (Index j = 0; j < k; ++j) one(j);
      break;
    }
    case EShape::Tied: {
      q.U.resize(d, d);
      const double ld = precision_factor(p.cov.sigma[0], q.shape, 0, q.U);
      q.mU = p.mean * q.U;
      for (Index j = 0; j < k; ++j) q.cst[j] = std::log(p.prop[j]) + ld - d * half_log2pi;
      break;
    }
    case EShape::Diag:
    case EShape::Spherical: {
      const bool sph = q.shape == EShape::Spherical;
      q.P.resize(k, sph ? 1 : d);
      for (Index j = 0; j < k; ++j) {
        Eigen::ArrayXd v = p.cov.sigma[j].diagonal().array();
        if (!(v.minCoeff() > 0) || !std::isfinite(v.maxCoeff())) singular(q.shape, j);
        if (!(v.minCoeff() > 1e-24 * v.maxCoeff())) singular(q.shape, j);
        if (sph)
          q.P(j, 0) = 1 / v[0];
        else
          q.P.row(j) = v.inverse().matrix().transpose();
        q.cst[j] = std::log(p.prop[j]) - 0.5 * v.log().sum() - d * half_log2pi;
      }
      break;
    }
  }
  double off = 0;
  for (Index j = 0; j < k; ++j)
    for (Index c = 0; c < d; ++c)
      off = std::max(off, std::abs(p.mean(j, c)) / std::sqrt(p.cov.sigma[j](c, c)));
  q.offset = std::isfinite(off) ? off : 1e300;
  return q;
}

}  // namespace fastgmm
