// Conversions between R objects and the core's types (the only place that
// knows both). Parameters in R are in data coordinates; in the core they are
// shifted by Data::shift.
#pragma once
#include <RcppEigen.h>

#include "core/model.h"
#include "core/parallel.h"

namespace fastgmm {

CovType cov_from_int(int cov);

// A view of an R matrix with optional weights; computes the weighted mean shift.
Data data_view(const Rcpp::NumericMatrix& x, const Rcpp::Nullable<Rcpp::NumericVector>& w);

Params params_from_list(const Rcpp::List& l, CovType cov, const VectorXd& shift);
Rcpp::List params_to_list(const Params& p, const VectorXd& shift);

// Runs tasks on RcppParallel (TBB) workers; threads <= 1 runs serially.
struct ParallelExecutor : Executor {
  int threads;
  explicit ParallelExecutor(int t) : threads(t) {}
  void run(Index n, const std::function<void(Index)>& f) override;
};

}  // namespace fastgmm
