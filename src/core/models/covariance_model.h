// The covariance-model registry: each model declares its E-step shape, the
// per-component statistic its M-step reads, its free-parameter count and its
// M-step. One model family per file; registered in registry.cpp.
#pragma once
#include <Eigen/Dense>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastgmm {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

#ifndef FASTGMM_MODEL_ERROR_DEFINED
#define FASTGMM_MODEL_ERROR_DEFINED
// A collapsed or singular component; the message is user-facing.
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
#endif

// How the E-step evaluates a component's density (one kernel per shape).
enum class EShape { Full, Tied, Diag, Spherical };
// Which per-component statistic the M-step reads.
enum class ScatterKind { Full, Diag, Trace };

// Weighted scatter of each component about its own mean, already regularised
// by the caller (reg_c * n_j added to the diagonal of W_j).
struct Scatter {
  Index k = 0, d = 0;
  VectorXd n;               // k: n_j = sum_i w_i z_ij (> 0)
  std::vector<MatrixXd> W;  // Full : k symmetric d x d
  MatrixXd Wd;              // Diag : k x d
  VectorXd Wt;              // Trace: k
};

// Covariances, with mclust's decomposition sigma_j = scale_j D_j diag(shape_j) D_j'.
struct CovParams {
  std::vector<MatrixXd> sigma;        // k matrices d x d (always filled)
  VectorXd scale;                     // 1 ("E" volume) or k ("V")
  MatrixXd shape;                     // 1 x d or k x d (rows with product 1); 0 x 0 if none
  std::vector<MatrixXd> orientation;  // 1 or k orthogonal d x d; empty if none
};

struct InnerControl {
  int max_iter = 0;  // 0: mclust's default
  double tol = 0;    // 0: mclust's default
};

struct CovarianceModel {
  const char* name;  // "EII", ..., "VVV"
  EShape shape;
  ScatterKind scatter;
  bool iterative;
  double (*n_cov_params)(Index k, Index d);  // mclust's nVarParams
  // prev: the previous parameters or null. Throws ModelError naming the component.
  void (*mstep)(const Scatter& s, const CovParams* prev, const InnerControl& ctl, CovParams& out,
                int* inner_iters);
};

// mclust's order: EII VII EEI VEI EVI VVI EEE VEE EVE VVE EEV VEV EVV VVV.
const std::vector<CovarianceModel>& covariance_models();
const CovarianceModel* find_covariance_model(const std::string& name);

}  // namespace fastgmm
