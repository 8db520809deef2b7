// M-step: parameters from sufficient statistics, per covariance model.
#pragma once
#include "model.h"

namespace fastgmm {

// Throws ModelError naming the component when one collapses or its
// covariance is singular. reg_covar: length d, added to the covariance
// diagonal per dimension (spherical models add its mean).
Params mstep(const Stats& st, CovType cov, const VectorXd& reg_covar);
inline Params mstep(const Stats& st, CovType cov, double reg_covar) {
  return mstep(st, cov, VectorXd::Constant(st.s1.cols(), reg_covar));
}

// Terms of the E-step that depend only on the parameters.
struct Prepared {
  CovType cov = CovType::Full;
  Index k = 0, d = 0;
  VectorXd cst;  // log prop_j + log det U_j - d/2 log(2 pi)
  MatrixXd U;    // full: d x (k d) upper Cholesky factors of the precisions; tied: d x d
  MatrixXd mU;   // full, tied: k x d, row j = mean_j' U_j
  MatrixXd P;    // diag: k x d precisions; spherical: k x 1
  MatrixXd mean; // k x d
};

// Throws ModelError when a covariance is not positive definite.
Prepared prepare(const Params& p);

}  // namespace fastgmm
