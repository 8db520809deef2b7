#include "rcpp_map.h"

// RcppParallel.h itself also pulls in RVector/RMatrix, which use the
// deprecated std::iterator; only the thread backends are needed here.
#include <RcppParallel/TinyThread.h>
#include <RcppParallel/TBB.h>
#include <RcppParallel/Backend.h>

#include <map>
#include <memory>

#include "core/source/file.h"
#include "core/source/memory.h"

namespace fastgmm {

std::unique_ptr<Source> make_chunk_source(const Rcpp::List& src);  // rcpp_source_chunks.cpp

const CovarianceModel* model_from_name(const std::string& name) {
  const CovarianceModel* m = find_covariance_model(name);
  if (!m) Rcpp::stop("internal error: unknown covariance model " + name);
  return m;
}

Params params_from_list(const Rcpp::List& l, const CovarianceModel* model, const VectorXd& origin) {
  Params p;
  p.model = model;
  Rcpp::NumericVector prop = l["proportions"];
  Rcpp::NumericMatrix mean = l["means"];
  Rcpp::NumericVector sig = l["covariances"];
  p.k = mean.nrow();
  p.d = mean.ncol();
  if (prop.size() != p.k || sig.size() != p.k * p.d * p.d || origin.size() != p.d)
    Rcpp::stop("internal error: inconsistent parameters");
  p.prop = Rcpp::as<VectorXd>(prop);
  p.mean = Rcpp::as<MatrixXd>(mean);
  p.mean.rowwise() -= origin.transpose();
  const Index d = p.d;
  for (Index j = 0; j < p.k; ++j)
    p.cov.sigma.push_back(Eigen::Map<const MatrixXd>(sig.begin() + j * d * d, d, d));
  return p;
}

Rcpp::List params_to_list(const Params& p, const VectorXd& origin) {
  const Index k = p.k, d = p.d;
  MatrixXd mean = p.mean;
  mean.rowwise() += origin.transpose();
  Rcpp::NumericVector sig(Rcpp::Dimension(d, d, k));
  for (Index j = 0; j < k; ++j)
    Eigen::Map<MatrixXd>(sig.begin() + j * d * d, d, d) = p.cov.sigma[size_t(j)];
  Rcpp::List out = Rcpp::List::create(Rcpp::Named("proportions") = Rcpp::wrap(VectorXd(p.prop)),
                                      Rcpp::Named("means") = Rcpp::wrap(mean),
                                      Rcpp::Named("covariances") = sig);
  if (p.cov.scale.size() > 0) out["scale"] = Rcpp::wrap(VectorXd(p.cov.scale));
  if (p.cov.shape.size() > 0) out["shape"] = Rcpp::wrap(MatrixXd(p.cov.shape));
  if (!p.cov.orientation.empty()) {
    const Index m = Index(p.cov.orientation.size());
    Rcpp::NumericVector o(Rcpp::Dimension(d, d, m));
    for (Index j = 0; j < m; ++j)
      Eigen::Map<MatrixXd>(o.begin() + j * d * d, d, d) = p.cov.orientation[size_t(j)];
    out["orientation"] = o;
  }
  return out;
}

VectorXd model_centre(const Rcpp::List& params) {
  return model_centre(Rcpp::as<VectorXd>(params["proportions"]),
                      Rcpp::as<MatrixXd>(params["means"]));
}

VectorXd model_centre(const VectorXd& prop, const MatrixXd& mean) {
  return (mean.transpose() * prop) / prop.sum();
}

namespace {

struct TaskWorker : RcppParallel::Worker {
  const std::function<void(Index)>& f;
  explicit TaskWorker(const std::function<void(Index)>& fn) : f(fn) {}
  void operator()(std::size_t begin, std::size_t end) override {
    for (std::size_t i = begin; i < end; ++i) f(Index(i));
  }
};

#if RCPP_PARALLEL_USE_TBB
// One arena per thread count, kept: making one per pass costs milliseconds.
tbb::task_arena& arena_for(int threads) {
  static std::mutex m;
  static std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
  std::lock_guard<std::mutex> lock(m);
  std::unique_ptr<tbb::task_arena>& a = arenas[threads];
  if (!a) a.reset(new tbb::task_arena(threads));
  return *a;
}
#endif

}  // namespace

void ParallelExecutor::run(Index n, const std::function<void(Index)>& f) {
  if (n_threads <= 1 || n <= 1) {
    for (Index i = 0; i < n; ++i) f(i);
    return;
  }
#if RCPP_PARALLEL_USE_TBB
  if (RcppParallel::internal::backend() == RcppParallel::internal::BACKEND_TBB) {
    arena_for(n_threads).execute([&] {
      tbb::parallel_for(tbb::blocked_range<Index>(0, n, 1),
                        [&](const tbb::blocked_range<Index>& r) {
                          for (Index i = r.begin(); i < r.end(); ++i) f(i);
                        },
                        tbb::simple_partitioner());
    });
    return;
  }
#endif
  TaskWorker worker(f);
  RcppParallel::ttParallelFor(0, std::size_t(n), worker, 1);
}

void init_context(PassContext& ctx, Executor& ex) {
  ctx.ex = &ex;
  ctx.poll = [] { Rcpp::checkUserInterrupt(); };
}

std::unique_ptr<Source> make_source(SEXP x) {
  if (Rf_isMatrix(x) && TYPEOF(x) == REALSXP) {
    Rcpp::NumericMatrix m(x);
    return std::unique_ptr<Source>(new MemorySource(m.begin(), m.nrow(), m.ncol()));
  }
  if (TYPEOF(x) == VECSXP && Rf_inherits(x, "gmm_file")) {
    Rcpp::List l(x);
    const std::string path = Rcpp::as<std::string>(l["path"]);
    const int d = Rcpp::as<int>(l["ncol"]);
    const std::string type = Rcpp::as<std::string>(l["type"]);
    return guarded([&] {
      return std::unique_ptr<Source>(new FileSource(
          path, d, type == "float" ? FileSource::Type::Float : FileSource::Type::Double));
    });
  }
  if (TYPEOF(x) == VECSXP && Rf_inherits(x, "gmm_chunk_reader")) return make_chunk_source(Rcpp::List(x));
  Rcpp::stop("internal error: not a data source");
}

}  // namespace fastgmm
