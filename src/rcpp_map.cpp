#include "rcpp_map.h"

// RcppParallel.h itself also pulls in RVector/RMatrix, which use the
// deprecated std::iterator; only the thread backends are needed here.
#include <RcppParallel/TinyThread.h>
#include <RcppParallel/TBB.h>
#include <RcppParallel/Backend.h>

#include <map>
#include <memory>

namespace fastgmm {

CovType cov_from_int(int cov) {
  if (cov < 0 || cov > 3) Rcpp::stop("internal error: unknown covariance code");
  return CovType(cov);
}

Data data_view(const Rcpp::NumericMatrix& x, const Rcpp::Nullable<Rcpp::NumericVector>& w) {
  Data data;
  data.x = x.begin();
  data.n = x.nrow();
  data.d = x.ncol();
  Eigen::Map<const MatrixXd> X(data.x, data.n, data.d);
  if (w.isNotNull()) {
    Rcpp::NumericVector wv(w.get());
    data.w = wv.begin();
    Eigen::Map<const VectorXd> W(data.w, data.n);
    data.shift = (X.transpose() * W) / W.sum();
  } else {
    data.shift = X.colwise().mean().transpose();
  }
  return data;
}

Params params_from_list(const Rcpp::List& l, CovType cov, const VectorXd& shift) {
  Params p;
  p.cov = cov;
  Rcpp::NumericVector prop = l["proportions"];
  Rcpp::NumericMatrix mean = l["means"];
  Rcpp::NumericVector sig = l["covariances"];
  p.k = mean.nrow();
  p.d = mean.ncol();
  p.prop = Rcpp::as<VectorXd>(prop);
  p.mean = Rcpp::as<MatrixXd>(mean);
  p.mean.rowwise() -= shift.transpose();
  const Index d = p.d;
  for (Index j = 0; j < p.k; ++j)
    p.sigma.push_back(Eigen::Map<const MatrixXd>(sig.begin() + j * d * d, d, d));
  return p;
}

Rcpp::List params_to_list(const Params& p, const VectorXd& shift) {
  const Index k = p.k, d = p.d;
  MatrixXd mean = p.mean;
  mean.rowwise() += shift.transpose();
  Rcpp::NumericVector sig(Rcpp::Dimension(d, d, k));
  for (Index j = 0; j < k; ++j)
    Eigen::Map<MatrixXd>(sig.begin() + j * d * d, d, d) = p.sigma[j];
  return Rcpp::List::create(Rcpp::Named("proportions") = Rcpp::wrap(VectorXd(p.prop)),
                            Rcpp::Named("means") = Rcpp::wrap(mean),
                            Rcpp::Named("covariances") = sig);
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
  static std::map<int, std::unique_ptr<tbb::task_arena>> arenas;
  std::unique_ptr<tbb::task_arena>& a = arenas[threads];
  if (!a) a.reset(new tbb::task_arena(threads));
  return *a;
}
#endif

}  // namespace

void ParallelExecutor::run(Index n, const std::function<void(Index)>& f) {
  if (threads <= 1 || n <= 1) {
    for (Index i = 0; i < n; ++i) f(i);
    return;
  }
#if RCPP_PARALLEL_USE_TBB
  if (RcppParallel::internal::backend() == RcppParallel::internal::BACKEND_TBB) {
    arena_for(threads).execute([&] {
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

}  // namespace fastgmm
