// The CUDA backend as a core Engine: the host prepares the E-step terms
// (prepare(), on the CPU, in double), the device makes the fused pass over the
// rows it holds, the host gets back (S0, S1, S2) and the log-likelihood and
// does the M-step. Header-only on this side of the seam so that it is compiled
// with the core's compiler and flags; the device side is gpu_pass.h /
// cuda_engine.cu (nvcc, no Eigen). Data are copied to the device once, when
// the engine is made, and kept there across iterations and restarts.
#pragma once
#include <Eigen/Dense>

#include "../core/engine.h"
#include "../core/mstep.h"
#include "gpu_pass.h"

namespace fastgmm {

using cuda::CudaError;

class CudaEngine : public Engine {
 public:
  // data must outlive the engine (its rows may be streamed from it each pass).
  CudaEngine(const Data& data, CovType cov, Index k, const cuda::PassOptions& opt)
      : cov_(cov), k_(k), d_(data.d),
        pass_(data.x, data.n, data.d, data.w, data.shift.data(), int(cov), k, opt) {}

  void em_pass(const Params& p, Stats& out) override {
    const Prepared q = prepare(p);
    mean_ = q.mean;
    cuda::PassTerms t;
    t.cst = q.cst.data();
    t.mean = mean_.data();
    if (cov_ == CovType::Full || cov_ == CovType::Tied) {
      mU_ = q.mU;
      t.U = q.U.data();  // full: d x (k d), i.e. k column-major d x d blocks
      t.mU = mU_.data();
    } else {
      P_ = q.P;
      t.P = P_.data();
    }
    out.reset(cov_, k_, d_);
    cuda::PassOut po;
    po.s0 = out.s0.data();
    po.s1 = out.s1.data();
    po.s2 = out.s2.data();
    pass_.run(t, po);
    out.loglik = po.loglik;
  }

  cuda::DevicePass& device() { return pass_; }

 private:
  CovType cov_;
  Index k_, d_;
  cuda::DevicePass pass_;
  // Row-major copies: row j holds component j's terms contiguously.
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> mean_, mU_, P_;
};

}  // namespace fastgmm
