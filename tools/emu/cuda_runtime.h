// A CPU emulation of the subset of the CUDA runtime that src/cuda uses, for
// checking the backend's logic on machines without a GPU (tools/emu_check.sh).
// It is not CUDA: blocks run one after another, the threads of a block run as
// fibers on one OS thread and switch only at __syncthreads(); memory is host
// memory. What it checks: launch limits (threads per block, grid, shared
// memory: static + dynamic per block, 48 KiB as without opt-in), barriers reached by every thread of a block, copies and GEMMs
// staying inside device allocations and going the stated direction, and, under
// AddressSanitizer, every out-of-bounds access in kernels. Timings mean nothing.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

using std::max;
using std::min;

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
void __syncthreads();
unsigned char* emu_dynamic_smem();
// Called where a kernel declares static shared memory (translate.py rewrites
// `__shared__ T name[N];` to a static array and this call): the launch fails
// when the static arrays reached plus the dynamic shared memory exceed the
// per-block limit.
void emu_static_smem(const void* p, size_t bytes);

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInsufficientDriver = 35,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorNoKernelImageForDevice = 209,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorAssert = 710,
  cudaErrorHardwareStackError = 714,
  cudaErrorIllegalInstruction = 715,
  cudaErrorMisalignedAddress = 716,
  cudaErrorInvalidPc = 718,
  cudaErrorLaunchFailure = 719
};

typedef struct EmuStream* cudaStream_t;
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3
};
#define cudaStreamNonBlocking 0x01

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t memPitch;
  int major, minor, multiProcessorCount;
};
struct cudaFuncAttributes {
  int maxThreadsPerBlock;
  size_t sharedSizeBytes;  // the emulator cannot know it: 0
};

const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaRuntimeGetVersion(int* v);
cudaError_t cudaDriverGetVersion(int* v);
cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetDevice(int* d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int d);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s = nullptr);
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind,
                              cudaStream_t s = nullptr);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t emu_func_attributes(cudaFuncAttributes* a);
template <class F>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F) {
  return emu_func_attributes(a);
}

// Device pointer checks used by the emulated cuBLAS: [p, p + bytes) inside one allocation.
bool emu_is_device_range(const void* p, size_t bytes);

void emu_run_grid(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body);

// kernel<<<grid, block, smem, stream>>>(args...) is rewritten to this.
template <class... P, class... A>
void emu_launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t, A&&... a) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel argument count");
  std::tuple<std::decay_t<P>...> args(static_cast<std::decay_t<P>>(a)...);
  emu_run_grid(grid, block, smem, [&] { std::apply(k, args); });
}
