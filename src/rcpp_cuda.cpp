// Entry points of the CUDA backend: the plugin's status, fitting and timing
// the kernel variants. The package itself links no CUDA library: the plugin
// (fastgmm_cuda.so, beside fastgmm.so when configure found nvcc) is loaded
// with dlopen() by the first of these calls that needs it (see
// src/cuda/cuda_engine.h); everything else runs on the CPU without it.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/init.h"
#include "core/source/head.h"
#include "cuda/cuda_engine.h"
#include "rcpp_map.h"
#include "rcpp_restarts.h"

using namespace fastgmm;
using fastgmm::cuda::CudaEngine;
using fastgmm::cuda::CudaError;
using fastgmm::cuda::CudaOptions;

namespace {

const char* const not_built =
    "this installation of fastgmm has no CUDA backend (configure found no nvcc, or "
    "FASTGMM_CUDA=no was set at install time)";

[[noreturn]] void stop_cuda(const CudaError& e) {
  Rcpp::stop(std::string("CUDA backend: ") + e.what());
}

// The loaded plugin, or an R error saying why there is none.
const fgc_api* plugin_or_stop(const std::string& path) {
  const cuda::Plugin& p = cuda::load_plugin(path);
  if (!p.api) Rcpp::stop(std::string("CUDA backend: ") + (p.present ? p.error : not_built));
  return p.api;
}

CudaOptions cuda_options(const fgc_api* api, int device, int variant, bool single,
                         double block_rows, bool stream) {
  if (variant < 0 || variant >= api->n_variants)
    Rcpp::stop("internal error: unknown CUDA kernel variant");
  CudaOptions o;
  o.device = device;
  o.variant = variant;
  o.single = single;
  o.block_rows = block_rows > 0 ? int64_t(block_rows) : 0;
  o.stream = stream;
  return o;
}

}  // namespace

// The CUDA plugin at `plugin` (loaded on this first call, then cached):
// list(built (the file exists), loaded, available, reason, driver_version,
// runtime_version, devices = data frame of index, name, memory_gb,
// compute_capability, multiprocessors, variants (the plugin's kernel names)).
// [[Rcpp::export]]
Rcpp::List cpp_cuda_info(std::string plugin) {
  Rcpp::IntegerVector index;
  Rcpp::CharacterVector name, cc, variants;
  Rcpp::NumericVector mem;
  Rcpp::IntegerVector sms;
  const cuda::Plugin& p = cuda::load_plugin(plugin);
  bool available = false;
  std::string reason = p.present ? p.error : not_built;
  int driver = 0, runtime = 0;
  if (p.api) {
    fgc_status st;
    p.api->query(&st);
    available = st.available != 0;
    reason = available ? "" : st.reason;
    driver = st.driver_version;
    runtime = st.runtime_version;
    for (int i = 0; i < st.n_devices; ++i) {
      const fgc_device_info& d = st.devices[i];
      index.push_back(d.index);
      name.push_back(d.name);
      mem.push_back(d.memory_bytes / double(1 << 30));
      cc.push_back(std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
      sms.push_back(d.multiprocessors);
    }
    for (int v = 0; v < p.api->n_variants; ++v) variants.push_back(p.api->variant_name(v));
  }
  Rcpp::DataFrame devices = Rcpp::DataFrame::create(
      Rcpp::Named("index") = index, Rcpp::Named("name") = name, Rcpp::Named("memory_gb") = mem,
      Rcpp::Named("compute_capability") = cc, Rcpp::Named("multiprocessors") = sms,
      Rcpp::Named("stringsAsFactors") = false);
  return Rcpp::List::create(
      Rcpp::Named("built") = p.present, Rcpp::Named("loaded") = p.api != nullptr,
      Rcpp::Named("available") = available, Rcpp::Named("reason") = reason,
      Rcpp::Named("driver_version") = driver, Rcpp::Named("runtime_version") = runtime,
      Rcpp::Named("devices") = devices, Rcpp::Named("variants") = variants,
      Rcpp::Named("plugin") = plugin);
}

// As cpp_fit (rcpp_fit.cpp), with the E-step passes on a GPU: starts are made
// on the CPU by the core's init functions, then run_em with a CudaEngine that
// reads the source once into device memory (or streams it through the
// device on every pass) and keeps it there across iterations and restarts.
// init: 0 kmeans++, 1 random, 2 random_from_data, 3 start (list), 4 labels.
// score: as cpp_fit (bit 1 the scoring sums, bit 2 per-row classes), on the CPU.
// [[Rcpp::export]]
Rcpp::List cpp_fit_cuda(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int k, std::string model,
                        int init, Rcpp::Nullable<Rcpp::List> start,
                        Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                        double tol, Rcpp::NumericVector reg_covar, int threads, double seed,
                        int variant, bool single, bool verbose, int score, std::string plugin,
                        int device, double block_rows, bool stream, Rcpp::List control,
                        Rcpp::Nullable<Rcpp::Function> progress = R_NilValue) {
  const fgc_api* api = plugin_or_stop(plugin);
  const CudaOptions co = cuda_options(api, device, variant, single, block_rows, stream);
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = weights_of(w, src->rows());
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  FitRequest req = fit_request(k, model, init, start, labels, n_init, max_iter, tol, reg_covar,
                               seed, verbose);
  apply_control(req, control);
  req.progress = progress;
  return guarded([&] {
    DataRef data = make_data(*src, wp, ctx);
    CpuEngine init_engine(data, req.model, CpuOptions());
    std::unique_ptr<CudaEngine> engine;
    try {
      engine.reset(new CudaEngine(data, req.model, k, co, api));
    } catch (const CudaError& e) {
      stop_cuda(e);
    }
    if (verbose) Rcpp::Rcout << engine->describe() << "\n";
    Rcpp::List res;
    try {
      res = fit_restarts(init_engine, *engine, req);
      res["device"] = engine->describe();
    } catch (const CudaError& e) {
      stop_cuda(e);
    }
    engine.reset();  // device memory back before scoring on the CPU
    add_scores(*src, wp, ctx, res["parameters"], req.model, score, res);
    return res;
  });
}

// Seconds per E-step pass of each CUDA statistics kernel on the first
// max_rows rows of x (median of reps, after one warm-up pass), from one
// random_from_data start; NA for a variant not asked for (`which`) or that
// cannot run on this shape (out of memory, too many dimensions). A variant
// whose warm-up pass took over 4 times the best median so far (and over
// 50 ms) is not timed further: its warm-up time stands. The rows go to the
// device once for all variants.
// [[Rcpp::export]]
Rcpp::NumericVector cpp_cuda_time_variants(SEXP x, int k, std::string model, bool single,
                                           int threads, int reps, std::string plugin, int device,
                                           double block_rows, double max_rows,
                                           Rcpp::LogicalVector which) {
  const fgc_api* api = plugin_or_stop(plugin);
  std::unique_ptr<Source> full = make_source(x);
  HeadSource src(*full, Index(max_rows));
  const CovarianceModel* m = model_from_name(model);
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  Rcpp::NumericVector out(api->n_variants, NA_REAL);
  std::string last;
  guarded([&] {
    DataRef data = make_data(src, nullptr, ctx);
    const Params p = timing_start(data, m, k);
    std::unique_ptr<CudaEngine> engine;
    double best = R_PosInf;
    for (int v = 0; v < api->n_variants; ++v) {
      if (v < which.size() && which[v] != TRUE) continue;
      try {
        if (!engine)
          engine.reset(new CudaEngine(data, m, k,
                                      cuda_options(api, device, v, single, block_rows, false), api));
        else
          engine->set_variant(v);
        std::vector<double> t;
        Stats st;
        auto w0 = std::chrono::steady_clock::now();
        engine->em_pass(p, st);  // warm up
        const double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
        if (warm > 4 * best && warm > 0.05) {
          out[v] = warm;  // far behind: not worth more passes
        } else {
          for (int r = 0; r < std::max(reps, 1); ++r) {
            auto t0 = std::chrono::steady_clock::now();
            engine->em_pass(p, st);
            t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
          }
          std::sort(t.begin(), t.end());
          out[v] = t[t.size() / 2];
          best = std::min(best, out[v]);
        }
      } catch (const CudaError& e) {
        last = e.what();
        // A variant that does not fit this shape is skipped; anything else is reported.
        if (e.code != FGC_OUT_OF_MEMORY && e.code != FGC_UNSUPPORTED) stop_cuda(e);
      }
      Rcpp::checkUserInterrupt();
    }
    return 0;
  });
  if (std::all_of(out.begin(), out.end(), [](double v) { return ISNAN(v); }))
    Rcpp::stop(std::string("CUDA backend: no kernel variant could run: ") + last);
  return out;
}
