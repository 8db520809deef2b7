#include "cpu_engine.h"

namespace fastgmm {

namespace {

Index stats_bytes(CovType cov, Index k, Index d) {
  Index s2 = cov == CovType::Full ? k * d * d : cov == CovType::Tied ? d * d : k * d;
  return 8 * (k + k * d + s2);
}

// Runs block(...) over every block of every chunk; partial statistics of the
// chunks are summed in chunk order.
template <typename T>
void run_chunks(const Data& data, Executor& ex, CovType cov, Index k,
                const Chunks& chunks, std::vector<Stats>& partial,
                const BlockFn<T>& block, bool have_features, Stats& out) {
  const Index brows = block_rows(cov, k, data.d);
  partial.resize(chunks.count);
  run_tasks(ex, chunks.count, [&](Index c) {
    Stats& st = partial[c];
    st.reset(cov, k, data.d);
    Work<T> wk;
    Mat<T> R;
    for (Index r0 = chunks.begin(c); r0 < chunks.end(c); r0 += brows) {
      const Index b = std::min(brows, chunks.end(c) - r0);
      load_block(data, r0, b, wk);
      if (r0 + brows < chunks.end(c))
        prefetch_block(data, r0 + brows, std::min(brows, chunks.end(c) - r0 - brows));
      st.loglik += block(wk, r0, R);
      accumulate(cov, R, wk, st, have_features);
    }
  });
  out.reset(cov, k, data.d);
  for (const Stats& st : partial) out.add(st);
}

}  // namespace

Stats chunked_stats(const Data& data, Executor& ex, CovType cov, Index k,
                    const BlockFn<double>& block) {
  Chunks chunks(data.n, stats_bytes(cov, k, data.d));
  std::vector<Stats> partial;
  Stats out;
  run_chunks<double>(data, ex, cov, k, chunks, partial, block, false, out);
  return out;
}

CpuEngine::CpuEngine(const Data& data, Executor& ex, CovType cov, Index k, CpuOptions opt)
    : data_(data), ex_(ex), cov_(cov), k_(k), opt_(opt),
      chunks_(data.n, stats_bytes(cov, k, data.d)) {}

template <typename T>
void CpuEngine::pass(const Params& p, Stats& out) {
  const Terms<T> t(prepare(p));
  const Variant v = opt_.variant;
  BlockFn<T> block = [&](Work<T>& wk, Index, Mat<T>& R) {
    log_density(t, v, wk);
    double ll = normalize(wk);
    R.swap(wk.L);
    return ll;
  };
  const bool have_features =
      v == Variant::Gemm && (cov_ == CovType::Diag || (cov_ == CovType::Full && use_features(cov_, data_.d)));
  run_chunks<T>(data_, ex_, cov_, k_, chunks_, partial_, block, have_features, out);
}

void CpuEngine::em_pass(const Params& p, Stats& out) {
  if (opt_.single)
    pass<float>(p, out);
  else
    pass<double>(p, out);
}

void score(const Data& data, const Params& p, Executor& ex, const ScoreOut& out) {
  const Terms<double> t(prepare(p));
  const Index n = data.n, k = p.k;
  const Index brows = block_rows(p.cov, k, data.d);
  Chunks chunks(n, 0);
  run_tasks(ex, chunks.count, [&](Index c) {
    Work<double> wk;
    for (Index r0 = chunks.begin(c); r0 < chunks.end(c); r0 += brows) {
      const Index b = std::min(brows, chunks.end(c) - r0);
      load_block(data, r0, b, wk);
      log_density(t, Variant::Gemm, wk);
      if (out.logdens)
        for (Index j = 0; j < k; ++j)
          Eigen::Map<VectorXd>(out.logdens + j * n + r0, b) = wk.L.col(j).head(b);
      wk.w.setOnes();
      normalize(wk, out.rowll ? out.rowll + r0 : nullptr);
      if (out.post)
        for (Index j = 0; j < k; ++j)
          Eigen::Map<VectorXd>(out.post + j * n + r0, b) = wk.L.col(j).head(b);
      if (out.cls || out.unc)
        for (Index i = 0; i < b; ++i) {
          Index best;
          double mx = wk.L.row(i).maxCoeff(&best);
          if (out.cls) out.cls[r0 + i] = int(best) + 1;
          if (out.unc) out.unc[r0 + i] = 1 - mx;
        }
    }
  });
}

}  // namespace fastgmm
