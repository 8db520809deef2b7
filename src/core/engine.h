// The block-statistics seam: an engine turns parameters into the anchored
// statistics of one E-step over all of its data. Backends implement it.
#pragma once
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "model.h"

namespace fastgmm {

// The rows of a stepwise unit for set_unit_rows(rows): a multiple of 16, 16
// to 1024. Every engine cuts its n rows into units of this size from row 0
// (the last one shorter), so that a fit visits the same units, in the same
// random order, whatever holds the data.
inline Index stepwise_unit_size(Index rows) {
  return std::max<Index>(16, std::min<Index>(1024, (rows + 15) / 16 * 16));
}

struct Engine {
  virtual ~Engine() {}
  // One fused pass: log-densities, responsibilities, statistics about the
  // means of p (up to rounding), log-likelihood.
  virtual void em_pass(const Params& p, Stats& out) = 0;
  // Stepwise EM reads the data in units (tiles): how many, their rows, whether
  // they may be read in any order, and a pass over some of them (statistics
  // and log-likelihood of those rows only). units() == 0: not supported.
  virtual Index units() const { return 0; }
  virtual void set_unit_rows(Index) {}  // about how many rows a unit should hold
  virtual Index unit_rows(Index) const { return 0; }
  virtual bool units_in_any_order() const { return false; }
  virtual void em_pass_units(const Params&, const std::vector<Index>&, Stats&) {
    throw std::logic_error("this backend has no stepwise passes");
  }
  // Passes made so far (a pass over some units counts as its share of one).
  long passes = 0;
  double partial_passes = 0;
  // Set when a single-precision engine had to compute in double because
  // float could not represent the data about the origin (see CpuEngine).
  bool fell_back_to_double = false;
  double worst_offset = 0;
};

}  // namespace fastgmm
