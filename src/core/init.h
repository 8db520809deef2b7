// Starting parameters: k-means++ with Lloyd steps, random responsibilities,
// random rows as means, or given labels. All read the data through the
// engine's passes (and a bounded sample of rows); each ends in an M-step.
#pragma once
#include <cstdint>

#include "cpu_engine.h"
#include "mstep.h"

namespace fastgmm {

enum class InitMethod { KmeansPP = 0, Random = 1, RandomFromData = 2 };

Params init_params(CpuEngine& eng, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo);

// labels: n values in 0 .. k-1 (in memory).
Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo);

// k-means++ seeding on a sample of at most 65536 rows (and 16 MB), then up to
// lloyd_steps Lloyd iterations over all rows. Returns k x d centres (origin
// coordinates).
MatrixXd kmeans(CpuEngine& eng, Index k, uint64_t seed, int lloyd_steps);

}  // namespace fastgmm
