// bench/data.h -- shared data/starting-parameter loading for the C++ benchmark drivers.
//
// Header-only, C++11, no dependencies beyond the standard library, so any driver
// (Armadillo anchor, fastgmm core, CUDA driver) can include it.
//
// File formats (little-endian, written by bench/gen_data.py):
//
//   <case>.data.bin   int64 N, int64 D, then N*D doubles, COLUMN-MAJOR N x D
//                     (element (i, j) at offset i + N*j: R's matrix layout).
//
//   <case>.init.bin   int64 K, int64 D, int64 covtype (0 = full, 1 = diag), then
//                     K doubles          weights (sum to 1)
//                     D*K doubles        means, column-major D x K (mean of component k
//                                        contiguous at offset D*k)
//                     full: D*D*K doubles covariances, D x D x K (component k at D*D*k)
//                     diag: D*K doubles   variances, column-major D x K
//
// The same starting parameters are given to every tool, so their log-likelihood
// after the same number of EM iterations should agree (up to rounding and each
// tool's covariance regularisation).
#ifndef FASTGMM_BENCH_DATA_H
#define FASTGMM_BENCH_DATA_H

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

namespace benchdata {

struct Data {
  int64_t n = 0, d = 0;
  std::vector<double> x;  // column-major n x d
  double at(int64_t i, int64_t j) const { return x[static_cast<size_t>(i + n * j)]; }
  const double* col(int64_t j) const { return x.data() + static_cast<size_t>(n * j); }
};

enum CovType : int64_t { FULL = 0, DIAG = 1 };

struct Init {
  int64_t k = 0, d = 0, covtype = FULL;
  std::vector<double> weights;  // k
  std::vector<double> means;    // d x k, column-major
  std::vector<double> covs;     // full: d x d x k; diag: d x k
};

namespace detail {
struct File {
  std::FILE* f;
  std::string path;
  File(const std::string& p, const char* mode) : f(std::fopen(p.c_str(), mode)), path(p) {
    if (!f) throw std::runtime_error("cannot open " + p);
  }
  ~File() { if (f) std::fclose(f); }
  template <class T> void read(T* dst, size_t count) {
    if (count && std::fread(dst, sizeof(T), count, f) != count)
      throw std::runtime_error("short read from " + path);
  }
  template <class T> void write(const T* src, size_t count) {
    if (count && std::fwrite(src, sizeof(T), count, f) != count)
      throw std::runtime_error("short write to " + path);
  }
};
}  // namespace detail

inline Data read_data(const std::string& path) {
  detail::File f(path, "rb");
  int64_t hdr[2];
  f.read(hdr, 2);
  if (hdr[0] <= 0 || hdr[1] <= 0) throw std::runtime_error("bad header in " + path);
  Data out;
  out.n = hdr[0];
  out.d = hdr[1];
  out.x.resize(static_cast<size_t>(out.n * out.d));
  f.read(out.x.data(), out.x.size());
  return out;
}

inline void write_data(const std::string& path, int64_t n, int64_t d, const double* x) {
  detail::File f(path, "wb");
  int64_t hdr[2] = {n, d};
  f.write(hdr, 2);
  f.write(x, static_cast<size_t>(n * d));
}

inline Init read_init(const std::string& path) {
  detail::File f(path, "rb");
  int64_t hdr[3];
  f.read(hdr, 3);
  Init p;
  p.k = hdr[0];
  p.d = hdr[1];
  p.covtype = hdr[2];
  if (p.k <= 0 || p.d <= 0 || (p.covtype != FULL && p.covtype != DIAG))
    throw std::runtime_error("bad header in " + path);
  p.weights.resize(static_cast<size_t>(p.k));
  p.means.resize(static_cast<size_t>(p.d * p.k));
  p.covs.resize(static_cast<size_t>(p.covtype == FULL ? p.d * p.d * p.k : p.d * p.k));
  f.read(p.weights.data(), p.weights.size());
  f.read(p.means.data(), p.means.size());
  f.read(p.covs.data(), p.covs.size());
  return p;
}

// Wall-clock seconds (steady clock).
inline double now_seconds() {
  using clk = std::chrono::steady_clock;
  return std::chrono::duration<double>(clk::now().time_since_epoch()).count();
}

// CPU seconds used by this process, all threads (POSIX). On a shared machine the CPU time
// of a compute-bound run is much less disturbed by other processes than its wall time.
inline double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Per-iteration cost by differencing two fits that differ only in the number of EM
// iterations, so fixed costs (validation, copies, set-up, final E-step) cancel.
inline double sec_per_iter(double t_lo, double t_hi, int e_lo, int e_hi) {
  return (t_hi - t_lo) / static_cast<double>(e_hi - e_lo);
}

}  // namespace benchdata

#endif  // FASTGMM_BENCH_DATA_H
