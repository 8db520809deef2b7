#include "em.h"

#include <cmath>

#include "mstep.h"

namespace fastgmm {

namespace {

double checked(double ll, int iter) {
  if (!std::isfinite(ll))
    throw ModelError("the log-likelihood is not finite at iteration " + std::to_string(iter) +
                     "; set reg_covar > 0 or use fewer components");
  return ll;
}

}  // namespace

EmResult run_em(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook) {
  EmResult res;
  res.params = std::move(start);
  Stats st;
  engine.em_pass(res.params, st);
  double prev = checked(st.loglik, 0);
  res.loglik = prev;
  for (int t = 1; t <= opt.max_iter; ++t) {
    res.params = mstep(st, res.params.cov, opt.reg_covar);
    engine.em_pass(res.params, st);
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
