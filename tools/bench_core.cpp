// Times one EM pass (E-step + statistics) of the CPU core without R, on
// simulated data: the best of `reps` passes, wall and CPU seconds. For tuning
// kernels; the package's own benchmarks are in bench/.
//   sh bench/build_core_bench.sh
//   /tmp/fastgmm-core-bench/bench_core N D K MODEL THREADS [REPS [PRECISION [VARIANT]]]
// MODEL: a covariance model name (VVV, VVI, EEE, ...); PRECISION: double or
// single; VARIANT: gemm or direct (default: direct). FASTGMM_LEVEL in the
// environment forces a kernel level (generic, avx2, avx512).
// Prints model,n,d,k,threads,precision,level,best_wall,best_cpu,loglik.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "core/cpu_engine.h"
#include "core/init.h"
#include "core/kernels/dispatch.h"
#include "core/rng.h"
#include "core/source/memory.h"
#include "thread_executor.h"

using namespace fastgmm;

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: bench_core N D K MODEL THREADS [REPS [PRECISION [VARIANT]]]\n");
    return 2;
  }
  const Index n = std::atol(argv[1]), d = std::atol(argv[2]), k = std::atol(argv[3]);
  const CovarianceModel* model = find_covariance_model(argv[4]);
  if (!model) {
    std::fprintf(stderr, "unknown model %s\n", argv[4]);
    return 2;
  }
  const int threads = std::atoi(argv[5]);
  const int reps = argc > 6 ? std::atoi(argv[6]) : 10;
  const bool single = argc > 7 && std::string(argv[7]) == "single";
  const Variant variant = argc > 8 && std::string(argv[8]) == "gemm" ? Variant::Gemm : Variant::Direct;
  if (const char* lv = std::getenv("FASTGMM_LEVEL")) set_cpu_level(lv);
  // Clusters about three standard deviations apart.
  Rng rng(1);
  MatrixXd centres(k, d);
  for (Index j = 0; j < k; ++j)
    for (Index c = 0; c < d; ++c) centres(j, c) = 6 * (rng.unif() - 0.5);
  std::vector<double> x(size_t(n * d));
  for (Index i = 0; i < n; ++i) {
    const Index j = rng.below(k);
    for (Index c = 0; c < d; ++c) {
      const double u1 = rng.unif() + 1e-300, u2 = rng.unif();
      x[size_t(c * n + i)] = centres(j, c) + std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
  }
  ThreadExecutor ex(threads);
  PassContext ctx;
  ctx.ex = &ex;
  MemorySource src(x.data(), n, d);
  DataRef data = make_data(src, nullptr, ctx);
  MStepOptions mo;
  mo.reg = VectorXd::Constant(d, 1e-6);
  CpuEngine init(data, model, CpuOptions());
  const Params p = init_params(init, model, k, InitMethod::RandomFromData, 7, mo);
  CpuOptions o;
  o.single = single;
  o.variant = variant;
  CpuEngine eng(data, model, o);
  Stats st;
  eng.em_pass(p, st);
  double best = 1e300, best_cpu = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    eng.em_pass(p, st);
    best_cpu = std::min(best_cpu, double(std::clock() - c0) / CLOCKS_PER_SEC);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("%s,%ld,%ld,%ld,%d,%s,%s,%.5f,%.5f,%.12g\n", argv[4], long(n), long(d), long(k),
              threads, single ? "single" : "double", cpu_kernels().level, best, best_cpu, st.loglik);
  return 0;
}
