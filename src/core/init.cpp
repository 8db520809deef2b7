#include "init.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "rng.h"

namespace fastgmm {

namespace {

// Rows seen by the k-means++ seeding: at most 65536 and 16 MB of them.
Index sample_rows_max(Index d, Index k) {
  Index m = (Index(16) << 20) / (8 * d);
  return std::max<Index>(std::min<Index>(m, 65536), 20 * k);
}

double weight(const DataRef& data, Index i) { return data.w ? data.w[i] : 1.0; }

// Indices of m distinct rows with positive weight, uniformly, in increasing
// order. Draws with rejection; lists the candidates only when most rows have
// weight zero.
std::vector<Index> sample_rows(const DataRef& data, Index m, Rng& rng) {
  const Index n = data.n();
  std::unordered_set<Index> seen;
  std::vector<Index> out;
  for (Index tries = 0; Index(out.size()) < m && tries < 50 * m; ++tries) {
    Index i = Index(rng.below(uint64_t(n)));
    if (weight(data, i) > 0 && seen.insert(i).second) out.push_back(i);
  }
  if (Index(out.size()) < m) {
    std::vector<Index> pos;
    for (Index i = 0; i < n; ++i)
      if (weight(data, i) > 0) pos.push_back(i);
    m = std::min<Index>(m, Index(pos.size()));
    for (Index i = 0; i < m; ++i)
      std::swap(pos[size_t(i)], pos[size_t(i + Index(rng.below(uint64_t(pos.size()) - uint64_t(i))))]);
    pos.resize(size_t(m));
    out = pos;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The rows idx (sorted), minus the origin.
MatrixXd rows_of(DataRef& data, const std::vector<Index>& idx) {
  MatrixXd S;
  data.src->gather(idx, S);
  S.rowwise() -= data.origin.transpose();
  return S;
}

// Weighted responsibilities of the nearest centre (C: k x d); returns the
// block's weighted sum of squared distances.
CpuEngine::Fill nearest(const MatrixXd& C) {
  return [&C](Index, const Work<double>& wk, Mat<double>& R) {
    const Index k = C.rows(), d = C.cols();
    double inertia = 0;
    for (Index i = 0; i < wk.rows; ++i) {
      Index best = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (Index j = 0; j < k; ++j) {
        double s = 0;
        for (Index c = 0; c < d; ++c) {
          const double e = wk.X(i, c) - C(j, c);
          s += e * e;
        }
        if (s < bd) {
          bd = s;
          best = j;
        }
      }
      inertia += wk.w[i] * bd;
      R(i, best) = wk.w[i];
    }
    return inertia;
  };
}

}  // namespace

MatrixXd kmeans(CpuEngine& eng, Index k, uint64_t seed, int lloyd_steps) {
  DataRef& data = eng.data();
  const Index n = data.n(), d = data.d();
  Rng rng(seed);
  const Index sample_max = sample_rows_max(d, k);
  std::vector<Index> idx;
  if (n <= sample_max) {
    for (Index i = 0; i < n; ++i) idx.push_back(i);
  } else {
    idx = sample_rows(data, sample_max, rng);
  }
  const MatrixXd S = rows_of(data, idx);
  VectorXd sw(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) sw[Index(i)] = weight(data, idx[i]);
  const Index m = S.rows();

  // k-means++ seeding, weighted by the observation weights.
  MatrixXd C(k, d);
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
      pick = Index(rng.below(uint64_t(m)));
    }
    C.row(j) = S.row(pick);
  }

  // Lloyd steps on all rows; an empty cluster keeps its centre.
  for (int it = 0; it < lloyd_steps; ++it) {
    const Stats st = eng.assign_stats(C.transpose(), ScatterKind::Trace, nearest(C));
    MatrixXd C2 = C;
    for (Index j = 0; j < k; ++j)
      if (st.s0[j] > 0) C2.row(j) = C.row(j) + (st.s1.col(j) / st.s0[j]).transpose();
    const double change = (C2 - C).squaredNorm();
    C = C2;
    if (change <= 1e-12 * C.squaredNorm()) break;  // relative: the same steps at any scale
  }
  return C;
}

Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo) {
  const Stats st = eng.assign_stats(k, model->scatter,
                                    [labels](Index row0, const Work<double>& wk, Mat<double>& R) {
                                      for (Index i = 0; i < wk.rows; ++i)
                                        R(i, labels[row0 + i]) = wk.w[i];
                                      return 0.0;
                                    });
  return mstep(st, model, mo);
}

Params init_params(CpuEngine& eng, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo) {
  DataRef& data = eng.data();
  switch (method) {
    case InitMethod::KmeansPP: {
      const MatrixXd C = kmeans(eng, k, seed, 10);
      return mstep(eng.assign_stats(C.transpose(), model->scatter, nearest(C)), model, mo);
    }
    case InitMethod::Random: {
      const Stats st =
          eng.assign_stats(k, model->scatter, [seed, k](Index row0, const Work<double>& wk, Mat<double>& R) {
            for (Index i = 0; i < wk.rows; ++i) {
              for (Index j = 0; j < k; ++j)
                R(i, j) = counter_unif(seed, uint64_t(row0 + i), uint64_t(j));
              R.row(i) *= wk.w[i] / R.row(i).sum();
            }
            return 0.0;
          });
      return mstep(st, model, mo);
    }
    case InitMethod::RandomFromData: {
      Rng rng(seed);
      std::vector<Index> idx = sample_rows(data, k, rng);
      if (Index(idx.size()) < k) throw ModelError("fewer rows with positive weight than components");
      // Shuffle so the components are not ordered by row position.
      std::vector<Index> order(idx.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = Index(i);
      for (Index i = k - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.below(uint64_t(i + 1)))]);
      const MatrixXd rows = rows_of(data, idx);
      // Every component starts from the covariance of all the data.
      const Stats one = eng.assign_stats(MatrixXd::Zero(data.d(), 1), model->scatter,
                                         [](Index, const Work<double>& wk, Mat<double>& R) {
                                           R.col(0).head(wk.rows) = wk.w.head(wk.rows);
                                           return 0.0;
                                         });
      const Params p1 = mstep(one, model, mo);
      Params p;
      p.model = model;
      p.k = k;
      p.d = data.d();
      p.prop = VectorXd::Constant(k, 1.0 / double(k));
      p.mean.resize(k, p.d);
      for (Index j = 0; j < k; ++j) p.mean.row(j) = rows.row(order[size_t(j)]);
      p.cov.sigma.assign(size_t(k), p1.cov.sigma[0]);
      return p;
    }
  }
  throw std::logic_error("unknown init method");
}

}  // namespace fastgmm
