#include "init.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "kernels/dispatch.h"
#include "rng.h"
#include "source/memory.h"

namespace fastgmm {

namespace {

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

namespace {

// A sample of rows (minus the origin) and a CPU engine over it.
struct Sample {
  MatrixXd S;  // m x d, column-major: a MemorySource views it
  VectorXd w;
  std::unique_ptr<MemorySource> src;
  SerialExecutor serial;
  PassContext ctx;
  DataRef data;
  std::unique_ptr<CpuEngine> eng;
};

std::unique_ptr<Sample> draw_sample(InitData& data, const CovarianceModel* model, Index m,
                                    Rng& rng) {
  std::unique_ptr<Sample> s(new Sample);
  std::vector<Index> idx;
  const Index P = data.positive_count();
  if (m >= P) {
    std::vector<Index> ranks(static_cast<size_t>(P));
    for (Index i = 0; i < P; ++i) ranks[size_t(i)] = i;
    idx = data.positive_rows(ranks);
    std::sort(idx.begin(), idx.end());
  } else {
    idx = sample_rows(data, m, rng);
  }
  s->S = data.rows(idx, s->w);
  s->src.reset(new MemorySource(s->S.data(), s->S.rows(), s->S.cols()));
  PassContext* parent = data.context();
  s->ctx.ex = parent && parent->ex ? parent->ex : &s->serial;
  if (parent) s->ctx.poll = parent->poll;
  s->data = make_data(*s->src, data.weighted() ? s->w.data() : nullptr, s->ctx,
                      VectorXd::Zero(data.d()));
  CpuOptions o;
  o.variant = default_variant(data.d(), 1, model->shape);
  s->eng.reset(new CpuEngine(s->data, model, o));
  return s;
}

// Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + log k candidates
// per step, the one that lowers the potential most kept), weighted.
// out[i] = |S_i - c|^2 for the row c (a row of a column-major matrix).
template <typename Row>
void sq_dist(const MatrixXd& S, const Row& c, double* out) {
  cpu_kernels().d.sq_dist(S.data(), S.rows(), S.cols(), c.data(), c.innerStride(), out);
}

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
  VectorXd d2(m), cand_d2(m);
  sq_dist(S, C.row(0), d2.data());
  for (Index j = 1; j < k; ++j) {
    const VectorXd p = d2.cwiseProduct(sw);
    Index best = -1;
    double best_pot = std::numeric_limits<double>::infinity();
    VectorXd best_d2;
    for (int c = 0; c < L; ++c) {
      const Index i = draw(p);
      sq_dist(S, S.row(i), cand_d2.data());
      cand_d2 = cand_d2.cwiseMin(d2);
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
  std::vector<Index> lab(static_cast<size_t>(m), -1), next(static_cast<size_t>(m));
  VectorXd dist(m), dj(m);
  MatrixXd sum(k, d);
  VectorXd cnt(k);
  double inertia = 0;
  // The nearest centres column by column (contiguous rows, no data-dependent branches): the
  // first nearest of each row, as a row-by-row scan with a strict comparison finds it.
  for (int it = 0; it < max_iter; ++it) {
    dist.setConstant(std::numeric_limits<double>::infinity());
    std::fill(next.begin(), next.end(), Index(0));
    for (Index j = 0; j < k; ++j) {
      sq_dist(S, C.row(j), dj.data());
      for (Index i = 0; i < m; ++i) {
        const Index lt = dj[i] < dist[i];
        next[size_t(i)] += lt * (j - next[size_t(i)]);
        dist[i] = std::min(dist[i], dj[i]);  // dj[i] where dj[i] < dist[i]
      }
    }
    const bool changed = next != lab;
    lab.swap(next);
    inertia = 0;
    for (Index i = 0; i < m; ++i) inertia += sw[i] * dist[i];
    if (!changed && it > 0) break;
    sum.setZero();
    cnt.setZero();
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

// The robust k-means++ start: `starts` greedy k-means++ seedings with Lloyd
// to convergence on a bounded sample; a short EM run on the sample from the
// `em_starts` of lowest inertia; the one with the highest sample
// log-likelihood kept (ties: the first). When every run collapses, the
// M-step from the best seeding's partition of all rows.
Params robust_kmeans(InitData& data, const CovarianceModel* model, Index k, uint64_t seed,
                     const MStepOptions& mo, const InitOptions& io) {
  Rng rng(seed);
  Index m = io.sample_rows;
  if (m <= 0) m = std::min<Index>(65536, std::max<Index>(2000, 100 * k));
  m = std::max<Index>(m, 20 * k);
  std::unique_ptr<Sample> smp = draw_sample(data, model, m, rng);
  if (smp->S.rows() < k) throw ModelError("fewer rows with positive weight than components");
  struct Seeding {
    MatrixXd C;
    double inertia;
  };
  // The seedings are independent (each has its own random stream): they run concurrently.
  std::vector<Seeding> seeds(static_cast<size_t>(std::max(1, io.starts)));
  run_tasks(*smp->ctx.ex, Index(seeds.size()), [&](Index s) {
    Rng r(mix64(seed + uint64_t(s) * 0x9e3779b97f4a7c15ULL));
    Seeding& out = seeds[size_t(s)];
    out.C = greedy_kmeanspp(smp->S, smp->w, k, r);
    out.inertia = lloyd(smp->S, smp->w, out.C, 300);
  });
  std::stable_sort(seeds.begin(), seeds.end(),
                   [](const Seeding& a, const Seeding& b) { return a.inertia < b.inertia; });
  EmOptions eo;
  eo.max_iter = io.small_em_iter;
  eo.tol = 0;  // a fixed number of iterations: the same start at any scale of the data
  eo.mstep = mo;
  EngineInitData local(*smp->eng);
  Params best;
  double best_ll = -std::numeric_limits<double>::infinity();
  const int em_starts = std::max(1, std::min<int>(io.em_starts, int(seeds.size())));
  for (int s = 0; s < em_starts; ++s) {
    const MatrixXd& C = seeds[size_t(s)].C;
    try {
      Params p = mstep(local.assign(nearest_to(C), C.transpose(), model->scatter, nullptr), model, mo);
      EmResult e = run_em(*smp->eng, std::move(p), eo, IterHook());
      // Starts that reach the same optimum (often with permuted labels) tie: the
      // first is kept unless another is better by 1e-8 per row (a scale-free margin).
      if (e.loglik > best_ll + 1e-8 * double(smp->S.rows())) {
        best_ll = e.loglik;
        best = std::move(e.params);
      }
    } catch (const ModelError&) {
    }
    smp->ctx.check();
  }
  if (best_ll > -std::numeric_limits<double>::infinity()) return best;
  const MatrixXd& C = seeds.front().C;
  return mstep(data.assign(nearest_to(C), C.transpose(), model->scatter), model, mo);
}

// A fit to a random fraction of the rows (robust k-means++ start, EM to
// convergence there): the start of the fit to all rows.
Params subsample_fit(InitData& data, const CovarianceModel* model, Index k, uint64_t seed,
                     const MStepOptions& mo, const InitOptions& io) {
  Rng rng(seed);
  const Index n = data.n();
  // At least 10000 rows, at most a million (and 128 MB).
  Index m = Index(std::ceil(io.subsample * double(n)));
  m = std::min<Index>(m, std::min<Index>(1000000, (Index(128) << 20) / (8 * data.d())));
  m = std::min(n, std::max<Index>(m, std::max<Index>(10000, 20 * k)));
  std::unique_ptr<Sample> smp = draw_sample(data, model, m, rng);
  if (smp->S.rows() < k) throw ModelError("fewer rows with positive weight than components");
  EngineInitData local(*smp->eng);
  InitOptions inner = io;
  inner.sample_rows = 0;
  Params p0 = robust_kmeans(local, model, k, mix64(seed ^ 0x5bd1e995ULL), mo, inner);
  EmOptions eo;
  eo.max_iter = io.subsample_iter;
  eo.tol = io.tol;
  eo.mstep = mo;
  return run_em(*smp->eng, std::move(p0), eo, IterHook()).params;
}

}  // namespace

Stats label_stats(InitData& data, Index k, const int* labels, ScatterKind kind) {
  Assignment a;
  a.kind = Assignment::Labels;
  a.labels = labels;
  a.k = k;
  return assign_about_means(data, a, kind);
}

Params init_from_labels(InitData& data, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo) {
  return mstep(label_stats(data, k, labels, model->scatter), model, mo);
}

Params init_params(InitData& data, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo, const InitOptions& io) {
  switch (method) {
    case InitMethod::KmeansPP:
      return robust_kmeans(data, model, k, seed, mo, io);
    case InitMethod::Subsample:
      return subsample_fit(data, model, k, seed, mo, io);
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
                   uint64_t seed, const MStepOptions& mo, const InitOptions& io) {
  EngineInitData data(eng);
  return init_params(data, model, k, method, seed, mo, io);
}

Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo) {
  EngineInitData data(eng);
  return init_from_labels(data, model, k, labels, mo);
}

}  // namespace fastgmm
