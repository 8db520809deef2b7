// Rcpp wrapper used by tools/mstep_check.R to call the covariance-model M-steps of
// src/core/models from R. Not part of the package: mstep_check.R compiles it with
// Rcpp::sourceCpp together with every src/core/models/*.cpp (one translation unit), with
// -I src/core.
// [[Rcpp::depends(RcppEigen)]]
#include <RcppEigen.h>

#include "models/covariance_model.h"

using fastgmm::CovarianceModel;
using fastgmm::CovParams;
using fastgmm::Scatter;
using fastgmm::ScatterKind;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

const CovarianceModel& model_or_stop(const std::string& name) {
  const CovarianceModel* m = fastgmm::find_covariance_model(name);
  if (!m) Rcpp::stop("unknown model " + name);
  return *m;
}

const char* eshape_name(fastgmm::EShape s) {
  switch (s) {
    case fastgmm::EShape::Full: return "Full";
    case fastgmm::EShape::Tied: return "Tied";
    case fastgmm::EShape::Diag: return "Diag";
    case fastgmm::EShape::Spherical: return "Spherical";
  }
  return "?";
}

const char* scatter_name(ScatterKind s) {
  switch (s) {
    case ScatterKind::Full: return "Full";
    case ScatterKind::Diag: return "Diag";
    case ScatterKind::Trace: return "Trace";
  }
  return "?";
}

// Our layout <-> R list(scale = numeric, shape = matrix (rows = ours), orientation = list).
Rcpp::List to_r(const CovParams& p) {
  Rcpp::List sig(p.sigma.size()), ori(p.orientation.size());
  for (std::size_t j = 0; j < p.sigma.size(); ++j) sig[j] = Rcpp::wrap(p.sigma[j]);
  for (std::size_t j = 0; j < p.orientation.size(); ++j) ori[j] = Rcpp::wrap(p.orientation[j]);
  return Rcpp::List::create(Rcpp::Named("sigma") = sig, Rcpp::Named("scale") = Rcpp::wrap(p.scale),
                            Rcpp::Named("shape") = Rcpp::wrap(p.shape),
                            Rcpp::Named("orientation") = ori);
}

CovParams from_r(const Rcpp::List& l) {
  CovParams p;
  Rcpp::List sig = l["sigma"], ori = l["orientation"];
  for (R_xlen_t j = 0; j < sig.size(); ++j) p.sigma.push_back(Rcpp::as<MatrixXd>(sig[j]));
  for (R_xlen_t j = 0; j < ori.size(); ++j) p.orientation.push_back(Rcpp::as<MatrixXd>(ori[j]));
  p.scale = Rcpp::as<VectorXd>(l["scale"]);
  p.shape = Rcpp::as<MatrixXd>(l["shape"]);
  return p;
}

}  // namespace

// [[Rcpp::export]]
Rcpp::DataFrame mc_models() {
  const auto& ms = fastgmm::covariance_models();
  Rcpp::CharacterVector name, eshape, scatter;
  Rcpp::LogicalVector iterative;
  for (const CovarianceModel& m : ms) {
    name.push_back(m.name);
    eshape.push_back(eshape_name(m.shape));
    scatter.push_back(scatter_name(m.scatter));
    iterative.push_back(m.iterative);
  }
  return Rcpp::DataFrame::create(Rcpp::Named("name") = name, Rcpp::Named("eshape") = eshape,
                                 Rcpp::Named("scatter") = scatter,
                                 Rcpp::Named("iterative") = iterative,
                                 Rcpp::Named("stringsAsFactors") = false);
}

// [[Rcpp::export]]
double mc_nparams(std::string name, int k, int d) { return model_or_stop(name).n_cov_params(k, d); }

// M-step of `name` from data x (n x d), responsibilities z (n x k), optional weights w.
// The scatter is formed two-pass about the weighted means. Returns to_r(...) plus `inner`, or
// list(error = message) when the model throws ModelError.
// [[Rcpp::export]]
Rcpp::List mc_mstep(const Eigen::Map<Eigen::MatrixXd> x, const Eigen::Map<Eigen::MatrixXd> z,
                    std::string name, Rcpp::Nullable<Rcpp::List> prev = R_NilValue,
                    int max_iter = 0, double tol = 0,
                    Rcpp::Nullable<Rcpp::NumericVector> w = R_NilValue) {
  const CovarianceModel& m = model_or_stop(name);
  const Index n = x.rows(), d = x.cols(), k = z.cols();
  if (z.rows() != n) Rcpp::stop("z and x differ in rows");
  VectorXd wt = VectorXd::Ones(n);
  if (w.isNotNull()) wt = Rcpp::as<VectorXd>(Rcpp::NumericVector(w.get()));
  Scatter s;
  s.k = k;
  s.d = d;
  s.n.resize(k);
  std::vector<MatrixXd> W(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j) {
    const VectorXd r = wt.cwiseProduct(z.col(j));
    s.n[j] = r.sum();
    const VectorXd mu = x.transpose() * r / s.n[j];
    const MatrixXd xc = x.rowwise() - mu.transpose();
    W[j] = xc.transpose() * r.asDiagonal() * xc;
    W[j] = (0.5 * (W[j] + W[j].transpose())).eval();
  }
  switch (m.scatter) {
    case ScatterKind::Full: s.W = W; break;
    case ScatterKind::Diag:
      s.Wd.resize(k, d);
      for (Index j = 0; j < k; ++j) s.Wd.row(j) = W[j].diagonal().transpose();
      break;
    case ScatterKind::Trace:
      s.Wt.resize(k);
      for (Index j = 0; j < k; ++j) s.Wt[j] = W[j].trace();
      break;
  }
  CovParams pp, out;
  const CovParams* pprev = nullptr;
  if (prev.isNotNull()) {
    pp = from_r(Rcpp::List(prev.get()));
    pprev = &pp;
  }
  fastgmm::InnerControl ctl;
  ctl.max_iter = max_iter;
  ctl.tol = tol;
  int inner = -1;
  try {
    m.mstep(s, pprev, ctl, out, &inner);
  } catch (const fastgmm::ModelError& e) {
    return Rcpp::List::create(Rcpp::Named("error") = std::string(e.what()));
  }
  Rcpp::List res = to_r(out);
  res["inner"] = inner;
  return res;
}
