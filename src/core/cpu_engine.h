// The CPU backend: block statistics over fixed row chunks on an Executor.
#pragma once
#include <functional>
#include <vector>

#include "block_stats.h"
#include "engine.h"
#include "parallel.h"

namespace fastgmm {

struct CpuOptions {
  Variant variant = Variant::Gemm;
  bool single = false;  // compute in float, accumulate in double
};

// Statistics over all rows: block(X-work, r0, R) fills the weighted
// responsibilities R (b x k) for the rows r0.. of the block already loaded
// in the work's X and w, and returns the block's log-likelihood.
template <typename T>
using BlockFn = std::function<double(Work<T>&, Index r0, Mat<T>& R)>;

Stats chunked_stats(const Data& data, Executor& ex, CovType cov, Index k,
                    const BlockFn<double>& block);

class CpuEngine : public Engine {
 public:
  CpuEngine(const Data& data, Executor& ex, CovType cov, Index k, CpuOptions opt);
  void em_pass(const Params& p, Stats& out) override;

 private:
  template <typename T>
  void pass(const Params& p, Stats& out);
  const Data& data_;
  Executor& ex_;
  CovType cov_;
  Index k_;
  CpuOptions opt_;
  Chunks chunks_;
  std::vector<Stats> partial_;
};

// Per-row outputs for predict and for the fitted classification; any pointer
// may be null. logdens and post are n x k column-major.
struct ScoreOut {
  double* logdens = nullptr;  // log prop_j + log N(x_i | j)
  double* post = nullptr;     // responsibilities
  double* rowll = nullptr;    // log density of the mixture
  int* cls = nullptr;         // 1-based most probable component
  double* unc = nullptr;      // 1 - max responsibility
};
void score(const Data& data, const Params& p, Executor& ex, const ScoreOut& out);

}  // namespace fastgmm
