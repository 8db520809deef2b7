// The block-statistics seam: an engine turns parameters into the sufficient
// statistics of one E-step over all of its data. Backends implement it.
#pragma once
#include "model.h"

namespace fastgmm {

struct Engine {
  virtual ~Engine() {}
  // One fused pass: log-densities, responsibilities, statistics, loglik.
  virtual void em_pass(const Params& p, Stats& out) = 0;
};

}  // namespace fastgmm
