// The device side of the CUDA backend behind a plain C++ interface: no Eigen,
// no CUDA and no R headers, so that it can be included by code compiled with
// any host compiler and flags. Implemented in cuda_engine.cu (compiled by nvcc);
// the core's Engine seam is adapted to it in cuda_engine.h.
//
// Why the split: the core's Eigen types are compiled by the C++ compiler with
// the package's CPU flags (e.g. -march=native, which changes Eigen's heap
// alignment); nvcc compiles host code with other flags. Only plain arrays and
// standard types cross this interface, so the two never share Eigen objects.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastgmm {
namespace cuda {

// A CUDA runtime or cuBLAS failure, device out of memory included; the
// message is user-facing.
struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Kernel variants for the statistics S0, S1, S2 (see cuda_engine.cu):
enum class StatsVariant {
  Cell = 0,            // (a) one thread block per (component, matrix cell), all rows
  CellAll = 1,         // (b) one thread block per matrix cell, all components
  Component = 2,       // (c) one thread block per component, whole matrix, all rows
  ComponentSplit = 3,  // (d) as (c) over row chunks, then a second reduction
  Cublas = 4           // (e) cuBLAS GEMMs on responsibility-scaled data
};
constexpr int n_stats_variants = 5;
const char* stats_variant_name(int v);

struct DeviceInfo {
  int index = 0;
  std::string name;
  double memory_bytes = 0;
  int cc_major = 0, cc_minor = 0;
  int multiprocessors = 0;
};

struct DeviceStatus {
  bool available = false;   // at least one usable device
  std::string reason;       // why not, when not
  int driver_version = 0;   // e.g. 13000 (0: no driver)
  int runtime_version = 0;  // of the CUDA runtime linked in
  std::vector<DeviceInfo> devices;
};

// Never throws.
DeviceStatus query_devices();

struct PassOptions {
  int device = 0;
  bool single = false;        // float compute, double accumulation
  int variant = int(StatsVariant::Cublas);
  int64_t block_rows = 0;     // rows per device block; 0 chooses from the shape
  bool stream = false;        // keep the data on the host, copy blocks each pass
};

// Prepared E-step terms, in double, shifted coordinates (as fastgmm::Prepared):
//   cov: 0 full, 1 diag, 2 spherical, 3 tied (fastgmm::CovType)
//   cst:  k                log prop_j + log det U_j - d/2 log(2 pi)
//   mean: k x d row-major   (row j = mean of component j)
//   U:    full: k blocks of d x d column-major upper factors; tied: one d x d
//   mU:   k x d row-major   (row j = mean_j' U_j), full and tied
//   P:    diag: k x d row-major precisions; spherical: k
struct PassTerms {
  const double* cst = nullptr;
  const double* mean = nullptr;
  const double* U = nullptr;
  const double* mU = nullptr;
  const double* P = nullptr;
};

// Statistics of one pass, column-major, in the layout of fastgmm::Stats:
//   s0 k; s1 k x d; s2 full d x (k d), tied d x d, diag/spherical k x d.
struct PassOut {
  double* s0 = nullptr;
  double* s1 = nullptr;
  double* s2 = nullptr;
  double loglik = 0;
};

// Data resident on one device (or streamed block by block from the host) and
// the scratch for passes over it. x (n x d column-major, unshifted) and w
// (n weights, or null) must outlive the object when options.stream is set or
// when the data did not fit on the device; otherwise they are copied once.
class DevicePass {
 public:
  DevicePass(const double* x, int64_t n, int64_t d, const double* w, const double* shift,
             int cov, int64_t k, const PassOptions& opt);
  ~DevicePass();
  DevicePass(const DevicePass&) = delete;
  DevicePass& operator=(const DevicePass&) = delete;

  // Changes the statistics kernel; scratch is reallocated as needed.
  void set_variant(int variant);
  int variant() const;

  // One fused E-step + statistics pass over all rows.
  void run(const PassTerms& t, PassOut& out);

  bool resident() const;      // data kept on the device
  int64_t block_rows() const; // rows per device block
  std::string describe() const;

  struct Impl;  // defined in cuda_engine.cu

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuda
}  // namespace fastgmm
