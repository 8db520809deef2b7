// Spherical models: EII (sigma_j = lambda I) and VII (sigma_j = lambda_j I). Closed forms,
// reading the traces of the W_j. In one dimension these are mclust's "E" and "V".
#include "model_util.h"

namespace fastgmm {
namespace models_spherical {

using namespace model_util;

void fill(const Scatter& s, const VectorXd& sigmasq, CovParams& out) {
  out.sigma.resize(static_cast<std::size_t>(s.k));
  for (Index j = 0; j < s.k; ++j)
    out.sigma[j] = sigmasq[sigmasq.size() == 1 ? 0 : j] * MatrixXd::Identity(s.d, s.d);
  out.scale = sigmasq;  // mclust reports scale = sigmasq
  out.shape.resize(0, 0);
  out.orientation.clear();
}

// mclust mseii / ms1e: sigmasq = sum_j tr(W_j) / (N d).
void mstep_EII(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  const double N = check_scatter(s, ScatterKind::Trace);
  const double sigmasq = s.Wt.sum() / (N * static_cast<double>(s.d));
  if (!finite(sigmasq) || !(sigmasq > 0)) throw_singular(-1);
  fill(s, VectorXd::Constant(1, sigmasq), out);
  if (it) *it = 0;
}

// mclust msvii / ms1v: sigmasq_j = tr(W_j) / (n_j d).
void mstep_VII(const Scatter& s, const CovParams*, const InnerControl&, CovParams& out, int* it) {
  check_scatter(s, ScatterKind::Trace);
  const VectorXd sigmasq = (s.Wt.array() / (s.n.array() * static_cast<double>(s.d))).matrix();
  check_component_variances(sigmasq);
  fill(s, sigmasq, out);
  if (it) *it = 0;
}

double np_EII(Index, Index) { return 1; }
double np_VII(Index k, Index) { return static_cast<double>(k); }

}  // namespace models_spherical

const CovarianceModel& model_EII() {
  static const CovarianceModel m{"EII", EShape::Spherical, ScatterKind::Trace, false,
                                 &models_spherical::np_EII, &models_spherical::mstep_EII};
  return m;
}

const CovarianceModel& model_VII() {
  static const CovarianceModel m{"VII", EShape::Spherical, ScatterKind::Trace, false,
                                 &models_spherical::np_VII, &models_spherical::mstep_VII};
  return m;
}

}  // namespace fastgmm
