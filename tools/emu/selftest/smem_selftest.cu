// Checks that the CPU emulation (tools/emu) enforces CUDA's per-block
// shared-memory limit on static + dynamic shared memory, as a GPU does
// without opting in to more: a kernel with 1 KiB of static shared memory
// launched with 48 KiB of dynamic shared memory (the E-step's staging of a
// row at d = 48 in double, or d = 96 in single precision) must fail.
// Built and run by tools/emu_check.sh (after tools/emu/translate.py).
#include <cuda_runtime.h>

#include <cstdio>

template <int NT>
__device__ double block_sum(double v) {
  __shared__ double sh[NT];
  __syncthreads();
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = NT / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  return sh[0];
}

__global__ void staged(int m, double* out) {
  extern __shared__ __align__(16) unsigned char smem[];
  double* s = reinterpret_cast<double*>(smem);
  for (int i = threadIdx.x; i < m; i += blockDim.x) s[i] = 1;
  const double v = block_sum<128>(s[threadIdx.x]);
  if (threadIdx.x == 0) out[blockIdx.x] = v;
}

int launch(size_t dyn, double* out) {
  staged<<<2, 128, dyn, 0>>>(int(dyn / sizeof(double)), out);
  return int(cudaGetLastError());
}

int main() {
  double* out = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&out), 2 * sizeof(double)) != cudaSuccess) return 1;
  int failures = 0;
  const struct {
    size_t dyn;
    bool ok;
    const char* what;
  } cases[] = {{47 * 1024, true, "1 KiB static + 47 KiB dynamic"},
               {48 * 1024 - 1024, true, "1 KiB static + 47 KiB dynamic (exactly 48 KiB)"},
               {48 * 1024 - 1016, false, "1 KiB static + 47 KiB + 8 bytes dynamic"},
               {48 * 1024, false, "1 KiB static + 48 KiB dynamic (old E-step, d = 48 double)"},
               {95 * 128 * 4, false, "1 KiB static + 47.5 KiB dynamic (old E-step, d = 95 float)"},
               {49 * 1024, false, "49 KiB dynamic"}};
  for (const auto& c : cases) {
    const int e = launch(c.dyn, out);
    const bool ok = e == cudaSuccess;
    std::printf("smem_selftest: %-58s %s (%s)\n", c.what, ok ? "launched" : "refused",
                ok == c.ok ? "as a GPU" : "WRONG");
    failures += ok != c.ok;
  }
  cudaFree(out);
  return failures ? 1 : 0;
}
