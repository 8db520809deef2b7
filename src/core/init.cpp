#include "init.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "rng.h"
#include "source/memory.h"

namespace fastgmm {

namespace {

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

// Rows of a sample (minus the origin), their weights, and an engine over them.
struct Sample {
  MatrixXd S;  // m x d, column-major: a MemorySource views it
  VectorXd w;
  std::unique_ptr<MemorySource> src;
  PassContext ctx;
  DataRef data;
  std::unique_ptr<CpuEngine> eng;
};

std::unique_ptr<Sample> draw_sample(DataRef& data, const CovarianceModel* model, Index m, Rng& rng) {
  std::unique_ptr<Sample> s(new Sample);
  const Index n = data.n();
  std::vector<Index> idx;
  if (m >= n) {
    for (Index i = 0; i < n; ++i)
      if (weight(data, i) > 0) idx.push_back(i);
  } else {
    idx = sample_rows(data, m, rng);
  }
  s->S = rows_of(data, idx);
  s->w.resize(Index(idx.size()));
  for (size_t i = 0; i < idx.size(); ++i) s->w[Index(i)] = weight(data, idx[i]);
  s->src.reset(new MemorySource(s->S.data(), s->S.rows(), s->S.cols()));
  s->ctx.ex = data.ctx->ex;
  s->ctx.poll = data.ctx->poll;
  s->data = make_data(*s->src, data.w ? s->w.data() : nullptr, s->ctx,
                      VectorXd::Zero(data.d()));
  CpuOptions o;
  o.variant = default_variant(data.d(), 1, model->shape);
  s->eng.reset(new CpuEngine(s->data, model, o));
  return s;
}

// Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + log k candidates
// per step, the one that lowers the potential most kept), weighted.
MatrixXd greedy_kmeanspp(const MatrixXd& S, const VectorXd& sw, Index k, Rng& rng) {
  const Index m = S.rows(), d = S.cols();
  const int L = 2 + int(std::log(double(k)));
  MatrixXd C(k, d);
  auto draw = [&](const VectorXd& p) {
    const double tot = p.sum();
    if (!(tot > 0)) return Index(rng.below(uint64_t(m)));
    const double u = rng.unif() * tot;
    double cum = 0;
    Index i = 0;
    for (; i < m - 1; ++i)
      if ((cum += p[i]) > u) break;
    while (p[i] <= 0 && i > 0) --i;
    return i;
  };
  C.row(0) = S.row(draw(sw));
  VectorXd d2 = (S.rowwise() - C.row(0)).rowwise().squaredNorm();
  VectorXd cand_d2;
  for (Index j = 1; j < k; ++j) {
    const VectorXd p = d2.cwiseProduct(sw);
    Index best = -1;
    double best_pot = std::numeric_limits<double>::infinity();
    VectorXd best_d2;
    for (int c = 0; c < L; ++c) {
      const Index i = draw(p);
      cand_d2 = d2.cwiseMin((S.rowwise() - S.row(i)).rowwise().squaredNorm());
      const double pot = cand_d2.dot(sw);
      if (pot < best_pot) {
        best_pot = pot;
        best = i;
        best_d2 = cand_d2;
      }
    }
    C.row(j) = S.row(best);
    d2 = best_d2;
  }
  return C;
}

// Lloyd's iterations on the sample until the assignment no longer changes
// (at most max_iter); an empty cluster is moved to the point farthest from
// its centre. Returns the weighted inertia.
double lloyd(const MatrixXd& S, const VectorXd& sw, MatrixXd& C, int max_iter) {
  const Index m = S.rows(), d = S.cols(), k = C.rows();
  std::vector<Index> lab(size_t(m), -1);
  VectorXd dist(m);
  double inertia = 0;
  for (int it = 0; it < max_iter; ++it) {
    bool changed = false;
    inertia = 0;
    for (Index i = 0; i < m; ++i) {
      Index b = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (Index j = 0; j < k; ++j) {
        double s = 0;
        for (Index c = 0; c < d; ++c) {
          const double e = S(i, c) - C(j, c);
          s += e * e;
        }
        if (s < bd) {
          bd = s;
          b = j;
        }
      }
      if (lab[size_t(i)] != b) changed = true;
      lab[size_t(i)] = b;
      dist[i] = bd;
      inertia += sw[i] * bd;
    }
    if (!changed && it > 0) break;
    MatrixXd sum = MatrixXd::Zero(k, d);
    VectorXd cnt = VectorXd::Zero(k);
    for (Index i = 0; i < m; ++i) {
      sum.row(lab[size_t(i)]) += sw[i] * S.row(i);
      cnt[lab[size_t(i)]] += sw[i];
    }
    for (Index j = 0; j < k; ++j) {
      if (cnt[j] > 0) {
        C.row(j) = sum.row(j) / cnt[j];
      } else {
        Index far;
        dist.cwiseProduct(sw).maxCoeff(&far);
        C.row(j) = S.row(far);
        dist[far] = 0;
      }
    }
  }
  return inertia;
}

// The robust k-means++ start: `starts` greedy k-means++ runs with Lloyd to
// convergence on a bounded sample; a short EM run on the sample from the
// `em_starts` of lowest inertia; the one with the highest sample
// log-likelihood kept.
Params robust_kmeans(CpuEngine& eng, const CovarianceModel* model, Index k, uint64_t seed,
                     const MStepOptions& mo, const InitOptions& io) {
  DataRef& data = eng.data();
  Rng rng(seed);
  Index m = io.sample_rows;
  if (m <= 0) m = std::min<Index>(65536, std::max<Index>(2000, 100 * k));
  m = std::max<Index>(m, 20 * k);
  std::unique_ptr<Sample> smp = draw_sample(data, model, m, rng);
  if (smp->S.rows() < k) throw ModelError("fewer rows with positive weight than components");
  // Seedings with Lloyd's iterations, ranked by inertia (ties: the first).
  struct Seeding {
    MatrixXd C;
    double inertia;
  };
  std::vector<Seeding> seeds;
  for (int s = 0; s < std::max(1, io.starts); ++s) {
    Rng r(mix64(seed + uint64_t(s) * 0x9e3779b97f4a7c15ULL));
    MatrixXd C = greedy_kmeanspp(smp->S, smp->w, k, r);
    const double inertia = lloyd(smp->S, smp->w, C, 300);
    seeds.push_back({C, inertia});
  }
  std::stable_sort(seeds.begin(), seeds.end(),
                   [](const Seeding& a, const Seeding& b) { return a.inertia < b.inertia; });
  EmOptions eo;
  eo.max_iter = io.small_em_iter;
  eo.tol = 0;  // a fixed number of iterations: the same start at any scale of the data
  eo.mstep = mo;
  Params best;
  double best_ll = -std::numeric_limits<double>::infinity();
  const int em_starts = std::max(1, std::min<int>(io.em_starts, int(seeds.size())));
  for (int s = 0; s < em_starts; ++s) {
    const MatrixXd& C = seeds[size_t(s)].C;
    try {
      Params p = mstep(smp->eng->assign_stats(C.transpose(), model->scatter, nearest(C)), model, mo);
      EmResult e = run_em(*smp->eng, std::move(p), eo, IterHook());
      // Starts that reach the same optimum (often with permuted labels) tie: the
      // first is kept unless another is better by 1e-8 per row (a scale-free margin).
      if (e.loglik > best_ll + 1e-8 * double(smp->S.rows())) {
        best_ll = e.loglik;
        best = std::move(e.params);
      }
    } catch (const ModelError&) {
    }
    data.ctx->check();
  }
  if (best_ll > -std::numeric_limits<double>::infinity()) return best;
  // Every EM run on the sample collapsed: the M-step from the best k-means
  // partition of all rows (which fails in turn if the data cannot carry it).
  const MatrixXd& C = seeds.front().C;
  return mstep(eng.assign_stats(C.transpose(), model->scatter, nearest(C)), model, mo);
}

// A fit to a random fraction of the rows (robust k-means++ start, EM to
// convergence there): the start of the fit to all rows.
Params subsample_fit(CpuEngine& eng, const CovarianceModel* model, Index k, uint64_t seed,
                     const MStepOptions& mo, const InitOptions& io) {
  DataRef& data = eng.data();
  Rng rng(seed);
  const Index n = data.n();
  // At least 10000 rows, at most a million (and 128 MB).
  Index m = Index(std::ceil(io.subsample * double(n)));
  m = std::min<Index>(m, std::min<Index>(1000000, (Index(128) << 20) / (8 * data.d())));
  m = std::min(n, std::max<Index>(m, std::max<Index>(10000, 20 * k)));
  std::unique_ptr<Sample> smp = draw_sample(data, model, m, rng);
  if (smp->S.rows() < k) throw ModelError("fewer rows with positive weight than components");
  InitOptions inner = io;
  inner.sample_rows = 0;
  Params p0 = robust_kmeans(*smp->eng, model, k, mix64(seed ^ 0x5bd1e995ULL), mo, inner);
  EmOptions eo;
  eo.max_iter = io.subsample_iter;
  eo.tol = io.tol;
  eo.mstep = mo;
  return run_em(*smp->eng, std::move(p0), eo, IterHook()).params;
}

}  // namespace

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
                   uint64_t seed, const MStepOptions& mo, const InitOptions& io) {
  DataRef& data = eng.data();
  switch (method) {
    case InitMethod::KmeansPP:
      return robust_kmeans(eng, model, k, seed, mo, io);
    case InitMethod::Subsample:
      return subsample_fit(eng, model, k, seed, mo, io);
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
