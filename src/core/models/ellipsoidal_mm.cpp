// EVE (sigma_j = lambda D diag(a_j) D') and VVE (sigma_j = lambda_j D diag(a_j) D'): a shared
// orientation D, fitted by the MM algorithms of Browne & McNicholas (2014) as mclust does.
#include <Eigen/SVD>

#include "model_util.h"

namespace fastgmm {
namespace models_mm {

using namespace model_util;

// The M-step runs up to hundreds of inner iterations on d x d matrices per EM iteration. At
// d ~ 10 Eigen's general products and LU spend most of their time on packing, allocation and
// loop control, so the iterations run on buffers allocated once per M-step, and for d <= 10 on
// matrices of compile-time size: at k = 9, d = 10, 14.5 us per iteration, against 21 with
// dynamic sizes and 32 with Eigen's products and LU (each size adds ~4 s of compile time).
template <int Dim>
using Mat = Eigen::Matrix<double, Dim, Dim>;
template <int Dim>
using Vec = Eigen::Matrix<double, Dim, 1>;
template <int Dim>
using MatList = std::vector<Mat<Dim>, Eigen::aligned_allocator<Mat<Dim>>>;

// C = A' B (C must not alias A or B).
template <int Dim>
void tmul(const Mat<Dim>& A, const Mat<Dim>& B, Mat<Dim>& C) {
  if (Dim == Eigen::Dynamic)
    C.noalias() = A.transpose() * B;
  else
    C.noalias() = A.transpose().lazyProduct(B);
}

// A <- A^-1 in place (Gauss-Jordan with partial pivoting, d^3 multiply-adds); false when a
// pivot is zero or the result is not finite. u, v and piv are scratch of length d.
template <int Dim>
bool invert(Mat<Dim>& A, Vec<Dim>& u, Vec<Dim>& v, std::vector<Index>& piv) {
  const Index d = A.rows();
  for (Index c = 0; c < d; ++c) {
    Index p = c;
    double big = std::abs(A(c, c));
    for (Index r = c + 1; r < d; ++r)
      if (std::abs(A(r, c)) > big) big = std::abs(A(p = r, c));
    if (!(big > 0)) return false;
    piv[static_cast<std::size_t>(c)] = p;
    if (p != c) A.row(p).swap(A.row(c));
    const double pinv = 1 / A(c, c);
    u = A.col(c);
    u[c] = 0;
    v = A.row(c).transpose() * pinv;
    v[c] = 0;
    A.noalias() -= u * v.transpose();  // the rows and columns other than c
    A.row(c) = v.transpose();
    A.col(c) = u * -pinv;
    A(c, c) = pinv;
  }
  for (Index c = d - 1; c >= 0; --c) {
    const Index p = piv[static_cast<std::size_t>(c)];
    if (p != c) A.col(p).swap(A.col(c));
  }
  return A.allFinite();
}

// Buffers of polar().
template <int Dim>
struct PolarWork {
  Mat<Dim> X, Xi, T;
  Vec<Dim> u, v;
  std::vector<Index> piv;
  explicit PolarWork(Index d) : X(d, d), Xi(d, d), T(d, d), u(d), v(d), piv(std::size_t(d)) {}
};

// P is orthogonal and P'F symmetric positive semidefinite, to rounding.
template <int Dim>
bool polar_ok(const Mat<Dim>& P, const Mat<Dim>& F, Mat<Dim>& T) {
  const Index d = F.rows();
  const double tol = 1e-12 * std::max(1.0, static_cast<double>(d));
  if (!P.allFinite()) return false;
  tmul<Dim>(P, P, T);
  T.diagonal().array() -= 1;
  if (T.cwiseAbs().maxCoeff() > tol) return false;
  tmul<Dim>(P, F, T);
  const double hmax = std::max(T.cwiseAbs().maxCoeff(), 1e-300);
  for (Index c = 0; c < d; ++c)
    for (Index r = 0; r < c; ++r)
      if (std::abs(T(r, c) - T(c, r)) > tol * hmax) return false;
  return T.diagonal().minCoeff() >= -tol * hmax;
}

// P = the orthogonal polar factor P R' of F = P diag(s) R' (the SVD's U V'; mclust: dgesvd).
// Computed by Higham's scaled Newton iteration X <- (z X + X^-T / z) / 2 (Frobenius-norm
// scaling z while far from convergence), which converges quadratically to the polar factor
// of a nonsingular F in about 5 to 7 d x d inversions: several times faster than an SVD at
// the d of these models. The result is verified (P orthogonal, P'F symmetric positive
// semidefinite to rounding) and recomputed from the SVD where F is singular or the check fails.
template <int Dim>
void polar(const Mat<Dim>& F, PolarWork<Dim>& w, Mat<Dim>& P) {
  Mat<Dim>&X = w.X, &Xi = w.Xi;
  X = F;
  bool scale = true;
  for (int it = 0; it < 60; ++it) {
    Xi = X.transpose();
    if (!invert<Dim>(Xi, w.u, w.v, w.piv)) break;  // X^-T
    const double xn = X.norm(), xin = Xi.norm();
    const double z = scale && xn > 0 && xin > 0 ? std::sqrt(xin / xn) : 1.0;
    Xi = 0.5 * (z * X + Xi / z);  // the next iterate
    const double delta = (Xi - X).norm() / Xi.norm();
    X.swap(Xi);
    if (delta < 1e-2) scale = false;
    // delta bounds how far the singular values of the previous iterate were from 1 (by about
    // delta sqrt(d)); the step squares that distance, so the new iterate is orthogonal to
    // within d delta^2 / 2: rounding.
    if (delta < 1e-8) break;
  }
  if (polar_ok<Dim>(X, F, w.T)) {
    P = X;
    return;
  }
  const MatrixXd Fd = F;
  Eigen::JacobiSVD<MatrixXd> svd(Fd, Eigen::ComputeFullU | Eigen::ComputeFullV);
  P = svd.matrixU() * svd.matrixV().transpose();
}

// The MM iterations on the scatters W (symmetric, positive definite) with largest eigenvalues
// omega, from D and A (row j: a_j), which they update, with VVE's volumes in scale. Returns
// the number of iterations; the last target in *target.
template <int Dim>
long long mm_iterate(bool variable_volume, const std::vector<MatrixXd>& Ws, const VectorXd& omega,
                     const VectorXd& n, long long maxi, double tol, MatrixXd& Dout, MatrixXd& A,
                     VectorXd& scale, double* target_out) {
  const Index k = static_cast<Index>(Ws.size()), d = Dout.rows();
  MatList<Dim> W(Ws.begin(), Ws.end());
  Mat<Dim> D = Dout, F(d, d), T(d, d);
  Vec<Dim> b(d), a(d), s_omega(d), ainv(d);
  PolarWork<Dim> pw(d);
  MatrixXd Ainv = A.cwiseInverse();
  double prev_target = std::numeric_limits<double>::max() / 2, target = 0, err;
  long long inner = 0;
  // DW[j] = D' W_j for the current D: computed by the shape step and reused by the next MM1,
  // so an iteration costs 2 k d^3 multiply-adds plus two polar factors.
  MatList<Dim> DW(static_cast<std::size_t>(k), Mat<Dim>(d, d));
  for (Index j = 0; j < k; ++j) tmul<Dim>(D, W[j], DW[j]);
  do {
    ++inner;
    // MM1: F = sum_j A_j^-1 (D' W_j - omega_j D')
    F.setZero();
    s_omega.setZero();
    for (Index j = 0; j < k; ++j) {
      ainv = Ainv.row(j).transpose();
      F += ainv.asDiagonal() * DW[j];
      s_omega += omega[j] * ainv;
    }
    F -= s_omega.asDiagonal() * D.transpose();
    polar<Dim>(F, pw, T);
    D = T.transpose();
    // MM2: F = sum_j W_j D (A_j^-1 - max_i(1/a_ij) I), formed as its transpose
    // F' = sum_j (A_j^-1 - max_i(1/a_ij) I) D' W_j (W_j is symmetric), whose polar factor is
    // the transpose of F's.
    F.setZero();
    for (Index j = 0; j < k; ++j) {
      tmul<Dim>(D, W[j], T);
      ainv = Ainv.row(j).transpose();
      ainv.array() -= ainv.maxCoeff();
      F += ainv.asDiagonal() * T;
    }
    polar<Dim>(F, pw, T);
    D = T.transpose();
    // shape (and VVE's volume), target
    target = 0;
    for (Index j = 0; j < k; ++j) {
      tmul<Dim>(D, W[j], DW[j]);
      for (Index i = 0; i < d; ++i) b[i] = DW[j].row(i).dot(D.col(i));  // (D' W_j D)_ii
      if (!b.allFinite() || !(b.minCoeff() > 0)) throw_singular(j);
      if (variable_volume) {
        a = b / n[j];
        scale[j] = geo_mean(a);
        a /= scale[j];
      } else {
        a = b / geo_mean(b);
      }
      if (!a.allFinite() || !(a.minCoeff() > kVarFloor * a.maxCoeff())) throw_singular(j);
      A.row(j) = a.transpose();
      Ainv.row(j) = a.cwiseInverse().transpose();
      target += (b.array() / a.array()).sum();
    }
    err = std::abs(target - prev_target) / (1 + std::abs(target));
    prev_target = target;
  } while (err > tol && inner < maxi);
  Dout = D;
  *target_out = target;
  return inner;
}

using Iterate = long long (*)(bool, const std::vector<MatrixXd>&, const VectorXd&,
                              const VectorXd&, long long, double, MatrixXd&, MatrixXd&,
                              VectorXd&, double*);

template <int... Dims>
Iterate pick(Index d, std::integer_sequence<int, Dims...>) {
  Iterate f = &mm_iterate<Eigen::Dynamic>;
  ((d == Dims + 2 ? (f = &mm_iterate<Dims + 2>, 0) : 0), ...);
  return f;
}

// mclust mseve / msvve (M-step alone) and meeve / mevve (inside EM). Each iteration:
//   MM1: F = sum_j diag(a_j)^-1 D' (W_j - omega_j I), omega_j the largest eigenvalue of W_j;
//        F = P S R'  ->  D <- R P'
//   MM2: F = sum_j W_j D (diag(a_j)^-1 - max_i(1/a_ij) I);  F = P S R'  ->  D <- P R'
//   b_j = diag(D' W_j D);
//     EVE: a_j = b_j / gm(b_j);                              target += sum_i b_ij / a_ij
//     VVE: lambda_j = gm(b_j / n_j), a_j = b_j / (n_j lambda_j); target += sum_i b_ij / a_ij
// repeated while |target - previous| / (1 + |target|) > tol and inner < itmax
// (tol = emControl()$tol[2] = sqrt(eps), itmax = emControl()$itmax[2]); EVE: lambda = target /
// (N d) at the end. The iteration starts from D = I, a_j = 1 (mstepEVE/mstepVVE, and the first
// M-step of meEVE/meVVE); meEVE/meVVE then start each M-step from the previous D and a_j
// ("we don't re-initialize shape and orientation"), which is what `prev` gives. The shape and
// orientation are kept in the iteration's order and signs (not sorted), as mclust reports them.
// mclust requires every W_j to be positive definite, and so do we.
template <bool VariableVolume>
void mstep_mm(const Scatter& s, const CovParams* prev, const InnerControl& ctl, CovParams& out,
              int* it) {
  const double N = check_scatter(s, ScatterKind::Full);
  const Index k = s.k, d = s.d;
  const double dd = static_cast<double>(d);
  std::vector<MatrixXd> W(static_cast<std::size_t>(k));
  VectorXd omega(k);
  for (Index j = 0; j < k; ++j) {
    W[j] = s.W[j];
    symmetrise(W[j]);
    check_full(W[j], j);
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(W[j], Eigen::EigenvaluesOnly);
    if (es.info() != Eigen::Success) throw_singular(j);
    omega[j] = es.eigenvalues()[d - 1];
  }

  MatrixXd D = MatrixXd::Identity(d, d);
  MatrixXd A = MatrixXd::Ones(k, d);  // row j: a_j
  if (prev && prev->orientation.size() == 1 && prev->orientation[0].rows() == d &&
      prev->orientation[0].cols() == d && prev->shape.rows() == k && prev->shape.cols() == d &&
      prev->orientation[0].allFinite() && prev->shape.allFinite() && prev->shape.minCoeff() > 0 &&
      (prev->orientation[0].transpose() * prev->orientation[0] - MatrixXd::Identity(d, d))
              .cwiseAbs()
              .maxCoeff() < 1e-8) {
    D = prev->orientation[0];
    A = prev->shape;
  }
  VectorXd scale = VectorXd::Ones(VariableVolume ? k : 1);
  double target = 0;
  long long inner = 0;
  if (k == 1) {
    // One component: mclust fits k = 1 by mvn(), the unconstrained estimate W / n. Its
    // decomposition is W's eigenvectors (largest eigenvalue first); the MM iteration would only
    // approach it, slowly where eigenvalues are close, and stop short at its tolerance.
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(W[0]);
    if (es.info() != Eigen::Success) throw_singular(0);
    D = es.eigenvectors().rowwise().reverse();
    const VectorXd b = es.eigenvalues().reverse();  // diag(D' W D)
    if (!b.allFinite() || !(b.minCoeff() > 0)) throw_singular(0);
    VectorXd a = b;
    if (VariableVolume) {
      a /= s.n[0];
      scale[0] = geo_mean(a);
      a /= scale[0];
    } else {
      a /= geo_mean(b);
    }
    if (!a.allFinite() || !(a.minCoeff() > kVarFloor * a.maxCoeff())) throw_singular(0);
    A.row(0) = a.transpose();
    target = (b.array() / a.array()).sum();
  } else {
    const Iterate iterate = pick(d, std::make_integer_sequence<int, 9>());  // d = 2..10
    inner = iterate(VariableVolume, W, omega, s.n, max_iter_of(ctl), tol_of(ctl), D, A, scale,
                    &target);
  }
  if (!VariableVolume) scale[0] = target / (N * dd);
  if (!finite(scale.sum()) || !(scale.minCoeff() > 0)) throw_singular(-1);

  // Exact normalisation of the reported shape rows (mclust's differ from it by rounding).
  for (Index j = 0; j < k; ++j) {
    VectorXd a = A.row(j).transpose();
    normalise_product(a);
    A.row(j) = a.transpose();
  }
  out.sigma.resize(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j)
    out.sigma[j] = compose(scale[VariableVolume ? j : 0], D, A.row(j).transpose());
  out.scale = scale;
  out.shape = A;
  out.orientation.assign(1, D);
  check_output(out, false);
  if (it) *it = static_cast<int>(std::min<long long>(inner, INT_MAX));
}

void mstep_EVE(const Scatter& s, const CovParams* p, const InnerControl& c, CovParams& o, int* it) {
  mstep_mm<false>(s, p, c, o, it);
}
void mstep_VVE(const Scatter& s, const CovParams* p, const InnerControl& c, CovParams& o, int* it) {
  mstep_mm<true>(s, p, c, o, it);
}

double np_EVE(Index k, Index d) { return static_cast<double>(1 + k * (d - 1) + d * (d - 1) / 2); }
double np_VVE(Index k, Index d) { return static_cast<double>(k + k * (d - 1) + d * (d - 1) / 2); }

}  // namespace models_mm

const CovarianceModel& model_EVE() {
  static const CovarianceModel m{"EVE", EShape::Full, ScatterKind::Full, true,
                                 &models_mm::np_EVE, &models_mm::mstep_EVE};
  return m;
}

const CovarianceModel& model_VVE() {
  static const CovarianceModel m{"VVE", EShape::Full, ScatterKind::Full, true,
                                 &models_mm::np_VVE, &models_mm::mstep_VVE};
  return m;
}

}  // namespace fastgmm
