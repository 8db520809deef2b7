#include "em.h"

#include <chrono>
#include <cmath>

namespace fastgmm {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

double timed_pass(Engine& engine, const Params& p, Stats& st, EmResult& res, int iter) {
  const auto t0 = std::chrono::steady_clock::now();
  engine.em_pass(p, st);
  res.timings.estep += since(t0);
  if (!std::isfinite(st.loglik))
    throw ModelError("the log-likelihood is not finite at iteration " + std::to_string(iter) +
                     "; set reg_covar > 0 or use fewer components");
  return st.loglik;
}

Params timed_mstep(const Stats& st, const Params& prev, const EmOptions& opt, EmResult& res) {
  const auto t0 = std::chrono::steady_clock::now();
  Params p = mstep(st, prev.model, opt.mstep, &prev);
  res.timings.mstep += since(t0);
  return p;
}

EmResult run_em(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook) {
  EmResult res;
  res.params = std::move(start);
  Stats st;
  double prev = timed_pass(engine, res.params, st, res, 0);
  res.loglik = prev;
  res.start_loglik = prev;
  for (int t = 1; t <= opt.max_iter; ++t) {
    res.params = timed_mstep(st, res.params, opt, res);
    const double ll = timed_pass(engine, res.params, st, res, t);
    res.trace.push_back(ll);
    res.loglik = ll;
    res.iterations = t;
    if (hook) hook(t, ll);
    if (converged_at(ll, prev, opt.tol)) {
      res.converged = true;
      break;
    }
    prev = ll;
  }
  return res;
}

EmResult run_driver(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook) {
  switch (opt.driver) {
    case Driver::Accelerated: return run_squarem(engine, std::move(start), opt, hook);
    case Driver::Stepwise: return run_stepwise(engine, std::move(start), opt, hook);
    default: return run_em(engine, std::move(start), opt, hook);
  }
}

}  // namespace fastgmm
