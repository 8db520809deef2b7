// Entry points for fitting, scoring, starts and timing kernel variants. Data
// arrive as any block source (a matrix, gmm_file(), gmm_chunks()).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "core/init.h"
#include "core/rng.h"
#include "core/source/head.h"
#include "rcpp_restarts.h"

using namespace fastgmm;

// The kernel form can be forced with the internal option fastgmm.kernel_form
// ("shared" or "anchored"), for tests and benchmarks.
CpuOptions fastgmm::cpu_options(int variant, bool single) {
  CpuOptions o;
  if (variant < 0 || variant >= n_variants) Rcpp::stop("internal error: unknown variant");
  o.variant = Variant(variant);
  o.single = single;
  // R's C API, not an R call: calling getOption() through Rcpp runs it inside a tryCatch()
  // closure that R compiles on every call (about 1 ms per fit in gmm_select()).
  SEXP f = Rf_GetOption1(Rf_install("fastgmm.kernel_form"));
  if (!Rf_isNull(f)) {
    const std::string form = Rcpp::as<std::string>(f);
    if (form == "shared") o.form = int(Form::Shared);
    else if (form == "anchored") o.form = int(Form::Anchored);
    else Rcpp::stop("option fastgmm.kernel_form must be \"shared\" or \"anchored\"");
  }
  return o;
}

const double* fastgmm::weights_of(const Rcpp::Nullable<Rcpp::NumericVector>& w, Index n) {
  if (w.isNull()) return nullptr;
  Rcpp::NumericVector v(w.get());
  if (v.size() != n) Rcpp::stop("internal error: weights of the wrong length");
  return v.begin();
}

// Rows and columns of a data source.
// [[Rcpp::export]]
Rcpp::NumericVector cpp_source_dims(SEXP x) {
  std::unique_ptr<Source> src = make_source(x);
  return Rcpp::NumericVector::create(double(src->rows()), double(src->cols()));
}

// init: 0 kmeans++, 1 random, 2 random_from_data, 3 start (list), 4 labels.
// score: bit 1 the sums (loglik, entropy) of the scoring pass, bit 2 also
// per-row classification and uncertainty.
// [[Rcpp::export]]
Rcpp::List cpp_fit(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int k, std::string model,
                   int init, Rcpp::Nullable<Rcpp::List> start,
                   Rcpp::Nullable<Rcpp::IntegerVector> labels, int n_init, int max_iter,
                   double tol, Rcpp::NumericVector reg_covar, int threads, double seed,
                   int variant, bool single, bool verbose, int score, Rcpp::List control,
                   Rcpp::Nullable<Rcpp::Function> progress = R_NilValue,
                   Rcpp::Nullable<Rcpp::NumericVector> origin = R_NilValue,
                   SEXP memo = R_NilValue) {
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = weights_of(w, src->rows());
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  FitRequest req = fit_request(k, model, init, start, labels, n_init, max_iter, tol, reg_covar,
                               seed, verbose);
  req.progress = progress;
  apply_control(req, control);
  if (!Rf_isNull(memo)) req.memo = Rcpp::XPtr<LabelMemo>(memo).checked_get();
  req.weights = wp;
  return guarded([&] {
    DataRef data = origin.isNull()
                       ? make_data(*src, wp, ctx)
                       : make_data(*src, wp, ctx, Rcpp::as<VectorXd>(origin.get()));
    if (data.origin.size() != src->cols()) Rcpp::stop("internal error: origin of the wrong length");
    CpuEngine engine(data, req.model, cpu_options(variant, single));
    Rcpp::List res = fit_restarts(engine, engine, req);
    add_scores(*src, wp, ctx, res["parameters"], req.model, score, res);
    return res;
  });
}

// A LabelMemo for cpp_fit() (gmm_select() keeps one while it runs).
// [[Rcpp::export]]
SEXP cpp_label_memo() { return Rcpp::XPtr<LabelMemo>(new LabelMemo(), true); }

// The origin a fit centres the rows on (their weighted column means), as cpp_fit computes it:
// gmm_select() passes it to all its fits.
// [[Rcpp::export]]
Rcpp::NumericVector cpp_origin(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w) {
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = weights_of(w, src->rows());
  SerialExecutor ex;
  PassContext ctx;
  init_context(ctx, ex);
  return guarded([&] { return Rcpp::wrap(make_data(*src, wp, ctx).origin); });
}

// Scores a source under parameters (data coordinates), about the model's
// centre, so a row's result never depends on the other rows.
// what: bit 1 logdens, 2 posterior, 4 row loglik, 8 class + uncertainty.
// file: when not empty, the requested quantity is written there instead
// (little-endian doubles, row-major, as gmm_write()), through a temporary
// file renamed at the end.
// [[Rcpp::export]]
Rcpp::List cpp_score(SEXP x, Rcpp::List params, std::string model, int what, int threads,
                     std::string file = "", Rcpp::Nullable<Rcpp::NumericVector> w = R_NilValue) {
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = weights_of(w, src->rows());
  const CovarianceModel* m = model_from_name(model);
  const Index n = src->rows();
  const Index k = Rcpp::NumericVector(params["proportions"]).size();
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  ScoreRequest req;
  req.logdens = what & 1;
  req.post = what & 2;
  req.rowll = what & 4;
  req.cls = what & 8;
  Rcpp::List res;
  std::FILE* out = nullptr;
  std::string tmp;
  std::vector<double> row;  // the sink's buffer: outlives the sink
  if (!file.empty()) {
    tmp = file + ".part";
    out = std::fopen(tmp.c_str(), "wb");
    if (!out) Rcpp::stop("cannot write " + tmp);
    req.sink = [&](Index, Index rows, const double* ld, const double* po, const double* rl,
                   const int* cl, const double*) {
      const Index width = ld || po ? k : 1;
      row.resize(size_t(rows * width));
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < width; ++j)
          row[size_t(i * width + j)] = ld ? ld[i + j * rows] : po ? po[i + j * rows]
                                     : rl ? rl[i] : double(cl[i]);
      if (std::fwrite(row.data(), sizeof(double), row.size(), out) != row.size())
        throw DataError("error writing " + tmp);
    };
  } else {
    if (req.logdens) {
      Rcpp::NumericMatrix v(n, k);
      req.logdens_out = v.begin();
      res["logdens"] = v;
    }
    if (req.post) {
      Rcpp::NumericMatrix v(n, k);
      req.post_out = v.begin();
      res["posterior"] = v;
    }
    if (req.rowll) {
      Rcpp::NumericVector v(n);
      req.rowll_out = v.begin();
      res["rowll"] = v;
    }
    if (req.cls) {
      Rcpp::IntegerVector c(n);
      Rcpp::NumericVector u(n);
      req.cls_out = c.begin();
      req.unc_out = u.begin();
      res["classification"] = c;
      res["uncertainty"] = u;
    }
  }
  struct Closer {
    std::FILE*& f;
    std::string& tmp;
    bool ok = false;
    ~Closer() {
      if (f) std::fclose(f);
      if (!ok && !tmp.empty()) std::remove(tmp.c_str());
    }
  } closer{out, tmp};
  const ScoreSums s = guarded([&] {
    const VectorXd centre = model_centre(params);
    DataRef data = make_data(*src, wp, ctx, centre);
    const Params p = params_from_list(params, m, centre);
    return score(data, p, req);
  });
  if (out) {
    const bool flushed = std::fclose(out) == 0;
    out = nullptr;
    if (!flushed || std::rename(tmp.c_str(), file.c_str()) != 0)
      Rcpp::stop("cannot write " + file);
    closer.ok = true;
  }
  res["loglik"] = s.loglik;
  res["entropy"] = s.entropy;
  return res;
}

// Seconds per E-step pass of each CPU variant (median of reps) on the first
// 32768 rows of x, on one thread (so the choice never depends on the thread count).
// [[Rcpp::export]]
Rcpp::NumericVector cpp_time_variants(SEXP x, int k, std::string model, bool single, int reps) {
  std::unique_ptr<Source> full = make_source(x);
  HeadSource src(*full, 32768);
  const CovarianceModel* m = model_from_name(model);
  SerialExecutor ex;
  PassContext ctx;
  ctx.ex = &ex;
  ctx.poll = [] { Rcpp::checkUserInterrupt(); };
  Rcpp::NumericVector out(n_variants);
  guarded([&] {
    DataRef data = make_data(src, nullptr, ctx);
    const Params p = timing_start(data, m, k);
    for (int v = 0; v < n_variants; ++v) {
      CpuEngine engine(data, m, cpu_options(v, single));
      std::vector<double> t;
      Stats st;
      engine.em_pass(p, st);  // warm up
      for (int r = 0; r < reps; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        engine.em_pass(p, st);
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(t.begin(), t.end());
      out[v] = t[t.size() / 2];
    }
    return 0;
  });
  return out;
}

// The best of `tries` starts, restarts restart0 .. restart0 + tries - 1 of cpp_init(): the
// one whose first component has the smallest first variance (ties: the first). The tries of
// an in-memory source run concurrently, each on one thread (each is a function of its seed
// alone, so the result is the same). Returns list(params, error): params NULL and the last
// try's error when every try fails.
// [[Rcpp::export]]
Rcpp::List cpp_init_best(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int k, std::string model,
                         int init, double seed, int restart0, int tries,
                         Rcpp::NumericVector reg_covar, int threads, Rcpp::List control) {
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = weights_of(w, src->rows());
  const CovarianceModel* m = model_from_name(model);
  ParallelExecutor ex(threads);
  PassContext main_ctx;
  init_context(main_ctx, ex);
  FitRequest req = fit_request(k, model, init, R_NilValue, R_NilValue, 1, 0, 1e-6, reg_covar, seed,
                               false);
  apply_control(req, control);
  const size_t nt = size_t(std::max(tries, 1));
  std::vector<Params> found(nt);
  std::vector<std::string> err(nt);
  std::vector<char> ok(nt, 0);
  VectorXd origin;  // the data's, computed once for all the tries
  auto one = [&](Index t, PassContext& ctx) {
    try {
      DataRef data = make_data(*src, wp, ctx, origin);
      CpuEngine eng(data, m, CpuOptions());
      found[size_t(t)] = init_params(eng, m, k, InitMethod(init),
                                     mix64(uint64_t(seed) + uint64_t(restart0 + t)),
                                     req.opt.mstep, req.init_opt);
      ok[size_t(t)] = 1;
    } catch (const std::exception& e) {  // as cpp_init()'s error; interrupts propagate
      err[size_t(t)] = e.what();
    }
  };
  return guarded([&] {
    origin = make_data(*src, wp, main_ctx).origin;
    if (src->zero_copy() && threads > 1 && nt > 1) {
      const std::thread::id main = std::this_thread::get_id();
      run_tasks(ex, Index(nt), [&](Index t) {
        SerialExecutor serial;
        PassContext ctx;
        ctx.ex = &serial;
        ctx.poll = [main] {
          if (std::this_thread::get_id() == main) Rcpp::checkUserInterrupt();
        };
        one(t, ctx);
      });
    } else {
      for (Index t = 0; t < Index(nt); ++t) one(t, main_ctx);
    }
    Index best = -1;
    for (Index t = 0; t < Index(nt); ++t)
      if (ok[size_t(t)] && (best < 0 || found[size_t(t)].cov.sigma[0](0, 0) <
                                            found[size_t(best)].cov.sigma[0](0, 0)))
        best = t;
    if (best < 0) return Rcpp::List::create(Rcpp::_["params"] = R_NilValue,
                                            Rcpp::_["error"] = err.back());
    return Rcpp::List::create(Rcpp::_["params"] = params_to_list(found[size_t(best)], origin),
                              Rcpp::_["error"] = R_NilValue);
  });
}

// Starting parameters of restart `restart` (0-based), as cpp_fit makes them.
// [[Rcpp::export]]
Rcpp::List cpp_init(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int k, std::string model,
                    int init, double seed, int restart, Rcpp::NumericVector reg_covar, int threads,
                    Rcpp::List control) {
  Rcpp::List res =
      cpp_init_best(x, w, k, model, init, seed, restart, 1, reg_covar, threads, control);
  if (Rf_isNull(res["params"])) Rcpp::stop(Rcpp::as<std::string>(res["error"]));
  return res["params"];
}

// TRUE when the rows with positive weight hold at least k distinct rows;
// reads tiles only until it has found them.
// [[Rcpp::export]]
bool cpp_distinct_rows(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int k) {
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = weights_of(w, src->rows());
  const Index n = src->rows(), d = src->cols();
  struct RowHash {
    size_t operator()(const std::vector<double>& r) const {
      size_t h = 1469598103934665603ULL;
      for (double v : r) {
        uint64_t b;
        std::memcpy(&b, &v, 8);
        h = (h ^ b) * 1099511628211ULL;
      }
      return h;
    }
  };
  std::unordered_set<std::vector<double>, RowHash> seen;
  std::vector<double> buf, row(static_cast<size_t>(d));
  const Index step = 4096;
  return guarded([&] {
    for (Index r0 = 0; r0 < n; r0 += step) {
      const Index b = std::min(step, n - r0);
      buf.resize(size_t(b * d));
      const TileView v = src->zero_copy() ? src->view(r0, b) : src->read(r0, b, buf.data());
      for (Index i = 0; i < b; ++i) {
        if (wp && !(wp[r0 + i] > 0)) continue;
        for (Index c = 0; c < d; ++c) row[size_t(c)] = v.at(i, c) == 0 ? 0.0 : v.at(i, c);
        seen.insert(row);
        if (Index(seen.size()) >= k) return true;
      }
      Rcpp::checkUserInterrupt();
    }
    return false;
  });
}

// 0 when every value of x is finite, 1 when one is NA or NaN, 2 when one is
// infinite (checked without allocating a copy).
// [[Rcpp::export]]
int cpp_check_finite(Rcpp::NumericVector x) {
  int res = 0;
  for (double v : x) {
    if (std::isnan(v)) return 1;
    if (std::isinf(v)) res = 2;
  }
  return res;
}

// Rows idx (0-based, increasing) of a source, as a matrix (a bounded sample).
// [[Rcpp::export]]
Rcpp::NumericMatrix cpp_gather_rows(SEXP x, Rcpp::NumericVector idx) {
  std::unique_ptr<Source> src = make_source(x);
  std::vector<Index> rows(idx.size());
  for (R_xlen_t i = 0; i < idx.size(); ++i) {
    rows[size_t(i)] = Index(idx[i]);
    if (rows[size_t(i)] < 0 || rows[size_t(i)] >= src->rows() || (i > 0 && rows[size_t(i)] <= rows[size_t(i - 1)]))
      Rcpp::stop("internal error: row indices out of range or not increasing");
  }
  MatrixXd out;
  guarded([&] {
    src->gather(rows, out);
    return 0;
  });
  return Rcpp::wrap(out);
}

// The covariance-model registry: name, E-step shape, statistic, whether the
// M-step iterates, and the number of covariance parameters for (k, d).
// [[Rcpp::export]]
Rcpp::DataFrame cpp_models(int k, int d) {
  const std::vector<CovarianceModel>& m = covariance_models();
  Rcpp::CharacterVector name, shape, stat;
  Rcpp::LogicalVector iterative;
  Rcpp::NumericVector ncov;
  const char* shapes[] = {"full", "tied", "diagonal", "spherical"};
  const char* stats[] = {"full", "diagonal", "trace"};
  for (const CovarianceModel& c : m) {
    name.push_back(c.name);
    shape.push_back(shapes[int(c.shape)]);
    stat.push_back(stats[int(c.scatter)]);
    iterative.push_back(c.iterative);
    ncov.push_back(c.n_cov_params(k, d));
  }
  return Rcpp::DataFrame::create(Rcpp::Named("name") = name, Rcpp::Named("estep") = shape,
                                 Rcpp::Named("statistic") = stat,
                                 Rcpp::Named("iterative") = iterative,
                                 Rcpp::Named("n_cov_params") = ncov,
                                 Rcpp::Named("stringsAsFactors") = false);
}
