#include "init.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "mstep.h"
#include "rng.h"

namespace fastgmm {

namespace {

// Rows seen by the k-means++ seeding: at most 65536 and 16 MB of them.
Index sample_rows_max(Index d, Index k) {
  Index m = (Index(16) << 20) / (8 * d);
  return std::max<Index>(std::min<Index>(m, 65536), 20 * k);
}

// Squared distances (b x k) of the block rows to the centres.
void distances(const Mat<double>& X, const MatrixXd& C, const VectorXd& c2, MatrixXd& D2) {
  D2.noalias() = X * C.transpose();
  VectorXd x2 = X.rowwise().squaredNorm();
  for (Index j = 0; j < C.rows(); ++j)
    D2.col(j) = ((x2.array() - 2 * D2.col(j).array()) + c2[j]).max(0.0).matrix();
}

// Hard-assignment statistics to the nearest centre.
Stats nearest_stats(const Data& data, Executor& ex, CovType cov, const MatrixXd& C) {
  const Index k = C.rows();
  const VectorXd c2 = C.rowwise().squaredNorm();
  return chunked_stats(data, ex, cov, k,
                       [&](Work<double>& wk, Index, Mat<double>& R) {
                         MatrixXd D2;
                         distances(wk.X, C, c2, D2);
                         R.setZero(wk.X.rows(), k);
                         double inertia = 0;
                         for (Index i = 0; i < wk.X.rows(); ++i) {
                           Index j;
                           inertia += wk.w[i] * D2.row(i).minCoeff(&j);
                           R(i, j) = wk.w[i];
                         }
                         return inertia;
                       });
}

// The data's own rows, shifted, for sampled indices.
MatrixXd rows_of(const Data& data, const std::vector<Index>& idx) {
  MatrixXd S(idx.size(), data.d);
  for (size_t i = 0; i < idx.size(); ++i)
    for (Index c = 0; c < data.d; ++c) S(i, c) = data.x[c * data.n + idx[i]] - data.shift[c];
  return S;
}

double weight(const Data& data, Index i) { return data.w ? data.w[i] : 1.0; }

// Indices of m distinct rows with positive weight, uniformly, in increasing
// order. Draws with rejection; lists the candidates only when most rows have
// weight zero.
std::vector<Index> sample_rows(const Data& data, Index m, Rng& rng) {
  std::unordered_set<Index> seen;
  std::vector<Index> out;
  for (Index tries = 0; Index(out.size()) < m && tries < 50 * m; ++tries) {
    Index i = Index(rng.below(data.n));
    if (weight(data, i) > 0 && seen.insert(i).second) out.push_back(i);
  }
  if (Index(out.size()) < m) {
    std::vector<Index> pos;
    for (Index i = 0; i < data.n; ++i)
      if (weight(data, i) > 0) pos.push_back(i);
    m = std::min<Index>(m, pos.size());
    for (Index i = 0; i < m; ++i) std::swap(pos[i], pos[i + Index(rng.below(pos.size() - i))]);
    pos.resize(m);
    out = pos;
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

MatrixXd kmeans(const Data& data, Executor& ex, Index k, uint64_t seed, int lloyd_steps) {
  Rng rng(seed);
  const Index sample_max = sample_rows_max(data.d, k);
  std::vector<Index> idx = data.n <= sample_max ? std::vector<Index>() : sample_rows(data, sample_max, rng);
  if (idx.empty())
    for (Index i = 0; i < data.n; ++i) idx.push_back(i);
  const MatrixXd S = rows_of(data, idx);
  VectorXd sw(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) sw[i] = weight(data, idx[i]);
  const Index m = S.rows();

  // k-means++ seeding, weighted by the observation weights.
  MatrixXd C(k, data.d);
  VectorXd d2 = VectorXd::Constant(m, std::numeric_limits<double>::infinity());
  Index first = 0;
  {
    double tot = sw.sum(), u = rng.unif() * tot, cum = 0;
    for (first = 0; first < m - 1; ++first)
      if ((cum += sw[first]) > u) break;
  }
  C.row(0) = S.row(first);
  for (Index j = 1; j < k; ++j) {
    d2 = d2.cwiseMin((S.rowwise() - C.row(j - 1)).rowwise().squaredNorm());
    VectorXd p = d2.cwiseProduct(sw);
    double tot = p.sum();
    Index pick = 0;
    if (tot > 0) {
      double u = rng.unif() * tot, cum = 0;
      for (pick = 0; pick < m - 1; ++pick)
        if ((cum += p[pick]) > u) break;
      while (p[pick] <= 0 && pick > 0) --pick;
    } else {
      pick = Index(rng.below(m));
    }
    C.row(j) = S.row(pick);
  }

  // Lloyd steps on all rows; an empty cluster keeps its centre.
  for (int it = 0; it < lloyd_steps; ++it) {
    Stats st = nearest_stats(data, ex, CovType::Diag, C);
    MatrixXd C2 = C;
    for (Index j = 0; j < k; ++j)
      if (st.s0[j] > 0) C2.row(j) = st.s1.row(j) / st.s0[j];
    const double change = (C2 - C).squaredNorm();
    C = C2;
    if (change <= 1e-12 * C.squaredNorm()) break;  // relative: the same steps at any scale
  }
  return C;
}

Params init_from_labels(const Data& data, Executor& ex, CovType cov, Index k, const int* labels,
                        const VectorXd& reg_covar) {
  Stats st = chunked_stats(data, ex, cov, k,
                           [&](Work<double>& wk, Index r0, Mat<double>& R) {
                             R.setZero(wk.X.rows(), k);
                             for (Index i = 0; i < wk.rows; ++i) R(i, labels[r0 + i]) = wk.w[i];
                             return 0.0;
                           });
  return mstep(st, cov, reg_covar);
}

Params init_params(const Data& data, Executor& ex, CovType cov, Index k, InitMethod method,
                   uint64_t seed, const VectorXd& reg_covar) {
  switch (method) {
    case InitMethod::KmeansPP: {
      MatrixXd C = kmeans(data, ex, k, seed, 10);
      return mstep(nearest_stats(data, ex, cov, C), cov, reg_covar);
    }
    case InitMethod::Random: {
      Stats st = chunked_stats(data, ex, cov, k,
                               [&](Work<double>& wk, Index r0, Mat<double>& R) {
                                 const Index b = wk.X.rows();
                                 R.resize(b, k);
                                 for (Index i = 0; i < b; ++i) {
                                   for (Index j = 0; j < k; ++j)
                                     R(i, j) = counter_unif(seed, uint64_t(r0 + i), uint64_t(j));
                                   R.row(i) *= wk.w[i] / R.row(i).sum();
                                 }
                                 return 0.0;
                               });
      return mstep(st, cov, reg_covar);
    }
    case InitMethod::RandomFromData: {
      Rng rng(seed);
      std::vector<Index> idx = sample_rows(data, k, rng);
      if (Index(idx.size()) < k) throw ModelError("fewer rows with positive weight than components");
      // Shuffle so the components are not ordered by row position.
      for (Index i = k - 1; i > 0; --i) std::swap(idx[i], idx[rng.below(i + 1)]);
      // Every component starts from the covariance of all the data.
      Stats one = chunked_stats(data, ex, cov, 1,
                                [&](Work<double>& wk, Index, Mat<double>& R) {
                                  R = wk.w;
                                  return 0.0;
                                });
      Params p = mstep(one, cov, reg_covar);
      p.k = k;
      p.prop = VectorXd::Constant(k, 1.0 / k);
      p.mean = rows_of(data, idx);
      p.sigma.assign(k, p.sigma[0]);
      return p;
    }
  }
  throw std::logic_error("unknown init method");
}

}  // namespace fastgmm
