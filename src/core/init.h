// Starting parameters: k-means++ with Lloyd steps, random responsibilities,
// random rows as means, or given labels. Each ends in an M-step.
#pragma once
#include <cstdint>

#include "cpu_engine.h"

namespace fastgmm {

enum class InitMethod { KmeansPP = 0, Random = 1, RandomFromData = 2 };

// reg_covar: length d (see mstep()).
Params init_params(const Data& data, Executor& ex, CovType cov, Index k, InitMethod method,
                   uint64_t seed, const VectorXd& reg_covar);
inline Params init_params(const Data& data, Executor& ex, CovType cov, Index k, InitMethod method,
                          uint64_t seed, double reg_covar) {
  return init_params(data, ex, cov, k, method, seed, VectorXd::Constant(data.d, reg_covar));
}

// labels: n values in 0 .. k-1.
Params init_from_labels(const Data& data, Executor& ex, CovType cov, Index k, const int* labels,
                        const VectorXd& reg_covar);

// k-means++ seeding on a sample of at most sample_max rows, then up to
// lloyd_steps Lloyd iterations over all rows. Returns k x d centres
// (shifted coordinates).
MatrixXd kmeans(const Data& data, Executor& ex, Index k, uint64_t seed, int lloyd_steps);

}  // namespace fastgmm
