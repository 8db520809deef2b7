#include "rcpp_restarts.h"

#include <chrono>
#include <iomanip>
#include <limits>

#include "core/init.h"
#include "core/rng.h"
#include "rcpp_map.h"

namespace fastgmm {

namespace {

Params start_params(const Data& data, Executor& ex, const FitRequest& req, int restart) {
  switch (req.init) {
    case 3:
      return params_from_list(Rcpp::List(req.start.get()), req.cov, data.shift);
    case 4: {
      Rcpp::IntegerVector lab(req.labels.get());
      std::vector<int> z(lab.begin(), lab.end());
      for (int& v : z) --v;
      return init_from_labels(data, ex, req.cov, req.k, z.data(), req.opt.reg_covar);
    }
    default:
      return init_params(data, ex, req.cov, req.k, InitMethod(req.init),
                         mix64(uint64_t(req.seed) + uint64_t(restart)), req.opt.reg_covar);
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Passes the engine's work through, adding up the seconds of its passes (E-step and statistics).
struct TimedEngine : Engine {
  Engine& inner;
  double seconds = 0;
  explicit TimedEngine(Engine& e) : inner(e) {}
  void em_pass(const Params& p, Stats& out) override {
    const auto t0 = std::chrono::steady_clock::now();
    inner.em_pass(p, out);
    seconds += seconds_since(t0);
  }
};

}  // namespace

FitRequest fit_request(int k, int cov, int init, Rcpp::Nullable<Rcpp::List> start,
                       Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                       double tol, const Rcpp::NumericVector& reg_covar, double seed, bool verbose) {
  FitRequest req;
  req.k = k;
  req.cov = cov_from_int(cov);
  req.init = init;
  req.start = start;
  req.labels = labels;
  req.n_init = n_init;
  req.opt.max_iter = max_iter;
  req.opt.tol = tol;
  req.opt.reg_covar = Rcpp::as<VectorXd>(reg_covar);
  req.seed = seed;
  req.verbose = verbose;
  return req;
}

Rcpp::List fit_restarts(const Data& data, Executor& ex, Engine& engine, const FitRequest& req) {
  EmResult best;
  int best_restart = 0, failures = 0;
  std::string last_error;
  // Seconds over all starts: initialisation, E-step + statistics passes, the rest of EM (the
  // M-steps); the time of the progress report is left out.
  TimedEngine timed(engine);
  double t_init = 0, t_em = 0, t_hook = 0;
  for (int r = 0; r < req.n_init; ++r) {
    IterHook hook = [&](int it, double ll) {
      const auto t0 = std::chrono::steady_clock::now();
      // R's progress report (R/progress.R) may throw an R error or interrupt: that stops the fit.
      if (req.verbose && req.progress.isNotNull())
        Rcpp::Function(req.progress.get())(r + 1, req.n_init, it, ll);
      else if (req.verbose)
        Rcpp::Rcout << "restart " << r + 1 << "/" << req.n_init << "  iteration " << it
                    << "  loglik " << std::setprecision(10) << ll << "\n";
      Rcpp::checkUserInterrupt();
      t_hook += seconds_since(t0);
    };
    try {
      auto t0 = std::chrono::steady_clock::now();
      Params p0 = start_params(data, ex, req, r);
      t_init += seconds_since(t0);
      Rcpp::checkUserInterrupt();
      t0 = std::chrono::steady_clock::now();
      EmResult res;
      try {
        res = run_em(timed, std::move(p0), req.opt, hook);
      } catch (const ModelError&) {
        t_em += seconds_since(t0);
        throw;
      }
      t_em += seconds_since(t0);
      if (best_restart == 0 || res.loglik > best.loglik) {
        best = std::move(res);
        best_restart = r + 1;
      }
    } catch (const ModelError& e) {
      ++failures;
      last_error = e.what();
    }
  }
  if (best_restart == 0) Rcpp::stop(last_error);
  Rcpp::NumericVector timings = Rcpp::NumericVector::create(
      Rcpp::Named("init") = t_init, Rcpp::Named("estep") = timed.seconds,
      Rcpp::Named("mstep") = std::max(0.0, t_em - timed.seconds - t_hook));
  return Rcpp::List::create(Rcpp::Named("parameters") = params_to_list(best.params, data.shift),
                            Rcpp::Named("loglik") = best.loglik,
                            Rcpp::Named("loglik_trace") = Rcpp::wrap(best.trace),
                            Rcpp::Named("iterations") = best.iterations,
                            Rcpp::Named("converged") = best.converged,
                            Rcpp::Named("restart") = best_restart,
                            Rcpp::Named("failed_restarts") = failures,
                            Rcpp::Named("failure") = last_error,
                            Rcpp::Named("timings") = timings);
}

}  // namespace fastgmm
