// Several models fitted at once from the same labels (gmm_select()'s grid at one k): the fits
// run concurrently, one thread each, and each is the fit cpp_fit() makes from these labels
// (every pass is independent of the thread count, so a fit is the same on one thread as on
// many). The partition's statistics are computed once per scatter kind for all of them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "core/init.h"
#include "core/rng.h"
#include "rcpp_restarts.h"

using namespace fastgmm;

namespace {

// Thrown in a fit's thread when another thread saw an interrupt.
struct Stopped : std::exception {
  const char* what() const noexcept override { return "stopped"; }
};

struct OneFit {
  EmResult res;
  Timings t;
  double seconds = 0;
  long passes = 0;
  bool fell_back = false;
  double offset = 0;
  ScoreSums sums;
  double score_seconds = 0;
  std::string error;  // not empty: the fit failed with this message
};

}  // namespace

// models: mclust names; variants and seeds: one per model (as cpp_fit's variant and seed);
// labels: 1-based, n of them; origin: the data's (cpp_origin()). The other arguments are
// cpp_fit()'s, shared by all the fits. Returns one element per model: cpp_fit()'s list with
// score = 1 (with its seconds), or list(error, seconds): the message of the error the fit
// stopped with.
// [[Rcpp::export]]
Rcpp::List cpp_fit_models(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int k,
                          Rcpp::CharacterVector models, Rcpp::IntegerVector variants,
                          Rcpp::NumericVector seeds, Rcpp::IntegerVector labels, int max_iter,
                          double tol, Rcpp::NumericVector reg_covar, int threads, bool single,
                          Rcpp::List control, Rcpp::NumericVector origin) {
  std::unique_ptr<Source> src = make_source(x);
  // Read from several threads at once: only in-memory data (other sources read through R or
  // keep a file position).
  if (!src->zero_copy()) Rcpp::stop("internal error: cpp_fit_models() needs in-memory data");
  const double* wp = weights_of(w, src->rows());
  const Index n = src->rows();
  const size_t m = size_t(models.size());
  if (variants.size() != R_xlen_t(m) || seeds.size() != R_xlen_t(m))
    Rcpp::stop("internal error: one variant and seed per model");
  if (labels.size() != n) Rcpp::stop("internal error: labels of the wrong length");
  if (origin.size() != src->cols()) Rcpp::stop("internal error: origin of the wrong length");
  std::vector<FitRequest> req;
  std::vector<CpuOptions> opts;
  for (size_t i = 0; i < m; ++i) {
    req.push_back(fit_request(k, Rcpp::as<std::string>(models[R_xlen_t(i)]), 4, R_NilValue,
                              labels, 1, max_iter, tol, reg_covar, seeds[R_xlen_t(i)], false));
    apply_control(req.back(), control);
    opts.push_back(cpu_options(variants[R_xlen_t(i)], single));
  }
  std::vector<int> z(labels.begin(), labels.end());
  for (int& v : z) {
    if (v < 1 || v > k) Rcpp::stop("internal error: labels out of range");
    --v;
  }
  const VectorXd org = Rcpp::as<VectorXd>(origin);

  // Interrupts: with one thread, the fits run on the main thread, which polls R at every
  // pass and iteration. With more, each runs on a Background thread while the main thread
  // polls R (Background::wait, every 50 ms); once it has seen an interrupt (or a thread
  // failed outside a fit), main.abort is raised and every fit stops at its next pass or
  // iteration.
  const std::thread::id main_id = std::this_thread::get_id();
  std::atomic<bool> interrupted{false};
  PassContext main;
  main.poll = [&] {
    try {
      Rcpp::checkUserInterrupt();
    } catch (...) {
      interrupted = true;
      throw;
    }
  };
  auto poll = [&] {
    if (std::this_thread::get_id() == main_id) main.check();
    if (main.stopped()) throw Stopped();
  };
  // f(0), f(1), ... in this order, each on one thread, as threads free up (a shared counter:
  // the longest first keeps the others from waiting for it at the end).
  auto each = [&](Index count, const std::function<void(Index, PassContext&)>& f) {
    std::atomic<Index> next{0};
    auto work = [&] {
      for (Index i = next++; i < count; i = next++) {
        SerialExecutor serial;
        PassContext ctx;
        ctx.ex = &serial;
        ctx.poll = poll;
        f(i, ctx);
      }
    };
    const Index nw = std::min<Index>(count, Index(std::max(threads, 1)));
    if (nw <= 1) {
      work();
      return;
    }
    std::vector<std::unique_ptr<Background>> pool;  // destroyed last: joins every thread
    try {
      for (Index t = 0; t < nw; ++t)
        pool.emplace_back(new Background([&] {
          try {
            work();
          } catch (...) {
            main.abort = true;
            throw;
          }
        }));
      for (auto& bg : pool) bg->wait(main);
    } catch (...) {
      main.abort = true;  // the other threads stop at their next pass or iteration
      throw;
    }
  };

  std::vector<OneFit> out(m);
  try {
    // The partition's statistics, once per scatter kind (as cpp_fit()'s LabelMemo).
    std::vector<int> kinds;  // the distinct kinds, in order of first use
    std::vector<size_t> kind_of(m);
    for (size_t i = 0; i < m; ++i) {
      const int kd = int(req[i].model->scatter);
      kind_of[i] = size_t(std::find(kinds.begin(), kinds.end(), kd) - kinds.begin());
      if (kind_of[i] == kinds.size()) kinds.push_back(kd);
    }
    std::vector<Stats> stats(kinds.size());
    std::vector<std::string> stats_error(kinds.size());
    each(Index(kinds.size()), [&](Index i, PassContext& ctx) {
      try {
        DataRef data = make_data(*src, wp, ctx, org);
        CpuEngine eng(data, req[0].model, CpuOptions());
        EngineInitData idata(eng);
        stats[size_t(i)] = label_stats(idata, k, z.data(), ScatterKind(kinds[size_t(i)]));
      } catch (const Stopped&) {
        throw;
      } catch (const std::exception& e) {
        stats_error[size_t(i)] = e.what();
      }
    });
    // Roughly the longest first: the models whose M-step iterates, then by E-step shape.
    auto rank = [&](size_t i) {
      const CovarianceModel* md = req[i].model;
      return md->iterative ? 0 : 1 + int(md->shape);
    };
    std::vector<Index> order(m);
    for (size_t i = 0; i < m; ++i) order[i] = Index(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](Index a, Index b) { return rank(size_t(a)) < rank(size_t(b)); });
    each(Index(m), [&](Index t, PassContext& ctx) {
      const size_t i = size_t(order[size_t(t)]);
      const FitRequest& r = req[i];
      OneFit& f = out[i];
      const auto t0 = std::chrono::steady_clock::now();
      try {
        if (!stats_error[kind_of[i]].empty()) throw ModelError(stats_error[kind_of[i]]);
        DataRef data = make_data(*src, wp, ctx, org);
        CpuEngine engine(data, r.model, opts[i]);
        Params p0 = mstep(stats[kind_of[i]], r.model, r.opt.mstep);
        f.t.init = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        poll();
        EmOptions opt = r.opt;
        opt.stepwise.seed = mix64(r.opt.stepwise.seed);
        f.res = run_driver(engine, std::move(p0), opt, [&](int, double) { poll(); });
        f.t.estep = f.res.timings.estep;
        f.t.mstep = f.res.timings.mstep;
        f.passes = engine.passes;
        f.fell_back = engine.fell_back_to_double;
        f.offset = engine.worst_offset;
        // The scoring pass about the model's centre, as add_scores() makes it.
        const Params& p = f.res.params;
        MatrixXd mean = p.mean;
        mean.rowwise() += org.transpose();
        const VectorXd centre = model_centre(p.prop, mean);
        Params pc;
        pc.model = r.model;
        pc.k = p.k;
        pc.d = p.d;
        pc.prop = p.prop;
        pc.mean = mean;
        pc.mean.rowwise() -= centre.transpose();
        pc.cov.sigma = p.cov.sigma;
        DataRef sdata = make_data(*src, wp, ctx, centre);
        const auto s0 = std::chrono::steady_clock::now();
        f.sums = score(sdata, pc, ScoreRequest());
        f.score_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
      } catch (const Stopped&) {
        throw;
      } catch (const Rcpp::internal::InterruptedException&) {
        throw;
      } catch (const std::exception& e) {
        f.error = e.what();
        if (f.error.empty()) f.error = "the fit failed";
      }
      f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
  } catch (...) {
    if (interrupted) throw Rcpp::internal::InterruptedException();
    throw;
  }

  Rcpp::List res(static_cast<R_xlen_t>(m));
  for (size_t i = 0; i < m; ++i) {
    const OneFit& f = out[i];
    if (!f.error.empty()) {
      res[R_xlen_t(i)] = Rcpp::List::create(Rcpp::Named("error") = f.error,
                                            Rcpp::Named("seconds") = f.seconds);
      continue;
    }
    Rcpp::NumericVector timings = Rcpp::NumericVector::create(
        Rcpp::Named("init") = f.t.init, Rcpp::Named("estep") = f.t.estep,
        Rcpp::Named("mstep") = f.t.mstep);
    Rcpp::List one = Rcpp::List::create(
        Rcpp::Named("parameters") = params_to_list(f.res.params, org),
        Rcpp::Named("loglik") = f.res.loglik, Rcpp::Named("loglik_trace") = Rcpp::wrap(f.res.trace),
        Rcpp::Named("iterations") = f.res.iterations, Rcpp::Named("converged") = f.res.converged,
        Rcpp::Named("restart") = 1, Rcpp::Named("failed_restarts") = 0,
        Rcpp::Named("failure") = "", Rcpp::Named("timings") = timings,
        Rcpp::Named("passes") = double(f.passes), Rcpp::Named("precision_fallback") = f.fell_back,
        Rcpp::Named("offset") = f.offset);
    one["entropy"] = f.sums.entropy;
    one["score_loglik"] = f.sums.loglik;
    one["score_seconds"] = f.score_seconds;
    one["seconds"] = f.seconds;
    res[R_xlen_t(i)] = one;
  }
  return res;
}
