// The host side of the CUDA backend, compiled into the package (and into
// tools/gpu_check) with the core's compiler and flags; it includes no CUDA
// header and links no CUDA library. It
//   - loads the plugin (fastgmm_cuda.so, built by nvcc) with dlopen() when the
//     CUDA backend is asked for or probed, and checks its interface version;
//   - implements the core's Engine seam: every pass prepares the E-step terms
//     on the CPU (prepare(), double), and the rows reach the device only
//     through the fit's block source (DataRef), tile by tile in the fixed tile
//     order: once when they fit on the device (resident), or on every pass
//     (streamed). Tiles are converted on the executor's workers to the
//     compute type about the data's origin (as the CPU kernels see them);
//     the plugin is called from the main thread only, so sequential sources
//     (R callbacks) are read there, as run_tiles() guarantees.
// The statistics come back anchored at the pass's means (rounded to the
// compute type), in the layout of Stats.
#pragma once
#include <memory>
#include <mutex>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef _WIN32
#include <dlfcn.h>
#include <sys/stat.h>
#endif

#include "../core/cpu_engine.h"
#include "../core/engine.h"
#include "../core/mstep.h"
#include "plugin_api.h"

namespace fastgmm {
namespace cuda {

// A CUDA failure reported by the plugin (code: FGC_*), or a plugin that
// cannot be used; the message is user-facing.
struct CudaError : std::runtime_error {
  int code;
  CudaError(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};

// The plugin at one path, loaded at most once per process (never unloaded:
// the CUDA runtime does not survive being unloaded).
struct Plugin {
  std::string path;
  bool present = false;          // the file exists
  const fgc_api* api = nullptr;  // non-null: loaded and of this interface version
  std::string error;             // why api is null
};

// Never throws. Results are cached per path.
inline const Plugin& load_plugin(const std::string& path) {
  static std::mutex m;
  static std::map<std::string, std::unique_ptr<Plugin>> cache;
  std::lock_guard<std::mutex> lock(m);
  std::unique_ptr<Plugin>& slot = cache[path];
  if (slot) return *slot;
  slot.reset(new Plugin);
  Plugin& p = *slot;
  p.path = path;
#ifdef _WIN32
  p.error = "CUDA plugins are not supported on Windows";
#else
  struct stat sb;
  p.present = !path.empty() && stat(path.c_str(), &sb) == 0;
  if (!p.present) {
    p.error = "the CUDA plugin " + path + " was not built";
    return p;
  }
  dlerror();
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    p.error = "the CUDA plugin " + path + " cannot be loaded: " + (e ? e : "unknown dlopen error");
    return p;
  }
  void* sym = dlsym(h, FGC_ENTRY_POINT);
  if (!sym) {
    p.error = path + " is not a fastgmm CUDA plugin (it has no " FGC_ENTRY_POINT "())";
    dlclose(h);
    return p;
  }
  fgc_entry_fn entry = reinterpret_cast<fgc_entry_fn>(sym);
  const fgc_api* api = entry(FGC_ABI_VERSION);
  if (!api || api->abi_version != FGC_ABI_VERSION || api->size < sizeof(fgc_api)) {
    p.error = "the CUDA plugin " + path + " was built for another version of fastgmm "
              "(plugin interface " + std::to_string(FGC_ABI_VERSION) +
              " expected); reinstall fastgmm";
    dlclose(h);
    return p;
  }
  p.api = api;  // the handle stays open for the life of the process
#endif
  return p;
}

[[noreturn]] inline void raise(const fgc_error& e) {
  throw CudaError(e.code, e.message[0] ? std::string(e.message) : std::string("CUDA error"));
}

struct CudaOptions {
  int device = 0;
  bool single = false;     // float compute, double accumulation
  int variant = 4;         // statistics kernel (the plugin's variant_name() lists them)
  int64_t block_rows = 0;  // rows per device block; 0 chooses from the shape
  bool stream = false;     // do not keep the data on the device
};

class CudaEngine : public Engine {
 public:
  // For k components; data must outlive the engine. Throws CudaError.
  CudaEngine(DataRef& data, const CovarianceModel* model, Index k, const CudaOptions& opt,
             const fgc_api* api)
      : data_(data), model_(model), opt_(opt), api_(api), k_(k) {
    if (!api_) throw CudaError(FGC_INVALID, "the CUDA plugin is not loaded");
    open(opt_.single);
  }
  ~CudaEngine() override {
    for (fgc_pass*& p : pass_)
      if (p) api_->destroy(p);
  }
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  void em_pass(const Params& p, Stats& out) override {
    const Prepared q = prepare(p, data_.ctx->ex);
    worst_offset = std::max(worst_offset, q.offset);
    // As the CPU engine: float cannot hold data about the origin beyond
    // anchored_offset_single standard deviations; such passes (and, on the
    // GPU, every later one) are computed in double.
    bool single = opt_.single && !fell_back_to_double;
    if (single && q.offset > anchored_offset_single) {
      fell_back_to_double = true;
      single = false;
      close(true);
    }
    if (!pass_[single ? 1 : 0]) open(single);
    fgc_pass* dev = pass_[single ? 1 : 0];
    if (p.k != k_ || p.d != data_.d() || p.model->scatter != model_->scatter ||
        p.model->shape != model_->shape)
      throw CudaError(FGC_INVALID, "CUDA backend: parameters of another shape than the engine's");
    const MatrixXd mean = q.mean.transpose();  // d x k
    MatrixXd P;
    fgc_terms t;
    t.cst = q.cst.data();
    t.mean = mean.data();
    t.U = nullptr;
    t.P = nullptr;
    if (q.shape == EShape::Full || q.shape == EShape::Tied) {
      t.U = q.U.data();
    } else {
      P = q.P.transpose();  // Diag: d x k; Spherical: 1 x k
      t.P = P.data();
    }
    fgc_error err;
    if (api_->pass_begin(dev, &t, &err) != FGC_OK) raise(err);
    if (!resident_[single ? 1 : 0]) {
      if (single)
        send<float>(dev, false);
      else
        send<double>(dev, false);
    }
    // The anchors as the device holds them.
    MatrixXd anchors = single ? MatrixXd(mean.cast<float>().cast<double>()) : mean;
    out.reset(model_->scatter, anchors);
    if (api_->pass_end(dev, out.s0.data(), out.s1.data(), out.s2.data(), &out.loglik, &err) !=
        FGC_OK)
      raise(err);
    ++passes;
  }

  // Throws CudaError (code FGC_UNSUPPORTED when the variant cannot run on this shape).
  void set_variant(int v) {
    fgc_error err;
    for (fgc_pass* p : pass_)
      if (p && api_->set_variant(p, v, &err) != FGC_OK) raise(err);
    opt_.variant = v;
  }
  std::string describe() const { return info().description; }
  bool resident() const { return info().resident != 0; }
  int64_t block_rows() const { return info().block_rows; }
  DataRef& data() { return data_; }

 private:
  fgc_pass_info info() const {
    fgc_pass_info i = fgc_pass_info();
    fgc_pass* p = pass_[1] ? pass_[1] : pass_[0];
    if (p) api_->info(p, &i);
    return i;
  }

  void close(bool single) {
    fgc_pass*& p = pass_[single ? 1 : 0];
    if (p) api_->destroy(p);
    p = nullptr;
  }

  // A device pass in the given precision; the data go up now when resident.
  void open(bool single) {
    fgc_options o;
    o.n = data_.n();
    o.d = data_.d();
    o.k = k_;
    o.shape = int(model_->shape);  // EShape and the FGC_SHAPE_ codes agree (checked below)
    o.scatter = int(model_->scatter);
    o.weighted = data_.w ? 1 : 0;
    o.device = opt_.device;
    o.single = single ? 1 : 0;
    o.variant = opt_.variant;
    o.block_rows = opt_.block_rows;
    o.stream = opt_.stream ? 1 : 0;
    fgc_error err;
    fgc_pass* p = nullptr;
    if (api_->create(&o, &p, &err) != FGC_OK) raise(err);
    fgc_pass_info i;
    api_->info(p, &i);
    try {
      if (i.resident) {
        if (single)
          send<float>(p, true);
        else
          send<double>(p, true);
      }
    } catch (...) {  // (an interrupt, a read error): the device memory goes back now
      api_->destroy(p);
      throw;
    }
    pass_[single ? 1 : 0] = p;
    resident_[single ? 1 : 0] = i.resident != 0;
  }

  // Every row of the source, tile by tile in order, to the device: converted
  // on the workers, handed over on the main thread (upload, or feed in a pass).
  template <typename T>
  void send(fgc_pass* dev, bool upload) {
    const Index d = data_.d();
    const Tiling& tl = data_.tiling;
    PassContext& ctx = *data_.ctx;
    const bool weighted = data_.w != nullptr;
    const Index batch =
        tile_batch(ctx, tl, double(sizeof(T)) * double(tl.size) * double(d + 1));
    std::vector<std::vector<T>> xs(static_cast<size_t>(batch)), ws(static_cast<size_t>(batch));
    const double* origin = data_.origin.data();
    Index next = 0;
    run_tiles(*data_.src, data_.w, tl, ctx, batch, 2.0 * double(d),
              [&](const TileTask& task) {
                std::vector<T>& x = xs[size_t(task.slot)];
                const Index m = task.rows;
                x.resize(size_t(m * d));
                for (Index c = 0; c < d; ++c) {
                  T* dst = x.data() + c * m;
                  const double o = origin[c];
                  for (Index i = 0; i < m; ++i) dst[i] = T(task.view.at(i, c) - o);
                }
                if (weighted) {
                  std::vector<T>& w = ws[size_t(task.slot)];
                  w.resize(size_t(m));
                  for (Index i = 0; i < m; ++i) w[size_t(i)] = T(task.w[i]);
                }
              },
              [&](const TileTask& task) {
                const T* x = xs[size_t(task.slot)].data();
                const T* w = weighted ? ws[size_t(task.slot)].data() : nullptr;
                fgc_error err;
                const int rc = upload ? api_->upload(dev, next, task.rows, x, task.rows, w, &err)
                                      : api_->feed(dev, task.rows, x, task.rows, w, &err);
                if (rc != FGC_OK) raise(err);
                next += task.rows;
              });
  }

  DataRef& data_;
  const CovarianceModel* model_;
  CudaOptions opt_;
  const fgc_api* api_;
  Index k_;
  fgc_pass* pass_[2] = {nullptr, nullptr};  // [0] double, [1] single
  bool resident_[2] = {false, false};

  static_assert(int(EShape::Full) == FGC_SHAPE_FULL && int(EShape::Tied) == FGC_SHAPE_TIED &&
                    int(EShape::Diag) == FGC_SHAPE_DIAG &&
                    int(EShape::Spherical) == FGC_SHAPE_SPHERICAL,
                "EShape and the plugin's shape codes");
  static_assert(int(ScatterKind::Full) == FGC_SCATTER_FULL &&
                    int(ScatterKind::Diag) == FGC_SCATTER_DIAG &&
                    int(ScatterKind::Trace) == FGC_SCATTER_TRACE,
                "ScatterKind and the plugin's scatter codes");
};

}  // namespace cuda
}  // namespace fastgmm
