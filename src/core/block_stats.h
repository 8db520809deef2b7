// The hot kernel: log-densities, responsibilities and sufficient statistics
// of one block of rows, in two variants (see DESIGN.md sections 1 and 4).
//   Gemm:   the Mahalanobis terms and the statistics as matrix products.
//   Direct: triangular loops over columns, no temporaries of size B x k d;
//           fewer flops for small d.
// T is the compute type (double or float); callers accumulate in double.
#pragma once
#include <algorithm>
#include <cmath>

#include "mstep.h"

namespace fastgmm {

enum class Variant { Gemm = 0, Direct = 1 };
constexpr int n_variants = 2;

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// Prepared terms in the compute type, plus the constants each variant needs.
template <typename T>
struct Terms {
  CovType cov;
  Index k, d, group;  // group: components per product in the full Gemm form
  Vec<T> cst;         // per-component constant of the log-density
  Vec<T> cstg;        // diag: cst with the means folded in, for the product form
  Mat<T> U, mU, P, mean, PM;
  Vec<T> mU2;         // tied: squared norm of mU rows; spherical: of the means
  explicit Terms(const Prepared& q) : cov(q.cov), k(q.k), d(q.d) {
    group = std::max<Index>(1, std::min<Index>(k, 512 / std::max<Index>(d, 1)));
    cst = q.cst.cast<T>();
    mean = q.mean.cast<T>();
    if (cov == CovType::Full || cov == CovType::Tied) {
      U = q.U.cast<T>();
      mU = q.mU.cast<T>();
      mU2 = q.mU.rowwise().squaredNorm().cast<T>();
    } else {
      P = q.P.cast<T>();
      if (cov == CovType::Diag) {
        MatrixXd pm = q.mean.cwiseProduct(q.P);
        PM = pm.cast<T>();
        VectorXd c = q.cst - 0.5 * pm.cwiseProduct(q.mean).rowwise().sum();
        cstg = c.cast<T>();
      } else {
        mU2 = q.mean.rowwise().squaredNorm().cast<T>();
      }
    }
  }
};

// Per-task scratch space.
template <typename T>
struct Work {
  Mat<T> X, L, Y, Z;
  Vec<T> w, a, b;
};

// Rows r0 .. r0 + b - 1 of the data, shifted, into X; their weights into w.
template <typename T>
void load_block(const Data& data, Index r0, Index b, Work<T>& wk) {
  const Index d = data.d;
  wk.X.resize(b, d);
  for (Index c = 0; c < d; ++c) {
    Eigen::Map<const VectorXd> col(data.x + c * data.n + r0, b);
    wk.X.col(c) = (col.array() - data.shift[c]).template cast<T>().matrix();
  }
  if (data.w)
    wk.w = Eigen::Map<const VectorXd>(data.w + r0, b).cast<T>();
  else
    wk.w.setOnes(b);
}

// L (b x k) = log prop_j + log N(x_i | mean_j, sigma_j).
template <typename T>
void log_density(const Terms<T>& t, Variant v, Work<T>& wk) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = t.d, k = t.k;
  Mat<T>& L = wk.L;
  L.resize(b, k);
  auto& acc = wk.a;
  switch (t.cov) {
    case CovType::Full:
      if (v == Variant::Gemm) {
        for (Index j0 = 0; j0 < k; j0 += t.group) {
          const Index g = std::min(t.group, k - j0);
          wk.Y.noalias() = X * t.U.middleCols(j0 * d, g * d);
          for (Index j = j0; j < j0 + g; ++j) {
            acc.setZero(b);
            for (Index c = 0; c < d; ++c)
              acc.array() += (wk.Y.col((j - j0) * d + c).array() - t.mU(j, c)).square();
            L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
          }
        }
      } else {
        for (Index j = 0; j < k; ++j) {
          const auto U = t.U.middleCols(j * d, d);
          acc.setZero(b);
          for (Index c = 0; c < d; ++c) {
            wk.b = X.col(0) * U(0, c);
            for (Index i = 1; i <= c; ++i) wk.b += X.col(i) * U(i, c);
            acc.array() += (wk.b.array() - t.mU(j, c)).square();
          }
          L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case CovType::Tied:
      wk.Y.noalias() = X * t.U;
      if (v == Variant::Gemm) {
        acc = wk.Y.rowwise().squaredNorm();
        L.noalias() = wk.Y * t.mU.transpose();
        for (Index j = 0; j < k; ++j)
          L.col(j).array() =
              t.cst[j] - T(0.5) * (acc.array() - T(2) * L.col(j).array() + t.mU2[j]);
      } else {
        for (Index j = 0; j < k; ++j) {
          acc.setZero(b);
          for (Index c = 0; c < d; ++c)
            acc.array() += (wk.Y.col(c).array() - t.mU(j, c)).square();
          L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case CovType::Diag:
      if (v == Variant::Gemm) {
        wk.Y = X.array().square().matrix();
        L.noalias() = wk.Y * (T(-0.5) * t.P).transpose();
        L.noalias() += X * t.PM.transpose();
        L.rowwise() += t.cstg.transpose();
      } else {
        for (Index j = 0; j < k; ++j) {
          acc.setZero(b);
          for (Index c = 0; c < d; ++c)
            acc.array() += (X.col(c).array() - t.mean(j, c)).square() * t.P(j, c);
          L.col(j).array() = t.cst[j] - T(0.5) * acc.array();
        }
      }
      break;
    case CovType::Spherical:
      acc = X.rowwise().squaredNorm();
      if (v == Variant::Gemm) {
        L.noalias() = X * t.mean.transpose();
        for (Index j = 0; j < k; ++j)
          L.col(j).array() = t.cst[j] - T(0.5) * t.P(j, 0) *
                                            (acc.array() - T(2) * L.col(j).array() + t.mU2[j]);
      } else {
        for (Index j = 0; j < k; ++j) {
          wk.b.setZero(b);
          for (Index c = 0; c < d; ++c) wk.b.array() += (X.col(c).array() - t.mean(j, c)).square();
          L.col(j).array() = t.cst[j] - T(0.5) * t.P(j, 0) * wk.b.array();
        }
      }
      break;
  }
}

// Turns L into weighted responsibilities w_i r_ij in place; returns
// sum_i w_i log sum_j exp(L_ij). Row log-likelihoods go to rowll if given.
template <typename T>
double normalize(Work<T>& wk, double* rowll = nullptr) {
  Mat<T>& L = wk.L;
  const Index b = L.rows(), k = L.cols();
  Vec<T>& m = wk.a;
  Vec<T>& s = wk.b;
  m = L.col(0);
  for (Index j = 1; j < k; ++j) m = m.cwiseMax(L.col(j));
  // Terms below exp(cut) of the row's largest are set to zero: they are far
  // below rounding, and left alone they would be slow subnormal numbers.
  // Subtracting exp(cut) zeroes the clamped terms and leaves the others'
  // rounding unchanged (it is far below their last bit); all of it vectorises.
  const T cut = sizeof(T) == 8 ? T(-230) : T(-50);
  const T floor = std::exp(cut);
  s.setZero(b);
  for (Index j = 0; j < k; ++j) {
    L.col(j).array() = (L.col(j) - m).array().max(cut).exp();
    L.col(j).array() = (L.col(j).array() - floor).max(T(0));
    s += L.col(j);
  }
  Eigen::Array<double, Eigen::Dynamic, 1> ll =
      m.template cast<double>().array() + s.template cast<double>().array().log();
  if (rowll) Eigen::Map<Eigen::ArrayXd>(rowll, b) = ll;
  s.array() = wk.w.array() / s.array();
  for (Index j = 0; j < k; ++j) L.col(j).array() *= s.array();
  double tot = 0;
  for (Index i = 0; i < b; ++i)
    if (wk.w[i] != 0) tot += double(wk.w[i]) * ll[i];
  return tot;
}

// Adds the statistics of the block (X, weighted responsibilities R) to st.
// have_x2: wk.Y already holds X.^2 (left there by the diag product form).
template <typename T>
void accumulate(CovType cov, Variant v, const Mat<T>& R, Work<T>& wk, Stats& st,
                bool have_x2 = false) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = X.cols(), k = R.cols();
  st.s0 += R.colwise().sum().transpose().template cast<double>();
  Mat<T> s1 = R.transpose() * X;
  st.s1 += s1.template cast<double>();
  switch (cov) {
    case CovType::Full: {
      const Index group = std::max<Index>(1, std::min<Index>(k, 512 / std::max<Index>(d, 1)));
      if (v == Variant::Gemm) {
        for (Index j0 = 0; j0 < k; j0 += group) {
          const Index g = std::min(group, k - j0);
          wk.Z.resize(b, g * d);
          for (Index j = 0; j < g; ++j)
            wk.Z.middleCols(j * d, d) = X.array().colwise() * R.col(j0 + j).array();
          Mat<T> s2 = X.transpose() * wk.Z;
          st.s2.middleCols(j0 * d, g * d) += s2.template cast<double>();
        }
      } else {
        wk.Z.resize(b, d);
        for (Index j = 0; j < k; ++j) {
          wk.Z = X.array().colwise() * R.col(j).array();
          auto S = st.s2.middleCols(j * d, d);
          for (Index c = 0; c < d; ++c)
            for (Index i = c; i < d; ++i) {
              double v2 = double(wk.Z.col(i).dot(X.col(c)));
              S(i, c) += v2;
              if (i != c) S(c, i) += v2;
            }
        }
      }
      break;
    }
    case CovType::Tied: {
      wk.Z = X.array().colwise() * wk.w.array();
      Mat<T> s2 = X.transpose() * wk.Z;
      st.s2 += s2.template cast<double>();
      break;
    }
    case CovType::Diag:
    case CovType::Spherical: {
      if (!have_x2) wk.Y = X.array().square().matrix();
      Mat<T> s2 = R.transpose() * wk.Y;
      st.s2 += s2.template cast<double>();
      break;
    }
  }
}

// Rows per block: enough to amortise the products, small enough for cache.
inline Index block_rows(CovType cov, Index k, Index d) {
  Index cols = d + 2 * k;
  if (cov == CovType::Full) cols += 2 * std::min<Index>(k * d, 512);
  else cols += d;
  Index b = 32768 / cols;
  b = std::max<Index>(64, std::min<Index>(1024, b));
  return b / 16 * 16;
}

}  // namespace fastgmm
