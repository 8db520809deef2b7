// The EM driver: iterations, convergence, timings. It sees the data only
// through an Engine.
#pragma once
#include <cmath>
#include <functional>
#include <vector>

#include "engine.h"
#include "mstep.h"

namespace fastgmm {

// Stepwise (mini-batch) EM: tiles in a random order (the file's order for
// sequential sources), an M-step after every mini-batch of about batch_rows
// rows, running statistics blended with step (t + 2)^-alpha; then `polish`
// full batch iterations.
struct StepwiseOptions {
  Index batch_rows = 65536;
  double alpha = 0.7;
  int passes = 2;  // stepwise passes over the data before polishing
  int polish = 3;  // batch iterations after them (fewer if max_iter is reached)
  uint64_t seed = 0;
};

enum class Driver { Plain = 0, Accelerated = 1, Stepwise = 2 };

struct EmOptions {
  int max_iter = 100;  // passes over the data (iterations of plain EM)
  double tol = 1e-6;   // on |l_t - l_{t-1}| / (1 + |l_t|); 0 runs max_iter passes
  MStepOptions mstep;
  Driver driver = Driver::Plain;
  StepwiseOptions stepwise;
};

struct Timings {
  double init = 0, estep = 0, mstep = 0;  // seconds
};

struct EmResult {
  Params params;
  double loglik = 0;          // of params
  std::vector<double> trace;  // loglik after each pass (extrapolated points included)
  int iterations = 0;         // passes over the data after the start's
  bool converged = false;
  Timings timings;
  int rejected = 0;           // accelerated: extrapolations that fell back to plain EM
  double start_loglik = 0;    // of the starting parameters
};

// Called on the main thread after every iteration; may throw to stop.
using IterHook = std::function<void(int iter, double loglik)>;

// Plain EM: one M-step and one pass per iteration.
EmResult run_em(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook);
// Accelerated EM (SQUAREM): see squarem.cpp.
EmResult run_squarem(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook);
// Stepwise EM: see stepwise.cpp.
EmResult run_stepwise(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook);
// The driver opt.driver names.
EmResult run_driver(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook);

// Shared by the drivers: a pass (E-step and statistics) timed into res, with
// its log-likelihood checked (a ModelError when it is not finite).
double timed_pass(Engine& engine, const Params& p, Stats& st, EmResult& res, int iter);
Params timed_mstep(const Stats& st, const Params& prev, const EmOptions& opt, EmResult& res);
inline bool converged_at(double ll, double prev, double tol) {
  return tol > 0 && std::abs(ll - prev) <= tol * (1 + std::abs(ll));
}

}  // namespace fastgmm
