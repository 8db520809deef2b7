// Model parameters and sufficient statistics shared by every backend.
#pragma once
#include <Eigen/Dense>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastgmm {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

enum class CovType { Full = 0, Diag = 1, Spherical = 2, Tied = 3 };

// Column-major n x d data, not owned. Rows are shifted by `shift` when read,
// so raw moments are accumulated around the data's mean.
struct Data {
  const double* x = nullptr;
  Index n = 0, d = 0;
  const double* w = nullptr;  // observation weights, or nullptr for all ones
  VectorXd shift;             // length d
};

// Parameters in shifted coordinates. sigma holds k d x d matrices for every
// model (diagonal for diag/spherical, all equal for tied).
struct Params {
  CovType cov = CovType::Full;
  Index k = 0, d = 0;
  VectorXd prop;             // k
  MatrixXd mean;             // k x d
  std::vector<MatrixXd> sigma;
};

// Sufficient statistics of one pass. s2 depends on the model:
//   full: d x (k d), block j holds sum r_j x x'
//   tied: d x d, sum w x x' over all rows
//   diag, spherical: k x d, sum r_j x.^2
struct Stats {
  VectorXd s0;
  MatrixXd s1;
  MatrixXd s2;
  double loglik = 0;

  void reset(CovType cov, Index k, Index d);
  void add(const Stats& o);
};

// Error raised for a collapsed or singular component; message is user-facing.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void Stats::reset(CovType cov, Index k, Index d) {
  s0.setZero(k);
  s1.setZero(k, d);
  switch (cov) {
    case CovType::Full: s2.setZero(d, k * d); break;
    case CovType::Tied: s2.setZero(d, d); break;
    default: s2.setZero(k, d);
  }
  loglik = 0;
}

inline void Stats::add(const Stats& o) {
  s0 += o.s0;
  s1 += o.s1;
  s2 += o.s2;
  loglik += o.loglik;
}

}  // namespace fastgmm
