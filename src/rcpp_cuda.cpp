// Entry points of the CUDA backend: device discovery, fitting and timing the
// kernel variants. Compiles with and without FASTGMM_CUDA (set by configure
// when nvcc was found); without it every entry point reports that CUDA is not
// built in, and the package works on the CPU alone.
#include <algorithm>
#include <chrono>
#include <iomanip>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/em.h"
#include "core/init.h"
#include "core/rng.h"
#include "rcpp_map.h"
#include "rcpp_restarts.h"
#ifdef FASTGMM_CUDA
#include "cuda/cuda_engine.h"
#endif

using namespace fastgmm;

namespace {

const char* const not_built =
    "this build of fastgmm has no CUDA backend (configure found no nvcc, or FASTGMM_CUDA=no "
    "was set at install time)";

#ifdef FASTGMM_CUDA
cuda::PassOptions pass_options(int device, int variant, bool single, double block_rows,
                               bool stream) {
  if (variant < 0 || variant >= cuda::n_stats_variants)
    Rcpp::stop("internal error: unknown CUDA kernel variant");
  cuda::PassOptions o;
  o.device = device;
  o.variant = variant;
  o.single = single;
  o.block_rows = block_rows > 0 ? int64_t(block_rows) : 0;
  o.stream = stream;
  return o;
}

[[noreturn]] void stop_cuda(const CudaError& e) { Rcpp::stop(std::string("CUDA backend: ") + e.what()); }
#endif

}  // namespace

// list(built, available, reason, driver_version, runtime_version, devices =
// data frame of index, name, memory_gb, compute_capability, multiprocessors).
// [[Rcpp::export]]
Rcpp::List cpp_cuda_info() {
  Rcpp::IntegerVector index;
  Rcpp::CharacterVector name, cc;
  Rcpp::NumericVector mem;
  Rcpp::IntegerVector sms;
  bool built = false, available = false;
  std::string reason = not_built;
  int driver = 0, runtime = 0;
#ifdef FASTGMM_CUDA
  built = true;
  const cuda::DeviceStatus st = cuda::query_devices();
  available = st.available;
  reason = st.available ? "" : st.reason;
  driver = st.driver_version;
  runtime = st.runtime_version;
  for (const cuda::DeviceInfo& d : st.devices) {
    index.push_back(d.index);
    name.push_back(d.name);
    mem.push_back(d.memory_bytes / double(1 << 30));
    cc.push_back(std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor));
    sms.push_back(d.multiprocessors);
  }
#endif
  Rcpp::DataFrame devices = Rcpp::DataFrame::create(
      Rcpp::Named("index") = index, Rcpp::Named("name") = name, Rcpp::Named("memory_gb") = mem,
      Rcpp::Named("compute_capability") = cc, Rcpp::Named("multiprocessors") = sms,
      Rcpp::Named("stringsAsFactors") = false);
  return Rcpp::List::create(Rcpp::Named("built") = built, Rcpp::Named("available") = available,
                            Rcpp::Named("reason") = reason,
                            Rcpp::Named("driver_version") = driver,
                            Rcpp::Named("runtime_version") = runtime,
                            Rcpp::Named("devices") = devices);
}

// Names of the CUDA statistics kernels, in the order of their codes.
// [[Rcpp::export]]
Rcpp::CharacterVector cpp_cuda_variant_names() {
  return Rcpp::CharacterVector::create("cell", "cell_all", "component", "component_split",
                                       "cublas");
}

// As cpp_fit (rcpp_fit.cpp), with the E-step passes on a GPU: starts are made
// on the CPU by the core's init functions, then run_em with a CudaEngine that
// keeps the data on the device across iterations and restarts.
// init: 0 kmeans++, 1 random, 2 random_from_data, 3 start (list), 4 labels.
// [[Rcpp::export]]
Rcpp::List cpp_fit_cuda(Rcpp::NumericMatrix x, Rcpp::Nullable<Rcpp::NumericVector> w, int k,
                        int cov, int init, Rcpp::Nullable<Rcpp::List> start,
                        Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                        double tol, Rcpp::NumericVector reg_covar, int threads, double seed, int variant,
                        bool single, bool verbose, int device, double block_rows, bool stream) {
#ifndef FASTGMM_CUDA
  (void)x; (void)w; (void)k; (void)cov; (void)init; (void)start; (void)labels; (void)n_init;
  (void)max_iter; (void)tol; (void)reg_covar; (void)threads; (void)seed; (void)variant;
  (void)single; (void)verbose; (void)device; (void)block_rows; (void)stream;
  Rcpp::stop(not_built);
#else
  const CovType ct = cov_from_int(cov);
  const Data data = data_view(x, w);
  ParallelExecutor ex(threads);
  const cuda::PassOptions po = pass_options(device, variant, single, block_rows, stream);
  std::unique_ptr<CudaEngine> engine;
  try {
    engine.reset(new CudaEngine(data, ct, k, po));
  } catch (const CudaError& e) {
    stop_cuda(e);
  }
  if (verbose) Rcpp::Rcout << engine->device().describe() << "\n";
  FitRequest req = fit_request(k, cov, init, start, labels, n_init, max_iter, tol, reg_covar, seed,
                               verbose);
  try {
    Rcpp::List res = fit_restarts(data, ex, *engine, req);
    res["device"] = engine->device().describe();
    return res;
  } catch (const CudaError& e) {
    stop_cuda(e);
  }
#endif
}

// Seconds per E-step pass of each CUDA statistics kernel on x (median of
// reps, after one warm-up pass), from one random_from_data start; NA for a
// variant that cannot run on this shape (e.g. out of memory). The data are
// copied to the device once for all variants.
// [[Rcpp::export]]
Rcpp::NumericVector cpp_cuda_time_variants(Rcpp::NumericMatrix x, int k, int cov, bool single,
                                           int threads, int reps, int device, double block_rows) {
#ifndef FASTGMM_CUDA
  (void)x; (void)k; (void)cov; (void)single; (void)threads; (void)reps; (void)device;
  (void)block_rows;
  Rcpp::stop(not_built);
#else
  const CovType ct = cov_from_int(cov);
  const Data data = data_view(x, R_NilValue);
  ParallelExecutor ex(threads);
  Params p;
  try {
    p = init_params(data, ex, ct, k, InitMethod::RandomFromData, 42, 1e-6);
  } catch (const ModelError& e) {
    Rcpp::stop(e.what());
  }
  Rcpp::NumericVector out(cuda::n_stats_variants, NA_REAL);
  std::unique_ptr<CudaEngine> engine;
  std::string last;
  for (int v = 0; v < cuda::n_stats_variants; ++v) {
    try {
      if (!engine)
        engine.reset(new CudaEngine(data, ct, k, pass_options(device, v, single, block_rows, false)));
      else
        engine->device().set_variant(v);
      std::vector<double> t;
      Stats st;
      engine->em_pass(p, st);  // warm up
      for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        engine->em_pass(p, st);
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(t.begin(), t.end());
      out[v] = t[t.size() / 2];
    } catch (const ModelError& e) {
      Rcpp::stop(e.what());
    } catch (const CudaError& e) {
      last = e.what();
      // A variant that does not fit is skipped; anything else is reported.
      if (last.find("out of GPU memory") == std::string::npos &&
          last.find("supports at most") == std::string::npos)
        stop_cuda(e);
    }
    Rcpp::checkUserInterrupt();
  }
  if (std::all_of(out.begin(), out.end(), [](double v) { return ISNAN(v); }))
    Rcpp::stop(std::string("CUDA backend: no kernel variant could run: ") + last);
  return out;
#endif
}
