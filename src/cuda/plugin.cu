// The CUDA plugin (fastgmm_cuda.so): device discovery, data kept on the
// device or streamed through a block of device memory, the fused E-step and
// the five statistics variants, cuBLAS, and CUDA errors turned into status
// codes with user-facing messages. Its only interface is the C function table
// of plugin_api.h; the host side that feeds it rows from a block source is
// cuda_engine.h (compiled into the package, which never links CUDA). Kernels
// and the device layout are described in kernels.cuh.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.cuh"
#include "plugin_api.h"

#if defined(__GNUC__)
#define FGC_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define FGC_EXPORT extern "C"
#endif

namespace fastgmm {
namespace cuda {

namespace {

// Statistics variants, in the order of their codes (R/backend-cuda.R).
enum class Variant {
  Cell = 0,            // (a) one thread block per (component, cell), all rows
  CellAll = 1,         // (b) one thread block per cell, all components
  Component = 2,       // (c) one thread block per component, all its cells, all rows
  ComponentSplit = 3,  // (d) as (c) over row chunks, then a second reduction
  Cublas = 4           // (e) cuBLAS GEMMs on anchored, responsibility-scaled data
};
constexpr int n_variants = 5;
const char* const variant_names[n_variants] = {"cell", "cell_all", "component", "component_split",
                                               "cublas"};

const char* variant_name(int v) { return v >= 0 && v < n_variants ? variant_names[v] : "unknown"; }

using kern::kDiag;
using kern::kFull;
using kern::kSph;
using kern::kTied;

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kScratchBudget = 512 * kMiB;  // scratch of one block of rows
constexpr int kChunkRows = 2048;                // variant (d): rows per thread block
constexpr int kGemmRowsSingle = 1024;           // variant (e), float: rows per GEMM
constexpr size_t kSmemCap = 48 * 1024;          // shared memory per block without opt-in
constexpr int64_t kBlasWorkspace = 32 * kMiB;   // cuBLAS workspace (32 MiB suits Hopper)
constexpr int64_t kMaxGridX = (int64_t(1) << 31) - 1;
constexpr unsigned kMaxGridY = 65535;

// Failures inside the plugin; turned into status codes at the C boundary.
struct Failure : std::runtime_error {
  int code;
  Failure(int c, const std::string& m) : std::runtime_error(m), code(c) {}
};

std::string fmt_mb(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f MB", bytes / double(kMiB));
  return buf;
}

std::string memory_note(int device) {
  size_t fr = 0, tot = 0;
  if (cudaMemGetInfo(&fr, &tot) != cudaSuccess) {
    cudaGetLastError();
    return "";
  }
  return " (" + fmt_mb(double(fr)) + " free of " + fmt_mb(double(tot)) + " on CUDA device " +
         std::to_string(device) + ")";
}

[[noreturn]] void fail(cudaError_t e, const std::string& what) {
  std::string msg = "CUDA error while " + what + ": " + cudaGetErrorString(e) + " (" +
                    cudaGetErrorName(e) + ")";
  if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction)
    msg += "; this build of fastgmm has no kernels for the device's architecture: reinstall "
           "with CUDA_ARCH set to include it";
  if (e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure ||
      e == cudaErrorIllegalInstruction || e == cudaErrorMisalignedAddress ||
      e == cudaErrorHardwareStackError || e == cudaErrorInvalidPc || e == cudaErrorAssert)
    msg += "; the GPU context is now unusable in this process (restart R to use the GPU again)";
  throw Failure(FGC_ERROR, msg);
}

void check(cudaError_t e, const std::string& what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear the error when it is not sticky
  if (e == cudaErrorMemoryAllocation)
    throw Failure(FGC_OUT_OF_MEMORY, "out of GPU memory while " + what);
  fail(e, what);
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

void check_blas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  if (s == CUBLAS_STATUS_ALLOC_FAILED)
    throw Failure(FGC_OUT_OF_MEMORY, std::string("out of GPU memory in cuBLAS while ") + what);
  throw Failure(FGC_ERROR, std::string("cuBLAS error while ") + what + ": " +
                               cublasGetStatusString(s));
}

std::string cuda_version(int v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Why cudaGetDeviceCount() failed, in words.
std::string no_device_reason(cudaError_t e, int driver, int runtime) {
  if (driver == 0) return "no NVIDIA driver found on this machine";
  if (e == cudaErrorInsufficientDriver)
    return "the NVIDIA driver supports CUDA " + cuda_version(driver) +
           ", older than the CUDA runtime " + cuda_version(runtime) +
           " fastgmm was built with; update the driver";
  if (e == cudaErrorNoDevice) return "no CUDA device found";
  return std::string("the CUDA runtime reports: ") + cudaGetErrorString(e);
}

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
unsigned blocks_for(int64_t m, int threads) { return unsigned((m + threads - 1) / threads); }

void copy_str(char* dst, size_t cap, const std::string& s) {
  const size_t n = std::min(cap - 1, s.size());
  std::memcpy(dst, s.data(), n);
  dst[n] = 0;
}

// Device memory owned by its object.
template <typename T>
class DevBuf {
 public:
  DevBuf() = default;
  ~DevBuf() { release(); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;

  // Room for at least count elements (contents undefined).
  void reserve(int64_t count, const char* what, int device) {
    if (count <= cap_) return;
    release();
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size_t(count) * sizeof(T));
    if (e != cudaSuccess) {
      cudaGetLastError();
      if (e == cudaErrorMemoryAllocation)
        throw Failure(FGC_OUT_OF_MEMORY,
                      "out of GPU memory: " + std::string(what) + " needs " +
                          fmt_mb(double(count) * sizeof(T)) + memory_note(device) +
                          "; try single precision, fewer components or smaller blocks of rows");
      fail(e, std::string("allocating ") + what);
    }
    p_ = static_cast<T*>(p);
    cap_ = count;
  }
  void release() {
    if (p_) cudaFree(p_);
    p_ = nullptr;
    cap_ = 0;
  }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
  int64_t cap_ = 0;
};

struct Stream {
  cudaStream_t s = nullptr;
  ~Stream() {
    if (s) cudaStreamDestroy(s);
  }
};

struct Blas {
  cublasHandle_t h = nullptr;
  ~Blas() {
    if (h) cublasDestroy(h);
  }
};

// C_t = A_t' B_t for t < batch.
cublasStatus_t gemm_tn(cublasHandle_t h, int m, int n, int kk, const double* A, int lda,
                       long long sA, const double* B, int ldb, long long sB, double* C, int ldc,
                       long long sC, int batch) {
  const double one = 1, zero = 0;
  return cublasDgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, kk, &one, A, lda, sA, B,
                                   ldb, sB, &zero, C, ldc, sC, batch);
}
cublasStatus_t gemm_tn(cublasHandle_t h, int m, int n, int kk, const float* A, int lda,
                       long long sA, const float* B, int ldb, long long sB, float* C, int ldc,
                       long long sC, int batch) {
  const float one = 1, zero = 0;
  return cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, m, n, kk, &one, A, lda, sA, B,
                                   ldb, sB, &zero, C, ldc, sC, batch);
}

// The cells (a, b) of one component (see kernels.cuh).
void make_cells(bool full, int d, std::vector<int>& ca, std::vector<int>& cb) {
  ca.clear();
  cb.clear();
  if (full) {
    for (int b = 0; b <= d; ++b)
      for (int a = 0; a <= b; ++a) {
        ca.push_back(a);
        cb.push_back(b);
      }
  } else {
    for (int c = 0; c < d; ++c) {
      ca.push_back(c);
      cb.push_back(c);
    }
    for (int c = 0; c <= d; ++c) {
      ca.push_back(c);
      cb.push_back(d);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------

void query(fgc_status* st) {
  std::memset(st, 0, sizeof *st);
  cudaRuntimeGetVersion(&st->runtime_version);
  if (cudaDriverGetVersion(&st->driver_version) != cudaSuccess) st->driver_version = 0;
  cudaGetLastError();
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    copy_str(st->reason, sizeof st->reason,
             no_device_reason(e, st->driver_version, st->runtime_version));
    return;
  }
  if (count == 0) {
    copy_str(st->reason, sizeof st->reason, "no CUDA device found");
    return;
  }
  for (int i = 0; i < count && st->n_devices < FGC_MAX_DEVICES; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    fgc_device_info& di = st->devices[st->n_devices++];
    di.index = i;
    copy_str(di.name, sizeof di.name, p.name);
    di.memory_bytes = double(p.totalGlobalMem);
    di.cc_major = p.major;
    di.cc_minor = p.minor;
    di.multiprocessors = p.multiProcessorCount;
  }
  if (st->n_devices == 0) {
    copy_str(st->reason, sizeof st->reason, "no CUDA device could be queried");
    return;
  }
  // Is there code for the first device's architecture? (creates its context)
  int cur = 0;
  cudaGetDevice(&cur);
  cudaSetDevice(st->devices[0].index);
  cudaFuncAttributes attr;
  e = cudaFuncGetAttributes(&attr, kern::estep_kernel<double>);
  cudaSetDevice(cur);
  if (e != cudaSuccess) {
    cudaGetLastError();
    const fgc_device_info& d0 = st->devices[0];
    if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction)
      copy_str(st->reason, sizeof st->reason,
               "this build of fastgmm has no kernels for " + std::string(d0.name) +
                   " (compute capability " + std::to_string(d0.cc_major) + "." +
                   std::to_string(d0.cc_minor) + "); reinstall with CUDA_ARCH including it");
    else
      copy_str(st->reason, sizeof st->reason,
               std::string("CUDA device 0 cannot be used: ") + cudaGetErrorString(e));
    return;
  }
  st->available = 1;
}

// ---------------------------------------------------------------------------------

struct PassBase {
  virtual ~PassBase() {}
  virtual void set_variant(int v) = 0;
  virtual void upload(int64_t r0, int64_t rows, const void* x, int64_t ldx, const void* w) = 0;
  virtual void begin(const fgc_terms& t) = 0;
  virtual void feed(int64_t rows, const void* x, int64_t ldx, const void* w) = 0;
  virtual void end(double* s0, double* s1, double* s2, double* loglik) = 0;
  bool resident = true;
  int64_t B = 0;
  std::string desc;
};

namespace {

template <typename T>
struct Pass : PassBase {
  int dev, shape, scatter, k, d;
  int64_t n;
  bool weighted, full;
  fgc_options opt;
  int variant = 0;
  // cells of one component (kernels.cuh)
  std::vector<int> hca, hcb;
  int64_t ncells = 0, ntasks = 0;
  size_t smem_cap = kSmemCap;  // shared memory per block
  size_t cap_c = 0;             // ... left for the component kernel's dynamic shared memory
  size_t max_pitch = size_t(INT_MAX);  // largest pitch of a 2-D copy
  bool stage_e = false;  // the E-step copies rows into shared memory
  int tile = 0;          // (c), (d): rows per shared-memory tile (< 1: d too large)
  int comp_threads = 32; // (c), (d): threads per block
  int group = 1;         // (e): components per batch of GEMMs
  int64_t ldx = 0;
  std::string dev_name;
  // state of the data and of a pass
  int64_t uploaded = 0;  // resident: rows received
  bool in_pass = false;
  int64_t fed = 0, fill = 0;  // streamed: rows received this pass, rows in the block
  // Destroyed in reverse order: the buffers, the cuBLAS handle, its
  // workspace, then the stream they all use.
  Stream stream;
  DevBuf<unsigned char> blas_ws;
  Blas blas;
  DevBuf<T> X, W;                    // resident data: ldx x (d + 1), weights
  DevBuf<T> Xb, Wb;                  // streamed block: B x (d + 1), B
  DevBuf<T> R, terms, Z1, Z2, G, ones;
  DevBuf<double> part_ll, part, acc;  // acc: k ncells statistics, then the log-likelihood
  DevBuf<int> d_ca, d_cb;
  std::vector<T> hterms;
  std::vector<double> hacc;
  int64_t off_cst = 0, off_A = 0, off_U = 0, off_P = 0;

  explicit Pass(const fgc_options& o)
      : dev(o.device), shape(o.shape), scatter(o.scatter), k(int(o.k)), d(int(o.d)), n(o.n),
        weighted(o.weighted != 0), full(o.scatter == FGC_SCATTER_FULL), opt(o) {
    if (n < 1 || d < 1 || k < 1 || shape < 0 || shape > 3 || scatter < 0 || scatter > 2)
      throw Failure(FGC_INVALID, "CUDA backend: invalid problem shape");
    if (o.d > 65000 || o.k > (1 << 20))
      throw Failure(FGC_UNSUPPORTED, "CUDA backend: at most 65000 dimensions and 2^20 components");
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      int driver = 0, runtime = 0;
      if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
      cudaRuntimeGetVersion(&runtime);
      cudaGetLastError();
      throw Failure(FGC_ERROR, "no usable CUDA device: " + no_device_reason(e, driver, runtime));
    }
    if (count == 0) throw Failure(FGC_ERROR, "no CUDA device found");
    if (dev < 0 || dev >= count)
      throw Failure(FGC_INVALID, "CUDA device " + std::to_string(dev) + " does not exist (" +
                                     std::to_string(count) + " found)");
    check(cudaSetDevice(dev), "selecting the device");
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, dev), "querying the device");
    dev_name = prop.name;
    if (prop.sharedMemPerBlock > 0) smem_cap = std::min(kSmemCap, size_t(prop.sharedMemPerBlock));
    if (prop.memPitch > 0) max_pitch = size_t(prop.memPitch);
    cudaFuncAttributes ea, ca;
    check(cudaFuncGetAttributes(&ea, kern::estep_kernel<T>), "loading the kernels");
    check(cudaFuncGetAttributes(&ca, kern::stats_component_kernel<T>), "loading the kernels");
    // Static shared memory: what the kernels declare, or what the runtime says if more.
    const size_t static_e = std::max(kern::kEStaticSmem, size_t(ea.sharedSizeBytes));
    const size_t static_c = std::max(kern::kCStaticSmem, size_t(ca.sharedSizeBytes));
    check(cudaStreamCreateWithFlags(&stream.s, cudaStreamNonBlocking), "creating a stream");
    check_blas(cublasCreate(&blas.h), "creating the cuBLAS handle");
    check_blas(cublasSetStream(blas.h, stream.s), "setting the cuBLAS stream");
    check_blas(cublasSetMathMode(blas.h, CUBLAS_DEFAULT_MATH), "setting the cuBLAS math mode");
    check_blas(cublasSetAtomicsMode(blas.h, CUBLAS_ATOMICS_NOT_ALLOWED),
               "setting the cuBLAS atomics mode");
    // A fixed workspace of our own: cuBLAS's choice of algorithm, hence the
    // rounding of its sums, then does not depend on what else runs.
    blas_ws.reserve(kBlasWorkspace, "the cuBLAS workspace", dev);
    check_blas(cublasSetWorkspace(blas.h, blas_ws.get(), size_t(kBlasWorkspace)),
               "setting the cuBLAS workspace");

    make_cells(full, d, hca, hcb);
    ncells = int64_t(hca.size());
    ntasks = ncells * k;
    const int64_t dd = d + 1;
    const size_t sz = sizeof(T);
    // The E-step stages rows in shared memory when they fit beside its static buffer.
    stage_e = size_t(d) * kern::kEThreads * sz + static_e <= smem_cap;
    {
      cap_c = smem_cap > static_c ? smem_cap - static_c : 0;
      tile = int(std::min<int64_t>(64, (int64_t(cap_c / sz) + 1) / (dd + 1) - 1));
      const int64_t per = (ncells + kern::kTPT - 1) / kern::kTPT;
      comp_threads = int(std::min<int64_t>(256, std::max<int64_t>(32, round_up(per, 32))));
    }
    const int64_t width = full ? dd : 2 * int64_t(d) + 1;  // (e): columns per matrix
    group = int(std::max<int64_t>(1, std::min<int64_t>(k, 512 / width)));

    // Rows per block: the scratch of the largest variant within the budget.
    double base = double(k) * sz + 8.0 / kern::kEThreads;
    if (opt.stream) base += double(dd) * sz + (weighted ? sz : 0);
    const double var_d = double(ntasks) * 8.0 / kChunkRows;
    double var_e = (full ? 2.0 : 1.0) * double(group) * double(width) * sz;
    if (opt.single) var_e += double(group) * double(full ? width * width : width) * sz / kGemmRowsSingle;
    const double bpr = base + std::max(var_d, var_e);
    int64_t b = int64_t(double(kScratchBudget) / bpr);
    b = std::max<int64_t>(1024, std::min<int64_t>(int64_t(1) << 21, b)) / 256 * 256;
    b = std::min(b, round_up(n, 256));
    if (opt.block_rows > 0) b = std::min<int64_t>(opt.block_rows, INT_MAX / 2);
    B = b;

    // Data: on the device when they fit (and streaming is not asked for).
    ldx = round_up(n, 32);
    resident = !opt.stream;
    if (resident) {
      try {
        X.reserve(ldx * dd, "the data", dev);
        if (weighted) W.reserve(ldx, "the weights", dev);
      } catch (const Failure& f) {
        if (f.code != FGC_OUT_OF_MEMORY) throw;
        X.release();
        W.release();
        resident = false;
      }
    }
    if (resident) {
      kern::fill_kernel<T><<<blocks_for(ldx, 256), 256, 0, stream.s>>>(X.get() + d * ldx, ldx, T(1));
      check_launch("filling the column of ones");
    } else {
      Xb.reserve(B * dd, "a block of rows", dev);
      if (weighted) Wb.reserve(B, "a block of weights", dev);
      kern::fill_kernel<T><<<blocks_for(B, 256), 256, 0, stream.s>>>(Xb.get() + B * d, B, T(1));
      check_launch("filling the column of ones");
    }

    // Scratch for every variant, then the variant's own.
    R.reserve(B * k, "the responsibilities of a block", dev);
    part_ll.reserve(blocks_for(B, kern::kEThreads), "partial log-likelihoods", dev);
    acc.reserve(ntasks + 1, "the statistics", dev);
    d_ca.reserve(ncells, "the cell lists", dev);
    d_cb.reserve(ncells, "the cell lists", dev);
    check(cudaMemcpyAsync(d_ca.get(), hca.data(), size_t(ncells) * sizeof(int),
                          cudaMemcpyHostToDevice, stream.s),
          "copying the cell lists");
    check(cudaMemcpyAsync(d_cb.get(), hcb.data(), size_t(ncells) * sizeof(int),
                          cudaMemcpyHostToDevice, stream.s),
          "copying the cell lists");
    off_cst = 0;
    off_A = off_cst + k;
    off_U = off_A + int64_t(k) * d;
    const int64_t nU = shape == kFull ? int64_t(k) * d * d : shape == kTied ? int64_t(d) * d : 0;
    off_P = off_U + nU;
    const int64_t nP = shape == kDiag ? int64_t(k) * d : shape == kSph ? k : 0;
    hterms.assign(size_t(off_P + nP), T(0));
    terms.reserve(int64_t(hterms.size()), "the parameters", dev);
    hacc.resize(size_t(ntasks + 1));
    set_variant(o.variant);
    check(cudaStreamSynchronize(stream.s), "setting up the device data");
  }

  ~Pass() override { cudaSetDevice(dev); }

  void set_variant(int v) override {
    if (v < 0 || v >= n_variants) throw Failure(FGC_INVALID, "CUDA backend: unknown kernel variant");
    if (in_pass) throw Failure(FGC_INVALID, "CUDA backend: variant changed during a pass");
    check(cudaSetDevice(dev), "selecting the device");
    const Variant sv = Variant(v);
    if ((sv == Variant::Component || sv == Variant::ComponentSplit) && tile < 1)
      throw Failure(FGC_UNSUPPORTED,
                    std::string("CUDA kernel variant \"") + variant_name(v) +
                        "\" supports at most " +
                        std::to_string((int64_t(cap_c / sizeof(T)) + 1) / 2 - 2) +
                        " dimensions in " + (opt.single ? "single" : "double") + " precision");
    variant = -1;  // until the new variant's scratch is in place
    part.release();
    Z1.release();
    Z2.release();
    G.release();
    ones.release();
    if (sv == Variant::ComponentSplit)
      part.reserve(int64_t(nchunks_split(int(B))) * ntasks, "partial statistics", dev);
    if (sv == Variant::Cublas) {
      const int rows = gemm_rows(int(B));
      const int64_t m = int64_t((B + rows - 1) / rows) * rows;  // padded rows
      const int64_t w = width();
      Z1.reserve(m * group * w, "scaled data for cuBLAS", dev);
      if (full) {
        Z2.reserve(m * group * w, "scaled data for cuBLAS", dev);
      } else {
        ones.reserve(rows, "a vector of ones", dev);
        kern::fill_kernel<T><<<blocks_for(rows, 256), 256, 0, stream.s>>>(ones.get(), rows, T(1));
        check_launch("filling a vector of ones");
      }
      G.reserve(((B + rows - 1) / rows) * group * gstride(), "cuBLAS products", dev);
    }
    variant = v;
    desc = "CUDA device " + std::to_string(dev) + " (" + dev_name + "), data " +
           (resident ? "on the device" : "streamed from host memory") + ", " +
           std::to_string(B) + " rows per block, kernel variant " + variant_name(v) + ", " +
           (opt.single ? "single" : "double") + " precision";
  }

  int64_t width() const { return full ? d + 1 : 2 * int64_t(d) + 1; }
  int64_t gstride() const { return full ? int64_t(d + 1) * (d + 1) : width(); }
  // (e): rows per GEMM (float: short sums, then double); double: all rows of the block.
  int gemm_rows(int b) const { return opt.single ? kGemmRowsSingle : int(round_up(b, 32)); }
  // (d): rows per thread block, at most kMaxGridY chunks.
  int chunk_rows(int b) const {
    return int(std::max<int64_t>(kChunkRows, (int64_t(b) + kMaxGridY - 1) / kMaxGridY));
  }
  int nchunks_split(int b) const { return (b + chunk_rows(b) - 1) / chunk_rows(b); }

  // Rows (x - origin, in T, column-major, leading dimension ldh) to device
  // memory at dst (leading dimension ldd), weights likewise.
  void copy_rows(T* dst, int64_t ldd, T* wdst, int64_t rows, const void* x, int64_t ldh,
                 const void* w, const char* what) {
    if (rows <= 0) return;
    const size_t dp = size_t(ldd) * sizeof(T), sp = size_t(ldh) * sizeof(T);
    if (dp <= max_pitch && sp <= max_pitch) {
      check(cudaMemcpy2DAsync(dst, dp, x, sp, size_t(rows) * sizeof(T), size_t(d),
                              cudaMemcpyHostToDevice, stream.s),
            what);
    } else {  // pitches beyond what 2-D copies take (n above 2^28 rows): column by column
      for (int c = 0; c < d; ++c)
        check(cudaMemcpyAsync(dst + int64_t(c) * ldd, static_cast<const T*>(x) + int64_t(c) * ldh,
                              size_t(rows) * sizeof(T), cudaMemcpyHostToDevice, stream.s),
              what);
    }
    if (weighted) {
      if (!w) throw Failure(FGC_INVALID, "CUDA backend: weights missing");
      check(cudaMemcpyAsync(wdst, w, size_t(rows) * sizeof(T), cudaMemcpyHostToDevice, stream.s),
            what);
    }
  }

  void upload(int64_t r0, int64_t rows, const void* x, int64_t ldh, const void* w) override {
    if (!resident) throw Failure(FGC_INVALID, "CUDA backend: upload to streamed data");
    if (r0 != uploaded || rows < 0 || r0 + rows > n || ldh < rows)
      throw Failure(FGC_INVALID, "CUDA backend: rows uploaded out of order");
    check(cudaSetDevice(dev), "selecting the device");
    copy_rows(X.get() + r0, ldx, weighted ? W.get() + r0 : nullptr, rows, x, ldh, w,
              "copying the data to the device");
    uploaded += rows;
    if (uploaded == n) check(cudaStreamSynchronize(stream.s), "copying the data to the device");
  }

  void begin(const fgc_terms& t) override {
    // (a pass left unfinished, e.g. by an interrupt, is abandoned)
    if (resident && uploaded != n) throw Failure(FGC_INVALID, "CUDA backend: data not uploaded");
    if (variant < 0) throw Failure(FGC_INVALID, "CUDA backend: no kernel variant set");
    check(cudaSetDevice(dev), "selecting the device");
    for (int j = 0; j < k; ++j) hterms[size_t(off_cst + j)] = T(t.cst[j]);
    for (int64_t i = 0; i < int64_t(k) * d; ++i) hterms[size_t(off_A + i)] = T(t.mean[i]);
    if (shape == kFull || shape == kTied) {
      const int64_t nU = shape == kFull ? int64_t(k) * d * d : int64_t(d) * d;
      for (int64_t i = 0; i < nU; ++i) hterms[size_t(off_U + i)] = T(t.U[i]);
    } else {
      const int64_t nP = shape == kDiag ? int64_t(k) * d : k;
      for (int64_t i = 0; i < nP; ++i) hterms[size_t(off_P + i)] = T(t.P[i]);
    }
    check(cudaMemcpyAsync(terms.get(), hterms.data(), hterms.size() * sizeof(T),
                          cudaMemcpyHostToDevice, stream.s),
          "copying the parameters");
    check(cudaMemsetAsync(acc.get(), 0, size_t(ntasks + 1) * sizeof(double), stream.s),
          "clearing the statistics");
    in_pass = true;
    fed = fill = 0;
  }

  void feed(int64_t rows, const void* x, int64_t ldh, const void* w) override {
    if (!in_pass || resident) throw Failure(FGC_INVALID, "CUDA backend: rows fed out of a pass");
    if (rows < 0 || fed + rows > n || ldh < rows)
      throw Failure(FGC_INVALID, "CUDA backend: more rows fed than the data hold");
    check(cudaSetDevice(dev), "selecting the device");
    const char* xs = static_cast<const char*>(x);
    const char* ws = static_cast<const char*>(w);
    for (int64_t done = 0; done < rows;) {
      const int64_t m = std::min(rows - done, B - fill);
      copy_rows(Xb.get() + fill, B, weighted ? Wb.get() + fill : nullptr, m,
                xs + size_t(done) * sizeof(T), ldh, ws ? ws + size_t(done) * sizeof(T) : nullptr,
                "copying a block of rows to the device");
      done += m;
      fill += m;
      if (fill == B) {
        block(Xb.get(), B, weighted ? Wb.get() : nullptr, int(B));
        fill = 0;
      }
    }
    fed += rows;
  }

  void end(double* s0, double* s1, double* s2, double* loglik) override {
    if (!in_pass) throw Failure(FGC_INVALID, "CUDA backend: no pass to end");
    in_pass = false;
    check(cudaSetDevice(dev), "selecting the device");
    if (resident) {
      for (int64_t r0 = 0; r0 < n; r0 += B)
        block(X.get() + r0, ldx, weighted ? W.get() + r0 : nullptr, int(std::min(B, n - r0)));
    } else {
      if (fed != n) throw Failure(FGC_INVALID, "CUDA backend: a pass ended before all rows were fed");
      if (fill > 0) block(Xb.get(), B, weighted ? Wb.get() : nullptr, int(fill));
      fill = 0;
    }
    check(cudaMemcpyAsync(hacc.data(), acc.get(), size_t(ntasks + 1) * sizeof(double),
                          cudaMemcpyDeviceToHost, stream.s),
          "copying the statistics to the host");
    check(cudaStreamSynchronize(stream.s), "running an E-step pass on the GPU");
    decode(s0, s1, s2, loglik);
  }

  // E-step and statistics of one block of b rows.
  void block(const T* Xp, int64_t ld, const T* Wp, int b) {
    cudaStream_t s = stream.s;
    const T* tm = terms.get();
    kern::EArgs<T> ea;
    ea.shape = shape;
    ea.d = d;
    ea.k = k;
    ea.cst = tm + off_cst;
    ea.A = tm + off_A;
    ea.U = tm + off_U;
    ea.P = tm + off_P;
    ea.X = Xp;
    ea.ldx = ld;
    ea.W = Wp;
    ea.R = R.get();
    ea.ldr = B;
    ea.part_ll = part_ll.get();
    ea.b = b;
    ea.stage = stage_e ? 1 : 0;
    const unsigned nb = blocks_for(b, kern::kEThreads);
    const size_t esmem = stage_e ? size_t(d) * kern::kEThreads * sizeof(T) : 0;
    kern::estep_kernel<T><<<nb, kern::kEThreads, esmem, s>>>(ea);
    check_launch("launching the E-step kernel");
    kern::sum_kernel<<<1, kern::kRThreads, 0, s>>>(part_ll.get(), int(nb), acc.get() + ntasks);
    check_launch("launching the log-likelihood reduction");
    kern::SArgs<T> sa;
    sa.X = Xp;
    sa.ldx = ld;
    sa.R = R.get();
    sa.ldr = B;
    sa.A = tm + off_A;
    sa.ca = d_ca.get();
    sa.cb = d_cb.get();
    sa.ncells = ncells;
    sa.b = b;
    sa.d = d;
    sa.k = k;
    stats(sa);
  }

  void stats(const kern::SArgs<T>& sa) {
    if (variant < 0) throw Failure(FGC_INVALID, "CUDA backend: no kernel variant set");
    cudaStream_t s = stream.s;
    double* a = acc.get();
    switch (Variant(variant)) {
      case Variant::Cell:
        kern::stats_cell_kernel<T><<<unsigned(std::min<int64_t>(ntasks, kMaxGridX)), kern::kRThreads, 0, s>>>(sa, a);
        check_launch("launching the statistics kernel (cell)");
        break;
      case Variant::CellAll:
        kern::stats_cell_all_kernel<T><<<unsigned(std::min<int64_t>(ncells, kMaxGridX)), kern::kRThreads, 0, s>>>(sa, a);
        check_launch("launching the statistics kernel (cell_all)");
        break;
      case Variant::Component:
      case Variant::ComponentSplit: {
        const size_t smem = (size_t(d + 1) * (tile + 1) + tile) * sizeof(T);
        if (Variant(variant) == Variant::Component) {
          kern::stats_component_kernel<T><<<dim3(unsigned(k), 1), comp_threads, smem, s>>>(
              sa, tile, sa.b, a, 0, 1);
          check_launch("launching the statistics kernel (component)");
        } else {
          const int cr = chunk_rows(sa.b);
          const int nch = (sa.b + cr - 1) / cr;
          kern::stats_component_kernel<T><<<dim3(unsigned(k), unsigned(nch)), comp_threads, smem, s>>>(
              sa, tile, cr, part.get(), ntasks, 0);
          check_launch("launching the statistics kernel (component_split)");
          kern::reduce_chunks_kernel<<<blocks_for(ntasks, 256), 256, 0, s>>>(part.get(), nch,
                                                                           ntasks, ntasks, a);
          check_launch("launching the chunk reduction");
        }
        break;
      }
      case Variant::Cublas:
        cublas_stats(sa);
        break;
    }
  }

  // (e): per group of components, the anchored (and responsibility-scaled)
  // data of every chunk of rows, one strided batched GEMM over (chunk,
  // component), then the chunks summed in double in order.
  void cublas_stats(const kern::SArgs<T>& sa) {
    cudaStream_t s = stream.s;
    const int b = sa.b;
    const int rows = gemm_rows(b);
    const int nch = (b + rows - 1) / rows;
    const int64_t w = width(), gs = gstride();
    for (int j0 = 0; j0 < k; j0 += group) {
      const int g = std::min(group, k - j0);
      kern::ZArgs z{b, d, j0, g, rows, nch, w};
      const dim3 grid(blocks_for(int64_t(nch) * rows, 256),
                      unsigned(std::min<int64_t>(int64_t(g) * w, kMaxGridY)));
      const int batch = nch * g;
      const long long stride = (long long)rows * w;
      if (full) {
        kern::zfull_kernel<T><<<grid, 256, 0, s>>>(sa, z, Z1.get(), Z2.get());
        check_launch("anchoring the data (cublas variant)");
        check_blas(gemm_tn(blas.h, int(w), int(w), rows, Z1.get(), rows, stride, Z2.get(), rows,
                           stride, G.get(), int(w), gs, batch),
                   "multiplying (cublas variant)");
      } else {
        kern::zdiag_kernel<T><<<grid, 256, 0, s>>>(sa, z, Z1.get());
        check_launch("anchoring the data (cublas variant)");
        check_blas(gemm_tn(blas.h, int(w), 1, rows, Z1.get(), rows, stride, ones.get(), rows, 0,
                           G.get(), int(w), gs, batch),
                   "multiplying (cublas variant)");
      }
      kern::gather_kernel<T><<<blocks_for(int64_t(g) * ncells, 256), 256, 0, s>>>(
          G.get(), nch, g, gs, full ? 1 : 0, d_ca.get(), d_cb.get(), ncells, d, j0, acc.get());
      check_launch("summing the cuBLAS products");
    }
  }

  // The statistics from the cells, in the layout of plugin_api.h.
  void decode(double* s0, double* s1, double* s2, double* loglik) {
    const int64_t n2 = scatter == FGC_SCATTER_FULL ? int64_t(d) * (d + 1) / 2
                       : scatter == FGC_SCATTER_DIAG ? d
                                                     : 1;
    for (int j = 0; j < k; ++j) {
      const double* c = hacc.data() + int64_t(j) * ncells;
      if (full) {
        const int64_t m = int64_t(d) * (d + 1) / 2;
        for (int64_t p = 0; p < m; ++p) s2[p + j * n2] = c[p];
        for (int a = 0; a < d; ++a) s1[a + int64_t(j) * d] = c[m + a];
      } else {
        if (scatter == FGC_SCATTER_DIAG) {
          for (int a = 0; a < d; ++a) s2[a + int64_t(j) * d] = c[a];
        } else {
          double t = 0;
          for (int a = 0; a < d; ++a) t += c[a];
          s2[j] = t;
        }
        for (int a = 0; a < d; ++a) s1[a + int64_t(j) * d] = c[d + a];
      }
      s0[j] = c[ncells - 1];
    }
    *loglik = hacc[size_t(ntasks)];
  }
};

int guard_fail(fgc_error* err, int code, const char* msg) {
  if (err) {
    err->code = code;
    copy_str(err->message, sizeof err->message, msg);
  }
  return code;
}

template <typename F>
int guarded(fgc_error* err, F f) {
  if (err) {
    err->code = FGC_OK;
    err->message[0] = 0;
  }
  try {
    f();
    return FGC_OK;
  } catch (const Failure& e) {
    return guard_fail(err, e.code, e.what());
  } catch (const std::bad_alloc&) {
    return guard_fail(err, FGC_OUT_OF_MEMORY, "CUDA backend: out of host memory");
  } catch (const std::exception& e) {
    return guard_fail(err, FGC_ERROR, e.what());
  } catch (...) {
    return guard_fail(err, FGC_ERROR, "CUDA backend: unknown error");
  }
}

}  // namespace
}  // namespace cuda
}  // namespace fastgmm

// -- the C interface ------------------------------------------------------------------

struct fgc_pass {
  std::unique_ptr<fastgmm::cuda::PassBase> impl;
};

namespace {

using fastgmm::cuda::guarded;

const char* api_variant_name(int v) { return fastgmm::cuda::variant_name(v); }

void api_query(fgc_status* st) {
  try {
    fastgmm::cuda::query(st);
  } catch (...) {
    st->available = 0;
    fastgmm::cuda::copy_str(st->reason, sizeof st->reason, "querying the CUDA devices failed");
  }
}

int api_create(const fgc_options* opt, fgc_pass** out, fgc_error* err) {
  *out = nullptr;
  return guarded(err, [&] {
    std::unique_ptr<fgc_pass> p(new fgc_pass);
    if (opt->single)
      p->impl.reset(new fastgmm::cuda::Pass<float>(*opt));
    else
      p->impl.reset(new fastgmm::cuda::Pass<double>(*opt));
    *out = p.release();
  });
}

void api_destroy(fgc_pass* p) {
  try {
    delete p;
  } catch (...) {
  }
}

int api_info(fgc_pass* p, fgc_pass_info* out) {
  std::memset(out, 0, sizeof *out);
  if (!p || !p->impl) return FGC_INVALID;
  out->resident = p->impl->resident ? 1 : 0;
  out->block_rows = p->impl->B;
  fastgmm::cuda::copy_str(out->description, sizeof out->description, p->impl->desc);
  return FGC_OK;
}

int api_set_variant(fgc_pass* p, int v, fgc_error* err) {
  return guarded(err, [&] { p->impl->set_variant(v); });
}

int api_upload(fgc_pass* p, int64_t r0, int64_t rows, const void* x, int64_t ldx, const void* w,
               fgc_error* err) {
  return guarded(err, [&] { p->impl->upload(r0, rows, x, ldx, w); });
}

int api_pass_begin(fgc_pass* p, const fgc_terms* t, fgc_error* err) {
  return guarded(err, [&] { p->impl->begin(*t); });
}

int api_feed(fgc_pass* p, int64_t rows, const void* x, int64_t ldx, const void* w,
             fgc_error* err) {
  return guarded(err, [&] { p->impl->feed(rows, x, ldx, w); });
}

int api_pass_end(fgc_pass* p, double* s0, double* s1, double* s2, double* loglik,
                 fgc_error* err) {
  return guarded(err, [&] { p->impl->end(s0, s1, s2, loglik); });
}

const fgc_api the_api = {FGC_ABI_VERSION, sizeof(fgc_api), fastgmm::cuda::n_variants,
                         api_variant_name, api_query, api_create, api_destroy, api_info,
                         api_set_variant, api_upload, api_pass_begin, api_feed, api_pass_end};

}  // namespace

FGC_EXPORT const fgc_api* fastgmm_cuda_plugin(int abi_version) {
  return abi_version == FGC_ABI_VERSION ? &the_api : nullptr;
}

#ifdef FASTGMM_R_PLUGIN
// The R package installs the plugin beside its own library, where R CMD check
// looks for registration in every shared object. R never loads this one (the
// package does, with dlopen), but it registers no routines, as a DLL without
// .Call entry points should.
#include <R_ext/Rdynload.h>
extern "C" void R_init_fastgmm_cuda(DllInfo* dll) {
  R_registerRoutines(dll, nullptr, nullptr, nullptr, nullptr);
  R_useDynamicSymbols(dll, FALSE);
}
#endif
