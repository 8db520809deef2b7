// The restart loop shared by the CPU and CUDA entry points: starting
// parameters for each start, EM through the given engine, the best kept.
#pragma once
#include <RcppEigen.h>

#include "core/em.h"
#include "core/engine.h"
#include "core/parallel.h"

namespace fastgmm {

struct FitRequest {
  Index k = 1;
  CovType cov = CovType::Full;
  int init = 0;  // 0 kmeans++, 1 random, 2 random_from_data, 3 start (list), 4 labels
  Rcpp::Nullable<Rcpp::List> start = R_NilValue;
  Rcpp::Nullable<Rcpp::IntegerVector> labels = R_NilValue;
  int n_init = 1;
  EmOptions opt;
  double seed = 0;
  bool verbose = false;
  Rcpp::Nullable<Rcpp::Function> progress = R_NilValue;  // progress(start, n_init, iteration, loglik)
};

FitRequest fit_request(int k, int cov, int init, Rcpp::Nullable<Rcpp::List> start,
                       Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                       double tol, const Rcpp::NumericVector& reg_covar, double seed, bool verbose);

// Returns list(parameters, loglik, loglik_trace, iterations, converged,
// restart, failed_restarts, failure). A start that fails with a ModelError
// is counted and skipped; when all fail, the last message becomes an R error.
// Other exceptions (interrupts, backend errors) propagate.
Rcpp::List fit_restarts(const Data& data, Executor& ex, Engine& engine, const FitRequest& req);

}  // namespace fastgmm
