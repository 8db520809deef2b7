// An in-memory column-major matrix (an R matrix): views, no copy.
#pragma once
#include "source.h"

namespace fastgmm {

class MemorySource : public Source {
 public:
  MemorySource(const double* x, Index n, Index d) : x_(x), n_(n), d_(d) {}
  Index rows() const override { return n_; }
  Index cols() const override { return d_; }
  std::string describe() const override { return "matrix"; }
  bool zero_copy() const override { return true; }
  bool random_access() const override { return true; }
  TileView view(Index r0, Index b) const override {
    TileView v;
    v.x = x_ + r0;
    v.rs = 1;
    v.cs = n_;
    v.rows = b;
    return v;
  }
  TileView read(Index r0, Index b, double*) override { return view(r0, b); }
  void gather(const std::vector<Index>& idx, Eigen::MatrixXd& out) override {
    out.resize(Index(idx.size()), d_);
    for (Index c = 0; c < d_; ++c)
      for (size_t i = 0; i < idx.size(); ++i) out(Index(i), c) = x_[idx[i] + c * n_];
  }

 private:
  const double* x_;
  Index n_, d_;
};

}  // namespace fastgmm
