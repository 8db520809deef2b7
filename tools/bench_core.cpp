// Times one EM pass (E-step + statistics) of the CPU core per variant and
// precision on simulated data, without R. Prints model, n, d, k, threads,
// variant, precision, best wall seconds, best CPU seconds (all threads), loglik.
//   g++ -O2 -march=native -std=c++17 -I../src -I<eigen> bench_core.cpp
//       ../src/core/*.cpp -lpthread -o bench_core
//   ./bench_core N D K model threads [reps [variant,precision]]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/cpu_engine.h"
#include "core/init.h"
#include "core/rng.h"
#include "thread_executor.h"

using namespace fastgmm;

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: bench_core N D K full|diag|spherical|tied threads [reps]\n");
    return 2;
  }
  const Index n = std::atol(argv[1]), d = std::atol(argv[2]), k = std::atol(argv[3]);
  const std::string model = argv[4];
  const int threads = std::atoi(argv[5]);
  const int reps = argc > 6 ? std::atoi(argv[6]) : 5;
  const std::string only = argc > 7 ? argv[7] : "";  // e.g. "gemm,double"
  const CovType cov = model == "full" ? CovType::Full : model == "diag" ? CovType::Diag
                      : model == "spherical" ? CovType::Spherical : CovType::Tied;
  // Well-separated clusters.
  Rng rng(1);
  MatrixXd centres(k, d);
  for (Index j = 0; j < k; ++j)
    for (Index c = 0; c < d; ++c) centres(j, c) = 6 * (rng.unif() - 0.5);
  std::vector<double> x(n * d);
  for (Index i = 0; i < n; ++i) {
    Index j = rng.below(k);
    for (Index c = 0; c < d; ++c) {
      double u1 = rng.unif() + 1e-300, u2 = rng.unif();
      x[c * n + i] = centres(j, c) + std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
  }
  Data data;
  data.x = x.data();
  data.n = n;
  data.d = d;
  data.shift = Eigen::Map<MatrixXd>(x.data(), n, d).colwise().mean().transpose();
  ThreadExecutor ex(threads);
  Params p = init_params(data, ex, cov, k, InitMethod::RandomFromData, 7, 1e-6);
  for (int v = 0; v < n_variants; ++v)
    for (int single = 0; single < 2; ++single) {
      const std::string name = std::string(v == 0 ? "gemm" : "direct") + "," + (single ? "single" : "double");
      if (!only.empty() && only != name) continue;
      CpuOptions o;
      o.variant = Variant(v);
      o.single = single;
      CpuEngine eng(data, ex, cov, k, o);
      Stats st;
      eng.em_pass(p, st);
      double best = 1e300, best_cpu = 1e300;
      for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        std::clock_t c0 = std::clock();
        eng.em_pass(p, st);
        best_cpu = std::min(best_cpu, double(std::clock() - c0) / CLOCKS_PER_SEC);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::printf("%s,%ld,%ld,%ld,%d,%s,%s,%.5f,%.5f,%.10g\n", model.c_str(), long(n), long(d), long(k),
                  threads, v == 0 ? "gemm" : "direct", single ? "single" : "double", best, best_cpu,
                  st.loglik);
    }
  return 0;
}
