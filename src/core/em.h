// The EM driver: iterations, convergence, restarts. It sees the data only
// through an Engine.
#pragma once
#include <functional>
#include <vector>

#include "engine.h"

namespace fastgmm {

struct EmOptions {
  int max_iter = 100;
  double tol = 1e-6;  // on |l_t - l_{t-1}| / (1 + |l_t|); 0 runs max_iter iterations
  VectorXd reg_covar;  // length d: added to the covariance diagonals (see mstep())
};

struct EmResult {
  Params params;
  double loglik = 0;          // of params
  std::vector<double> trace;  // loglik after each iteration
  int iterations = 0;
  bool converged = false;
};

// Called on the main thread after every iteration; may throw to stop.
using IterHook = std::function<void(int iter, double loglik)>;

EmResult run_em(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook);

}  // namespace fastgmm
