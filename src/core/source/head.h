// The first m rows of another source (kernel timing, subsample starts).
#pragma once
#include <algorithm>

#include "source.h"

namespace fastgmm {

class HeadSource : public Source {
 public:
  HeadSource(Source& src, Index m) : src_(src), m_(std::min(m, src.rows())) {}
  Index rows() const override { return m_; }
  Index cols() const override { return src_.cols(); }
  std::string describe() const override { return src_.describe(); }
  bool zero_copy() const override { return src_.zero_copy(); }
  bool random_access() const override { return src_.random_access(); }
  TileView view(Index r0, Index b) const override { return src_.view(r0, b); }
  TileView read(Index r0, Index b, double* buf) override { return src_.read(r0, b, buf); }
  void gather(const std::vector<Index>& idx, Eigen::MatrixXd& out) override { src_.gather(idx, out); }

 private:
  Source& src_;
  Index m_;
};

}  // namespace fastgmm
