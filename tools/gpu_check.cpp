// Standalone check and benchmark of fastgmm's CUDA backend against the C++
// core on the CPU, for machines without R (see tools/README-gpu.md).
//
//   gpu_check                   agreement of every CUDA kernel variant, both
//                               precisions and all four covariance models with
//                               the CPU core (SerialExecutor): log-likelihood
//                               traces within 1e-10 relative (double) or 1e-5
//                               (single), bitwise-repeatable runs; exit 1 if not
//   gpu_check --bench           timings: N = 1e7, D = 10, K = 10 full and
//                               N = 1e7, D = 50, K = 20 diag, every variant,
//                               both precisions
//   options: --device I  --iters N (EM iterations; check 8, bench 5)
//            --n N (rows for --bench)  --cpu (also time the CPU core in --bench)
//            --variant NAME (only this CUDA variant)
//            --case I (check: only the I-th data case, from 0)
//            --n-scale F (check: multiply the rows and block sizes by F, e.g.
//            0.1 under the CPU emulation of tools/emu_check.sh)
// Exit status: 0 all agree, 1 disagreement or failure, 2 no CUDA device, 3 usage.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/cpu_engine.h"
#include "core/em.h"
#include "core/init.h"
#include "core/rng.h"
#include "cuda/cuda_engine.h"

using namespace fastgmm;

namespace {

const char* const model_names[] = {"full", "diag", "spherical", "tied"};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// n rows from k Gaussian clusters with correlated, unequally spread noise.
// Row i depends only on (seed, i), so the data do not depend on the threads.
struct Dataset {
  std::vector<double> x, w;
  Data data;
};

void simulate(Dataset& ds, Index n, Index d, Index k, uint64_t seed, bool weighted) {
  Rng g(seed);
  std::vector<double> means(k * d), scale(k);
  for (auto& m : means) {
    double u1 = g.unif() + 1e-300, u2 = g.unif();
    m = 4 * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  for (auto& s : scale) s = 0.5 + g.unif();
  ds.x.assign(size_t(n) * d, 0);
  ds.w.clear();
  if (weighted) ds.w.resize(n);
  const unsigned nt = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < nt; ++t)
    pool.emplace_back([&, t] {
      std::vector<double> z(d + 1);
      for (Index i = Index(t) * n / nt; i < Index(t + 1) * n / nt; ++i) {
        Rng r(mix64(seed ^ mix64(uint64_t(i) + 1)));
        const Index j = Index(r.below(uint64_t(k)));
        for (Index c = 0; c < d; c += 2) {
          double u1 = r.unif() + 1e-300, u2 = r.unif();
          double rad = std::sqrt(-2 * std::log(u1));
          z[c] = rad * std::cos(2 * M_PI * u2);
          z[c + 1] = rad * std::sin(2 * M_PI * u2);
        }
        for (Index c = 0; c < d; ++c)
          ds.x[size_t(c) * n + i] =
              means[j * d + c] + scale[j] * (z[c] + (c > 0 ? 0.4 * z[c - 1] : 0.0));
        if (weighted) ds.w[i] = double(r.below(4)) * 0.5;  // 0, 0.5, 1, 1.5
      }
    });
  for (auto& th : pool) th.join();
  if (weighted) ds.w[0] = 1;  // not all zero
  ds.data.x = ds.x.data();
  ds.data.n = n;
  ds.data.d = d;
  ds.data.w = weighted ? ds.w.data() : nullptr;
  ds.data.shift = VectorXd::Zero(d);
  double tw = 0;
  for (Index i = 0; i < n; ++i) tw += weighted ? ds.w[i] : 1.0;
  for (Index c = 0; c < d; ++c) {
    double s = 0;
    for (Index i = 0; i < n; ++i) s += (weighted ? ds.w[i] : 1.0) * ds.x[size_t(c) * n + i];
    ds.data.shift[c] = s / tw;
  }
}

struct Run {
  std::vector<double> trace;  // loglik of the start, then after each iteration
  double seconds = 0;         // per iteration (one M-step and one pass)
  std::string error;
};

Run run(Engine& e, const Params& p0, int iters) {
  Run r;
  EmOptions o;
  o.max_iter = iters;
  o.tol = 0;
  o.reg_covar = VectorXd::Constant(p0.d, 1e-6);
  try {
    Stats st;
    e.em_pass(p0, st);  // warm-up, and the log-likelihood of the start
    const double t1 = now();
    EmResult res = run_em(e, p0, o, IterHook());
    const double t2 = now();
    r.trace.push_back(st.loglik);
    r.trace.insert(r.trace.end(), res.trace.begin(), res.trace.end());
    // run_em makes iters + 1 passes and iters M-steps.
    r.seconds = (t2 - t1) / (iters + 1);
  } catch (const std::exception& ex) {
    r.error = ex.what();
  }
  return r;
}

double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]) / std::max(1e-300, std::abs(b[i]));
    if (!(d <= m)) m = d;  // NaN propagates
  }
  return m;
}

struct Args {
  bool bench = false, cpu = false;
  int device = 0, iters = -1;
  long long n = 10000000;
  int variant = -1;
  double n_scale = 1;
  int only_case = -1;
};

int usage(const char* msg) {
  std::fprintf(stderr,
               "gpu_check: %s\nusage: gpu_check [--bench [--n N] [--cpu]] [--iters N] "
               "[--device I] [--variant NAME]\n",
               msg);
  return 3;
}

struct Case {
  Index n, d, k;
  bool weighted;
  long long block_rows;
  bool stream;
  const char* what;
  unsigned models = 15;  // bit m: covariance model m
};

int check_mode(const Args& a) {
  const int iters = a.iters >= 0 ? a.iters : 8;
  const Case cases0[] = {
      {20000, 5, 4, false, 0, false, "plain"},
      {20000, 5, 4, true, 3000, false, "weights, 7 blocks"},
      {12000, 3, 3, true, 2048, true, "weights, streamed from host"},
      {6000, 1, 2, false, 0, false, "one dimension"},
      {6000, 60, 2, false, 0, false, "d = 60 (double not staged)"},
      {3000, 100, 2, false, 0, false, "d = 100 (float not staged)", 2u | 8u},
  };
  std::vector<Case> cases(std::begin(cases0), std::end(cases0));
  for (Case& c : cases) {
    c.n = std::max<Index>(100 * c.k, Index(double(c.n) * a.n_scale));
    if (c.block_rows > 0) c.block_rows = std::max<long long>(256, (long long)(c.block_rows * a.n_scale));
  }
  int failures = 0, runs = 0;
  std::printf("%-28s %-9s %-6s %-15s %11s %5s %10s %10s  %s\n", "data", "model", "prec",
              "variant", "max rel diff", "rep", "gpu ms/it", "cpu ms/it", "result");
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    if (a.only_case >= 0 && int(ci) != a.only_case) continue;
    Dataset ds;
    simulate(ds, c.n, c.d, c.k, 1234 + uint64_t(c.n) + uint64_t(c.d), c.weighted);
    for (int m = 0; m < 4; ++m) {
      if (!(c.models >> m & 1u)) continue;
      const CovType cov = CovType(m);
      SerialExecutor ex;
      Params p0;
      try {
        p0 = init_params(ds.data, ex, cov, c.k, InitMethod::KmeansPP, 99, 1e-6);
      } catch (const std::exception& e) {
        std::printf("%-28s %-9s init failed: %s\n", c.what, model_names[m], e.what());
        ++failures;
        continue;
      }
      for (int single = 0; single <= 1; ++single) {
        CpuOptions co;
        co.variant = Variant::Gemm;
        co.single = single;
        CpuEngine cpu(ds.data, ex, cov, c.k, co);
        const Run ref = run(cpu, p0, iters);
        if (!ref.error.empty()) {
          std::printf("%-28s %-9s CPU run failed: %s\n", c.what, model_names[m], ref.error.c_str());
          ++failures;
          continue;
        }
        const double tol = single ? 1e-5 : 1e-10;
        for (int v = 0; v < cuda::n_stats_variants; ++v) {
          if (a.variant >= 0 && v != a.variant) continue;
          ++runs;
          cuda::PassOptions po;
          po.device = a.device;
          po.single = single;
          po.variant = v;
          po.block_rows = c.block_rows;
          po.stream = c.stream;
          Run g1, g2;
          bool resident = true;
          try {
            CudaEngine gpu(ds.data, cov, c.k, po);
            resident = gpu.device().resident();
            g1 = run(gpu, p0, iters);
            g2 = run(gpu, p0, iters);
          } catch (const std::exception& e) {
            g1.error = e.what();
          }
          const char* prec = single ? "single" : "double";
          if (!g1.error.empty() || !g2.error.empty()) {
            std::printf("%-28s %-9s %-6s %-15s FAILED: %s\n", c.what, model_names[m], prec,
                        cuda::stats_variant_name(v),
                        (g1.error.empty() ? g2.error : g1.error).c_str());
            ++failures;
            continue;
          }
          const double diff = max_rel_diff(g1.trace, ref.trace);
          const bool same = g1.trace == g2.trace;
          const bool ok = diff <= tol && same;
          if (!ok) ++failures;
          std::printf("%-28s %-9s %-6s %-15s %11.2e %5s %10.3f %10.3f  %s%s\n", c.what,
                      model_names[m], prec, cuda::stats_variant_name(v), diff,
                      same ? "same" : "DIFF", 1e3 * g1.seconds, 1e3 * ref.seconds,
                      ok ? "ok" : "DISAGREE", resident ? "" : " (data streamed from the host)");
          std::fflush(stdout);
        }
      }
    }
  }
  std::printf("\n%d of %d CUDA runs disagree or failed (tolerance: 1e-10 relative in double, "
              "1e-5 in single, on the log-likelihood after each of %d iterations)\n",
              failures, runs, iters);
  return failures ? 1 : 0;
}

int bench_mode(const Args& a) {
  const int iters = a.iters >= 0 ? a.iters : 5;
  struct B {
    Index d, k;
    CovType cov;
  } cases[] = {{10, 10, CovType::Full}, {50, 20, CovType::Diag}};
  int failures = 0;
  for (const B& b : cases) {
    Dataset ds;
    const double t0 = now();
    simulate(ds, Index(a.n), b.d, b.k, 777, false);
    std::printf("\n== N = %lld, D = %ld, K = %ld, %s (data simulated in %.1f s) ==\n", a.n,
                long(b.d), long(b.k), model_names[int(b.cov)], now() - t0);
    SerialExecutor ex;
    const Params p0 = init_params(ds.data, ex, b.cov, b.k, InitMethod::RandomFromData, 5, 1e-6);
    for (int single = 0; single <= 1; ++single) {
      const char* prec = single ? "single" : "double";
      std::vector<double> first;
      if (a.cpu) {
        CpuOptions co;
        co.single = single;
        CpuEngine cpu(ds.data, ex, b.cov, b.k, co);
        const Run r = run(cpu, p0, std::min(iters, 2));
        std::printf("%-6s %-15s %12.1f ms/iteration  (CPU core, 1 thread)\n", prec, "cpu/gemm",
                    1e3 * r.seconds);
        first = r.trace;
        first.resize(std::min<size_t>(first.size(), 3));
      }
      cuda::PassOptions po;
      po.device = a.device;
      po.single = single;
      po.variant = a.variant >= 0 ? a.variant : 0;
      std::unique_ptr<CudaEngine> gpu;
      const double u0 = now();
      try {
        gpu.reset(new CudaEngine(ds.data, b.cov, b.k, po));
      } catch (const std::exception& e) {
        std::printf("%-6s FAILED to set up: %s\n", prec, e.what());
        ++failures;
        continue;
      }
      std::printf("%-6s %s; set up in %.2f s\n", prec, gpu->device().describe().c_str(),
                  now() - u0);
      for (int v = 0; v < cuda::n_stats_variants; ++v) {
        if (a.variant >= 0 && v != a.variant) continue;
        Run r;
        try {
          gpu->device().set_variant(v);
          r = run(*gpu, p0, iters);
        } catch (const std::exception& e) {
          r.error = e.what();
        }
        if (!r.error.empty()) {
          std::printf("%-6s %-15s FAILED: %s\n", prec, cuda::stats_variant_name(v), r.error.c_str());
          ++failures;
          continue;
        }
        std::string agree;
        if (first.empty()) {
          first = r.trace;
        } else {
          std::vector<double> t(r.trace.begin(), r.trace.begin() + std::min(r.trace.size(), first.size()));
          std::vector<double> f(first.begin(), first.begin() + t.size());
          const double diff = max_rel_diff(t, f);
          char buf[64];
          std::snprintf(buf, sizeof buf, "max rel diff to first %.1e", diff);
          agree = buf;
          if (!(diff <= (single ? 1e-5 : 1e-10))) {
            agree += " DISAGREE";
            ++failures;
          }
        }
        std::printf("%-6s %-15s %12.2f ms/iteration  loglik %.10g  %s\n", prec,
                    cuda::stats_variant_name(v), 1e3 * r.seconds, r.trace.back(), agree.c_str());
        std::fflush(stdout);
      }
    }
  }
  return failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (s == "--bench") {
      a.bench = true;
    } else if (s == "--cpu") {
      a.cpu = true;
    } else if (s == "--device" || s == "--iters" || s == "--n" || s == "--variant" ||
               s == "--n-scale" || s == "--case") {
      const char* v = next();
      if (!v) return usage(("missing value for " + s).c_str());
      if (s == "--device") a.device = std::atoi(v);
      if (s == "--iters") a.iters = std::atoi(v);
      if (s == "--n") a.n = std::atoll(v);
      if (s == "--n-scale") a.n_scale = std::atof(v);
      if (s == "--case") a.only_case = std::atoi(v);
      if (s == "--variant") {
        for (int j = 0; j < cuda::n_stats_variants; ++j)
          if (std::strcmp(v, cuda::stats_variant_name(j)) == 0) a.variant = j;
        if (a.variant < 0) return usage((std::string("unknown variant ") + v).c_str());
      }
    } else if (s == "--help" || s == "-h") {
      usage("help");
      return 0;
    } else {
      return usage(("unknown argument " + s).c_str());
    }
  }
  const cuda::DeviceStatus st = cuda::query_devices();
  if (!st.available) {
    std::fprintf(stderr, "gpu_check: no CUDA device: %s\n", st.reason.c_str());
    return 2;
  }
  bool found = false;
  for (const cuda::DeviceInfo& d : st.devices) {
    std::printf("CUDA device %d: %s, %.1f GB, compute capability %d.%d, %d SMs%s\n", d.index,
                d.name.c_str(), d.memory_bytes / double(1 << 30), d.cc_major, d.cc_minor,
                d.multiprocessors, d.index == a.device ? "  (used)" : "");
    found = found || d.index == a.device;
  }
  if (!found) return usage("no such device");
  std::printf("driver supports CUDA %d.%d, runtime %d.%d\n\n", st.driver_version / 1000,
              st.driver_version % 1000 / 10, st.runtime_version / 1000,
              st.runtime_version % 1000 / 10);
  return a.bench ? bench_mode(a) : check_mode(a);
}
