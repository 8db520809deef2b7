// Parameters and anchored sufficient statistics, shared by every backend,
// source and driver (DESIGN.md section 1).
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "models/covariance_model.h"

namespace fastgmm {

// Mixture parameters in the core's coordinates (the data minus a fixed
// origin, see Origin in pass.h). cov.sigma holds k d x d matrices.
struct Params {
  const CovarianceModel* model = nullptr;
  Index k = 0, d = 0;
  VectorXd prop;  // k
  MatrixXd mean;  // k x d
  CovParams cov;
};

// Number of values of one component's second-moment statistic.
inline Index s2_rows(ScatterKind kind, Index d) {
  return kind == ScatterKind::Full ? d * (d + 1) / 2 : kind == ScatterKind::Diag ? d : 1;
}
// Position of (i, c), i <= c, in the packed upper triangle (column by column).
inline Index packed(Index i, Index c) { return c * (c + 1) / 2 + i; }

// Anchored statistics of one pass: for each component j, with anchor a_j
// (a point near its mean, constant for the pass),
//   s0_j = sum_i r_ij,  s1_j = sum_i r_ij (x_i - a_j),
//   s2_j = sum_i r_ij (x_i - a_j)(x_i - a_j)' : its packed upper triangle
//          (Full), its diagonal (Diag) or its trace (Trace),
// where r_ij are the weighted responsibilities. Statistics with the same
// anchors add up across blocks, threads, files and machines; reanchor()
// moves them to other anchors exactly.
struct Stats {
  ScatterKind kind = ScatterKind::Full;
  Index k = 0, d = 0;
  MatrixXd anchor;  // d x k
  VectorXd s0;      // k
  MatrixXd s1;      // d x k
  MatrixXd s2;      // s2_rows(kind, d) x k
  double loglik = 0;

  void reset(ScatterKind kind_, const MatrixXd& anchor_) {
    kind = kind_;
    d = anchor_.rows();
    k = anchor_.cols();
    anchor = anchor_;
    s0.setZero(k);
    s1.setZero(d, k);
    s2.setZero(s2_rows(kind, d), k);
    loglik = 0;
  }
  void add(const Stats& o) {
    s0 += o.s0;
    s1 += o.s1;
    s2 += o.s2;
    loglik += o.loglik;
  }
  // Multiplies every statistic (weights scaled by f).
  void scale(double f) {
    s0 *= f;
    s1 *= f;
    s2 *= f;
    loglik *= f;
  }
  // Moments about `to` (d x k) instead of the current anchors.
  void reanchor(const MatrixXd& to) {
    for (Index j = 0; j < k; ++j) {
      const VectorXd delta = anchor.col(j) - to.col(j);  // x - to = (x - a) + delta
      if (delta.isZero(0)) continue;
      const VectorXd t1 = s1.col(j);
      const double n = s0[j];
      auto s = s2.col(j);
      switch (kind) {
        case ScatterKind::Full:
          for (Index c = 0; c < d; ++c)
            for (Index i = 0; i <= c; ++i)
              s[packed(i, c)] += t1[i] * delta[c] + delta[i] * t1[c] + n * delta[i] * delta[c];
          break;
        case ScatterKind::Diag:
          s.array() += (2 * t1.array() + n * delta.array()) * delta.array();
          break;
        case ScatterKind::Trace:
          s[0] += 2 * t1.dot(delta) + n * delta.squaredNorm();
          break;
      }
      s1.col(j) += n * delta;
    }
    anchor = to;
  }
};

}  // namespace fastgmm
