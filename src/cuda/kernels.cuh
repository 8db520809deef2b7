// Device kernels of the CUDA plugin (included by plugin.cu only).
//
// Layout on the device: a block of b rows is X (b x (d + 1), column-major,
// leading dimension ldx, already minus the data's origin, compute type T)
// whose last column is all ones, and R (b x k, leading dimension ldr) holding
// the weighted responsibilities w_i r_ij. A holds the anchors (d x k: the
// component means of the pass, in T).
//
// Anchored statistics. For component j let z_ij = (x_i - a_j, 1): the data
// about the anchor, extended by the column of ones (whose anchor is 0). Every
// statistic is one "cell" (a, b), a <= b <= d, of the matrix
// sum_i r_ij z_ij z_ij':
//   b <  d : s2 (Full: every a <= b; Diag and Trace: a = b)
//   b == d : s1_ja for a < d, s0_j for a = d.
// Cells are numbered per component: Full in the order of the packed upper
// triangle of the (d + 1) x (d + 1) matrix (so that a component's cells are
// [s2 packed, s1, s0]); Diag and Trace as [(c, c) for c < d, (c, d) for
// c < d, (d, d)] (so [s2 diagonal, s1, s0]). The statistic of (j, cell) is
// acc[j * ncells + cell]. Every kernel forms x - a_j before any product, so
// nothing cancels however far the components lie from the origin.
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

enum Shape { kFull = 0, kTied = 1, kDiag = 2, kSph = 3 };

constexpr int kEThreads = 128;  // E-step: threads (rows) per block
constexpr int kRThreads = 256;  // reductions
constexpr int kKC = 8;          // variant (b): components per register chunk
constexpr int kTPT = 4;         // variants (c), (d): cells per thread per sweep

// Static shared memory of the kernels that also take dynamic shared memory
// (block_sum's buffer): the launch must fit static + dynamic in the block's
// limit. The host also asks the runtime (cudaFuncGetAttributes) and takes
// the larger of the two.
constexpr size_t kEStaticSmem = kEThreads * sizeof(double);  // estep_kernel
constexpr size_t kCStaticSmem = 0;                           // stats_component_kernel

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

template <typename T>
__global__ void fill_kernel(T* dst, long long m, T value) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < m) dst[i] = value;
}

// -- E-step ---------------------------------------------------------------------

template <typename T>
struct EArgs {
  int shape, d, k;
  const T* cst;  // k
  const T* A;    // d x k means
  const T* U;    // Full: k blocks d x d col-major upper factors; Tied: one d x d
  const T* P;    // Diag: d x k precisions; Spherical: k
  const T* X;    // block, ld ldx
  long long ldx;
  const T* W;  // block weights or null
  T* R;        // b x k, ld ldr
  long long ldr;
  double* part_ll;  // one per thread block: sum of w_i log p(x_i) over its rows
  int b;
  int stage;  // copy each row into shared memory (d * kEThreads * sizeof(T) bytes)
};

// One thread per row: L_ij = log prop_j + log N(x_i | j), with the triangular
// product applied to x_i - mean_j (never U'x - U'mean), log-sum-exp as the
// CPU core's normalize(), weighted responsibilities into R, and the block's
// weighted log-likelihood.
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
    for (int j = 0; j < k; ++j) {
      const T* mu = a.A + (long long)j * d;
      T acc = 0;
      if (a.shape == kFull || a.shape == kTied) {
        const T* U = a.U + (a.shape == kFull ? (long long)j * d * d : 0);
        for (int c = 0; c < d; ++c) {
          const T* Uc = U + (long long)c * d;
          T y = 0;
          for (int r = 0; r <= c; ++r) y += (xs[r * xst] - mu[r]) * Uc[r];
          acc += y * y;
        }
      } else if (a.shape == kDiag) {
        const T* P = a.P + (long long)j * d;
        for (int c = 0; c < d; ++c) {
          const T e = xs[c * xst] - mu[c];
          acc += e * e * P[c];
        }
      } else {
        for (int c = 0; c < d; ++c) {
          const T e = xs[c * xst] - mu[c];
          acc += e * e;
        }
        acc *= a.P[j];
      }
      const T l = a.cst[j] - T(0.5) * acc;
      Ri[j * ldr] = l;
      m = l > m ? l : m;
    }
    // Terms below exp(cut) of the row's largest are set to zero, as on the CPU.
    const T cut = sizeof(T) == 8 ? T(-230) : T(-50);
    const T floor = exp_t(cut);
    T s = 0;
    for (int j = 0; j < k; ++j) {
      T v = Ri[j * ldr] - m;
      v = v > cut ? v : cut;
      v = exp_t(v) - floor;
      v = v > T(0) ? v : T(0);
      Ri[j * ldr] = v;
      s += v;
    }
    const double ll = double(m) + log(double(s));
    const T w = a.W ? a.W[i] : T(1);
    const T sc = w / s;
    for (int j = 0; j < k; ++j) Ri[j * ldr] *= sc;
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
  const T* X;  // d + 1 columns, the last all ones
  long long ldx;
  const T* R;
  long long ldr;
  const T* A;        // d x k anchors
  const int* ca;     // per cell: its two columns a <= b
  const int* cb;
  long long ncells;  // per component
  int b, d, k;
};

// The anchor of column c of component j (0 for the column of ones).
template <typename T>
__device__ inline T anchor(const SArgs<T>& s, int c, int j) {
  return c < s.d ? s.A[c + (long long)j * s.d] : T(0);
}

// (a) one thread block per (component, cell), over all rows of the block.
template <typename T>
__global__ void __launch_bounds__(kRThreads) stats_cell_kernel(SArgs<T> s, double* acc) {
  const long long ntasks = s.ncells * s.k;
  for (long long task = blockIdx.x; task < ntasks; task += gridDim.x) {
    const int j = int(task / s.ncells);
    const long long cell = task - j * s.ncells;
    const int ca = s.ca[cell], cb = s.cb[cell];
    const T aa = anchor(s, ca, j), ab = anchor(s, cb, j);
    const T* r = s.R + j * s.ldr;
    const T* xa = s.X + ca * s.ldx;
    const T* xb = s.X + cb * s.ldx;
    double v = 0;
    for (int i = threadIdx.x; i < s.b; i += kRThreads) v += double(r[i] * (xa[i] - aa) * (xb[i] - ab));
    v = block_sum<kRThreads>(v);
    if (threadIdx.x == 0) acc[task] += v;
  }
}

// (b) one thread block per cell, for all components, kKC at a time in
// registers (each row's two columns are read once per chunk).
template <typename T>
__global__ void __launch_bounds__(kRThreads) stats_cell_all_kernel(SArgs<T> s, double* acc) {
  for (long long cell = blockIdx.x; cell < s.ncells; cell += gridDim.x) {
    const int ca = s.ca[cell], cb = s.cb[cell];
    const T* xa = s.X + ca * s.ldx;
    const T* xb = s.X + cb * s.ldx;
    for (int j0 = 0; j0 < s.k; j0 += kKC) {
      const int nj = min(kKC, s.k - j0);
      const T* R = s.R + j0 * s.ldr;
      T aa[kKC], ab[kKC];
      double v[kKC];
#pragma unroll
      for (int q = 0; q < kKC; ++q) {
        aa[q] = q < nj ? anchor(s, ca, j0 + q) : T(0);
        ab[q] = q < nj ? anchor(s, cb, j0 + q) : T(0);
        v[q] = 0;
      }
      for (int i = threadIdx.x; i < s.b; i += kRThreads) {
        const T xai = xa[i], xbi = xb[i];
#pragma unroll
        for (int q = 0; q < kKC; ++q)
          if (q < nj) v[q] += double(R[i + q * s.ldr] * (xai - aa[q]) * (xbi - ab[q]));
      }
#pragma unroll
      for (int q = 0; q < kKC; ++q)
        if (q < nj) {  // nj is the same in every thread of the block
          const double tot = block_sum<kRThreads>(v[q]);
          if (threadIdx.x == 0) acc[(j0 + q) * s.ncells + cell] += tot;
        }
    }
  }
}

// (c), (d) one thread block per (component, row chunk): tiles of z = x - a_j
// (with the column of ones) and of R_j are staged in shared memory and each
// thread sums kTPT of the component's cells over them. With add = 1 (one
// chunk) the sums are added to out[task]; otherwise written to
// out[chunk * stride + task] for reduce_chunks_kernel.
// Shared memory: ((d + 1) (tile + 1) + tile) T.
template <typename T>
__global__ void stats_component_kernel(SArgs<T> s, int tile, int chunk_rows, double* out,
                                       long long stride, int add) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* sZ = reinterpret_cast<T*>(smem);
  const int S = tile + 1;  // padded: fewer bank conflicts between columns
  const int dd = s.d + 1;
  T* sR = sZ + (long long)dd * S;
  const int j = blockIdx.x;
  const int row0 = blockIdx.y * chunk_rows;
  const int row1 = min(s.b, row0 + chunk_rows);
  const long long nt = s.ncells;
  const int nth = blockDim.x, tid = threadIdx.x;
  const T* Rj = s.R + j * s.ldr;
  const T* Aj = s.A + (long long)j * s.d;
  for (long long g0 = 0; g0 < nt; g0 += (long long)kTPT * nth) {
    double acc[kTPT];
    int pa[kTPT], pb[kTPT];
#pragma unroll
    for (int q = 0; q < kTPT; ++q) {
      const long long cell = g0 + q * nth + tid;
      acc[q] = 0;
      pa[q] = pb[q] = 0;
      if (cell < nt) {
        pa[q] = s.ca[cell] * S;
        pb[q] = s.cb[cell] * S;
      }
    }
    for (int r0 = row0; r0 < row1; r0 += tile) {
      const int tr = min(tile, row1 - r0);
      __syncthreads();  // the previous tile is no longer read
      for (int e = tid; e < dd * tr; e += nth) {
        const int c = e / tr, r = e - c * tr;
        const T x = s.X[(r0 + r) + c * s.ldx];
        sZ[c * S + r] = c < s.d ? x - Aj[c] : x;
      }
      for (int e = tid; e < tr; e += nth) sR[e] = Rj[r0 + e];
      __syncthreads();
#pragma unroll
      for (int q = 0; q < kTPT; ++q)
        if (g0 + q * nth + tid < nt) {
          const T* za = sZ + pa[q];
          const T* zb = sZ + pb[q];
          double v = acc[q];
          for (int r = 0; r < tr; ++r) v += double(sR[r] * za[r] * zb[r]);
          acc[q] = v;
        }
    }
#pragma unroll
    for (int q = 0; q < kTPT; ++q) {
      const long long cell = g0 + q * nth + tid;
      if (cell < nt) {
        const long long task = j * nt + cell;
        if (add)
          out[task] += acc[q];
        else
          out[blockIdx.y * stride + task] = acc[q];
      }
    }
  }
}

// acc[t] += sum over chunks, in chunk order, of part[chunk * stride + t].
__global__ void reduce_chunks_kernel(const double* part, int nch, long long stride,
                                     long long ntasks, double* acc) {
  const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= ntasks) return;
  double v = 0;
  for (int c = 0; c < nch; ++c) v += part[c * stride + t];
  acc[t] += v;
}

// (e) helpers. Rows are cut into nch chunks of `rows` (the last padded with
// zeros); matrix t = chunk * g + q (component j0 + q) starts at t * rows * width
// and has leading dimension rows, so that one strided batched GEMM covers all.
struct ZArgs {
  int b, d, j0, g, rows, nch;
  long long width;  // columns per matrix
};

// Full: Zc_t = [X - a_j, 1] and Zr_t = r_j .* Zc_t (width d + 1).
template <typename T>
__global__ void zfull_kernel(SArgs<T> s, ZArgs z, T* Zc, T* Zr) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long m = (long long)z.nch * z.rows;
  if (i >= m) return;
  const int chunk = int(i / z.rows), r = int(i - (long long)chunk * z.rows);
  const long long cols = (long long)z.g * z.width;
  for (long long col = blockIdx.y; col < cols; col += gridDim.y) {
    const int q = int(col / z.width), c = int(col - q * z.width);
    const long long o = (((long long)chunk * z.g + q) * z.width + c) * z.rows + r;
    T zv = 0, rz = 0;
    if (i < z.b) {
      const int j = z.j0 + q;
      const T x = s.X[i + c * s.ldx];
      zv = c < s.d ? x - s.A[c + (long long)j * s.d] : x;
      rz = s.R[i + j * s.ldr] * zv;
    }
    Zc[o] = zv;
    Zr[o] = rz;
  }
}

// Diag, Trace: Zs_t = r_j .* [(x - a_j).^2, x - a_j, 1] (width 2 d + 1, the
// order of the cells).
template <typename T>
__global__ void zdiag_kernel(SArgs<T> s, ZArgs z, T* Zs) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  const long long m = (long long)z.nch * z.rows;
  if (i >= m) return;
  const int chunk = int(i / z.rows), r = int(i - (long long)chunk * z.rows);
  const long long cols = (long long)z.g * z.width;
  for (long long col = blockIdx.y; col < cols; col += gridDim.y) {
    const int q = int(col / z.width), c = int(col - q * z.width);
    const long long o = (((long long)chunk * z.g + q) * z.width + c) * z.rows + r;
    T v = 0;
    if (i < z.b) {
      const int j = z.j0 + q;
      const T rr = s.R[i + j * s.ldr];
      if (c == 2 * s.d) {
        v = rr;
      } else {
        const int cc = c < s.d ? c : c - s.d;
        const T zv = s.X[i + cc * s.ldx] - s.A[cc + (long long)j * s.d];
        v = c < s.d ? rr * zv * zv : rr * zv;
      }
    }
    Zs[o] = v;
  }
}

// acc[(j0 + q) ncells + cell] += sum over chunks, in chunk order, of
// double(G[(chunk g + q) gstride + src]), src = ca + cb (d + 1) (Full: G holds
// (d + 1) x (d + 1) products) or cell (Diag, Trace: G holds the cells).
template <typename T>
__global__ void gather_kernel(const T* G, int nch, int g, long long gstride, int full,
                              const int* ca, const int* cb, long long ncells, int d, int j0,
                              double* acc) {
  const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= (long long)g * ncells) return;
  const int q = int(t / ncells);
  const long long cell = t - q * ncells;
  const long long src = full ? ca[cell] + (long long)cb[cell] * (d + 1) : cell;
  double v = 0;
  for (int c = 0; c < nch; ++c) v += double(G[((long long)c * g + q) * gstride + src]);
  acc[(j0 + q) * ncells + cell] += v;
}

}  // namespace kern
}  // namespace cuda
}  // namespace fastgmm
