// The restart loop shared by the CPU and CUDA entry points: starting
// parameters for each start (through the CPU engine's passes), EM through the
// given engine, the best kept.
#pragma once
#include <map>
#include <RcppEigen.h>

#include "core/cpu_engine.h"
#include "core/em.h"
#include "core/init.h"
#include "rcpp_map.h"

namespace fastgmm {

// The statistics of one partition (label_stats()) per scatter kind, kept while gmm_select()
// starts its models at one k from the same labels on the same data: each kind is computed
// once, not once per model (an R external pointer, made by cpp_label_memo()).
struct LabelMemo {
  std::vector<int> labels;  // 0-based, as passed to label_stats()
  Index k = 0;
  VectorXd origin;
  std::vector<double> weights;  // empty: none
  std::map<int, Stats> stats;   // by ScatterKind
};

struct FitRequest {
  Index k = 1;
  const CovarianceModel* model = nullptr;
  int init = 0;  // 0 kmeans++, 1 random, 2 random_from_data, 3 start (list), 4 labels, 5 subsample
  Rcpp::Nullable<Rcpp::List> start = R_NilValue;
  Rcpp::Nullable<Rcpp::IntegerVector> labels = R_NilValue;
  int n_init = 1;
  EmOptions opt;
  InitOptions init_opt;
  double seed = 0;
  bool verbose = false;
  Rcpp::Nullable<Rcpp::Function> progress = R_NilValue;  // progress(start, n_init, iteration, loglik)
  LabelMemo* memo = nullptr;  // labels starts: reuse the partition's statistics (may be null)
  const double* weights = nullptr;  // the fit's n weights (part of the memo's key), or null
};

FitRequest fit_request(int k, const std::string& model, int init, Rcpp::Nullable<Rcpp::List> start,
                       Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                       double tol, Rcpp::NumericVector reg_covar, double seed, bool verbose);

// The driver and initialisation settings of gmm_control() (R/control.R):
// list(driver = 0 plain / 1 accelerated / 2 stepwise, stepwise_batch,
// stepwise_alpha, stepwise_passes, polish, init_starts, init_em_iter,
// init_sample, subsample).
void apply_control(FitRequest& req, const Rcpp::List& control);

// Returns list(parameters (data coordinates), loglik, loglik_trace, iterations,
// converged, restart, failed_restarts, failure, timings, passes). A start that
// fails with a ModelError is counted and skipped; when all fail, the last
// message becomes an R error. Other exceptions propagate.
Rcpp::List fit_restarts(CpuEngine& init_engine, Engine& engine, const FitRequest& req);
// The same with starts made through any InitData (cluster shards).
Rcpp::List fit_restarts(InitData& init_data, Engine& engine, const FitRequest& req);

// The fixed start the kernel variants are timed from (CPU and CUDA alike):
// random_from_data, seed 42, reg 1e-6, through a CPU engine on data.
Params timing_start(DataRef& data, const CovarianceModel* model, Index k);

// The CPU engine's options for a kernel variant (index into variant_names) and precision;
// reads the option fastgmm.kernel_form (main thread only).
CpuOptions cpu_options(int variant, bool single);
// The weights of an R call (n of them, or null).
const double* weights_of(const Rcpp::Nullable<Rcpp::NumericVector>& w, Index n);

// Scores the data of `src` under parameters in data coordinates, about the
// model's centre: what = bit 1 sums (loglik, entropy), bit 2 classification
// and uncertainty. Adds them to res.
void add_scores(Source& src, const double* w, PassContext& ctx, const Rcpp::List& params,
                const CovarianceModel* model, int what, Rcpp::List& res);

}  // namespace fastgmm
