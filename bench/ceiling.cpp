// bench/ceiling.cpp -- this machine's ceilings: dgemm rate, FMA peak, memory read bandwidth.
//
// Build (exact command used by bench/run_anchors.sh):
//   g++ -O3 -march=native -fopenmp -std=c++17 -Wno-ignored-attributes \
//       -I/usr/lib/R/site-library/RcppEigen/include -o ceiling bench/ceiling.cpp -larmadillo
//   Without Armadillo (e.g. on a GPU box): add -DCEILING_NO_ARMA and drop -larmadillo.
// Run:  ./ceiling            (uses 1 and 2 threads explicitly; OMP_NUM_THREADS is ignored)
//
// Measures (best of several repetitions each):
//   * Eigen 3 GEMM (header-only, AVX-512 kernels with -march=native, OpenMP-parallel),
//     n x n x n double, 1 and 2 threads: the practical dgemm ceiling for compute-bound code.
//   * Armadillo's A*B, i.e. the system BLAS dgemm that Armadillo (and numpy, R) link:
//     on this Debian image that is the netlib reference BLAS (single-threaded, unblocked),
//     shown to explain BLAS-based anchors, not as a ceiling.
//   * FMA peak: 24 independent 512-bit (or 256-bit) FMA chains per thread, 1 and 2 threads.
//   * Memory read bandwidth: sum over a 1 GiB double array (OpenMP simd reduction),
//     1 and 2 threads, GB = 1e9 bytes.
// Output: CSV lines  metric,threads,value,unit
#ifndef CEILING_NO_ARMA
#include <armadillo>
#endif
#include <Eigen/Dense>

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

static double eigen_gemm(int n, int threads, int reps) {
  Eigen::setNbThreads(threads);
  Eigen::MatrixXd A = Eigen::MatrixXd::Random(n, n), B = Eigen::MatrixXd::Random(n, n),
                  C(n, n);
  C.noalias() = A * B;  // warm-up
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    C.noalias() = A * B;
    best = std::min(best, now() - t0);
  }
  std::fprintf(stderr, "  eigen n=%d threads=%d best=%.3fs (C(0,0)=%g)\n", n, threads, best,
               C(0, 0));
  return 2.0 * double(n) * n * n / best / 1e9;
}

#ifndef CEILING_NO_ARMA
static double arma_gemm(int n, int reps) {
  arma::arma_rng::set_seed(1);
  arma::mat A(n, n, arma::fill::randu), B(n, n, arma::fill::randu), C;
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    C = A * B;
    best = std::min(best, now() - t0);
  }
  std::fprintf(stderr, "  armadillo/system BLAS n=%d best=%.3fs (C(0,0)=%g)\n", n, best,
               C(0, 0));
  return 2.0 * double(n) * n * n / best / 1e9;
}
#endif

// Peak FMA throughput: many independent accumulators so latency is hidden.
static double fma_peak(int threads) {
  const long iters = 100000000;
#if defined(__AVX512F__)
  typedef __m512d V;
  const int W = 8;
#define VSET1 _mm512_set1_pd
#define VFMA _mm512_fmadd_pd
#define VADD _mm512_add_pd
#define VSTORE _mm512_storeu_pd
#else
  typedef __m256d V;
  const int W = 4;
#define VSET1 _mm256_set1_pd
#define VFMA _mm256_fmadd_pd
#define VADD _mm256_add_pd
#define VSTORE _mm256_storeu_pd
#endif
  constexpr int A = 24;
  double sink = 0;
  const double t0 = now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
    V acc[A];
    for (int i = 0; i < A; ++i) acc[i] = VSET1(1.0 + 1e-9 * (i + omp_get_thread_num()));
    const V a = VSET1(0.999999999), b = VSET1(1e-9);
    for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 24
      for (int i = 0; i < A; ++i) acc[i] = VFMA(acc[i], a, b);
    }
    V s = acc[0];
    for (int i = 1; i < A; ++i) s = VADD(s, acc[i]);
    double tmp[8];
    VSTORE(tmp, s);
    for (int i = 0; i < W; ++i) sink += tmp[i];
  }
  const double t = now() - t0;
  std::fprintf(stderr, "  fma threads=%d %.3fs (sink=%g)\n", threads, t, sink);
  return 2.0 * W * A * double(iters) * threads / t / 1e9;
}

static double read_bw(const std::vector<double>& x, int threads, int reps) {
  const long n = static_cast<long>(x.size());
  const double* p = x.data();
  double best = 1e300, s = 0;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    double acc = 0;
#pragma omp parallel for simd num_threads(threads) schedule(static) reduction(+ : acc)
    for (long i = 0; i < n; ++i) acc += p[i];
    best = std::min(best, now() - t0);
    s += acc;
  }
  std::fprintf(stderr, "  read threads=%d best=%.4fs (sum=%g)\n", threads, best, s);
  return double(n) * sizeof(double) / best / 1e9;
}

int main() {
  Eigen::initParallel();
  std::printf("metric,threads,value,unit\n");
  for (int t : {1, 2})
    std::printf("eigen_dgemm_n3072,%d,%.1f,GFLOP/s\n", t, eigen_gemm(3072, t, 3));
#ifndef CEILING_NO_ARMA
  std::printf("system_blas_dgemm_n1000,1,%.2f,GFLOP/s\n", arma_gemm(1000, 2));
#endif
  for (int t : {1, 2}) std::printf("fma_peak,%d,%.1f,GFLOP/s\n", t, fma_peak(t));
  std::vector<double> x(size_t(1) << 27);  // 1 GiB
#pragma omp parallel for num_threads(2) schedule(static)
  for (long i = 0; i < long(x.size()); ++i) x[i] = 1.0 + 1e-12 * double(i & 1023);
  for (int t : {1, 2}) std::printf("mem_read_1GiB,%d,%.1f,GB/s\n", t, read_bw(x, t, 5));
  return 0;
}
