#include "init.h"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "rng.h"

namespace fastgmm {

namespace {

// Rows seen by the k-means++ seeding: at most 65536 and 16 MB of them.
Index sample_rows_max(Index d, Index k) {
  Index m = (Index(16) << 20) / (8 * d);
  return std::max<Index>(std::min<Index>(m, 65536), 20 * k);
}

// Indices of m distinct rows with positive weight, uniformly, in increasing
// order. Draws with rejection (one rng.below(n) per try, up to 50 m tries);
// lists the candidates only when most rows have weight zero. Weights are
// looked up for a batch of candidates at a time (drawn from a copy of the
// generator, which then advances by the tries used), so that data on other
// machines answer in a few messages; the draws are those of a loop over
// single candidates.
std::vector<Index> sample_rows(InitData& data, Index m, Rng& rng) {
  const Index n = data.n();
  const Index max_tries = 50 * m;
  std::unordered_set<Index> seen;
  std::vector<Index> out;
  Index tries = 0;
  if (!data.weighted()) {
    for (; Index(out.size()) < m && tries < max_tries; ++tries) {
      const Index i = Index(rng.below(uint64_t(n)));
      if (seen.insert(i).second) out.push_back(i);
    }
  } else if (data.positive_count() < m) {
    // Fewer rows with positive weight than wanted: every try is made (none
    // can end the loop), and all of those rows are taken below.
    for (; tries < max_tries; ++tries) rng.below(uint64_t(n));
  } else {
    const double P = double(data.positive_count());
    Rng look = rng;
    std::vector<Index> cand;
    std::vector<double> w;
    while (Index(out.size()) < m && tries < max_tries) {
      // About as many candidates as should give the rows still wanted (at
      // the acceptance rate of distinct rows with positive weight), and more.
      const double left = double(m - Index(out.size()));
      const double rate = std::max(P - double(out.size()), 1.0) / double(n);
      const Index want = Index(std::min(1.25 * left / rate, double(max_tries))) + 256;
      const Index b = std::min(max_tries - tries, want);
      cand.resize(size_t(b));
      for (Index t = 0; t < b; ++t) cand[size_t(t)] = Index(look.below(uint64_t(n)));
      data.weights(cand, w);
      for (Index t = 0; t < b && Index(out.size()) < m; ++t, ++tries) {
        const Index i = cand[size_t(t)];
        if (w[size_t(t)] > 0 && seen.insert(i).second) out.push_back(i);
      }
    }
    for (Index t = 0; t < tries; ++t) rng.below(uint64_t(n));
  }
  if (Index(out.size()) < m) {
    // A partial Fisher-Yates shuffle of the ranks of the positive rows
    // (sparse: only the positions touched are stored).
    const Index P = data.positive_count();
    m = std::min<Index>(m, P);
    std::unordered_map<Index, Index> moved;
    auto at = [&](Index i) {
      auto it = moved.find(i);
      return it == moved.end() ? i : it->second;
    };
    std::vector<Index> ranks(static_cast<size_t>(m));
    for (Index i = 0; i < m; ++i) {
      const Index j = i + Index(rng.below(uint64_t(P) - uint64_t(i)));
      const Index vi = at(i), vj = at(j);
      moved[i] = vj;
      moved[j] = vi;
      ranks[size_t(i)] = vj;
    }
    out = data.positive_rows(ranks);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Statistics of an assignment about the means it implies: a first pass
// about zero anchors finds them, a second one sums about them.
Stats assign_about_means(InitData& data, const Assignment& a, ScatterKind kind) {
  const Stats first = data.assign(a, MatrixXd::Zero(data.d(), a.k), ScatterKind::Trace);
  MatrixXd anchors = MatrixXd::Zero(data.d(), a.k);
  for (Index j = 0; j < a.k; ++j)
    if (first.s0[j] > 0) anchors.col(j) = first.s1.col(j) / first.s0[j];
  return data.assign(a, anchors, kind);
}

Assignment nearest_to(const MatrixXd& C) {
  Assignment a;
  a.kind = Assignment::Nearest;
  a.centres = C;
  a.k = C.rows();
  return a;
}

}  // namespace

CpuEngine::Fill assignment_fill(const Assignment& a, Index row_offset) {
  switch (a.kind) {
    case Assignment::Nearest:
      // Weighted responsibilities of the nearest centre; returns the block's
      // weighted sum of squared distances.
      return [C = a.centres](Index, const Work<double>& wk, Mat<double>& R) {
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
    case Assignment::Labels:
      if (!a.labels) throw std::logic_error("labels assignment without labels");
      return [labels = a.labels](Index row0, const Work<double>& wk, Mat<double>& R) {
        for (Index i = 0; i < wk.rows; ++i) R(i, labels[row0 + i]) = wk.w[i];
        return 0.0;
      };
    case Assignment::Random:
      return [seed = a.seed, k = a.k, row_offset](Index row0, const Work<double>& wk,
                                                   Mat<double>& R) {
        for (Index i = 0; i < wk.rows; ++i) {
          for (Index j = 0; j < k; ++j)
            R(i, j) = counter_unif(seed, uint64_t(row_offset + row0 + i), uint64_t(j));
          R.row(i) *= wk.w[i] / R.row(i).sum();
        }
        return 0.0;
      };
    case Assignment::All:
      return [](Index, const Work<double>& wk, Mat<double>& R) {
        R.col(0).head(wk.rows) = wk.w.head(wk.rows);
        return 0.0;
      };
  }
  throw std::logic_error("unknown assignment");
}

void EngineInitData::weights(const std::vector<Index>& idx, std::vector<double>& out) {
  const double* w = eng_.data().w;
  out.resize(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = w ? w[idx[i]] : 1.0;
}

Index EngineInitData::positive_count() {
  const double* w = eng_.data().w;
  if (!w) return n();
  Index c = 0;
  for (Index i = 0; i < n(); ++i) c += w[i] > 0;
  return c;
}

std::vector<Index> EngineInitData::positive_rows(const std::vector<Index>& ranks) {
  const double* w = eng_.data().w;
  std::vector<Index> pos;
  for (Index i = 0; i < n(); ++i)
    if (!w || w[i] > 0) pos.push_back(i);
  std::vector<Index> out(ranks.size());
  for (size_t i = 0; i < ranks.size(); ++i) out[i] = pos[size_t(ranks[i])];
  return out;
}

MatrixXd EngineInitData::rows(const std::vector<Index>& idx, VectorXd& w) {
  DataRef& data = eng_.data();
  MatrixXd S;
  data.src->gather(idx, S);
  S.rowwise() -= data.origin.transpose();
  w.resize(Index(idx.size()));
  for (size_t i = 0; i < idx.size(); ++i) w[Index(i)] = data.w ? data.w[idx[i]] : 1.0;
  return S;
}

Stats EngineInitData::assign(const Assignment& a, const MatrixXd& anchors, ScatterKind kind,
                             double* value) {
  return eng_.assign_stats(anchors, kind, assignment_fill(a), value);
}

MatrixXd kmeans(InitData& data, Index k, uint64_t seed, int lloyd_steps) {
  const Index n = data.n(), d = data.d();
  Rng rng(seed);
  const Index sample_max = sample_rows_max(d, k);
  std::vector<Index> idx;
  if (n <= sample_max) {
    for (Index i = 0; i < n; ++i) idx.push_back(i);
  } else {
    idx = sample_rows(data, sample_max, rng);
  }
  VectorXd sw;
  const MatrixXd S = data.rows(idx, sw);
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
    const Stats st = data.assign(nearest_to(C), C.transpose(), ScatterKind::Trace);
    MatrixXd C2 = C;
    for (Index j = 0; j < k; ++j)
      if (st.s0[j] > 0) C2.row(j) = C.row(j) + (st.s1.col(j) / st.s0[j]).transpose();
    const double change = (C2 - C).squaredNorm();
    C = C2;
    if (change <= 1e-12 * (1 + C.squaredNorm())) break;
  }
  return C;
}

Params init_from_labels(InitData& data, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo) {
  Assignment a;
  a.kind = Assignment::Labels;
  a.labels = labels;
  a.k = k;
  return mstep(assign_about_means(data, a, model->scatter), model, mo);
}

Params init_params(InitData& data, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo) {
  switch (method) {
    case InitMethod::KmeansPP: {
      const MatrixXd C = kmeans(data, k, seed, 10);
      return mstep(data.assign(nearest_to(C), C.transpose(), model->scatter), model, mo);
    }
    case InitMethod::Random: {
      Assignment a;
      a.kind = Assignment::Random;
      a.seed = seed;
      a.k = k;
      return mstep(assign_about_means(data, a, model->scatter), model, mo);
    }
    case InitMethod::RandomFromData: {
      Rng rng(seed);
      std::vector<Index> idx = sample_rows(data, k, rng);
      if (Index(idx.size()) < k) throw ModelError("fewer rows with positive weight than components");
      // Shuffle so the components are not ordered by row position.
      std::vector<Index> order(idx.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = Index(i);
      for (Index i = k - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(rng.below(uint64_t(i + 1)))]);
      VectorXd w;
      const MatrixXd rows = data.rows(idx, w);
      // Every component starts from the covariance of all the data.
      const Stats one = data.assign(Assignment(), MatrixXd::Zero(data.d(), 1), model->scatter);
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

Params init_params(CpuEngine& eng, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo) {
  EngineInitData data(eng);
  return init_params(data, model, k, method, seed, mo);
}

Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo) {
  EngineInitData data(eng);
  return init_from_labels(data, model, k, labels, mo);
}

MatrixXd kmeans(CpuEngine& eng, Index k, uint64_t seed, int lloyd_steps) {
  EngineInitData data(eng);
  return kmeans(data, k, seed, lloyd_steps);
}

}  // namespace fastgmm
