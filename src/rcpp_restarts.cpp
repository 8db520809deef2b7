#include "rcpp_restarts.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <limits>

#include "core/init.h"
#include "core/rng.h"

namespace fastgmm {

namespace {

Params start_params(InitData& data, const FitRequest& req, int restart) {
  const MStepOptions& mo = req.opt.mstep;
  switch (req.init) {
    case 3:
      return params_from_list(Rcpp::List(req.start.get()), req.model, data.origin());
    case 4: {
      // Without labels here, the InitData holds them (cluster shards).
      std::vector<int> z;
      if (req.labels.isNotNull()) {
        Rcpp::IntegerVector lab(req.labels.get());
        z.assign(lab.begin(), lab.end());
        for (int& v : z) --v;
      }
      if (!req.memo || z.empty())
        return init_from_labels(data, req.model, req.k, z.empty() ? nullptr : z.data(), mo);
      LabelMemo& m = *req.memo;
      const bool same_weights =
          req.weights ? m.weights.size() == z.size() &&
                            std::equal(m.weights.begin(), m.weights.end(), req.weights)
                      : m.weights.empty();
      if (m.k != req.k || m.labels != z || !same_weights ||
          m.origin.size() != data.origin().size() || m.origin != data.origin()) {
        m.stats.clear();
        m.labels = z;
        m.k = req.k;
        if (req.weights)
          m.weights.assign(req.weights, req.weights + z.size());
        else
          m.weights.clear();
        m.origin = data.origin();
      }
      const int kind = int(req.model->scatter);
      auto it = m.stats.find(kind);
      if (it == m.stats.end())
        it = m.stats.emplace(kind, label_stats(data, req.k, z.data(), req.model->scatter)).first;
      return mstep(it->second, req.model, mo);
    }
    default:
      return init_params(data, req.model, req.k, InitMethod(req.init),
                         mix64(uint64_t(req.seed) + uint64_t(restart)), mo, req.init_opt);
  }
}

}  // namespace

FitRequest fit_request(int k, const std::string& model, int init, Rcpp::Nullable<Rcpp::List> start,
                       Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                       double tol, Rcpp::NumericVector reg_covar, double seed, bool verbose) {
  FitRequest req;
  req.k = k;
  req.model = model_from_name(model);
  req.init = init;
  req.start = start;
  req.labels = labels;
  req.n_init = n_init;
  req.opt.max_iter = max_iter;
  req.opt.tol = tol;
  req.opt.mstep.reg = Rcpp::as<VectorXd>(reg_covar);
  req.seed = seed;
  req.verbose = verbose;
  return req;
}

void apply_control(FitRequest& req, const Rcpp::List& control) {
  auto num = [&](const char* name, double dflt) {
    return control.containsElementNamed(name) ? Rcpp::as<double>(control[name]) : dflt;
  };
  req.opt.driver = Driver(int(num("driver", 0)));
  StepwiseOptions& so = req.opt.stepwise;
  so.batch_rows = Index(num("stepwise_batch", double(so.batch_rows)));
  so.alpha = num("stepwise_alpha", so.alpha);
  so.passes = int(num("stepwise_passes", so.passes));
  so.polish = int(num("polish", so.polish));
  so.seed = mix64(uint64_t(req.seed) ^ 0x2545f4914f6cdd1dULL);
  InitOptions& io = req.init_opt;
  io.starts = int(num("init_starts", io.starts));
  io.em_starts = int(num("init_em_starts", io.em_starts));
  io.small_em_iter = int(num("init_em_iter", io.small_em_iter));
  io.sample_rows = Index(num("init_sample", double(io.sample_rows)));
  io.subsample = num("subsample", io.subsample);
  io.tol = req.opt.tol > 0 ? req.opt.tol : io.tol;
}

Params timing_start(DataRef& data, const CovarianceModel* model, Index k) {
  CpuEngine init(data, model, CpuOptions());
  MStepOptions mo;
  mo.reg = VectorXd::Constant(data.d(), 1e-6);
  return init_params(init, model, k, InitMethod::RandomFromData, 42, mo);
}

Rcpp::List fit_restarts(CpuEngine& init_engine, Engine& engine, const FitRequest& req) {
  EngineInitData data(init_engine);
  return fit_restarts(data, engine, req);
}

Rcpp::List fit_restarts(InitData& init_data, Engine& engine, const FitRequest& req) {
  EmResult best;
  int best_restart = 0, failures = 0;
  std::string last_error;
  Timings total;  // over all starts
  for (int r = 0; r < req.n_init; ++r) {
    IterHook hook = [&](int it, double ll) {
      // R's progress report (R/progress.R) may throw an R error or interrupt: that stops the fit.
      if (req.verbose && req.progress.isNotNull())
        Rcpp::Function(req.progress.get())(r + 1, req.n_init, it, ll);
      else if (req.verbose)
        Rcpp::Rcout << "restart " << r + 1 << "/" << req.n_init << "  iteration " << it
                    << "  loglik " << std::setprecision(10) << ll << "\n";
      Rcpp::checkUserInterrupt();
    };
    try {
      const auto t0 = std::chrono::steady_clock::now();
      Params p0 = start_params(init_data, req, r);
      total.init += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      Rcpp::checkUserInterrupt();
      EmOptions opt = req.opt;
      opt.stepwise.seed = mix64(req.opt.stepwise.seed + uint64_t(r));
      EmResult res = run_driver(engine, std::move(p0), opt, hook);
      total.estep += res.timings.estep;
      total.mstep += res.timings.mstep;
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
      Rcpp::Named("init") = total.init, Rcpp::Named("estep") = total.estep,
      Rcpp::Named("mstep") = total.mstep);
  return Rcpp::List::create(
      Rcpp::Named("parameters") = params_to_list(best.params, init_data.origin()),
      Rcpp::Named("loglik") = best.loglik, Rcpp::Named("loglik_trace") = Rcpp::wrap(best.trace),
      Rcpp::Named("iterations") = best.iterations, Rcpp::Named("converged") = best.converged,
      Rcpp::Named("restart") = best_restart, Rcpp::Named("failed_restarts") = failures,
      Rcpp::Named("failure") = last_error, Rcpp::Named("timings") = timings,
      Rcpp::Named("passes") = double(engine.passes + init_data.passes()),
      Rcpp::Named("precision_fallback") = engine.fell_back_to_double,
      Rcpp::Named("offset") = engine.worst_offset);
}

void add_scores(Source& src, const double* w, PassContext& ctx, const Rcpp::List& params,
                const CovarianceModel* model, int what, Rcpp::List& res) {
  if (what == 0) return;
  const VectorXd centre = model_centre(params);
  DataRef data = make_data(src, w, ctx, centre);
  const Params p = params_from_list(params, model, centre);
  ScoreRequest req;
  Rcpp::IntegerVector cls;
  Rcpp::NumericVector unc;
  if (what & 2) {
    cls = Rcpp::IntegerVector(src.rows());
    unc = Rcpp::NumericVector(src.rows());
    req.cls = true;
    req.cls_out = cls.begin();
    req.unc_out = unc.begin();
  }
  const auto t0 = std::chrono::steady_clock::now();
  const ScoreSums s = score(data, p, req);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res["entropy"] = s.entropy;
  res["score_loglik"] = s.loglik;
  res["score_seconds"] = secs;
  if (what & 2) {
    res["classification"] = cls;
    res["uncertainty"] = unc;
  }
}

}  // namespace fastgmm
