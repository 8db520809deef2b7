// The hot kernel: log-densities, responsibilities and sufficient statistics
// of one block of rows, in two variants (see DESIGN.md sections 1 and 4).
//   Gemm:   the Mahalanobis terms and the statistics as matrix products.
//   Direct: triangular loops over columns, no temporaries of size B x k d;
//           fewer flops for small d.
// T is the compute type (double or float); callers accumulate in double.
#pragma once
#include <algorithm>
#include <cmath>

#include "direct_kernel.h"
#include "simd_math.h"
#include "tall_kernels.h"
#include "mstep.h"

namespace fastgmm {

enum class Variant { Gemm = 0, Direct = 1 };
constexpr int n_variants = 2;

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// The product forms work on per-row features: [x, x_i x_c for i <= c] for
// full and tied (while d(d+1)/2 stays moderate), [x, x.^2] for diag and
// spherical. Statistics are then one product features' R for all components.
inline bool use_features(CovType cov, Index d) {
  return cov == CovType::Diag || cov == CovType::Spherical || d * (d + 1) / 2 <= 528;
}
inline Index n_features(CovType cov, Index d) {
  return cov == CovType::Diag || cov == CovType::Spherical ? 2 * d : d + d * (d + 1) / 2;
}

// Prepared terms in the compute type, plus the constants each variant needs.
template <typename T>
struct Terms {
  CovType cov;
  Index k, d, group;  // group: components per product in the full Gemm form
  Vec<T> cst;         // per-component constant of the log-density
  Vec<T> cstg;        // diag: cst with the means folded in, for the product form
  Mat<T> U, mU, P, mean;
  Mat<T> Qt;          // diag: [P .* mean, -P / 2]', 2d x k, for the product form
  Vec<T> mU2;         // tied: squared norm of mU rows; spherical: of the means
  Mat<T> Theta;       // full with features: log-density = features * Theta + cstf
  Vec<T> cstf;
  DirectTerms<T> dt;  // for the register-blocked kernel (d <= max_direct_d)
  explicit Terms(const Prepared& q) : cov(q.cov), k(q.k), d(q.d) {
    group = std::max<Index>(1, std::min<Index>(k, 512 / std::max<Index>(d, 1)));
    cst = q.cst.cast<T>();
    mean = q.mean.cast<T>();
    if (cov == CovType::Full || cov == CovType::Tied) {
      U = q.U.cast<T>();
      mU = q.mU.cast<T>();
      mU2 = q.mU.rowwise().squaredNorm().cast<T>();
      dt.U = U;
      dt.M = mU.transpose();
      if (cov == CovType::Full && use_features(cov, d)) {
        // x'Px - 2 x'P mu + mu'P mu over the features [x, x_i x_c (i <= c)].
        MatrixXd th(n_features(cov, d), k);
        VectorXd cf(k);
        for (Index j = 0; j < k; ++j) {
          const MatrixXd Uj = q.U.middleCols(j * d, d);
          const MatrixXd Pj = Uj * Uj.transpose();
          const VectorXd Pm = Pj * q.mean.row(j).transpose();
          th.col(j).head(d) = Pm;
          for (Index c = 0; c < d; ++c)
            for (Index i = 0; i <= c; ++i)
              th(d + c * (c + 1) / 2 + i, j) = i == c ? -0.5 * Pj(i, i) : -Pj(i, c);
          cf[j] = q.cst[j] - 0.5 * q.mean.row(j).dot(Pm);
        }
        Theta = th.cast<T>();
        cstf = cf.cast<T>();
      }
    } else {
      P = q.P.cast<T>();
      dt.M = mean.transpose();
      dt.P = P.transpose();
      if (cov == CovType::Diag) {
        MatrixXd pm = q.mean.cwiseProduct(q.P);
        MatrixXd qq(k, 2 * d);
        qq << pm, -0.5 * q.P;
        Qt = qq.transpose().cast<T>();
        VectorXd c = q.cst - 0.5 * pm.cwiseProduct(q.mean).rowwise().sum();
        cstg = c.cast<T>();
      } else {
        mU2 = q.mean.rowwise().squaredNorm().cast<T>();
      }
    }
  }
};

// Per-task scratch space. Blocks are padded with zero-weight rows to a
// multiple of row_pad; `rows` is the number of real ones.
template <typename T>
struct Work {
  Mat<T> X, L, Y, Z;
  Vec<T> w, a, b;
  Index rows = 0;
};

// Rows r0 .. r0 + b - 1 of the data, shifted, into X; their weights into w.
template <typename T>
void load_block(const Data& data, Index r0, Index b, Work<T>& wk) {
  const Index d = data.d, bp = (b + row_pad - 1) / row_pad * row_pad;
  wk.rows = b;
  wk.X.resize(bp, d);
  for (Index c = 0; c < d; ++c) {
    Eigen::Map<const VectorXd> col(data.x + c * data.n + r0, b);
    wk.X.col(c).head(b) = (col.array() - data.shift[c]).template cast<T>().matrix();
    wk.X.col(c).tail(bp - b).setZero();
  }
  wk.w.resize(bp);
  if (data.w)
    wk.w.head(b) = Eigen::Map<const VectorXd>(data.w + r0, b).cast<T>();
  else
    wk.w.head(b).setOnes();
  wk.w.tail(bp - b).setZero();
}

// Asks for rows r0 .. r0 + b - 1 ahead of their load: the columns of a
// column-major matrix are far apart, too many streams for the hardware.
inline void prefetch_block(const Data& data, Index r0, Index b) {
  for (Index c = 0; c < data.d; ++c) {
    const char* p = reinterpret_cast<const char*>(data.x + c * data.n + r0);
    for (Index off = 0; off < b * Index(sizeof(double)); off += 64) __builtin_prefetch(p + off);
  }
}

// wk.Y = the features of the block's rows.
template <typename T>
void load_features(CovType cov, Work<T>& wk) {
  const Mat<T>& X = wk.X;
  const Index d = X.cols();
  wk.Y.resize(X.rows(), n_features(cov, d));
  wk.Y.leftCols(d) = X;
  if (cov == CovType::Diag || cov == CovType::Spherical) {
    wk.Y.rightCols(d) = X.array().square().matrix();
    return;
  }
  for (Index c = 0, p = d; c < d; ++c)
    for (Index i = 0; i <= c; ++i, ++p) wk.Y.col(p) = X.col(i).cwiseProduct(X.col(c));
}

// L (b x k) = log prop_j + log N(x_i | mean_j, sigma_j).
template <typename T>
void log_density(const Terms<T>& t, Variant v, Work<T>& wk) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = t.d, k = t.k;
  Mat<T>& L = wk.L;
  L.resize(b, k);
  auto& acc = wk.a;
  if (v == Variant::Direct && d <= max_direct_d) {
    direct_log_density<T>(t.cov, d, X.data(), b, t.dt, t.cst.data(), k, L.data());
    return;
  }
  switch (t.cov) {
    case CovType::Full:
      if (v == Variant::Gemm && use_features(t.cov, d)) {
        load_features(t.cov, wk);
        ab<T>(wk.Y.data(), b, wk.Y.cols(), t.Theta.data(), t.Theta.rows(), k, t.cstf.data(), b,
              L.data(), b);
      } else if (v == Variant::Gemm) {
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
        ab<T>(wk.Y.data(), b, d, t.dt.M.data(), d, k, nullptr, b, L.data(), b);
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
        load_features(t.cov, wk);
        ab<T>(wk.Y.data(), b, 2 * d, t.Qt.data(), 2 * d, k, t.cstg.data(), b, L.data(), b);
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
        ab<T>(X.data(), b, d, t.dt.M.data(), d, k, nullptr, b, L.data(), b);
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
// Terms below exp(cut) of the row's largest are set to zero: they are far
// below rounding, and left alone they would be slow subnormal numbers.
template <typename T>
double normalize(Work<T>& wk, double* rowll = nullptr) {
  using S = Simd<T>;
  using M = SimdMath<T>;
  using V = typename S::V;
  Mat<T>& L = wk.L;
  const Index b = L.rows(), k = L.cols();
  const T cut = sizeof(T) == 8 ? T(-230) : T(-50);
  const T floor = std::exp(cut);
  double tot = 0;
  T* l = L.data();
  for (Index r = 0; r < b; r += S::W) {
    V m = S::load(l + r);
    for (Index j = 1; j < k; ++j) {
      V v = S::load(l + j * b + r);
      m = v > m ? v : m;
    }
    V s = S::splat(0);
    for (Index j = 0; j < k; ++j) {
      V v = S::load(l + j * b + r) - m;
      v = v > cut ? v : S::splat(cut);
      v = M::exp(v) - floor;
      v = v > T(0) ? v : S::splat(0);
      S::store(l + j * b + r, v);
      s += v;
    }
    const V w = S::load(wk.w.data() + r);
    const V ll = m + M::log(s);
    const V inv = w / s;
    for (Index j = 0; j < k; ++j) S::store(l + j * b + r, S::load(l + j * b + r) * inv);
    for (int i = 0; i < S::W; ++i) {
      if (w[i] != 0) tot += double(w[i]) * double(ll[i]);
      if (rowll && r + i < wk.rows) rowll[r + i] = double(ll[i]);
    }
  }
  return tot;
}

// Adds the statistics of the block (X, weighted responsibilities R) to st.
// have_features: wk.Y already holds the block's features (see load_features).
template <typename T>
void accumulate(CovType cov, const Mat<T>& R, Work<T>& wk, Stats& st, bool have_features = false) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = X.cols(), k = R.cols();
  st.s0 += R.colwise().sum().transpose().template cast<double>();
  if (cov == CovType::Tied) {
    MatrixXd s1 = MatrixXd::Zero(d, k), s2 = MatrixXd::Zero(d, d);
    atb<T>(X.data(), b, d, R.data(), b, k, b, s1.data(), d);
    st.s1 += s1.transpose();
    wk.Z = X.array().colwise() * wk.w.array();
    atb<T>(X.data(), b, d, wk.Z.data(), b, d, b, s2.data(), d);
    st.s2 += s2;
    return;
  }
  if (use_features(cov, d)) {
    if (!have_features) load_features(cov, wk);
    const Index nf = wk.Y.cols();
    MatrixXd G = MatrixXd::Zero(nf, k);  // features' R
    atb<T>(wk.Y.data(), b, nf, R.data(), b, k, b, G.data(), nf);
    st.s1 += G.topRows(d).transpose();
    if (cov != CovType::Full) {
      st.s2 += G.bottomRows(d).transpose();
      return;
    }
    for (Index j = 0; j < k; ++j) {
      auto S = st.s2.middleCols(j * d, d);
      for (Index c = 0, p = d; c < d; ++c)
        for (Index i = 0; i <= c; ++i, ++p) {
          S(i, c) += G(p, j);
          if (i != c) S(c, i) += G(p, j);
        }
    }
    return;
  }
  // Full, large d: block j of Z' X is sum r_j x x', for a group of j at once.
  Mat<T> s1 = R.transpose() * X;
  st.s1 += s1.template cast<double>();
  const Index group = std::max<Index>(1, std::min<Index>(k, 512 / std::max<Index>(d, 1)));
  for (Index j0 = 0; j0 < k; j0 += group) {
    const Index g = std::min(group, k - j0);
    wk.Z.resize(b, g * d);
    for (Index j = 0; j < g; ++j)
      wk.Z.middleCols(j * d, d) = X.array().colwise() * R.col(j0 + j).array();
    Mat<T> s2 = wk.Z.transpose() * X;
    for (Index j = 0; j < g; ++j)
      st.s2.middleCols((j0 + j) * d, d) += s2.middleRows(j * d, d).template cast<double>();
  }
}

// Rows per block: enough to amortise the products, small enough for cache.
inline Index block_rows(CovType cov, Index k, Index d) {
  Index cols = d + 2 * k;
  if (use_features(cov, d)) cols += n_features(cov, d);
  else if (cov == CovType::Full) cols += 2 * std::min<Index>(k * d, 512);
  else cols += d;
  Index b = 65536 / cols;
  b = std::max<Index>(64, std::min<Index>(2048, b));
  return b / row_pad * row_pad;
}

}  // namespace fastgmm
