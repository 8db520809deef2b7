// The device side of the CUDA backend: data kept on the device, scratch for
// blocks of rows, the E-step and the five statistics variants, cuBLAS, and
// CUDA errors turned into CudaError. The interface is gpu_pass.h (no Eigen
// here); cuda_engine.h adapts it to the core's Engine. Kernels and the device
// layout are described in kernels.cuh.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "gpu_pass.h"
#include "kernels.cuh"

namespace fastgmm {
namespace cuda {

const char* stats_variant_name(int v) {
  static const char* const names[] = {"cell", "cell_all", "component", "component_split",
                                      "cublas"};
  return v >= 0 && v < n_stats_variants ? names[v] : "unknown";
}

namespace {

using kern::kDiag;
using kern::kFull;
using kern::kSph;
using kern::kTied;

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kScratchBudget = 512 * kMiB;  // scratch of one block of rows
constexpr int kChunkRows = 2048;                // variant (d): rows per thread block
constexpr int kGemmRowsSingle = 1024;           // variant (e), float: rows per GEMM
constexpr size_t kSmemCap = 48 * 1024;          // dynamic shared memory per block, no opt-in
constexpr int64_t kBlasWorkspace = 32 * kMiB;   // cuBLAS workspace (32 MiB suits Hopper)

struct OutOfMemory : CudaError {
  using CudaError::CudaError;
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

[[noreturn]] void fail(cudaError_t e, const char* what) {
  std::string msg = std::string("CUDA error while ") + what + ": " + cudaGetErrorString(e) +
                    " (" + cudaGetErrorName(e) + ")";
  if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction)
    msg += "; this build of fastgmm has no kernels for the device's architecture: reinstall "
           "with CUDA_ARCH set to include it";
  if (e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure ||
      e == cudaErrorIllegalInstruction || e == cudaErrorMisalignedAddress ||
      e == cudaErrorHardwareStackError || e == cudaErrorInvalidPc || e == cudaErrorAssert)
    msg += "; the GPU context is now unusable in this process (restart R to use the GPU again)";
  throw CudaError(msg);
}

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear the error when it is not sticky
  if (e == cudaErrorMemoryAllocation) throw OutOfMemory(std::string("out of GPU memory while ") + what);
  fail(e, what);
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

void check_blas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  if (s == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfMemory(std::string("out of GPU memory in cuBLAS while ") + what);
  throw CudaError(std::string("cuBLAS error while ") + what + ": " + cublasGetStatusString(s));
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
        throw OutOfMemory("out of GPU memory: " + std::string(what) + " needs " +
                          fmt_mb(double(count) * sizeof(T)) + memory_note(device) +
                          "; try single precision, fewer components or smaller blocks of rows");
      fail(e, (std::string("allocating ") + what).c_str());
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
  int64_t size() const { return cap_; }

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

// C_i = A_i' B_i for batch i; A_i, B_i start i * stride rows down.
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

// The statistics of a pass as tasks (j, a, b) (see kernels.cuh), grouped by
// cell (a, b), with the per-component lists and the variant (e) sources.
struct Tasks {
  std::vector<int> tj, ta, tb;              // per task
  std::vector<int> ca, cb, cj0, cj1, coff;  // per cell
  std::vector<int> cptr, ctask;             // per component: task ids
  std::vector<long long> src;               // (e): index into one chunk's GEMM output
  long long gstride = 0;                    // (e): size of one chunk's GEMM output
  int max_per_comp = 0;
  int size() const { return int(tj.size()); }
};

Tasks make_tasks(int cov, int k, int d) {
  Tasks t;
  auto cell = [&](int a, int b, int j0, int j1) {
    t.ca.push_back(a);
    t.cb.push_back(b);
    t.cj0.push_back(j0);
    t.cj1.push_back(j1);
    t.coff.push_back(int(t.tj.size()));
    for (int j = j0; j < j1; ++j) {
      t.tj.push_back(j);
      t.ta.push_back(a);
      t.tb.push_back(b);
    }
  };
  switch (cov) {
    case kFull:
      for (int a = 0; a <= d; ++a)
        for (int b = 0; b <= a; ++b) cell(a, b, 0, k);
      break;
    case kTied:
      for (int c = 0; c <= d; ++c) cell(d, c, 0, k);
      for (int a = 0; a < d; ++a)
        for (int b = 0; b <= a; ++b) cell(a, b, k, k + 1);
      break;
    default:  // diag, spherical
      for (int c = 0; c < d; ++c) cell(c, c, 0, k);
      for (int c = 0; c <= d; ++c) cell(d, c, 0, k);
      break;
  }
  const int kk = cov == kTied ? k + 1 : k;
  t.cptr.assign(kk + 1, 0);
  for (int j : t.tj) ++t.cptr[j + 1];
  for (int j = 0; j < kk; ++j) {
    t.max_per_comp = std::max(t.max_per_comp, t.cptr[j + 1]);
    t.cptr[j + 1] += t.cptr[j];
  }
  t.ctask.resize(t.tj.size());
  std::vector<int> fill(t.cptr.begin(), t.cptr.end() - 1);
  for (int i = 0; i < t.size(); ++i) t.ctask[fill[t.tj[i]]++] = i;

  const long long dd = d + 1;
  t.src.resize(t.tj.size());
  switch (cov) {
    case kFull:  // M_j = X1' (X1 .* R_j), (d+1) x (d+1) each
      t.gstride = k * dd * dd;
      for (int i = 0; i < t.size(); ++i) t.src[i] = t.tj[i] * dd * dd + t.ta[i] + t.tb[i] * dd;
      break;
    case kTied:  // A = R' X1 (k x (d+1)), then M = X1' (X1 .* w)
      t.gstride = k * dd + dd * dd;
      for (int i = 0; i < t.size(); ++i)
        t.src[i] = t.tj[i] < k ? t.tj[i] + t.tb[i] * (long long)k
                               : k * dd + t.ta[i] + t.tb[i] * dd;
      break;
    default:  // A = R' X1 (k x (d+1)), then B = R' X.^2 (k x d)
      t.gstride = k * dd + (long long)k * d;
      for (int i = 0; i < t.size(); ++i)
        t.src[i] = t.ta[i] == d ? t.tj[i] + t.tb[i] * (long long)k
                                : k * dd + t.tj[i] + t.ta[i] * (long long)k;
      break;
  }
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------

DeviceStatus query_devices() {
  DeviceStatus st;
  cudaRuntimeGetVersion(&st.runtime_version);
  if (cudaDriverGetVersion(&st.driver_version) != cudaSuccess) st.driver_version = 0;
  cudaGetLastError();
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    st.reason = no_device_reason(e, st.driver_version, st.runtime_version);
    return st;
  }
  if (count == 0) {
    st.reason = "no CUDA device found";
    return st;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    DeviceInfo di;
    di.index = i;
    di.name = p.name;
    di.memory_bytes = double(p.totalGlobalMem);
    di.cc_major = p.major;
    di.cc_minor = p.minor;
    di.multiprocessors = p.multiProcessorCount;
    st.devices.push_back(di);
  }
  if (st.devices.empty()) {
    st.reason = "no CUDA device could be queried";
    return st;
  }
  // Is there code for the first device's architecture? (creates its context)
  int cur = 0;
  cudaGetDevice(&cur);
  cudaSetDevice(st.devices[0].index);
  cudaFuncAttributes attr;
  e = cudaFuncGetAttributes(&attr, kern::estep_kernel<double>);
  cudaSetDevice(cur);
  if (e != cudaSuccess) {
    cudaGetLastError();
    const DeviceInfo& d0 = st.devices[0];
    if (e == cudaErrorNoKernelImageForDevice || e == cudaErrorInvalidDeviceFunction)
      st.reason = "this build of fastgmm has no kernels for " + d0.name +
                  " (compute capability " + std::to_string(d0.cc_major) + "." +
                  std::to_string(d0.cc_minor) + "); reinstall with CUDA_ARCH including it";
    else
      st.reason = std::string("CUDA device 0 cannot be used: ") + cudaGetErrorString(e);
    return st;
  }
  st.available = true;
  return st;
}

// ---------------------------------------------------------------------------------

struct DevicePass::Impl {
  virtual ~Impl() {}
  virtual void set_variant(int v) = 0;
  virtual void run(const PassTerms& t, PassOut& out) = 0;
  int variant = 0;
  bool resident = true;
  int64_t B = 0;
  std::string desc;
};

namespace {

template <typename T>
struct ImplT : DevicePass::Impl {
  int dev, cov, k, d, kk;
  int64_t n;
  PassOptions opt;
  const double* hx;
  const double* hw;
  std::vector<double> shift;
  Tasks tasks;
  int ntasks;
  bool stage_e;      // the E-step copies rows into shared memory
  int tile;          // (c), (d): rows per shared-memory tile (< 1: d too large)
  int comp_threads;  // (c), (d): threads per block
  int group;         // (e), full: components per GEMM
  long long ldx = 0;
  std::string dev_name;
  // Destroyed in reverse order: the buffers, the cuBLAS handle, its
  // workspace, then the stream they all use.
  Stream stream;
  DevBuf<unsigned char> blas_ws;
  Blas blas;
  DevBuf<T> X, W;                        // resident data: ldx x (d + 1), weights
  DevBuf<T> Xb, Wb;                      // streamed block
  DevBuf<double> stage, dshift;          // streamed block, as read from the host
  DevBuf<T> R, Y, Z, X2, G, terms;       // scratch
  DevBuf<double> part_ll, part, acc;     // partial sums; acc: tasks then loglik
  DevBuf<int> d_tj, d_ta, d_tb, d_ca, d_cb, d_cj0, d_cj1, d_coff, d_cptr, d_ctask;
  DevBuf<long long> d_src;
  std::vector<T> hterms;
  std::vector<double> hacc;
  int64_t off_cst = 0, off_mean = 0, off_U = 0, off_mU = 0, off_P = 0;

  ImplT(const double* x, int64_t n_, int64_t d_, const double* w, const double* sh, int cov_,
        int64_t k_, const PassOptions& o)
      : dev(o.device), cov(cov_), k(int(k_)), d(int(d_)), n(n_), opt(o), hx(x), hw(w),
        shift(sh, sh + d_) {
    if (n < 1 || d < 1 || k < 1 || cov < 0 || cov > 3)
      throw CudaError("CUDA backend: invalid problem shape");
    if (d_ > 65000 || k_ > (1 << 20))
      throw CudaError("CUDA backend: at most 65000 dimensions and 2^20 components");
    kk = cov == kTied ? k + 1 : k;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      int driver = 0, runtime = 0;
      if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
      cudaRuntimeGetVersion(&runtime);
      cudaGetLastError();
      throw CudaError("no usable CUDA device: " + no_device_reason(e, driver, runtime));
    }
    if (count == 0) throw CudaError("no CUDA device found");
    if (dev < 0 || dev >= count)
      throw CudaError("CUDA device " + std::to_string(dev) + " does not exist (" +
                      std::to_string(count) + " found)");
    check(cudaSetDevice(dev), "selecting the device");
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, dev), "querying the device");
    dev_name = prop.name;
    cudaFuncAttributes attr;
    check(cudaFuncGetAttributes(&attr, kern::estep_kernel<T>), "loading the kernels");
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

    tasks = make_tasks(cov, k, d);
    ntasks = tasks.size();
    stage_e = size_t(d) * kern::kEThreads * sizeof(T) <= kSmemCap;
    tile = int(std::min<int64_t>(64, int64_t((kSmemCap / sizeof(T) + 1) / (d + 2)) - 1));
    {
      const int per = (tasks.max_per_comp + kern::kTPT - 1) / kern::kTPT;
      comp_threads = int(std::min<int64_t>(256, std::max<int64_t>(32, round_up(per, 32))));
    }
    group = cov == kFull ? std::max(1, std::min(k, 512 / (d + 1))) : 1;

    // Rows per block: the scratch of the largest variant within the budget.
    const double sz = sizeof(T);
    double base = kk * sz + (cov == kTied && !stage_e ? d * sz : 0);
    if (opt.stream) base += (d + 2) * sz + (d + 1) * 8.0;
    const double var_d = ntasks * 8.0 / kChunkRows;
    double var_e = cov == kFull ? group * (d + 1) * sz : cov == kTied ? (d + 1) * sz : d * sz;
    if (opt.single) var_e += tasks.gstride * sz / kGemmRowsSingle;
    const double bpr = base + std::max(var_d, var_e) + 8.0 / kern::kEThreads;
    int64_t b = int64_t(double(kScratchBudget) / bpr);
    b = std::max<int64_t>(1024, std::min<int64_t>(int64_t(1) << 21, b)) / 256 * 256;
    b = std::min(b, round_up(n, 256));
    if (opt.block_rows > 0) b = std::min<int64_t>(opt.block_rows, INT_MAX / 2);
    B = b;

    // Data: on the device when it fits (and streaming is not asked for).
    ldx = round_up(n, 32) <= INT_MAX ? round_up(n, 32) : n;
    if (ldx > INT_MAX) opt.stream = true;  // cuBLAS leading dimensions are int
    resident = !opt.stream;
    if (resident) {
      try {
        X.reserve(ldx * (d + 1), "the data", dev);
        if (hw) W.reserve(ldx, "the weights", dev);
      } catch (const OutOfMemory&) {
        X.release();
        W.release();
        resident = false;
      }
    }
    if (resident) {
      upload();
    } else {
      Xb.reserve(B * (d + 1), "a block of rows", dev);
      if (hw) Wb.reserve(B, "a block of weights", dev);
      stage.reserve(B * (d + 1), "a block of rows", dev);
      dshift.reserve(d, "the data shift", dev);
      check(cudaMemcpyAsync(dshift.get(), shift.data(), d * sizeof(double),
                            cudaMemcpyHostToDevice, stream.s),
            "copying the shift");
      kern::fill_kernel<T><<<blocks_for(B, 256), 256, 0, stream.s>>>(Xb.get() + B * d, B, T(1));
      check_launch("filling the column of ones");
    }

    // Scratch for every variant, then the variant's own.
    R.reserve(B * kk, "the responsibilities of a block", dev);
    part_ll.reserve(blocks_for(B, kern::kEThreads), "partial log-likelihoods", dev);
    acc.reserve(ntasks + 1, "the statistics", dev);
    if (cov == kTied && !stage_e) Y.reserve(B * d, "the tied E-step scratch", dev);
    upload_ints(d_tj, tasks.tj);
    upload_ints(d_ta, tasks.ta);
    upload_ints(d_tb, tasks.tb);
    upload_ints(d_ca, tasks.ca);
    upload_ints(d_cb, tasks.cb);
    upload_ints(d_cj0, tasks.cj0);
    upload_ints(d_cj1, tasks.cj1);
    upload_ints(d_coff, tasks.coff);
    upload_ints(d_cptr, tasks.cptr);
    upload_ints(d_ctask, tasks.ctask);
    d_src.reserve(ntasks, "task indices", dev);
    check(cudaMemcpyAsync(d_src.get(), tasks.src.data(), ntasks * sizeof(long long),
                          cudaMemcpyHostToDevice, stream.s),
          "copying task indices");
    off_cst = 0;
    off_mean = off_cst + k;
    off_U = off_mean + int64_t(k) * d;
    const int64_t nU = cov == kFull ? int64_t(k) * d * d : cov == kTied ? int64_t(d) * d : 0;
    off_mU = off_U + nU;
    const int64_t nmU = cov == kFull || cov == kTied ? int64_t(k) * d : 0;
    off_P = off_mU + nmU;
    const int64_t nP = cov == kDiag ? int64_t(k) * d : cov == kSph ? k : 0;
    hterms.assign(off_P + nP, T(0));
    terms.reserve(int64_t(hterms.size()), "the parameters", dev);
    hacc.resize(ntasks + 1);
    set_variant(o.variant);
    check(cudaStreamSynchronize(stream.s), "setting up the device data");
  }

  ~ImplT() override { cudaSetDevice(dev); }

  void upload_ints(DevBuf<int>& dst, const std::vector<int>& v) {
    dst.reserve(std::max<int64_t>(1, int64_t(v.size())), "task lists", dev);
    if (!v.empty())
      check(cudaMemcpyAsync(dst.get(), v.data(), v.size() * sizeof(int), cudaMemcpyHostToDevice,
                            stream.s),
            "copying task lists");
  }

  // Copies the data to the device once: shifted, in T, column-major, and a
  // last column of ones.
  void upload() {
    const int64_t piece = std::min<int64_t>(n, int64_t(1) << 22);
    DevBuf<double> st;
    st.reserve(piece, "a staging buffer for the data", dev);
    for (int c = 0; c <= d; ++c) {
      const double* src = c < d ? hx + int64_t(c) * n : hw;
      if (c == d && !src) break;
      T* dst = c < d ? X.get() + c * ldx : W.get();
      const double sh = c < d ? shift[c] : 0.0;
      for (int64_t p0 = 0; p0 < n; p0 += piece) {
        const int64_t len = std::min(piece, n - p0);
        check(cudaMemcpyAsync(st.get(), src + p0, len * sizeof(double), cudaMemcpyHostToDevice,
                              stream.s),
              "copying the data to the device");
        kern::convert_kernel<T><<<blocks_for(len, 256), 256, 0, stream.s>>>(st.get(), len, sh,
                                                                             dst + p0);
        check_launch("converting the data");
      }
    }
    kern::fill_kernel<T><<<blocks_for(ldx, 256), 256, 0, stream.s>>>(X.get() + d * ldx, ldx, T(1));
    check_launch("filling the column of ones");
    check(cudaStreamSynchronize(stream.s), "copying the data to the device");
  }

  void set_variant(int v) override {
    if (v < 0 || v >= n_stats_variants) throw CudaError("CUDA backend: unknown kernel variant");
    check(cudaSetDevice(dev), "selecting the device");
    const StatsVariant sv = StatsVariant(v);
    if ((sv == StatsVariant::Component || sv == StatsVariant::ComponentSplit) && tile < 1)
      throw CudaError(std::string("CUDA kernel variant \"") + stats_variant_name(v) +
                      "\" supports at most " +
                      std::to_string(kSmemCap / sizeof(T) / 2 - 2) + " dimensions");
    part.release();
    Z.release();
    X2.release();
    G.release();
    if (sv == StatsVariant::ComponentSplit)
      part.reserve((B + kChunkRows - 1) / kChunkRows * ntasks, "partial statistics", dev);
    if (sv == StatsVariant::Cublas) {
      if (cov == kFull) Z.reserve(B * group * (d + 1), "scaled data for cuBLAS", dev);
      if (cov == kTied) Z.reserve(B * (d + 1), "scaled data for cuBLAS", dev);
      if (cov == kDiag || cov == kSph) X2.reserve(B * d, "squared data for cuBLAS", dev);
      const int64_t nch = opt.single ? (B + kGemmRowsSingle - 1) / kGemmRowsSingle : 1;
      G.reserve(nch * tasks.gstride, "cuBLAS products", dev);
    }
    variant = v;
    desc = "CUDA device " + std::to_string(dev) + " (" + dev_name + "), data " +
           (resident ? "on the device" : "streamed from host memory") + ", " +
           std::to_string(B) + " rows per block, kernel variant " + stats_variant_name(v) + ", " +
           (opt.single ? "single" : "double") + " precision";
  }

  void pack_terms(const PassTerms& t) {
    for (int j = 0; j < k; ++j) hterms[off_cst + j] = T(t.cst[j]);
    for (int64_t i = 0; i < int64_t(k) * d; ++i) hterms[off_mean + i] = T(t.mean[i]);
    if (cov == kFull || cov == kTied) {
      const int64_t nU = cov == kFull ? int64_t(k) * d * d : int64_t(d) * d;
      for (int64_t i = 0; i < nU; ++i) hterms[off_U + i] = T(t.U[i]);
      for (int64_t i = 0; i < int64_t(k) * d; ++i) hterms[off_mU + i] = T(t.mU[i]);
    } else {
      const int64_t nP = cov == kDiag ? int64_t(k) * d : k;
      for (int64_t i = 0; i < nP; ++i) hterms[off_P + i] = T(t.P[i]);
    }
  }

  void run(const PassTerms& t, PassOut& out) override {
    check(cudaSetDevice(dev), "selecting the device");
    cudaStream_t s = stream.s;
    pack_terms(t);
    check(cudaMemcpyAsync(terms.get(), hterms.data(), hterms.size() * sizeof(T),
                          cudaMemcpyHostToDevice, s),
          "copying the parameters");
    check(cudaMemsetAsync(acc.get(), 0, (ntasks + 1) * sizeof(double), s), "clearing statistics");
    const T* tm = terms.get();
    for (int64_t r0 = 0; r0 < n; r0 += B) {
      const int b = int(std::min(B, n - r0));
      const T* Xp;
      const T* Wp = nullptr;
      long long ld;
      if (resident) {
        Xp = X.get() + r0;
        ld = ldx;
        if (hw) Wp = W.get() + r0;
      } else {
        for (int c = 0; c < d; ++c)  // (column by column: no limit on the host pitch)
          check(cudaMemcpyAsync(stage.get() + c * B, hx + c * n + r0, b * sizeof(double),
                                cudaMemcpyHostToDevice, s),
                "copying a block of rows to the device");
        kern::convert_block_kernel<T><<<dim3(blocks_for(b, 256), d), 256, 0, s>>>(
            stage.get(), dshift.get(), b, B, Xb.get());
        check_launch("converting a block of rows");
        if (hw) {
          check(cudaMemcpyAsync(stage.get() + B * d, hw + r0, b * sizeof(double),
                                cudaMemcpyHostToDevice, s),
                "copying a block of weights to the device");
          kern::convert_kernel<T><<<blocks_for(b, 256), 256, 0, s>>>(stage.get() + B * d, b, 0.0,
                                                                     Wb.get());
          check_launch("converting a block of weights");
          Wp = Wb.get();
        }
        Xp = Xb.get();
        ld = B;
      }
      // E-step
      kern::EArgs<T> ea;
      ea.cov = cov;
      ea.d = d;
      ea.k = k;
      ea.cst = tm + off_cst;
      ea.mean = tm + off_mean;
      ea.U = tm + off_U;
      ea.mU = tm + off_mU;
      ea.P = tm + off_P;
      ea.X = Xp;
      ea.ldx = ld;
      ea.W = Wp;
      ea.R = R.get();
      ea.ldr = B;
      ea.Y = Y.get();
      ea.part_ll = part_ll.get();
      ea.b = b;
      ea.stage = stage_e ? 1 : 0;
      const unsigned nb = blocks_for(b, kern::kEThreads);
      const size_t esmem = stage_e ? size_t(d) * kern::kEThreads * sizeof(T) : 0;
      kern::estep_kernel<T><<<nb, kern::kEThreads, esmem, s>>>(ea);
      check_launch("launching the E-step kernel");
      kern::sum_kernel<<<1, kern::kRThreads, 0, s>>>(part_ll.get(), int(nb), acc.get() + ntasks);
      check_launch("launching the log-likelihood reduction");
      // statistics
      kern::SArgs<T> sa{Xp, ld, R.get(), B, b, d};
      stats(sa);
    }
    check(cudaMemcpyAsync(hacc.data(), acc.get(), (ntasks + 1) * sizeof(double),
                          cudaMemcpyDeviceToHost, s),
          "copying the statistics to the host");
    check(cudaStreamSynchronize(s), "running an E-step pass on the GPU");
    decode(out);
  }

  void stats(const kern::SArgs<T>& sa) {
    cudaStream_t s = stream.s;
    double* a = acc.get();
    switch (StatsVariant(variant)) {
      case StatsVariant::Cell:
        kern::stats_cell_kernel<T><<<unsigned(ntasks), kern::kRThreads, 0, s>>>(
            sa, d_tj.get(), d_ta.get(), d_tb.get(), a);
        check_launch("launching the statistics kernel (cell)");
        break;
      case StatsVariant::CellAll:
        kern::stats_cell_all_kernel<T><<<unsigned(tasks.ca.size()), kern::kRThreads, 0, s>>>(
            sa, d_ca.get(), d_cb.get(), d_cj0.get(), d_cj1.get(), d_coff.get(), a);
        check_launch("launching the statistics kernel (cell_all)");
        break;
      case StatsVariant::Component:
      case StatsVariant::ComponentSplit: {
        const size_t smem = (size_t(d + 1) * (tile + 1) + tile) * sizeof(T);
        if (StatsVariant(variant) == StatsVariant::Component) {
          kern::stats_component_kernel<T><<<dim3(kk, 1), comp_threads, smem, s>>>(
              sa, d_cptr.get(), d_ctask.get(), d_ta.get(), d_tb.get(), tile, sa.b, a, 0, 1);
          check_launch("launching the statistics kernel (component)");
        } else {
          const int nch = (sa.b + kChunkRows - 1) / kChunkRows;
          kern::stats_component_kernel<T><<<dim3(kk, nch), comp_threads, smem, s>>>(
              sa, d_cptr.get(), d_ctask.get(), d_ta.get(), d_tb.get(), tile, kChunkRows,
              part.get(), ntasks, 0);
          check_launch("launching the statistics kernel (component_split)");
          kern::reduce_chunks_kernel<<<blocks_for(ntasks, 256), 256, 0, s>>>(part.get(), nch,
                                                                           ntasks, ntasks, a);
          check_launch("launching the chunk reduction");
        }
        break;
      }
      case StatsVariant::Cublas:
        cublas_stats(sa);
        break;
    }
  }

  // (e): per chunk of rows, GEMMs into G (one slot of gstride per chunk), then
  // the chunks summed in double in order. In double precision one chunk.
  void cublas_stats(const kern::SArgs<T>& sa) {
    cudaStream_t s = stream.s;
    const int b = sa.b, dd = d + 1;
    const long long rows = opt.single ? kGemmRowsSingle : b;
    const long long nfull = b / rows, tail = b - nfull * rows;
    const int nch = int(nfull + (tail > 0));
    const long long gs = tasks.gstride;
    T* Gp = G.get();
    // C (m x ncol, in each chunk's slot) = A' Bm over the chunk's rows.
    auto AtB = [&](const T* A, long long lda, int m, const T* Bm, long long ldb, int ncol, T* C,
                   int ldc) {
      if (nfull > 0)
        check_blas(gemm_tn(blas.h, m, ncol, int(rows), A, int(lda), rows, Bm, int(ldb), rows, C,
                           ldc, gs, int(nfull)),
                   "multiplying (cublas variant)");
      if (tail > 0)
        check_blas(gemm_tn(blas.h, m, ncol, int(tail), A + nfull * rows, int(lda), 0,
                           Bm + nfull * rows, int(ldb), 0, C + nfull * gs, ldc, 0, 1),
                   "multiplying (cublas variant)");
    };
    const dim3 eb(blocks_for(b, 256));
    switch (cov) {
      case kFull:
        for (int j0 = 0; j0 < k; j0 += group) {
          const int g = std::min(group, k - j0);
          kern::scale_kernel<T><<<dim3(eb.x, g * dd), 256, 0, s>>>(sa.X, sa.ldx, sa.R, sa.ldr, j0,
                                                                   dd, b, Z.get(), B);
          check_launch("scaling the data (cublas variant)");
          AtB(sa.X, sa.ldx, dd, Z.get(), B, g * dd, Gp + (long long)j0 * dd * dd, dd);
        }
        break;
      case kTied:
        AtB(sa.R, sa.ldr, k, sa.X, sa.ldx, dd, Gp, k);
        kern::scale_kernel<T><<<dim3(eb.x, dd), 256, 0, s>>>(sa.X, sa.ldx, sa.R, sa.ldr, k, dd, b,
                                                             Z.get(), B);
        check_launch("scaling the data (cublas variant)");
        AtB(sa.X, sa.ldx, dd, Z.get(), B, dd, Gp + (long long)k * dd, dd);
        break;
      default:
        AtB(sa.R, sa.ldr, k, sa.X, sa.ldx, dd, Gp, k);
        kern::square_kernel<T><<<dim3(eb.x, d), 256, 0, s>>>(sa.X, sa.ldx, b, X2.get(), B);
        check_launch("squaring the data (cublas variant)");
        AtB(sa.R, sa.ldr, k, X2.get(), B, d, Gp + (long long)k * dd, k);
        break;
    }
    kern::gather_kernel<T><<<blocks_for(ntasks, 256), 256, 0, s>>>(Gp, nch, gs, d_src.get(), ntasks,
                                                                   acc.get());
    check_launch("summing the cuBLAS products");
  }

  // Statistics from the task sums, in the layout of fastgmm::Stats.
  void decode(PassOut& out) {
    for (int i = 0; i < ntasks; ++i) {
      const double v = hacc[i];
      const int j = tasks.tj[i], a = tasks.ta[i], b = tasks.tb[i];
      if (j == k) {  // tied: the pseudo component
        out.s2[a + int64_t(b) * d] = v;
        out.s2[b + int64_t(a) * d] = v;
      } else if (a == d) {
        if (b == d)
          out.s0[j] = v;
        else
          out.s1[j + int64_t(b) * k] = v;
      } else if (cov == kFull) {
        out.s2[a + (int64_t(j) * d + b) * d] = v;
        out.s2[b + (int64_t(j) * d + a) * d] = v;
      } else {  // diag, spherical: (c, c)
        out.s2[j + int64_t(a) * k] = v;
      }
    }
    out.loglik = hacc[ntasks];
  }
};

}  // namespace

DevicePass::DevicePass(const double* x, int64_t n, int64_t d, const double* w,
                       const double* shift, int cov, int64_t k, const PassOptions& opt) {
  if (opt.single)
    impl_.reset(new ImplT<float>(x, n, d, w, shift, cov, k, opt));
  else
    impl_.reset(new ImplT<double>(x, n, d, w, shift, cov, k, opt));
}

DevicePass::~DevicePass() {}

void DevicePass::set_variant(int v) { impl_->set_variant(v); }
int DevicePass::variant() const { return impl_->variant; }
void DevicePass::run(const PassTerms& t, PassOut& out) { impl_->run(t, out); }
bool DevicePass::resident() const { return impl_->resident; }
int64_t DevicePass::block_rows() const { return impl_->B; }
std::string DevicePass::describe() const { return impl_->desc; }

}  // namespace cuda
}  // namespace fastgmm
