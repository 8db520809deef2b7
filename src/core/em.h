// The EM driver: iterations, convergence, timings. It sees the data only
// through an Engine.
#pragma once
#include <functional>
#include <vector>

#include "engine.h"
#include "mstep.h"

namespace fastgmm {

struct EmOptions {
  int max_iter = 100;
  double tol = 1e-6;  // on |l_t - l_{t-1}| / (1 + |l_t|); 0 runs max_iter iterations
  MStepOptions mstep;
};

struct Timings {
  double init = 0, estep = 0, mstep = 0;  // seconds
};

struct EmResult {
  Params params;
  double loglik = 0;          // of params
  std::vector<double> trace;  // loglik after each iteration
  int iterations = 0;
  bool converged = false;
  Timings timings;
};

// Called on the main thread after every iteration; may throw to stop.
using IterHook = std::function<void(int iter, double loglik)>;

EmResult run_em(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook);

}  // namespace fastgmm
