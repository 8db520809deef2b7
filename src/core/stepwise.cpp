// Stepwise (mini-batch) EM (Cappé & Moulines 2009; Liang & Klein 2009).
// Each pass visits the data's units (segments of about batch_rows / 64 rows)
// in a fresh random order (in order for sources that can only be read
// sequentially), grouped into mini-batches of about batch_rows rows. A mini-batch's anchored statistics,
// computed at the current parameters and scaled to the whole data, are
// blended into running statistics with step gamma_t = (t + 2)^-alpha (the
// first mini-batch's replace them), and an M-step follows every mini-batch.
// Then a few full batch EM iterations polish the result; the returned
// log-likelihood is that of the returned parameters on all the data.
// Passes count as passes over the data (mini-batches by their share), polish
// passes included. Deterministic for a given seed, whatever the thread count.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "em.h"
#include "rng.h"

namespace fastgmm {

EmResult run_stepwise(Engine& engine, Params start, const EmOptions& opt, const IterHook& hook) {
  const StepwiseOptions& so = opt.stepwise;
  // Units of about 1/64 of a mini-batch: each mini-batch mixes many places of
  // the data (which may be sorted, e.g. by cluster).
  engine.set_unit_rows(std::max<Index>(1, so.batch_rows / 64));
  const Index units = engine.units();
  if (units == 0) throw std::runtime_error("stepwise EM is not available on this backend");
  std::vector<Index> rows(static_cast<size_t>(units));
  double n = 0;
  for (Index u = 0; u < units; ++u) n += double(rows[size_t(u)] = engine.unit_rows(u));
  // Keep one pass for the returned parameters' log-likelihood.
  const int passes = std::max(0, std::min(so.passes, opt.max_iter - 1));
  EmResult res;
  Params p = std::move(start);
  Rng rng(so.seed);
  Stats run;
  bool have = false;
  long t = 0;
  std::vector<Index> order(static_cast<size_t>(units)), batch;
  for (int pass = 1; pass <= passes; ++pass) {
    std::iota(order.begin(), order.end(), Index(0));
    if (engine.units_in_any_order())
      for (Index i = units - 1; i > 0; --i)
        std::swap(order[size_t(i)], order[size_t(rng.below(uint64_t(i + 1)))]);
    double pass_ll = 0;
    for (size_t i = 0; i < order.size();) {
      batch.clear();
      double b_rows = 0;
      while (i < order.size() && (batch.empty() || b_rows < double(so.batch_rows))) {
        batch.push_back(order[i]);
        b_rows += double(rows[size_t(order[i++])]);
      }
      Stats sb;
      engine.em_pass_units(p, batch, sb);
      if (!std::isfinite(sb.loglik))
        throw ModelError("the log-likelihood is not finite in stepwise pass " +
                         std::to_string(pass) + "; set reg_covar > 0 or use fewer components");
      pass_ll += sb.loglik;
      sb.scale(n / b_rows);
      if (!have) {
        run = sb;
        have = true;
      } else {
        const double g = std::pow(double(t + 2), -so.alpha);
        run.reanchor(sb.anchor);
        run.scale(1 - g);
        sb.scale(g);
        run.add(sb);
      }
      ++t;
      p = timed_mstep(run, p, opt, res);
    }
    res.trace.push_back(pass_ll);  // the mini-batches' log-likelihoods (moving parameters)
    if (hook) hook(pass, pass_ll);
  }
  // Polish with batch EM; its first pass gives the log-likelihood of p.
  EmOptions polish = opt;
  polish.driver = Driver::Plain;
  polish.max_iter = std::max(0, std::min(so.polish, opt.max_iter - passes - 1));
  const int done = passes;
  EmResult pr = run_em(engine, std::move(p), polish,
                       hook ? IterHook([&](int it, double ll) { hook(done + 1 + it, ll); }) : IterHook());
  res.params = std::move(pr.params);
  res.loglik = pr.loglik;
  res.converged = pr.converged;
  res.iterations = passes + 1 + pr.iterations;
  res.trace.push_back(pr.start_loglik);
  res.trace.insert(res.trace.end(), pr.trace.begin(), pr.trace.end());
  res.timings.estep += pr.timings.estep;
  res.timings.mstep += pr.timings.mstep;
  return res;
}

}  // namespace fastgmm
