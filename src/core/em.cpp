#include "em.h"

#include <chrono>
#include <cmath>

namespace fastgmm {

namespace {

double checked(double ll, int iter) {
  if (!std::isfinite(ll))
    throw ModelError("the log-likelihood is not finite at iteration " + std::to_string(iter) +
                     "; set reg_covar > 0 or use fewer components");
  return ll;
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

EmResult run_em(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook) {
  EmResult res;
  res.params = std::move(start);
  Stats st;
  auto t0 = std::chrono::steady_clock::now();
  engine.em_pass(res.params, st);
  res.timings.estep += since(t0);
  double prev = checked(st.loglik, 0);
  res.loglik = prev;
  for (int t = 1; t <= opt.max_iter; ++t) {
    t0 = std::chrono::steady_clock::now();
    Params next = mstep(st, res.params.model, opt.mstep, &res.params);
    res.params = std::move(next);
    res.timings.mstep += since(t0);
    t0 = std::chrono::steady_clock::now();
    engine.em_pass(res.params, st);
    res.timings.estep += since(t0);
    const double ll = checked(st.loglik, t);
    res.trace.push_back(ll);
    res.loglik = ll;
    res.iterations = t;
    if (hook) hook(t, ll);
    if (opt.tol > 0 && std::abs(ll - prev) <= opt.tol * (1 + std::abs(ll))) {
      res.converged = true;
      break;
    }
    prev = ll;
  }
  return res;
}

}  // namespace fastgmm
