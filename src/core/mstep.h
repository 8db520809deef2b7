// M-step: parameters from anchored statistics. Proportions and means come
// from (s0, s1); each component's scatter about its mean from s2, plus
// reg_c * n_j on its diagonal, goes to the covariance model's M-step.
#pragma once
#include "model.h"
#include "parallel.h"

namespace fastgmm {

struct MStepOptions {
  VectorXd reg;        // d: added to covariance diagonals (spherical models: its mean)
  InnerControl inner;  // iterative M-steps
};

// Throws ModelError naming the component when one collapses or its
// covariance is singular. prev: the previous parameters (iterative models).
Params mstep(const Stats& st, const CovarianceModel* model, const MStepOptions& opt,
             const Params* prev = nullptr, int* inner_iters = nullptr);

// Terms of the E-step that depend only on the parameters.
struct Prepared {
  EShape shape = EShape::Full;
  Index k = 0, d = 0;
  VectorXd cst;   // log prop_j + log det U_j - d/2 log(2 pi)
  MatrixXd U;     // Full: d x (k d) upper factors of the precisions; Tied: d x d
  MatrixXd mU;    // Full, Tied: k x d, row j = mean_j' U_j
  MatrixXd P;     // Diag: k x d precisions; Spherical: k x 1
  MatrixXd mean;  // k x d
  // How far the means lie from the origin, in standard deviations: the
  // largest |mean_jc| / sd_jc. Decides whether the shared-origin kernels keep
  // enough digits (see cpu_engine.cpp).
  double offset = 0;
};

// Throws ModelError when a covariance is not positive definite. ex (may be
// null) spreads the per-component factorisations over threads.
Prepared prepare(const Params& p, Executor* ex = nullptr);

}  // namespace fastgmm
