// Device kernels of the CUDA backend (included by cuda_engine.cu only).
//
// Layout on the device: a block of b rows is X (b x (d + 1), column-major,
// leading dimension ldx, shifted by the data mean, compute type T) whose last
// column is all ones, and R (b x kk, leading dimension ldr) holding the
// weighted responsibilities w_i r_ij; for the tied model column k of R holds
// the weights w_i themselves (a pseudo component for S2 = sum w x x').
//
// With the column of ones every statistic is one "cell" sum_i R_ij x_ia x_ib:
// (a, b) = (d, d) is S0_j, (d, c) is S1_jc and (r, c) with r, c < d is S2.
// A pass therefore computes a list of tasks (j, a, b), each a double.
//
// Determinism: every sum runs in a fixed order that depends only on the
// launch configuration, which depends only on the problem shape; there are no
// floating-point atomics. Products are formed in T and accumulated in double.
#pragma once
#include <cuda_runtime.h>

#include <cmath>

namespace fastgmm {
namespace cuda {
namespace kern {

enum Cov { kFull = 0, kDiag = 1, kSph = 2, kTied = 3 };

constexpr int kEThreads = 128;  // E-step: threads (rows) per block
constexpr int kRThreads = 256;  // reductions
constexpr int kKC = 8;          // variant (b): components per register chunk
constexpr int kTPT = 4;         // variants (c), (d): tasks per thread per sweep

__device__ inline float exp_t(float v) { return expf(v); }
__device__ inline double exp_t(double v) { return exp(v); }

// Sum of v over the thread block in a fixed tree order. NT = blockDim.x, a
// power of two. Every thread of the block must call it; the result is valid
// in every thread.
template <int NT>
__device__ double block_sum(double v) {
  __shared__ double sh[NT];
  __syncthreads();  // earlier readers of sh are done
  sh[threadIdx.x] = v;
  __syncthreads();
#pragma unroll
  for (int s = NT / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  return sh[0];
}

// dst[i] = T(src[i] - shift), i < m.
template <typename T>
__global__ void convert_kernel(const double* src, long long m, double shift, T* dst) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < m) dst[i] = T(src[i] - shift);
}

// dst[i + c ld] = T(src[i + c ld] - shift[c]), i < b, c < gridDim.y.
template <typename T>
__global__ void convert_block_kernel(const double* src, const double* shift, int b, long long ld,
                                     T* dst) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const long long c = blockIdx.y;
  if (i < b) dst[i + c * ld] = T(src[i + c * ld] - shift[c]);
}

template <typename T>
__global__ void fill_kernel(T* dst, long long m, T value) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < m) dst[i] = value;
}

// -- E-step ---------------------------------------------------------------------

template <typename T>
struct EArgs {
  int cov, d, k;
  const T* cst;   // k
  const T* mean;  // k x d row-major
  const T* U;     // full: k blocks d x d col-major; tied: d x d
  const T* mU;    // k x d row-major
  const T* P;     // diag: k x d row-major; spherical: k
  const T* X;     // block, ld ldx
  long long ldx;
  const T* W;  // block weights or null
  T* R;        // b x kk, ld ldr
  long long ldr;
  T* Y;  // tied, when the row is not staged in shared memory: b x d, ld ldr
  double* part_ll;  // one per thread block: sum of w_i log p(x_i) over its rows
  int b;
  int stage;  // copy each row into shared memory (d * kEThreads * sizeof(T) bytes)
};

// One thread per row: L_ij = log prop_j + log N(x_i | j) through the precision
// Cholesky factors, log-sum-exp, weighted responsibilities into R, and the
// block's weighted log-likelihood. Mirrors the CPU core's Direct variant and
// normalize() operation for operation.
template <typename T>
__global__ void __launch_bounds__(kEThreads) estep_kernel(EArgs<T> a) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* sx = reinterpret_cast<T*>(smem);
  const int t = threadIdx.x;
  const int i = blockIdx.x * kEThreads + t;
  const int d = a.d, k = a.k;
  double contrib = 0;
  if (i < a.b) {
    const T* xs;
    long long xst;
    if (a.stage) {
      for (int c = 0; c < d; ++c) sx[c * kEThreads + t] = a.X[i + c * a.ldx];
      xs = sx + t;  // each thread reads back only its own row: no barrier needed
      xst = kEThreads;
    } else {
      xs = a.X + i;
      xst = a.ldx;
    }
    T* Ri = a.R + i;
    const long long ldr = a.ldr;
    T m = T(-INFINITY);
    switch (a.cov) {
      case kFull:
        for (int j = 0; j < k; ++j) {
          const T* U = a.U + (long long)j * d * d;
          const T* mu = a.mU + (long long)j * d;
          T acc = 0;
          for (int c = 0; c < d; ++c) {
            const T* Uc = U + (long long)c * d;
            T y = 0;
            for (int r = 0; r <= c; ++r) y += xs[r * xst] * Uc[r];
            y -= mu[c];
            acc += y * y;
          }
          const T l = a.cst[j] - T(0.5) * acc;
          Ri[j * ldr] = l;
          m = l > m ? l : m;
        }
        break;
      case kTied: {
        // y = x' U once per row, written over x in shared memory (going down
        // the columns, y_c needs only x_0 .. x_c), or into Y.
        T* ys;
        long long yst;
        if (a.stage) {
          ys = sx + t;
          yst = kEThreads;
        } else {
          ys = a.Y + i;
          yst = ldr;
        }
        for (int c = d - 1; c >= 0; --c) {
          const T* Uc = a.U + (long long)c * d;
          T y = 0;
          for (int r = 0; r <= c; ++r) y += xs[r * xst] * Uc[r];
          ys[c * yst] = y;
        }
        for (int j = 0; j < k; ++j) {
          const T* mu = a.mU + (long long)j * d;
          T acc = 0;
          for (int c = 0; c < d; ++c) {
            const T e = ys[c * yst] - mu[c];
            acc += e * e;
          }
          const T l = a.cst[j] - T(0.5) * acc;
          Ri[j * ldr] = l;
          m = l > m ? l : m;
        }
        break;
      }
      case kDiag:
        for (int j = 0; j < k; ++j) {
          const T* mu = a.mean + (long long)j * d;
          const T* P = a.P + (long long)j * d;
          T acc = 0;
          for (int c = 0; c < d; ++c) {
            const T e = xs[c * xst] - mu[c];
            acc += e * e * P[c];
          }
          const T l = a.cst[j] - T(0.5) * acc;
          Ri[j * ldr] = l;
          m = l > m ? l : m;
        }
        break;
      default:  // spherical
        for (int j = 0; j < k; ++j) {
          const T* mu = a.mean + (long long)j * d;
          T acc = 0;
          for (int c = 0; c < d; ++c) {
            const T e = xs[c * xst] - mu[c];
            acc += e * e;
          }
          const T l = a.cst[j] - T(0.5) * a.P[j] * acc;
          Ri[j * ldr] = l;
          m = l > m ? l : m;
        }
        break;
    }
    T s = 0;
    for (int j = 0; j < k; ++j) {
      const T e = exp_t(Ri[j * ldr] - m);
      Ri[j * ldr] = e;
      s += e;
    }
    const double ll = double(m) + log(double(s));
    const T w = a.W ? a.W[i] : T(1);
    const T sc = w / s;
    for (int j = 0; j < k; ++j) Ri[j * ldr] *= sc;
    if (a.cov == kTied) Ri[k * ldr] = w;
    if (w != T(0)) contrib = double(w) * ll;
  }
  contrib = block_sum<kEThreads>(contrib);
  if (t == 0) a.part_ll[blockIdx.x] = contrib;
}

// acc[0] += sum of v[0 .. m-1] (one thread block).
__global__ void __launch_bounds__(kRThreads) sum_kernel(const double* v, int m, double* acc) {
  double s = 0;
  for (int i = threadIdx.x; i < m; i += kRThreads) s += v[i];
  s = block_sum<kRThreads>(s);
  if (threadIdx.x == 0) acc[0] += s;
}

// -- statistics -------------------------------------------------------------------

template <typename T>
struct SArgs {
  const T* X;
  long long ldx;
  const T* R;
  long long ldr;
  int b;
  int d;
};

// (a) one thread block per task (j, a, b), over all rows of the block.
template <typename T>
__global__ void __launch_bounds__(kRThreads)
    stats_cell_kernel(SArgs<T> s, const int* tj, const int* ta, const int* tb, double* acc) {
  const int task = blockIdx.x;
  const T* r = s.R + tj[task] * s.ldr;
  const T* xa = s.X + ta[task] * s.ldx;
  const T* xb = s.X + tb[task] * s.ldx;
  double v = 0;
  for (int i = threadIdx.x; i < s.b; i += kRThreads) v += double(r[i] * xa[i] * xb[i]);
  v = block_sum<kRThreads>(v);
  if (threadIdx.x == 0) acc[task] += v;
}

// (b) one thread block per cell (a, b), for all of its components j0 .. j1-1,
// kKC components at a time in registers. Tasks of a cell are consecutive,
// starting at coff.
template <typename T>
__global__ void __launch_bounds__(kRThreads)
    stats_cell_all_kernel(SArgs<T> s, const int* ca, const int* cb, const int* cj0,
                          const int* cj1, const int* coff, double* acc) {
  const int cell = blockIdx.x;
  const T* xa = s.X + ca[cell] * s.ldx;
  const T* xb = s.X + cb[cell] * s.ldx;
  const int j0 = cj0[cell], j1 = cj1[cell], off = coff[cell];
  for (int jc = j0; jc < j1; jc += kKC) {
    const int nj = min(kKC, j1 - jc);
    const T* R = s.R + jc * s.ldr;
    double v[kKC];
#pragma unroll
    for (int q = 0; q < kKC; ++q) v[q] = 0;
    for (int i = threadIdx.x; i < s.b; i += kRThreads) {
      const T p = xa[i] * xb[i];
#pragma unroll
      for (int q = 0; q < kKC; ++q)
        if (q < nj) v[q] += double(R[i + q * s.ldr] * p);
    }
#pragma unroll
    for (int q = 0; q < kKC; ++q)
      if (q < nj) {  // nj is the same in every thread of the block
        const double tot = block_sum<kRThreads>(v[q]);
        if (threadIdx.x == 0) acc[off + (jc - j0) + q] += tot;
      }
  }
}

// (c), (d) one thread block per (component, row chunk): tiles of rows of X and
// R_j are staged in shared memory and each thread sums kTPT of the
// component's tasks over them. With add = 1 (one chunk) the sums are added to
// out[task]; otherwise written to out[chunk * stride + task] for
// reduce_chunks_kernel. Shared memory: ((d + 1) (tile + 1) + tile) T.
template <typename T>
__global__ void stats_component_kernel(SArgs<T> s, const int* cptr, const int* ctask,
                                       const int* ta, const int* tb, int tile, int chunk_rows,
                                       double* out, long long stride, int add) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* sX = reinterpret_cast<T*>(smem);
  const int S = tile + 1;  // padded: fewer bank conflicts between columns
  const int dd = s.d + 1;
  T* sR = sX + (long long)dd * S;
  const int j = blockIdx.x;
  const int row0 = blockIdx.y * chunk_rows;
  const int row1 = min(s.b, row0 + chunk_rows);
  const int t0 = cptr[j], nt = cptr[j + 1] - t0;
  const int nth = blockDim.x, tid = threadIdx.x;
  const T* Rj = s.R + j * s.ldr;
  for (int g0 = 0; g0 < nt; g0 += kTPT * nth) {
    double acc[kTPT];
    int pa[kTPT], pb[kTPT];
#pragma unroll
    for (int q = 0; q < kTPT; ++q) {
      const int tt = g0 + q * nth + tid;
      acc[q] = 0;
      pa[q] = pb[q] = 0;
      if (tt < nt) {
        const int task = ctask[t0 + tt];
        pa[q] = ta[task] * S;
        pb[q] = tb[task] * S;
      }
    }
    for (int r0 = row0; r0 < row1; r0 += tile) {
      const int tr = min(tile, row1 - r0);
      __syncthreads();  // the previous tile is no longer read
      for (int e = tid; e < dd * tr; e += nth) {
        const int c = e / tr, r = e - c * tr;
        sX[c * S + r] = s.X[(r0 + r) + c * s.ldx];
      }
      for (int e = tid; e < tr; e += nth) sR[e] = Rj[r0 + e];
      __syncthreads();
#pragma unroll
      for (int q = 0; q < kTPT; ++q)
        if (g0 + q * nth + tid < nt) {
          const T* xa = sX + pa[q];
          const T* xb = sX + pb[q];
          double v = acc[q];
          for (int r = 0; r < tr; ++r) v += double(sR[r] * xa[r] * xb[r]);
          acc[q] = v;
        }
    }
#pragma unroll
    for (int q = 0; q < kTPT; ++q) {
      const int tt = g0 + q * nth + tid;
      if (tt < nt) {
        const int task = ctask[t0 + tt];
        if (add)
          out[task] += acc[q];
        else
          out[blockIdx.y * stride + task] = acc[q];
      }
    }
  }
}

// acc[t] += sum over chunks, in chunk order, of part[chunk * stride + t].
__global__ void reduce_chunks_kernel(const double* part, int nch, long long stride, int ntasks,
                                     double* acc) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= ntasks) return;
  double v = 0;
  for (int c = 0; c < nch; ++c) v += part[c * stride + t];
  acc[t] += v;
}

// (e) helpers. Z[:, q (d+1) + c] = R[:, j0 + q] .* X[:, c] for q < g, c <= d.
template <typename T>
__global__ void scale_kernel(const T* X, long long ldx, const T* R, long long ldr, int j0, int dd,
                             int b, T* Z, long long ldz) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int col = blockIdx.y;
  if (i >= b) return;
  const int q = col / dd, c = col - q * dd;
  Z[i + col * ldz] = R[i + (j0 + q) * ldr] * X[i + c * ldx];
}

// X2[:, c] = X[:, c].^2 for c < gridDim.y.
template <typename T>
__global__ void square_kernel(const T* X, long long ldx, int b, T* X2, long long ld2) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const long long c = blockIdx.y;
  if (i >= b) return;
  const T v = X[i + c * ldx];
  X2[i + c * ld2] = v * v;
}

// acc[t] += sum over chunks, in chunk order, of double(G[chunk * gstride + src[t]]).
template <typename T>
__global__ void gather_kernel(const T* G, int nch, long long gstride, const long long* src,
                              int ntasks, double* acc) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= ntasks) return;
  const long long o = src[t];
  double v = 0;
  for (int c = 0; c < nch; ++c) v += double(G[c * gstride + o]);
  acc[t] += v;
}

}  // namespace kern
}  // namespace cuda
}  // namespace fastgmm
