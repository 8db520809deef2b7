// Diagonal models, sigma_j = lambda_j diag(a_j) with prod(a_j) = 1, reading the diagonals of
// the W_j: EEI, EVI, VVI (closed forms) and VEI (iterative, mclust msvei / mevei).
#include "model_util.h"

namespace fastgmm {
namespace models_diagonal {

using namespace model_util;

// sigma_j = scale_j * diag(shape_j); scale has length 1 or k, shape 1 or k rows.
void fill(const Scatter& s, const VectorXd& scale, const MatrixXd& shape, CovParams& out) {
  out.sigma.resize(static_cast<std::size_t>(s.k));
  for (Index j = 0; j < s.k; ++j) {
    const double lam = scale[scale.size() == 1 ? 0 : j];
    const VectorXd a = shape.row(shape.rows() == 1 ? 0 : j).transpose();
    out.sigma[j] = (lam * a).asDiagonal();
  }
  out.scale = scale;
  out.shape = shape;
  out.orientation.clear();
  check_output(out, scale.size() == 1 && shape.rows() == 1);
}

// mclust mseei: B = sum_j diag(W_j); lambda = gm(B) / N; a = B / gm(B).
void mstep_EEI(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double N = check_scatter(s, ScatterKind::Diag);
  const VectorXd B = s.Wd.colwise().sum().transpose();
  check_variances(B, -1);
  const double g = geo_mean(B);
  VectorXd a = B / g;
  normalise_product(a);
  fill(s, VectorXd::Constant(1, g / N), a.transpose(), out);
  if (it) *it = 0;
}

// mclust msevi: a_j = diag(W_j) / gm(diag(W_j)); lambda = sum_j gm(diag(W_j)) / N.
void mstep_EVI(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double N = check_scatter(s, ScatterKind::Diag);
  MatrixXd shape(s.k, s.d);
  double sum = 0;
  for (Index j = 0; j < s.k; ++j) {
    const VectorXd w = s.Wd.row(j).transpose();
    check_variances(w, j);
    const double g = geo_mean(w);
    sum += g;
    VectorXd a = w / g;
    normalise_product(a);
    shape.row(j) = a.transpose();
  }
  fill(s, VectorXd::Constant(1, sum / N), shape, out);
  if (it) *it = 0;
}

// mclust msvvi: a_j = diag(W_j) / gm(diag(W_j)); lambda_j = gm(diag(W_j)) / n_j.
void mstep_VVI(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  check_scatter(s, ScatterKind::Diag);
  MatrixXd shape(s.k, s.d);
  VectorXd scale(s.k);
  for (Index j = 0; j < s.k; ++j) {
    const VectorXd w = s.Wd.row(j).transpose();
    check_variances(w, j);
    const double g = geo_mean(w);
    scale[j] = g / s.n[j];
    VectorXd a = w / g;
    normalise_product(a);
    shape.row(j) = a.transpose();
  }
  fill(s, scale, shape, out);
  if (it) *it = 0;
}

// VEI: sigma_j = lambda_j diag(a), a shared. mclust msvei (M-step alone) / mevei (inside EM):
// alternate
//   lambda_j <- sum_i W_j[i,i] / a_i / (d n_j)
//   a_i      <- sum_j W_j[i,i] / lambda_j,  then a <- a / gm(a)
// until err = max(max_j |dlambda_j| / (1 + lambda_j), max_i |da_i| / (1 + a_i)) <= tol
// (tol = emControl()$tol[2] = sqrt(eps)), continuing while inner <= itmax, i.e. at most
// itmax + 1 iterations as in mclust (itmax = emControl()$itmax[2] = .Machine$integer.max).
// Start: lambda = 1, a = 1 (msvei, and mevei's first M-step); mevei then starts each M-step
// from the previous lambda and a, which is what `prev` gives.
void mstep_VEI(const Scatter& s, const CovParams* prev, const InnerControl& ctl, CovParams& out,
               int* it) {
  check_scatter(s, ScatterKind::Diag);
  const Index k = s.k, d = s.d;
  // Degenerate input: a coordinate with no variance anywhere, or a component with none at all.
  check_variances(s.Wd.colwise().sum().transpose(), -1);
  check_component_variances((s.Wd.rowwise().sum().array() / s.n.array()).matrix());

  VectorXd scale = VectorXd::Ones(k);
  VectorXd shape = VectorXd::Ones(d);
  if (prev && prev->scale.size() == k && prev->shape.rows() == 1 && prev->shape.cols() == d &&
      prev->scale.allFinite() && prev->shape.allFinite() && prev->scale.minCoeff() > 0 &&
      prev->shape.minCoeff() > 0) {
    scale = prev->scale;
    shape = prev->shape.row(0).transpose();
  }
  const long long maxi = max_iter_of(ctl);
  const double tol = tol_of(ctl);
  const VectorXd pn = s.n * static_cast<double>(d);  // mclust's pro(k) = p * n_k
  long long inner = 0;
  double err;
  do {
    ++inner;
    const VectorXd scl = scale;
    for (Index j = 0; j < k; ++j) {
      double sum = 0;
      for (Index i = 0; i < d; ++i) sum += s.Wd(j, i) / shape[i];
      scale[j] = sum / pn[j];
      if (!finite(scale[j]) || !(scale[j] > 0)) throw_singular(j);
    }
    const VectorXd shp = shape;
    for (Index i = 0; i < d; ++i) {
      double sum = 0;
      for (Index j = 0; j < k; ++j) sum += s.Wd(j, i) / scale[j];
      shape[i] = sum;
    }
    if (!shape.allFinite() || !(shape.minCoeff() > 0)) throw_singular(-1);
    normalise_product(shape);
    err = 0;
    for (Index j = 0; j < k; ++j) err = std::max(err, std::abs(scl[j] - scale[j]) / (1 + scale[j]));
    for (Index i = 0; i < d; ++i) err = std::max(err, std::abs(shp[i] - shape[i]) / (1 + shape[i]));
  } while (err > tol && inner <= maxi);

  fill(s, scale, shape.transpose(), out);
  if (it) *it = static_cast<int>(std::min<long long>(inner, INT_MAX));
}

double np_EEI(Index, Index d) { return static_cast<double>(d); }
double np_VEI(Index k, Index d) { return static_cast<double>(k + (d - 1)); }
double np_EVI(Index k, Index d) { return static_cast<double>(1 + k * (d - 1)); }
double np_VVI(Index k, Index d) { return static_cast<double>(k * d); }

}  // namespace models_diagonal

#define FASTGMM_DIAGONAL_MODEL(NAME, ITER)                                                \
  const CovarianceModel& model_##NAME() {                                                \
    static const CovarianceModel m{#NAME, EShape::Diag, ScatterKind::Diag, ITER,          \
                                   &models_diagonal::np_##NAME, &models_diagonal::mstep_##NAME}; \
    return m;                                                                             \
  }
FASTGMM_DIAGONAL_MODEL(EEI, false)
FASTGMM_DIAGONAL_MODEL(VEI, true)
FASTGMM_DIAGONAL_MODEL(EVI, false)
FASTGMM_DIAGONAL_MODEL(VVI, false)
#undef FASTGMM_DIAGONAL_MODEL

}  // namespace fastgmm
