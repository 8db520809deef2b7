// Standalone check and benchmark of fastgmm's CUDA backend against the C++
// core on the CPU, for machines without R (see tools/README-gpu.md). It is
// built without any CUDA library: the backend is the plugin (fastgmm_cuda.so),
// loaded with dlopen() exactly as the R package loads it, and the rows reach
// the device only through the core's block sources.
//
//   gpu_check                   agreement of every CUDA kernel variant, both
//                               precisions and all fourteen covariance models
//                               with the CPU core (SerialExecutor): log-likelihood
//                               traces within 1e-10 relative (double) or 1e-5
//                               (single), bitwise-repeatable runs, resident and
//                               streamed data bitwise identical; exit 1 if not
//   gpu_check --bench           timings: N = 1e7, D = 10, K = 10 VVV and
//                               N = 1e7, D = 50, K = 20 VVI, every variant,
//                               both precisions
//   options: --plugin PATH (default: fastgmm_cuda.so beside this program)
//            --device I  --iters N (EM iterations; check 4, bench 5)
//            --n N (rows for --bench)  --cpu (also time the CPU core in --bench)
//            --shape D,K,MODEL (bench: this shape instead of the two anchors; repeatable)
//            --variant NAME (only this CUDA variant)
//            --case I (check: only the I-th data case, from 0; --list shows them)
//            --model NAME (check: only this covariance model)
//            --precision double|single (check: only this precision)
//            --n-scale F (check: multiply the rows and block sizes by F, e.g.
//            0.1 under the CPU emulation of tools/emu_check.sh)
//            --wide-models all|rep (check: in the wide cases (d >= 47, k = 256)
//            all fourteen models, or one per E-step shape and statistic
//            (VII, VVI, EEE, VVV); default all)
// Exit status: 0 all agree, 1 disagreement or failure, 2 no CUDA device, 3 usage,
// 4 the plugin cannot be loaded.
#include <unistd.h>

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
#include "core/source/file.h"
#include "core/source/memory.h"
#include "cuda/cuda_engine.h"

using namespace fastgmm;
using fastgmm::cuda::CudaEngine;
using fastgmm::cuda::CudaOptions;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A sequential source (as an R chunk callback): read() only on the thread
// that made it, in increasing contiguous row order from 0 on each pass.
class SequentialSource : public Source {
 public:
  SequentialSource(const double* x, Index n, Index d) : x_(x), n_(n), d_(d), owner_(std::this_thread::get_id()) {}
  Index rows() const override { return n_; }
  Index cols() const override { return d_; }
  std::string describe() const override { return "sequential"; }
  TileView read(Index r0, Index b, double* buf) override {
    if (std::this_thread::get_id() != owner_) throw std::logic_error("sequential source read off the main thread");
    if (r0 == 0) pos_ = 0;
    if (r0 != pos_) throw std::logic_error("sequential source read out of order");
    for (Index c = 0; c < d_; ++c)
      for (Index i = 0; i < b; ++i) buf[i + c * b] = x_[r0 + i + c * n_];
    pos_ = r0 + b;
    TileView v;
    v.x = buf;
    v.rs = 1;
    v.cs = b;
    v.rows = b;
    return v;
  }

 private:
  const double* x_;
  Index n_, d_, pos_ = 0;
  std::thread::id owner_;
};

enum class SourceKind { Memory, File, Sequential };
const char* source_name(SourceKind s) {
  return s == SourceKind::Memory ? "matrix" : s == SourceKind::File ? "file" : "sequential";
}

// n rows (column-major) from k Gaussian clusters with correlated, unequally
// spread noise, or (sep > 0) three clusters of sd 1, 0.5 and 2 at 0, sep and
// -sep / 3 in every coordinate (as tests/testthat/test-numerics.R).
struct Dataset {
  Index n = 0, d = 0;
  std::vector<double> x, w;
  std::vector<int> labels;  // sep > 0: the true clusters
};

void simulate(Dataset& ds, Index n, Index d, Index k, uint64_t seed, bool weighted, double sep) {
  Rng g(seed);
  ds.n = n;
  ds.d = d;
  std::vector<double> means(static_cast<size_t>(k * d)), scale(static_cast<size_t>(k));
  for (auto& m : means) {
    double u1 = g.unif() + 1e-300, u2 = g.unif();
    m = 4 * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  for (auto& s : scale) s = 0.5 + g.unif();
  ds.x.assign(size_t(n * d), 0);
  ds.w.clear();
  ds.labels.clear();
  if (weighted) ds.w.resize(size_t(n));
  if (sep > 0) ds.labels.resize(size_t(n));
  std::vector<double> z(size_t(d + 1));
  for (Index i = 0; i < n; ++i) {
    Rng r(mix64(seed ^ mix64(uint64_t(i) + 1)));
    for (Index c = 0; c < d; c += 2) {
      double u1 = r.unif() + 1e-300, u2 = r.unif();
      double rad = std::sqrt(-2 * std::log(u1));
      z[size_t(c)] = rad * std::cos(2 * M_PI * u2);
      z[size_t(c + 1)] = rad * std::sin(2 * M_PI * u2);
    }
    if (sep > 0) {
      const int j = int(i * 3 / n);  // 1/3 of the rows each
      const double at[3] = {0, sep, -sep / 3}, sd[3] = {1, 0.5, 2};
      for (Index c = 0; c < d; ++c) ds.x[size_t(c * n + i)] = at[j] + sd[j] * z[size_t(c)];
      ds.labels[size_t(i)] = j;
    } else {
      const Index j = Index(r.below(uint64_t(k)));
      for (Index c = 0; c < d; ++c)
        ds.x[size_t(c * n + i)] = means[size_t(j * d + c)] +
                                  scale[size_t(j)] * (z[size_t(c)] + (c > 0 ? 0.4 * z[size_t(c - 1)] : 0.0));
    }
    if (weighted) ds.w[size_t(i)] = double(r.below(4)) * 0.5;  // 0, 0.5, 1, 1.5
  }
  if (weighted) ds.w[0] = 1;  // not all zero
}

// The source of a data set: in memory, a temporary binary file (row-major,
// read with pread into buffers), or a sequential reader.
struct SourceHolder {
  std::unique_ptr<Source> src;
  std::string path;
  ~SourceHolder() {
    src.reset();
    if (!path.empty()) std::remove(path.c_str());
  }
};

void make_source(SourceHolder& h, const Dataset& ds, SourceKind kind) {
  switch (kind) {
    case SourceKind::Memory:
      h.src.reset(new MemorySource(ds.x.data(), ds.n, ds.d));
      break;
    case SourceKind::Sequential:
      h.src.reset(new SequentialSource(ds.x.data(), ds.n, ds.d));
      break;
    case SourceKind::File: {
      char tmpl[] = "/tmp/gpu_check_XXXXXX";
      const int fd = mkstemp(tmpl);
      if (fd < 0) throw std::runtime_error("cannot make a temporary file");
      std::vector<double> row(size_t(ds.d));
      for (Index i = 0; i < ds.n; ++i) {
        for (Index c = 0; c < ds.d; ++c) row[size_t(c)] = ds.x[size_t(c * ds.n + i)];
        if (write(fd, row.data(), row.size() * 8) != ssize_t(row.size() * 8)) {
          close(fd);
          throw std::runtime_error("cannot write a temporary file");
        }
      }
      close(fd);
      h.path = tmpl;
      h.src.reset(new FileSource(h.path, ds.d, FileSource::Type::Double));
      break;
    }
  }
}

struct Run {
  std::vector<double> trace;  // loglik of the start, then after each iteration
  double seconds = 0;         // per iteration (one M-step and one pass)
  bool fell_back = false;
  std::string error;
};

Run run(Engine& e, const Params& p0, int iters) {
  Run r;
  EmOptions o;
  o.max_iter = iters;
  o.tol = 0;
  o.mstep.reg = VectorXd::Constant(p0.d, 1e-6);
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
    r.fell_back = e.fell_back_to_double;
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
  bool bench = false, cpu = false, list = false;
  int device = 0, iters = -1;
  long long n = 10000000;
  int variant = -1;
  double n_scale = 1;
  int only_case = -1;
  std::string model, precision, plugin;
  bool wide_all = true;
  struct Shape {
    Index d, k;
    std::string model;
  };
  std::vector<Shape> shapes;  // --bench: instead of the anchors
};

int usage(const char* msg) {
  std::fprintf(stderr,
               "gpu_check: %s\nusage: gpu_check [--plugin PATH] [--bench [--n N] [--cpu] [--shape D,K,MODEL]...] "
               "[--iters N] [--device I] [--variant NAME] [--case I] [--list] [--model NAME] "
               "[--precision double|single] [--n-scale F] [--wide-models all|rep]\n",
               msg);
  return 3;
}

struct Case {
  Index n, d, k;
  bool weighted;
  long long block_rows;
  bool stream;
  SourceKind source;
  const char* what;
  bool wide = false;  // --wide-models applies
  double sep = 0;     // > 0: far-apart clusters, started from the true labels
};

const char* const rep_models[] = {"VII", "VVI", "EEE", "VVV"};

int check_mode(const Args& a, const fgc_api* api) {
  const int iters = a.iters >= 0 ? a.iters : 4;
  std::vector<Case> cases = {
      {20000, 5, 4, false, 0, false, SourceKind::Memory, "d = 5"},
      {20000, 5, 4, true, 3000, false, SourceKind::Memory, "weights, 7 blocks"},
      {12000, 3, 3, true, 2048, true, SourceKind::File, "weights, file, streamed"},
      {12000, 3, 3, false, 2048, false, SourceKind::Sequential, "sequential, 6 blocks"},
      {6000, 1, 2, false, 0, false, SourceKind::Memory, "d = 1"},
      {3000, 47, 2, false, 0, false, SourceKind::Memory, "d = 47", true},
      {3000, 48, 2, false, 0, false, SourceKind::Memory, "d = 48", true},
      {3000, 49, 2, false, 0, false, SourceKind::Memory, "d = 49", true},
      {3000, 64, 2, true, 0, false, SourceKind::Memory, "d = 64, weights", true},
      {3000, 95, 2, false, 0, false, SourceKind::Memory, "d = 95", true},
      {3000, 96, 2, false, 1024, true, SourceKind::File, "d = 96, streamed", true},
      {4000, 128, 2, false, 0, false, SourceKind::Memory, "d = 128", true},
      {40000, 2, 256, false, 0, false, SourceKind::Memory, "k = 256", true},
      {9000, 2, 3, false, 0, false, SourceKind::Memory, "clusters 1e2 sd apart", false, 1e2},
      {9000, 2, 3, false, 0, false, SourceKind::Memory, "clusters 1e4 sd apart", false, 1e4},
      {9000, 2, 3, false, 0, false, SourceKind::Memory, "clusters 1e6 sd apart", false, 1e6},
      {9000, 2, 3, true, 0, false, SourceKind::Memory, "clusters 1e8 sd apart", false, 1e8},
      {9000, 1, 3, false, 0, false, SourceKind::Memory, "1-D clusters 1e8 sd apart", false, 1e8},
  };
  if (a.list) {
    for (size_t i = 0; i < cases.size(); ++i)
      std::printf("%2zu  %-28s n = %ld, d = %ld, k = %ld, %s%s\n", i, cases[i].what,
                  long(cases[i].n), long(cases[i].d), long(cases[i].k), source_name(cases[i].source),
                  cases[i].stream ? ", streamed" : "");
    return 0;
  }
  for (Case& c : cases) {
    c.n = std::max<Index>(std::max<Index>(100 * c.k, 30 * c.d), Index(double(c.n) * a.n_scale));
    if (c.block_rows > 0) c.block_rows = std::max<long long>(256, (long long)(c.block_rows * a.n_scale));
  }
  int failures = 0, runs = 0;
  double worst[2] = {0, 0};
  std::printf("%-28s %-5s %-6s %-15s %11s %5s %10s %10s  %s\n", "data", "model", "prec",
              "variant", "max rel diff", "rep", "gpu ms/it", "cpu ms/it", "result");
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const Case& c = cases[ci];
    if (a.only_case >= 0 && int(ci) != a.only_case) continue;
    Dataset ds;
    simulate(ds, c.n, c.d, c.k, 1234 + uint64_t(c.n) + uint64_t(c.d), c.weighted, c.sep);
    SourceHolder sh;
    make_source(sh, ds, c.source);
    SerialExecutor ex;
    PassContext ctx;
    ctx.ex = &ex;
    DataRef data = make_data(*sh.src, c.weighted ? ds.w.data() : nullptr, ctx);
    for (const CovarianceModel& model : covariance_models()) {
      if (!a.model.empty() && a.model != model.name) continue;
      if (c.wide && !a.wide_all &&
          std::find_if(std::begin(rep_models), std::end(rep_models),
                       [&](const char* m) { return std::strcmp(m, model.name) == 0; }) ==
              std::end(rep_models))
        continue;
      Params p0;
      MStepOptions mo;
      mo.reg = VectorXd::Constant(c.d, 1e-6);
      try {
        CpuEngine init(data, &model, CpuOptions());
        p0 = c.sep > 0 ? init_from_labels(init, &model, c.k, ds.labels.data(), mo)
                       : init_params(init, &model, c.k, InitMethod::KmeansPP, 99, mo);
      } catch (const std::exception& e) {
        std::printf("%-28s %-5s init failed: %s\n", c.what, model.name, e.what());
        ++failures;
        continue;
      }
      for (int single = 0; single <= 1; ++single) {
        if (!a.precision.empty() && a.precision != (single ? "single" : "double")) continue;
        CpuOptions co;
        co.variant = Variant::Gemm;
        co.single = single;
        CpuEngine cpu(data, &model, co);
        const Run ref = run(cpu, p0, iters);
        const char* prec = single ? "single" : "double";
        if (!ref.error.empty()) {
          std::printf("%-28s %-5s %-6s CPU run failed: %s\n", c.what, model.name, prec,
                      ref.error.c_str());
          ++failures;
          continue;
        }
        const double tol = single ? 1e-5 : 1e-10;
        for (int v = 0; v < api->n_variants; ++v) {
          if (a.variant >= 0 && v != a.variant) continue;
          ++runs;
          CudaOptions po;
          po.device = a.device;
          po.single = single;
          po.variant = v;
          po.block_rows = c.block_rows;
          po.stream = c.stream;
          Run g1, g2, g3;
          bool resident = true;
          try {
            CudaEngine gpu(data, &model, c.k, po, api);
            resident = gpu.resident();
            g1 = run(gpu, p0, iters);
            g2 = run(gpu, p0, iters);
            if (c.stream) {  // the same blocks with the data kept on the device: identical
              CudaOptions pr = po;
              pr.stream = false;
              CudaEngine res(data, &model, c.k, pr, api);
              g3 = run(res, p0, iters);
            }
          } catch (const std::exception& e) {
            g1.error = e.what();
          }
          if (!g1.error.empty() || !g2.error.empty() || !g3.error.empty()) {
            const std::string& e = !g1.error.empty() ? g1.error : !g2.error.empty() ? g2.error : g3.error;
            std::printf("%-28s %-5s %-6s %-15s FAILED: %s\n", c.what, model.name, prec,
                        api->variant_name(v), e.c_str());
            ++failures;
            continue;
          }
          const double diff = max_rel_diff(g1.trace, ref.trace);
          worst[single] = std::max(worst[single], diff);
          const bool same = g1.trace == g2.trace && (!c.stream || g1.trace == g3.trace);
          const bool fb = g1.fell_back == ref.fell_back;
          const bool ok = diff <= tol && same && fb;
          if (!ok) ++failures;
          std::printf("%-28s %-5s %-6s %-15s %11.2e %5s %10.3f %10.3f  %s%s%s%s\n", c.what,
                      model.name, prec, api->variant_name(v), diff, same ? "same" : "DIFF",
                      1e3 * g1.seconds, 1e3 * ref.seconds, ok ? "ok" : "DISAGREE",
                      resident ? "" : " (streamed)", g1.fell_back ? " (fell back to double)" : "",
                      fb ? "" : " (CPU and GPU disagree on the fallback to double)");
          std::fflush(stdout);
        }
      }
    }
  }
  std::printf("\n%d of %d CUDA runs disagree or failed (tolerance: 1e-10 relative in double, "
              "1e-5 in single, on the log-likelihood after each of %d iterations; largest "
              "differences: %.2e double, %.2e single)\n",
              failures, runs, iters, worst[0], worst[1]);
  return failures ? 1 : 0;
}

int bench_mode(const Args& a, const fgc_api* api) {
  const int iters = a.iters >= 0 ? a.iters : 5;
  std::vector<Args::Shape> cases = a.shapes;
  if (cases.empty()) cases = {{10, 10, "VVV"}, {50, 20, "VVI"}};
  int failures = 0;
  for (const Args::Shape& b : cases) {
    Dataset ds;
    const double t0 = now();
    simulate(ds, Index(a.n), b.d, b.k, 777, false, 0);
    const CovarianceModel* model = find_covariance_model(b.model);
    std::printf("\n== N = %lld, D = %ld, K = %ld, %s (data simulated in %.1f s) ==\n", a.n,
                long(b.d), long(b.k), b.model.c_str(), now() - t0);
    SerialExecutor ex;
    PassContext ctx;
    ctx.ex = &ex;
    MemorySource src(ds.x.data(), ds.n, ds.d);
    DataRef data = make_data(src, nullptr, ctx);
    MStepOptions mo;
    mo.reg = VectorXd::Constant(b.d, 1e-6);
    CpuEngine init(data, model, CpuOptions());
    const Params p0 = init_params(init, model, b.k, InitMethod::RandomFromData, 5, mo);
    for (int single = 0; single <= 1; ++single) {
      const char* prec = single ? "single" : "double";
      std::vector<double> first;
      if (a.cpu) {
        CpuOptions co;
        co.single = single;
        CpuEngine cpu(data, model, co);
        const Run r = run(cpu, p0, std::min(iters, 2));
        if (!r.error.empty()) {
          std::printf("%-6s %-15s FAILED: %s\n", prec, "cpu/gemm", r.error.c_str());
        } else {
          std::printf("%-6s %-15s %12.1f ms/iteration  (CPU core, 1 thread)\n", prec, "cpu/gemm",
                      1e3 * r.seconds);
          first = r.trace;
          first.resize(std::min<size_t>(first.size(), 3));
        }
      }
      CudaOptions po;
      po.device = a.device;
      po.single = single;
      po.variant = a.variant >= 0 ? a.variant : 0;
      std::unique_ptr<CudaEngine> gpu;
      const double u0 = now();
      try {
        gpu.reset(new CudaEngine(data, model, b.k, po, api));
      } catch (const std::exception& e) {
        std::printf("%-6s FAILED to set up: %s\n", prec, e.what());
        ++failures;
        continue;
      }
      std::printf("%-6s %s; set up in %.2f s\n", prec, gpu->describe().c_str(), now() - u0);
      for (int v = 0; v < api->n_variants; ++v) {
        if (a.variant >= 0 && v != a.variant) continue;
        Run r;
        try {
          gpu->set_variant(v);
          r = run(*gpu, p0, iters);
        } catch (const std::exception& e) {
          r.error = e.what();
        }
        if (!r.error.empty()) {
          std::printf("%-6s %-15s FAILED: %s\n", prec, api->variant_name(v), r.error.c_str());
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
                    api->variant_name(v), 1e3 * r.seconds, r.trace.back(), agree.c_str());
        std::fflush(stdout);
      }
    }
  }
  return failures ? 1 : 0;
}

std::string default_plugin(const char* argv0) {
  char buf[4096];
  const ssize_t m = readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string self = m > 0 ? std::string(buf, size_t(m)) : std::string(argv0);
  const size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/fastgmm_cuda.so";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  std::string variant;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (s == "--bench") {
      a.bench = true;
    } else if (s == "--cpu") {
      a.cpu = true;
    } else if (s == "--list") {
      a.list = true;
    } else if (s == "--device" || s == "--iters" || s == "--n" || s == "--variant" ||
               s == "--n-scale" || s == "--case" || s == "--model" || s == "--precision" ||
               s == "--plugin" || s == "--wide-models" || s == "--shape") {
      const char* v = next();
      if (!v) return usage(("missing value for " + s).c_str());
      if (s == "--device") a.device = std::atoi(v);
      if (s == "--iters") a.iters = std::atoi(v);
      if (s == "--n") a.n = std::atoll(v);
      if (s == "--n-scale") a.n_scale = std::atof(v);
      if (s == "--case") a.only_case = std::atoi(v);
      if (s == "--model") a.model = v;
      if (s == "--precision") a.precision = v;
      if (s == "--plugin") a.plugin = v;
      if (s == "--variant") variant = v;
      if (s == "--shape") {
        long d = 0, k = 0;
        char m[8] = {0};
        if (std::sscanf(v, "%ld,%ld,%7s", &d, &k, m) != 3 || d < 1 || k < 1 ||
            !find_covariance_model(m))
          return usage("--shape D,K,MODEL (e.g. 128,8,VVV)");
        a.shapes.push_back({Index(d), Index(k), m});
      }
      if (s == "--wide-models") {
        if (std::strcmp(v, "all") && std::strcmp(v, "rep")) return usage("--wide-models all|rep");
        a.wide_all = std::strcmp(v, "all") == 0;
      }
    } else if (s == "--help" || s == "-h") {
      usage("help");
      return 0;
    } else {
      return usage(("unknown argument " + s).c_str());
    }
  }
  if (!a.model.empty() && !find_covariance_model(a.model)) return usage("unknown --model");
  if (!a.precision.empty() && a.precision != "double" && a.precision != "single")
    return usage("--precision double|single");
  if (a.plugin.empty()) a.plugin = default_plugin(argv[0]);
  const cuda::Plugin& pl = cuda::load_plugin(a.plugin);
  if (!pl.api) {
    std::fprintf(stderr, "gpu_check: %s\n", pl.error.c_str());
    return 4;
  }
  const fgc_api* api = pl.api;
  if (!variant.empty()) {
    for (int j = 0; j < api->n_variants; ++j)
      if (variant == api->variant_name(j)) a.variant = j;
    if (a.variant < 0) return usage(("unknown variant " + variant).c_str());
  }
  if (a.list) return check_mode(a, api);
  fgc_status st;
  api->query(&st);
  if (!st.available) {
    std::fprintf(stderr, "gpu_check: no CUDA device: %s\n", st.reason);
    return 2;
  }
  bool found = false;
  for (int i = 0; i < st.n_devices; ++i) {
    const fgc_device_info& d = st.devices[i];
    std::printf("CUDA device %d: %s, %.1f GB, compute capability %d.%d, %d SMs%s\n", d.index,
                d.name, d.memory_bytes / double(1 << 30), d.cc_major, d.cc_minor,
                d.multiprocessors, d.index == a.device ? "  (used)" : "");
    found = found || d.index == a.device;
  }
  if (!found) return usage("no such device");
  std::printf("driver supports CUDA %d.%d, runtime %d.%d; plugin %s\n\n", st.driver_version / 1000,
              st.driver_version % 1000 / 10, st.runtime_version / 1000,
              st.runtime_version % 1000 / 10, a.plugin.c_str());
  return a.bench ? bench_mode(a, api) : check_mode(a, api);
}
