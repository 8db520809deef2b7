// Helpers shared by the covariance model files (internal to src/core/models).
// File-local helpers of a model file live in a namespace named after the file (not an anonymous
// namespace), so that the files can also be compiled as one unit (tools/mstep_check.R does).
#pragma once
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <string>

#include "covariance_model.h"

namespace fastgmm {
namespace model_util {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// A component with n_j <= kTinyCount * sum(n) has collapsed (the core uses the same bound).
constexpr double kTinyCount = 1e-12;

// A variance below kVarFloor times its reference (the largest variance of the same matrix, or of
// the same kind among the components) is zero: a constant column, or a component sitting on one
// point. Column scales may differ by up to ~1e10 before this triggers.
constexpr double kVarFloor = 1e-20;

// A full scatter whose correlation matrix has its smallest eigenvalue below this is singular
// (rank deficient up to rounding: n_j <= d, collinear or duplicated columns). Scale invariant.
inline double corr_floor(Index d) { return 64.0 * static_cast<double>(d) * kEps; }

inline std::string who(Index j) {
  return j < 0 ? std::string("the common covariance")
               : "covariance of component " + std::to_string(j + 1);
}

// j < 0: the covariance shared by all components.
[[noreturn]] inline void throw_singular(Index j) {
  throw ModelError(who(j) +
                   " is singular; set reg_covar > 0 (e.g. 1e-6) or check for constant or "
                   "duplicated columns");
}

[[noreturn]] inline void throw_collapsed(Index j) {
  throw ModelError("component " + std::to_string(j + 1) +
                   " collapsed (it holds no observations); try reg_covar > 0, another start, or "
                   "fewer components");
}

// A <- (A + A') / 2, exactly symmetric (written out: `A = 0.5 * (A + A.transpose())` aliases).
inline void symmetrise(MatrixXd& A) {
  for (Index c = 0; c < A.cols(); ++c)
    for (Index r = 0; r < c; ++r) A(r, c) = A(c, r) = 0.5 * (A(r, c) + A(c, r));
}

inline int max_iter_of(const InnerControl& c) { return c.max_iter > 0 ? c.max_iter : INT_MAX; }
inline double tol_of(const InnerControl& c) { return c.tol > 0 ? c.tol : std::sqrt(kEps); }

inline bool finite(double x) { return std::isfinite(x); }

// Checks the sizes the model reads and the counts n_j; returns N = sum_j n_j.
inline double check_scatter(const Scatter& s, ScatterKind kind) {
  if (s.k < 1 || s.d < 1 || s.n.size() != s.k)
    throw std::invalid_argument("Scatter: k, d or n has the wrong size");
  switch (kind) {
    case ScatterKind::Full:
      if (static_cast<Index>(s.W.size()) != s.k)
        throw std::invalid_argument("Scatter: W must hold k matrices");
      for (const MatrixXd& w : s.W)
        if (w.rows() != s.d || w.cols() != s.d)
          throw std::invalid_argument("Scatter: each W_j must be d x d");
      break;
    case ScatterKind::Diag:
      if (s.Wd.rows() != s.k || s.Wd.cols() != s.d)
        throw std::invalid_argument("Scatter: Wd must be k x d");
      break;
    case ScatterKind::Trace:
      if (s.Wt.size() != s.k) throw std::invalid_argument("Scatter: Wt must have length k");
      break;
  }
  double total = 0;
  for (Index j = 0; j < s.k; ++j) total += s.n[j];
  if (!finite(total) || !(total > 0)) throw_collapsed(0);
  for (Index j = 0; j < s.k; ++j)
    if (!finite(s.n[j]) || !(s.n[j] > kTinyCount * total)) throw_collapsed(j);
  return total;
}

// Variances v (one matrix's diagonal, or one kind across components): all finite and above
// kVarFloor * max(v). Throws naming `j` otherwise.
inline void check_variances(const Eigen::Ref<const VectorXd>& v, Index j) {
  const double vmax = v.maxCoeff();
  if (!finite(vmax) || !(vmax > 0)) throw_singular(j);
  for (Index i = 0; i < v.size(); ++i)
    if (!finite(v[i]) || !(v[i] > kVarFloor * vmax)) throw_singular(j);
}

// One variance per component (v_j for component j): all finite and above kVarFloor * max(v);
// throws naming the component otherwise.
inline void check_component_variances(const Eigen::Ref<const VectorXd>& v) {
  const double vmax = v.maxCoeff();
  for (Index j = 0; j < v.size(); ++j)
    if (!finite(v[j]) || !(v[j] > 0) || !finite(vmax) || !(v[j] > kVarFloor * vmax))
      throw_singular(j);
}

// Full scatter W (d x d, symmetric): finite, diagonal as in check_variances, and its correlation
// matrix has smallest eigenvalue above corr_floor(d).
inline void check_full(const MatrixXd& W, Index j) {
  const Index d = W.rows();
  if (!W.allFinite()) throw_singular(j);
  check_variances(W.diagonal(), j);
  if (d == 1) return;
  const VectorXd s = W.diagonal().cwiseSqrt().cwiseInverse();
  MatrixXd R = s.asDiagonal() * W * s.asDiagonal();
  symmetrise(R);
  Eigen::SelfAdjointEigenSolver<MatrixXd> es(R, Eigen::EigenvaluesOnly);
  if (es.info() != Eigen::Success || !(es.eigenvalues()[0] > corr_floor(d))) throw_singular(j);
}

// Largest entry (in absolute value) of each column made positive.
inline void normalise_signs(MatrixXd& V) {
  for (Index c = 0; c < V.cols(); ++c) {
    Index imax = 0;
    V.col(c).cwiseAbs().maxCoeff(&imax);
    if (V(imax, c) < 0) V.col(c) = -V.col(c);
  }
}

// Eigen-decomposition of a symmetric matrix, eigenvalues decreasing (as LAPACK's SVD returns
// them in mclust), vectors with normalised signs. Throws naming j when the solver fails.
inline void eigen_desc(const MatrixXd& A, VectorXd& values, MatrixXd& vectors, Index j) {
  Eigen::SelfAdjointEigenSolver<MatrixXd> es(A);
  if (es.info() != Eigen::Success) throw_singular(j);
  values = es.eigenvalues().reverse();
  vectors = es.eigenvectors().rowwise().reverse();
  normalise_signs(vectors);
}

// Geometric mean exp(mean(log v)) of positive entries (mclust: exp(sum(log v)/p)).
inline double geo_mean(const Eigen::Ref<const VectorXd>& v) {
  return std::exp(v.array().log().sum() / static_cast<double>(v.size()));
}

// Row vector scaled so that the product of its entries is exactly 1 (up to one rounding).
inline void normalise_product(Eigen::Ref<VectorXd> v) { v /= geo_mean(v); }


// scale * V diag(a) V', symmetrised.
inline MatrixXd compose(double scale, const MatrixXd& V, const Eigen::Ref<const VectorXd>& a) {
  MatrixXd S = scale * (V * a.asDiagonal() * V.transpose());
  symmetrise(S);
  return S;
}

// Final guard: every sigma finite with a positive diagonal (never hand NaN to the E-step).
inline void check_output(const CovParams& p, bool common) {
  for (std::size_t j = 0; j < p.sigma.size(); ++j) {
    const MatrixXd& S = p.sigma[j];
    if (!S.allFinite() || !(S.diagonal().minCoeff() > 0))
      throw_singular(common ? -1 : static_cast<Index>(j));
  }
}

}  // namespace model_util
}  // namespace fastgmm
