// Starting parameters: robust k-means++ (several greedy k-means++ runs with
// Lloyd to convergence and short EM runs on a bounded sample, the best kept),
// a fit to a subsample, random responsibilities, random rows as means, or
// given labels. All read the data through the engine's passes or a bounded
// sample of rows; each ends in an M-step (or an EM run on the sample).
#pragma once
#include <cstdint>

#include "cpu_engine.h"
#include "em.h"
#include "mstep.h"

namespace fastgmm {

// Codes shared with R (3 and 4 are a parameter list and labels, made in the glue).
enum class InitMethod { KmeansPP = 0, Random = 1, RandomFromData = 2, Subsample = 5 };

struct InitOptions {
  int starts = 5;          // kmeans++: greedy k-means++ runs (with Lloyd) on the sample
  int em_starts = 2;       // kmeans++: the best of them (by inertia) that get a short EM run
  int small_em_iter = 10;  // kmeans++: EM iterations on the sample from each of those
  Index sample_rows = 0;   // kmeans++: rows of the sample; 0 chooses (see init.cpp)
  double subsample = 0.1;  // subsample: fraction of the rows fitted first
  int subsample_iter = 200;
  double tol = 1e-6;
};

Params init_params(CpuEngine& eng, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo, const InitOptions& io = InitOptions());

// labels: n values in 0 .. k-1 (in memory).
Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo);

}  // namespace fastgmm
