// CPU emulation of the CUDA runtime and cuBLAS subset used by src/cuda (see
// cuda_runtime.h here). Environment: EMU_MEM_LIMIT (bytes of "device memory",
// default 2 GB), EMU_MAX_PITCH (largest pitch of a 2-D copy, default 2^31 - 1),
// EMU_NO_DRIVER=1 / EMU_NO_DEVICE=1 (no driver / no device).
#include <stdint.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#define EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_ASAN 1
#endif
#endif
#ifdef EMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "cublas_v2.h"
#include "cuda_runtime.h"

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "CUDA emulator: %s\n", what);
  std::abort();
}

cudaError_t last_error = cudaSuccess;
cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) last_error = e;
  return e;
}

// -- memory -------------------------------------------------------------------------
std::map<const char*, size_t> allocs;  // base -> bytes
size_t used = 0;
size_t limit() {
  const char* s = std::getenv("EMU_MEM_LIMIT");
  return s ? size_t(std::strtod(s, nullptr)) : size_t(2) << 30;
}

bool in_device(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  auto it = allocs.upper_bound(c);
  if (it == allocs.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}
bool touches_device(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  auto it = allocs.upper_bound(c + (bytes ? bytes - 1 : 0));
  if (it == allocs.begin()) return false;
  --it;
  return it->first + it->second > c;
}

void check_copy(const void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const bool dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (dd ? !in_device(dst, bytes) : touches_device(dst, bytes))
    die(dd ? "copy destination is not inside a device allocation"
           : "copy destination should be host memory");
  if (sd ? !in_device(src, bytes) : touches_device(src, bytes))
    die(sd ? "copy source is not inside a device allocation" : "copy source should be host memory");
}

// -- fibers ---------------------------------------------------------------------------
// The threads of a block are fibers that live across blocks and launches:
// each runs the kernel body for one block, then waits to be resumed for the
// next. On x86-64 a fiber switch is a few instructions (ctx_switch below:
// callee-saved registers and the stack pointer); elsewhere ucontext's
// swapcontext (much slower: a system call per switch). Switches are announced
// to AddressSanitizer.
constexpr size_t kStack = 64 * 1024;
struct Fiber {
  std::vector<char> stack;
  bool started = false;
  int state = 0;  // 0 runnable, 1 at a barrier, 2 done
  void* fake = nullptr;
  dim3 tid;
#if defined(__x86_64__)
  void* sp = nullptr;
#else
  ucontext_t ctx;
#endif
};
#if defined(__x86_64__)
void* sched_sp = nullptr;
#else
ucontext_t sched_ctx;
#endif
void* sched_fake = nullptr;
const void* sched_bottom = nullptr;
size_t sched_size = 0;
std::vector<Fiber> fibers;
int cur = 0;
const std::function<void()>* body = nullptr;
std::vector<unsigned char> dyn_smem;

// Shared memory of the running launch: per block, static arrays plus dynamic
// memory must fit in what CUDA gives a block without opting in.
constexpr size_t kSmemPerBlock = 48 * 1024;
// The largest pitch of a 2-D copy (cudaDeviceProp::memPitch: 2^31 - 1 on
// current GPUs; EMU_MAX_PITCH lowers it to exercise the code beyond it).
size_t max_pitch() {
  const char* s = std::getenv("EMU_MAX_PITCH");
  return s ? size_t(std::strtod(s, nullptr)) : size_t(2147483647);
}
size_t launch_dyn_smem = 0, launch_static_smem = 0;
std::set<const void*> launch_static_arrays;
bool launch_failed = false;

inline void start_switch(void** fake, const void* bottom, size_t size) {
#ifdef EMU_ASAN
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}
inline void finish_switch(void* fake, const void** bottom_old, size_t* size_old) {
#ifdef EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, bottom_old, size_old);
#else
  (void)fake, (void)bottom_old, (void)size_old;
#endif
}

void yield_to_scheduler();

void fiber_main() {
  finish_switch(nullptr, &sched_bottom, &sched_size);
  for (;;) {
    (*body)();
    fibers[size_t(cur)].state = 2;
    yield_to_scheduler();
  }
}

}  // namespace

#if defined(__x86_64__)
// ctx_switch(&save, to): saves the callee-saved registers and the stack
// pointer into *save and continues where `to` was saved.
extern "C" void emu_ctx_switch(void** save, void* to);
asm(R"(
  .text
  .globl emu_ctx_switch
  .type emu_ctx_switch,@function
emu_ctx_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emu_ctx_switch,.-emu_ctx_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");
#endif

namespace {

// On a fiber: back to the scheduler until resumed.
void yield_to_scheduler() {
  Fiber& f = fibers[size_t(cur)];
  start_switch(&f.fake, sched_bottom, sched_size);
#if defined(__x86_64__)
  emu_ctx_switch(&f.sp, sched_sp);
#else
  swapcontext(&f.ctx, &sched_ctx);
#endif
  finish_switch(fibers[size_t(cur)].fake, nullptr, nullptr);
}

// On the scheduler: runs fiber t until it reaches a barrier or ends its block.
void resume(size_t t) {
  Fiber& f = fibers[t];
  cur = int(t);
  threadIdx = f.tid;
  if (!f.started) {
    f.started = true;
#if defined(__x86_64__)
    // A stack that "returns" into fiber_main with the registers all zero.
    uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack.data()) + f.stack.size()) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;  // fiber_main's return address (it never returns)
    *--sp = reinterpret_cast<void*>(&fiber_main);
    for (int r = 0; r < 6; ++r) *--sp = nullptr;
    f.sp = sp;
#else
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack.data();
    f.ctx.uc_stack.ss_size = f.stack.size();
    f.ctx.uc_link = nullptr;  // fiber_main never returns
    makecontext(&f.ctx, fiber_main, 0);
#endif
  }
  start_switch(&sched_fake, f.stack.data(), f.stack.size());
#if defined(__x86_64__)
  emu_ctx_switch(&sched_sp, f.sp);
#else
  swapcontext(&sched_ctx, &f.ctx);
#endif
  finish_switch(sched_fake, nullptr, nullptr);
}

}  // namespace

void __syncthreads() {
  if (fibers.empty() || !body) die("__syncthreads outside a kernel");
  fibers[size_t(cur)].state = 1;
  yield_to_scheduler();
}

unsigned char* emu_dynamic_smem() { return dyn_smem.data(); }

void emu_static_smem(const void* p, size_t bytes) {
  if (fibers.empty() || !body) die("static shared memory declared outside a kernel");
  if (!launch_static_arrays.insert(p).second) return;
  launch_static_smem += bytes;
  if (!launch_failed && launch_static_smem + launch_dyn_smem > kSmemPerBlock) {
    std::fprintf(stderr,
                 "CUDA emulator: too much shared memory for a block: %zu static + %zu dynamic > "
                 "%zu bytes\n",
                 launch_static_smem, launch_dyn_smem, kSmemPerBlock);
    set_error(cudaErrorInvalidValue);
    launch_failed = true;  // the rest of the grid does not run
  }
}

void emu_run_grid(dim3 grid, dim3 block, size_t smem, const std::function<void()>& fn) {
  const unsigned long long nt = 1ull * block.x * block.y * block.z;
  if (nt == 0 || nt > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
      grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535 || grid.x > 2147483647u ||
      smem > kSmemPerBlock) {
    std::fprintf(stderr, "CUDA emulator: bad launch grid (%u,%u,%u) block (%u,%u,%u) smem %zu\n",
                 grid.x, grid.y, grid.z, block.x, block.y, block.z, smem);
    set_error(cudaErrorInvalidConfiguration);
    return;
  }
  fibers.reserve(1024);  // never reallocated: suspended fibers keep their place
  if (fibers.size() < nt) fibers.resize(nt);
  for (size_t t = 0; t < nt; ++t)
    if (fibers[t].stack.empty()) fibers[t].stack.resize(kStack);
  body = &fn;
  gridDim = grid;
  blockDim = block;
  launch_dyn_smem = smem;
  launch_static_smem = 0;
  launch_static_arrays.clear();
  launch_failed = false;
  const size_t n = size_t(nt);
  for (unsigned bz = 0; bz < grid.z && !launch_failed; ++bz)
    for (unsigned by = 0; by < grid.y && !launch_failed; ++by)
      for (unsigned bx = 0; bx < grid.x && !launch_failed; ++bx) {
        blockIdx = dim3(bx, by, bz);
        dyn_smem.assign(smem ? smem : 1, 0xCD);  // shared memory starts as garbage
        for (size_t t = 0; t < n; ++t) {
          fibers[t].state = 0;
          fibers[t].tid = dim3(unsigned(t % block.x), unsigned(t / block.x % block.y),
                               unsigned(t / (1ull * block.x * block.y)));
        }
        for (;;) {
          for (size_t t = 0; t < n; ++t)
            if (fibers[t].state == 0) resume(t);
          size_t waiting = 0, done = 0;
          for (size_t t = 0; t < n; ++t) {
            waiting += fibers[t].state == 1;
            done += fibers[t].state == 2;
          }
          if (done == n) break;
          if (done > 0) die("some threads of a block left while others wait at __syncthreads");
          for (size_t t = 0; t < n; ++t) fibers[t].state = 0;  // all at the barrier: release
        }
      }
  body = nullptr;
}

// -- runtime API ----------------------------------------------------------------------

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    default: return "emulated CUDA error";
  }
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    default: return "cudaErrorUnknown";
  }
}
cudaError_t cudaGetLastError() {
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
cudaError_t cudaRuntimeGetVersion(int* v) {
  *v = 13000;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* v) {
  *v = std::getenv("EMU_NO_DRIVER") ? 0 : 13000;
  return cudaSuccess;
}
cudaError_t cudaGetDeviceCount(int* n) {
  *n = 0;
  if (std::getenv("EMU_NO_DRIVER")) return set_error(cudaErrorInsufficientDriver);
  if (std::getenv("EMU_NO_DEVICE")) return set_error(cudaErrorNoDevice);
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice); }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d) {
  if (d != 0) return set_error(cudaErrorInvalidDevice);
  std::memset(p, 0, sizeof *p);
  std::snprintf(p->name, sizeof p->name, "CPU emulation of a CUDA device");
  p->totalGlobalMem = limit();
  p->sharedMemPerBlock = kSmemPerBlock;
  p->memPitch = max_pitch();
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 1;
  return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t* f, size_t* t) {
  *t = limit();
  *f = *t > used ? *t - used : 0;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = nullptr;
  if (bytes == 0) bytes = 1;
  if (used + bytes > limit()) return set_error(cudaErrorMemoryAllocation);
  void* q = std::malloc(bytes);
  if (!q) return set_error(cudaErrorMemoryAllocation);
  std::memset(q, 0xCD, bytes);  // device memory starts as garbage
  allocs[static_cast<char*>(q)] = bytes;
  used += bytes;
  *p = q;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  auto it = allocs.find(static_cast<char*>(p));
  if (it == allocs.end()) die("cudaFree of a pointer that is not a device allocation");
  used -= it->second;
  allocs.erase(it);
  std::free(p);
  return cudaSuccess;
}
struct EmuStream {
  int dummy;
};
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new EmuStream();
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return last_error; }
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
  check_copy(dst, src, bytes, kind);
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind, cudaStream_t) {
  if (width > dpitch || width > spitch || dpitch > max_pitch() || spitch > max_pitch())
    return set_error(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; ++r) {
    char* d = static_cast<char*>(dst) + r * dpitch;
    const char* s = static_cast<const char*>(src) + r * spitch;
    check_copy(d, s, width, kind);
    std::memcpy(d, s, width);
  }
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (!in_device(p, bytes)) die("cudaMemset outside a device allocation");
  std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t emu_func_attributes(cudaFuncAttributes* a) {
  a->maxThreadsPerBlock = 1024;
  a->sharedSizeBytes = 0;
  return cudaSuccess;
}
bool emu_is_device_range(const void* p, size_t bytes) { return in_device(p, bytes); }

// -- cuBLAS ------------------------------------------------------------------------------

struct EmuBlas {
  int dummy;
};
cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = new EmuBlas();
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetAtomicsMode(cublasHandle_t, cublasAtomicsMode_t) {
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t, void* w, size_t bytes) {
  if (bytes && !in_device(w, bytes)) die("cuBLAS workspace is not a device allocation");
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    default: return "CUBLAS_STATUS_EXECUTION_FAILED";
  }
}

namespace {

// Column-major C = alpha op(A) op(B) + beta C per batch, as cuBLAS defines it,
// with its argument checks; every matrix must lie inside a device allocation.
template <typename T>
cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, T alpha,
                    const T* A, int lda, long long sA, const T* B, int ldb, long long sB, T beta,
                    T* C, int ldc, long long sC, int batch) {
  if (m < 0 || n < 0 || k < 0 || batch < 0) return CUBLAS_STATUS_INVALID_VALUE;
  const int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
  const int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
  if (lda < std::max(1, ar) || ldb < std::max(1, br) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int b = 0; b < batch; ++b) {
    const T* Ab = A + b * sA;
    const T* Bb = B + b * sB;
    T* Cb = C + b * sC;
    if (m == 0 || n == 0) continue;
    if (k > 0 && (!emu_is_device_range(Ab, ((long long)(ac - 1) * lda + ar) * sizeof(T)) ||
                  !emu_is_device_range(Bb, ((long long)(bc - 1) * ldb + br) * sizeof(T))))
      die("GEMM input outside a device allocation");
    if (!emu_is_device_range(Cb, ((long long)(n - 1) * ldc + m) * sizeof(T)))
      die("GEMM output outside a device allocation");
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        T s = 0;
        for (int l = 0; l < k; ++l) {
          const T a = ta == CUBLAS_OP_N ? Ab[i + (long long)l * lda] : Ab[l + (long long)i * lda];
          const T bb = tb == CUBLAS_OP_N ? Bb[l + (long long)j * ldb] : Bb[j + (long long)l * ldb];
          s += a * bb;
        }
        T& c = Cb[i + (long long)j * ldc];
        c = beta == T(0) ? alpha * s : alpha * s + beta * c;
      }
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const double* alpha, const double* A,
                                         int lda, long long sA, const double* B, int ldb,
                                         long long sB, const double* beta, double* C, int ldc,
                                         long long sC, int batch) {
  return gemm(ta, tb, m, n, k, *alpha, A, lda, sA, B, ldb, sB, *beta, C, ldc, sC, batch);
}
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const float* alpha, const float* A,
                                         int lda, long long sA, const float* B, int ldb,
                                         long long sB, const float* beta, float* C, int ldc,
                                         long long sC, int batch) {
  return gemm(ta, tb, m, n, k, *alpha, A, lda, sA, B, ldb, sB, *beta, C, ldc, sC, batch);
}
