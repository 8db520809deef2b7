// The block-statistics seam: an engine turns parameters into the anchored
// statistics of one E-step over all of its data. Backends implement it.
#pragma once
#include "model.h"

namespace fastgmm {

struct Engine {
  virtual ~Engine() {}
  // One fused pass: log-densities, responsibilities, statistics about the
  // means of p (up to rounding), log-likelihood.
  virtual void em_pass(const Params& p, Stats& out) = 0;
  // Passes made so far.
  long passes = 0;
  // Set when a single-precision engine had to compute in double because
  // float could not represent the data about the origin (see CpuEngine).
  bool fell_back_to_double = false;
  double worst_offset = 0;
};

}  // namespace fastgmm
