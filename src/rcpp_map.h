// Conversions between R objects and the core's types (the only place that
// knows both). Parameters in R are in data coordinates; in the core they are
// relative to the data's origin (DataRef::origin).
#pragma once
#include <RcppEigen.h>

#include <memory>

#include "core/model.h"
#include "core/pass.h"
#include "core/source/source.h"

namespace fastgmm {

// The covariance model of an mclust name ("VVV", ...); an R error if unknown.
const CovarianceModel* model_from_name(const std::string& name);

Params params_from_list(const Rcpp::List& l, const CovarianceModel* model, const VectorXd& origin);
Rcpp::List params_to_list(const Params& p, const VectorXd& origin);

// The weighted mean of the component means: the origin that predictions and
// the fitted classification are computed about, fixed by the model alone.
VectorXd model_centre(const Rcpp::List& params);
// The same from the proportions and the k x d means (data coordinates).
VectorXd model_centre(const VectorXd& prop, const MatrixXd& mean);

// Runs tasks on RcppParallel (TBB) workers; threads <= 1 runs serially.
struct ParallelExecutor : Executor {
  int n_threads;
  explicit ParallelExecutor(int t) : n_threads(t < 1 ? 1 : t) {}
  void run(Index n, const std::function<void(Index)>& f) override;
  int threads() const override { return n_threads; }
};

// A pass context on the given executor that polls R for interrupts.
void init_context(PassContext& ctx, Executor& ex);

// A block source for an R object: a numeric matrix (no copy), a "gmm_file"
// or the "gmm_chunk_reader" of a gmm_chunks() source (see R/sources.R).
std::unique_ptr<Source> make_source(SEXP x);

// Runs f, turning the core's errors into R errors (and interrupts into R interrupts).
template <typename F>
auto guarded(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const ModelError& e) {
    Rcpp::stop(e.what());
  } catch (const DataError& e) {
    Rcpp::stop(e.what());
  }
}

}  // namespace fastgmm
