// The fourteen covariance models of mclust: what each M-step reads, how the E-step evaluates
// it, its parameter count and its M-step. One model family per file in this directory, all
// registered in registry.cpp (in mclust's order). Pure C++17 + Eigen, no R headers.
#pragma once
#include <Eigen/Dense>
#include <stdexcept>
// Heap arrays on 64-byte boundaries: the kernels read their blocks in 32- and
// 64-byte vectors, which cost twice as much across a cache line. Set for every
// file of a build (src/Makevars, tools/CMakeLists.txt): Eigen frees what it
// allocated with its own alignment, so two settings in one program clash.
#if !defined(EIGEN_MAX_ALIGN_BYTES) || EIGEN_MAX_ALIGN_BYTES < 64
#error "compile with -DEIGEN_MAX_ALIGN_BYTES=64 (as src/Makevars does)"
#endif
#include <string>
#include <vector>

namespace fastgmm {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

#ifndef FASTGMM_MODEL_ERROR_DEFINED  // the core defines ModelError in model.h too
#define FASTGMM_MODEL_ERROR_DEFINED
struct ModelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};  // user-facing message
#endif

// How the E-step evaluates a component's density (the core has one kernel per shape).
enum class EShape { Full, Tied, Diag, Spherical };  // Tied: one full covariance shared by all components

// Which per-component statistic the M-step reads.
enum class ScatterKind { Full, Diag, Trace };

// Weighted scatter of each component about its own mean, already regularised by the caller
// (the core adds reg_c * n_j to the diagonal of W_j before calling; models must not regularise).
struct Scatter {
  Index k = 0, d = 0;
  VectorXd n;               // k: n_j = sum_i w_i z_ij (> 0)
  std::vector<MatrixXd> W;  // ScatterKind::Full : k symmetric d x d, sum_i w_i z_ij (x_i - mu_j)(x_i - mu_j)'
  MatrixXd Wd;              // ScatterKind::Diag : k x d, the diagonals of the W_j
  VectorXd Wt;              // ScatterKind::Trace: k, the traces of the W_j
};

// Covariance parameters, with mclust's decomposition sigma_j = scale_j * D_j diag(shape_j) D_j'.
// Exactly the entries of mclust's parameters$variance:
//   scale       length 1 ("E" volume) or k ("V" volume); length 0 for EEE and VVV (mclust reports
//               none). For EII/VII it is mclust's sigmasq.
//   shape       1 x d ("E" shape) or k x d ("V" shape), each row with product 1; 0 x 0 for
//               EII, VII, EEE, VVV. Row j of a k x d shape is mclust's shape[, j].
//   orientation 1 ("E") or k ("V") orthogonal d x d (columns are the axes, mclust's
//               orientation[, , j]); empty for spherical, diagonal, EEE and VVV.
// Where mclust takes shape/orientation from an eigen- or singular-value decomposition (EEV, VEV,
// EVV, VEE) the shape is sorted decreasingly, the orientation columns follow it, and each column's
// largest entry is made positive (mclust's signs are LAPACK's: compare up to column signs). EVE
// and VVE keep the order and signs of their MM iterations (started from D = I), as mclust does.
struct CovParams {
  std::vector<MatrixXd> sigma;        // k matrices d x d (always filled, exactly symmetric)
  VectorXd scale;                     // mclust's `scale` (lambda)
  MatrixXd shape;                     // see above
  std::vector<MatrixXd> orientation;  // see above
};

// Iterative M-steps; 0 (or negative) = mclust's defaults from emControl():
// max_iter = .Machine$integer.max (itmax[2]), tol = sqrt(.Machine$double.eps) (tol[2]).
struct InnerControl {
  int max_iter = 0;
  double tol = 0;
};

struct CovarianceModel {
  const char* name;     // "EII", ..., "VVV"
  EShape shape;         // E-step shape (spherical models: Spherical; diagonal: Diag; EEE: Tied; other full: Full)
  ScatterKind scatter;  // what the M-step reads
  bool iterative;       // M-step iterates (VEI, VEE, EVE, VVE, VEV)
  double (*n_cov_params)(Index k, Index d);  // mclust's nVarParams
  // M-step: prev may be null (first M-step) or the previous parameters (warm start of inner
  // iterations, if mclust does so). Returns the number of inner iterations used (0 for closed
  // forms) via *inner_iters (may be null). Throws ModelError naming the component when a
  // covariance is singular or a component has collapsed; std::invalid_argument when the Scatter
  // does not have the sizes the model reads.
  void (*mstep)(const Scatter& s, const CovParams* prev, const InnerControl& ctl, CovParams& out,
                int* inner_iters);
};

// All fourteen, in mclust's order: EII VII EEI VEI EVI VVI EEE VEE EVE VVE EEV VEV EVV VVV.
const std::vector<CovarianceModel>& covariance_models();
const CovarianceModel* find_covariance_model(const std::string& name);  // nullptr if unknown

}  // namespace fastgmm
