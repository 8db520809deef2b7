// Time per inner iteration of the EVE and VVE M-steps (their MM iterations), from D = I as
// a first M-step starts, on k random positive definite scatters in d dimensions. No R.
//   EIGEN=$(Rscript -e 'cat(system.file("include", package = "RcppEigen"))')
//   g++ -O2 -std=c++17 -DNDEBUG -Isrc -I"$EIGEN" bench/mstep_bench.cpp \
//     src/core/models/ellipsoidal_mm.cpp -o /tmp/mstep_bench
//   /tmp/mstep_bench K D REPS       (e.g. 9 10 5)
// Prints, per model, the inner iterations of one M-step and the microseconds per iteration.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "core/models/covariance_model.h"

namespace fastgmm {
const CovarianceModel& model_EVE();
const CovarianceModel& model_VVE();
}  // namespace fastgmm

using namespace fastgmm;

int main(int argc, char** argv) {
  const int k = argc > 1 ? std::atoi(argv[1]) : 9, d = argc > 2 ? std::atoi(argv[2]) : 10;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  std::mt19937 g(1);
  std::normal_distribution<double> nd;
  Scatter s;
  s.k = k;
  s.d = d;
  s.n = VectorXd::Constant(k, 1000);
  for (int j = 0; j < k; ++j) {
    MatrixXd X(200, d), M(d, d);
    for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = nd(g);
    for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nd(g);
    M += 2.0 * MatrixXd::Identity(d, d);
    X = X * M;
    s.W.push_back(X.transpose() * X * 5.0);
  }
  for (const CovarianceModel* m : {&model_EVE(), &model_VVE()}) {
    CovParams out;
    int it = 0;
    long total = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      m->mstep(s, nullptr, InnerControl(), out, &it);
      total += it;
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s k=%d d=%d inner=%d %.2f us/iteration\n", m->name, k, d, it, 1e6 * sec / total);
  }
  return 0;
}
