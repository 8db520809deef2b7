// Entry points for fitting, scoring and timing kernel variants.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <limits>

#include "core/em.h"
#include "core/init.h"
#include "core/rng.h"
#include "rcpp_map.h"
#include "rcpp_restarts.h"

using namespace fastgmm;

namespace {

CpuOptions cpu_options(int variant, bool single) {
  CpuOptions o;
  if (variant < 0 || variant >= n_variants) Rcpp::stop("internal error: unknown variant");
  o.variant = Variant(variant);
  o.single = single;
  return o;
}

}  // namespace

// init: 0 kmeans++, 1 random, 2 random_from_data, 3 start (list), 4 labels.
// [[Rcpp::export]]
Rcpp::List cpp_fit(Rcpp::NumericMatrix x, Rcpp::Nullable<Rcpp::NumericVector> w, int k, int cov,
                   int init, Rcpp::Nullable<Rcpp::List> start, Rcpp::Nullable<Rcpp::IntegerVector> labels,
                   int n_init, int max_iter, double tol, Rcpp::NumericVector reg_covar, int threads,
                   double seed, int variant, bool single, bool verbose,
                   Rcpp::Nullable<Rcpp::Function> progress = R_NilValue) {
  const Data data = data_view(x, w);
  ParallelExecutor ex(threads);
  FitRequest req = fit_request(k, cov, init, start, labels, n_init, max_iter, tol, reg_covar, seed,
                               verbose);
  req.progress = progress;
  CpuEngine engine(data, ex, req.cov, k, cpu_options(variant, single));
  return fit_restarts(data, ex, engine, req);
}

// what: bit 1 logdens, 2 posterior, 4 row loglik, 8 class + uncertainty.
// [[Rcpp::export]]
Rcpp::List cpp_score(Rcpp::NumericMatrix x, Rcpp::List params, int cov, int what, int threads) {
  const Data data = data_view(x, R_NilValue);
  const Params p = params_from_list(params, cov_from_int(cov), data.shift);
  const Index n = data.n, k = p.k;
  ParallelExecutor ex(threads);
  ScoreOut out;
  Rcpp::List res;
  Rcpp::NumericMatrix logdens, post;
  Rcpp::NumericVector rowll, unc;
  Rcpp::IntegerVector cls;
  if (what & 1) { logdens = Rcpp::NumericMatrix(n, k); out.logdens = logdens.begin(); res["logdens"] = logdens; }
  if (what & 2) { post = Rcpp::NumericMatrix(n, k); out.post = post.begin(); res["posterior"] = post; }
  if (what & 4) { rowll = Rcpp::NumericVector(n); out.rowll = rowll.begin(); res["rowll"] = rowll; }
  if (what & 8) {
    cls = Rcpp::IntegerVector(n);
    unc = Rcpp::NumericVector(n);
    out.cls = cls.begin();
    out.unc = unc.begin();
    res["classification"] = cls;
    res["uncertainty"] = unc;
  }
  try {
    score(data, p, ex, out);
  } catch (const ModelError& e) {
    Rcpp::stop(e.what());
  }
  return res;
}

// Seconds per E-step pass of each CPU variant on x (median of reps).
// [[Rcpp::export]]
Rcpp::NumericVector cpp_time_variants(Rcpp::NumericMatrix x, int k, int cov, bool single,
                                      int threads, int reps) {
  const CovType ct = cov_from_int(cov);
  const Data data = data_view(x, R_NilValue);
  ParallelExecutor ex(threads);
  Params p = init_params(data, ex, ct, k, InitMethod::RandomFromData, 42, 1e-6);
  Rcpp::NumericVector out(n_variants);
  for (int v = 0; v < n_variants; ++v) {
    CpuEngine engine(data, ex, ct, k, cpu_options(v, single));
    std::vector<double> t;
    Stats st;
    engine.em_pass(p, st);  // warm up
    for (int r = 0; r < reps; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      engine.em_pass(p, st);
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    out[v] = t[t.size() / 2];
  }
  return out;
}

// Starting parameters of restart `restart` (0-based), as cpp_fit makes them.
// [[Rcpp::export]]
Rcpp::List cpp_init(Rcpp::NumericMatrix x, Rcpp::Nullable<Rcpp::NumericVector> w, int k, int cov,
                    int init, double seed, int restart, Rcpp::NumericVector reg_covar, int threads) {
  const CovType ct = cov_from_int(cov);
  const Data data = data_view(x, w);
  ParallelExecutor ex(threads);
  try {
    Params p = init_params(data, ex, ct, k, InitMethod(init), mix64(uint64_t(seed) + uint64_t(restart)),
                           Rcpp::as<VectorXd>(reg_covar));
    return params_to_list(p, data.shift);
  } catch (const ModelError& e) {
    Rcpp::stop(e.what());
  }
}

// 0 when every value of x is finite, 1 when one is NA or NaN, 2 when one is
// infinite (checked without allocating a copy).
// [[Rcpp::export]]
int cpp_check_finite(Rcpp::NumericVector x) {
  int res = 0;
  for (double v : x) {
    if (std::isnan(v)) return 1;
    if (std::isinf(v)) res = 2;
  }
  return res;
}
