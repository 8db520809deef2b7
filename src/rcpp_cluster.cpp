// Fits on an R cluster whose workers keep their own shards (R/cluster.R).
//
// Worker side: the anchored statistics of one shard (a matrix or a binary
// file resident on the worker) under given parameters, through the CPU
// engine; anchors are returned in data coordinates, so the statistics of all
// shards describe the same thing whatever origin each worker computed about.
//
// Main side: the core's restart loop and EM driver (run_em) unchanged, with
// an Engine and an InitData whose passes call R functions that make one
// cluster round trip each and return the statistics of every shard, which
// are summed here in shard order.
#include <algorithm>
#include <cmath>
#include <string>

#ifndef _WIN32
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include "core/init.h"
#include "core/rng.h"
#include "rcpp_restarts.h"

using namespace fastgmm;

namespace {

ScatterKind scatter_from_name(const std::string& s) {
  if (s == "full") return ScatterKind::Full;
  if (s == "diag") return ScatterKind::Diag;
  if (s == "trace") return ScatterKind::Trace;
  Rcpp::stop("internal error: unknown scatter kind " + s);
}

std::string scatter_name(ScatterKind k) {
  return k == ScatterKind::Full ? "full" : k == ScatterKind::Diag ? "diag" : "trace";
}

const double* shard_weights(const Rcpp::Nullable<Rcpp::NumericVector>& w, Index n) {
  if (w.isNull()) return nullptr;
  Rcpp::NumericVector v(w.get());
  if (v.size() != n) Rcpp::stop("internal error: shard weights of the wrong length");
  return v.begin();
}

// Statistics as an R list, anchors in data coordinates.
Rcpp::List stats_to_list(const Stats& st, const VectorXd& origin) {
  MatrixXd anchor = st.anchor;
  anchor.colwise() += origin;
  return Rcpp::List::create(
      Rcpp::Named("kind") = scatter_name(st.kind), Rcpp::Named("anchor") = Rcpp::wrap(anchor),
      Rcpp::Named("s0") = Rcpp::wrap(VectorXd(st.s0)), Rcpp::Named("s1") = Rcpp::wrap(st.s1),
      Rcpp::Named("s2") = Rcpp::wrap(st.s2), Rcpp::Named("loglik") = st.loglik);
}

// ... and back, anchors relative to origin.
Stats stats_from_list(const Rcpp::List& l, const VectorXd& origin) {
  Stats st;
  st.kind = scatter_from_name(Rcpp::as<std::string>(l["kind"]));
  st.anchor = Rcpp::as<MatrixXd>(l["anchor"]);
  st.d = st.anchor.rows();
  st.k = st.anchor.cols();
  if (origin.size() != st.d) Rcpp::stop("internal error: statistics of the wrong dimension");
  st.anchor.colwise() -= origin;
  st.s0 = Rcpp::as<VectorXd>(l["s0"]);
  st.s1 = Rcpp::as<MatrixXd>(l["s1"]);
  st.s2 = Rcpp::as<MatrixXd>(l["s2"]);
  st.loglik = Rcpp::as<double>(l["loglik"]);
  if (st.s0.size() != st.k || st.s1.rows() != st.d || st.s1.cols() != st.k ||
      st.s2.rows() != s2_rows(st.kind, st.d) || st.s2.cols() != st.k)
    Rcpp::stop("internal error: malformed shard statistics");
  return st;
}

// Sums the statistics of the shards (a list, in shard order) into out: each
// shard's are moved to the first shard's anchors when they differ (by
// rounding, when workers converted coordinates differently), then added.
void sum_shards(const Rcpp::List& shards, const VectorXd& origin, ScatterKind kind, Stats& out) {
  if (shards.size() == 0) Rcpp::stop("internal error: no shard statistics");
  for (R_xlen_t s = 0; s < shards.size(); ++s) {
    Stats st = stats_from_list(Rcpp::List(shards[s]), origin);
    if (st.kind != kind) Rcpp::stop("internal error: shard statistics of another kind");
    if (s == 0) {
      out = std::move(st);
      continue;
    }
    if (st.k != out.k) Rcpp::stop("internal error: shard statistics with another k");
    if (st.anchor != out.anchor) st.reanchor(out.anchor);
    out.add(st);
  }
}

CpuOptions shard_cpu_options(int variant, bool single) {
  CpuOptions o;
  if (variant < 0 || variant >= n_variants) Rcpp::stop("internal error: unknown variant");
  o.variant = Variant(variant);
  o.single = single;
  return o;
}

// The two shard passes (cpp_shard_pass, cpp_shard_pass_units): over all the
// shard's rows (units null), or over the given units of `size` rows, the
// first of them size - phase rows.
Rcpp::List shard_pass(SEXP x, const Rcpp::Nullable<Rcpp::NumericVector>& w,
                      const Rcpp::List& params, const std::string& model,
                      const Rcpp::NumericVector& origin, int threads, int variant, bool single,
                      const Rcpp::IntegerVector* units, Index size, Index phase) {
  std::unique_ptr<Source> src = make_source(x);
  const double* wp = shard_weights(w, src->rows());
  const CovarianceModel* m = model_from_name(model);
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  const VectorXd o = Rcpp::as<VectorXd>(origin);
  if (o.size() != src->cols()) Rcpp::stop("internal error: origin of the wrong dimension");
  std::vector<Index> order;
  if (units) {
    const Index n = src->rows();
    const Index count = n > 0 ? (n + phase + size - 1) / size : 0;
    for (int u : *units) {
      if (u < 0 || Index(u) >= count) Rcpp::stop("internal error: stepwise unit out of range");
      order.push_back(Index(u));
    }
  }
  return guarded([&] {
    DataRef data = make_data(*src, wp, ctx, o);
    CpuEngine engine(data, m, shard_cpu_options(variant, single));
    const Params p = params_from_list(params, m, o);
    Stats st;
    if (units) {
      engine.set_units(size, phase);
      engine.em_pass_units(p, order, st);
    } else {
      engine.em_pass(p, st);
    }
    Rcpp::List res = stats_to_list(st, o);
    res["fallback"] = engine.fell_back_to_double;
    res["offset"] = engine.worst_offset;
    return res;
  });
}

std::string u64_text(uint64_t v) { return std::to_string(static_cast<unsigned long long>(v)); }

// The Engine of a cluster fit: each pass is one round trip, made by R.
//
// Stepwise units are those of the in-memory engine for the same rows: the
// global rows 0 .. n - 1 (all shards, in shard order) cut into units of
// stepwise_unit_size() rows from row 0, so a fit draws the same random order
// of the same units as in memory. A unit that straddles shard boundaries is
// computed in pieces by the shards holding it: each shard cuts its rows into
// units aligned with the global ones (a phased Tiling: its unit 0 starts at
// its first row, phase = its offset mod the unit size, rows past the global
// unit boundary), so global unit u is local unit u - floor(offset / size) of
// every shard it touches. A pass over a mini-batch is one round trip: each
// shard holding rows of the batch computes the statistics of its units of
// the batch (summed in batch order, by the worker's CpuEngine), and these are
// summed here in shard order. The sums depend on the shard layout (to
// rounding) but not on which worker holds which shard, nor on threads.
class ClusterEngine : public Engine {
 public:
  ClusterEngine(Rcpp::Function pass, Rcpp::Nullable<Rcpp::Function> pass_units,
                const VectorXd& origin, std::vector<double> offsets, std::vector<double> rows)
      : pass_(pass), pass_units_(pass_units), origin_(origin) {
    if (offsets.size() != rows.size()) Rcpp::stop("internal error: bad shard layout");
    for (size_t s = 0; s < rows.size(); ++s) {
      offsets_.push_back(Index(offsets[s]));
      rows_.push_back(Index(rows[s]));
      if (s > 0 && offsets_[s] != offsets_[s - 1] + rows_[s - 1])
        Rcpp::stop("internal error: shard offsets do not follow the rows");
      n_ += rows_[s];
    }
    set_unit_rows(1024);
  }
  void em_pass(const Params& p, Stats& out) override {
    const Rcpp::List res = pass_(params_to_list(p, origin_));
    take(res, p, out);
    ++passes;
  }
  Index units() const override {
    return pass_units_.isNull() || n_ == 0 ? 0 : (n_ + size_ - 1) / size_;
  }
  void set_unit_rows(Index rows) override { size_ = stepwise_unit_size(rows); }
  Index unit_rows(Index u) const override { return std::min(n_, (u + 1) * size_) - u * size_; }
  // Shards are matrices in the workers' memory or binary files on their
  // disks (a function shard returns one of these): all random access.
  bool units_in_any_order() const override { return true; }
  void em_pass_units(const Params& p, const std::vector<Index>& units, Stats& out) override {
    const Index count = this->units();
    const size_t nsh = rows_.size();
    std::vector<std::vector<int>> local(nsh);
    for (Index u : units) {
      if (u < 0 || u >= count) Rcpp::stop("internal error: stepwise unit out of range");
      const Index g0 = u * size_, g1 = std::min(n_, g0 + size_);
      // the first shard ending after g0 (empty shards end where they start)
      size_t s = size_t(std::upper_bound(offsets_.begin(), offsets_.end(), g0) - offsets_.begin());
      s = s > 0 ? s - 1 : 0;
      for (; s < nsh && offsets_[s] < g1; ++s)
        if (rows_[s] > 0 && offsets_[s] + rows_[s] > g0) local[s].push_back(int(u - offsets_[s] / size_));
    }
    Rcpp::List per(nsh);
    for (size_t s = 0; s < nsh; ++s)
      if (!local[s].empty())
        per[R_xlen_t(s)] = Rcpp::List::create(
            Rcpp::Named("phase") = double(offsets_[s] % size_),
            Rcpp::Named("units") = Rcpp::IntegerVector(local[s].begin(), local[s].end()));
    Rcpp::Function f(pass_units_.get());
    const Rcpp::List res = f(params_to_list(p, origin_), double(size_), per);
    take(res, p, out);
    partial_passes += double(units.size()) / double(std::max<Index>(1, count));
    if (partial_passes >= 1 - 1e-9) {
      ++passes;
      partial_passes -= 1;
    }
  }

 private:
  void take(const Rcpp::List& res, const Params& p, Stats& out) {
    sum_shards(Rcpp::List(res["stats"]), origin_, p.model->scatter, out);
    if (Rcpp::as<bool>(res["fallback"])) fell_back_to_double = true;
    worst_offset = std::max(worst_offset, Rcpp::as<double>(res["offset"]));
  }
  Rcpp::Function pass_;
  Rcpp::Nullable<Rcpp::Function> pass_units_;
  VectorXd origin_;
  std::vector<Index> offsets_, rows_;
  Index n_ = 0, size_ = 1024;
};

// The InitData of a cluster fit: samples and assignment passes by round trips.
class ClusterInitData : public InitData {
 public:
  ClusterInitData(const Rcpp::List& ops, Index n, Index d, const VectorXd& origin, bool weighted)
      : ops_(ops), n_(n), d_(d), origin_(origin), weighted_(weighted) {}
  Index n() const override { return n_; }
  Index d() const override { return d_; }
  const VectorXd& origin() const override { return origin_; }
  bool weighted() const override { return weighted_; }

  void weights(const std::vector<Index>& idx, std::vector<double>& out) override {
    Rcpp::Function f = ops_["weights"];
    const Rcpp::NumericVector w = f(index_vector(idx));
    if (w.size() != R_xlen_t(idx.size())) Rcpp::stop("internal error: weights of the wrong length");
    out.assign(w.begin(), w.end());
  }
  Index positive_count() override {
    Rcpp::Function f = ops_["positive_count"];
    return Index(Rcpp::as<double>(f()));
  }
  std::vector<Index> positive_rows(const std::vector<Index>& ranks) override {
    Rcpp::Function f = ops_["positive_rows"];
    const Rcpp::NumericVector r = f(index_vector(ranks));
    if (r.size() != R_xlen_t(ranks.size())) Rcpp::stop("internal error: rows of the wrong length");
    std::vector<Index> out;
    for (double v : r) out.push_back(Index(v));
    return out;
  }
  MatrixXd rows(const std::vector<Index>& idx, VectorXd& w) override {
    Rcpp::Function f = ops_["rows"];
    const Rcpp::List res = f(index_vector(idx));
    MatrixXd S = Rcpp::as<MatrixXd>(res["x"]);
    w = Rcpp::as<VectorXd>(res["w"]);
    if (S.rows() != Index(idx.size()) || S.cols() != d_ || w.size() != S.rows())
      Rcpp::stop("internal error: gathered rows of the wrong shape");
    S.rowwise() -= origin_.transpose();
    return S;
  }
  Stats assign(const Assignment& a, const MatrixXd& anchors, ScatterKind kind,
               double* value) override {
    Rcpp::Function f = ops_["assign"];
    MatrixXd anchors_data = anchors;
    anchors_data.colwise() += origin_;
    Rcpp::RObject centres = R_NilValue;
    if (a.kind == Assignment::Nearest) {
      MatrixXd C = a.centres;
      C.rowwise() += origin_.transpose();
      centres = Rcpp::wrap(C);
    }
    const Rcpp::List res =
        f(int(a.kind), centres, u64_text(a.seed), double(a.k), Rcpp::wrap(anchors_data),
          scatter_name(kind));
    Stats out;
    sum_shards(Rcpp::List(res["stats"]), origin_, kind, out);
    if (value) *value = Rcpp::as<double>(res["value"]);
    ++passes_;
    return out;
  }
  long passes() const override { return passes_; }

 private:
  static Rcpp::NumericVector index_vector(const std::vector<Index>& idx) {
    Rcpp::NumericVector v(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) v[R_xlen_t(i)] = double(idx[i]);
    return v;
  }
  Rcpp::List ops_;
  Index n_, d_;
  VectorXd origin_;
  bool weighted_;
  long passes_ = 0;
};

}  // namespace

// --- worker side -----------------------------------------------------------------------

// Weighted column sums of a shard, its weight total and its number of rows
// with positive weight (one pass; a file shard's values are checked on the way).
// [[Rcpp::export]]
Rcpp::List cpp_shard_sums(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, int threads) {
  std::unique_ptr<Source> src = make_source(x);
  const Index n = src->rows(), d = src->cols();
  const double* wp = shard_weights(w, n);
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  VectorXd tot = VectorXd::Zero(d);
  double tw = 0, npos = 0;
  guarded([&] {
    const Tiling tl(n, d);
    const Index batch = tile_batch(ctx, tl, 8.0 * double(d + 2));
    std::vector<VectorXd> part(size_t(batch), VectorXd::Zero(d));
    std::vector<double> pw(size_t(batch), 0.0), pn(size_t(batch), 0.0);
    run_tiles(*src, wp, tl, ctx, batch, double(d),
              [&](const TileTask& t) {
                VectorXd& s = part[size_t(t.slot)];
                s.setZero();
                double sw = 0, np = 0;
                for (Index i = 0; i < t.rows; ++i) {
                  const double wi = t.w ? t.w[i] : 1.0;
                  if (wi == 0) continue;
                  for (Index c = 0; c < d; ++c) s[c] += wi * t.view.at(i, c);
                  sw += wi;
                  np += 1;
                }
                pw[size_t(t.slot)] = sw;
                pn[size_t(t.slot)] = np;
              },
              [&](const TileTask& t) {
                tot += part[size_t(t.slot)];
                tw += pw[size_t(t.slot)];
                npos += pn[size_t(t.slot)];
              });
    return 0;
  });
  return Rcpp::List::create(Rcpp::Named("sums") = Rcpp::wrap(tot), Rcpp::Named("wsum") = tw,
                            Rcpp::Named("npos") = npos, Rcpp::Named("nrow") = double(n),
                            Rcpp::Named("ncol") = double(d));
}

// One EM pass over a shard: the anchored statistics under params (data
// coordinates), computed about origin (the same for every shard of a fit, so
// that the kernels take the same form as for the whole data in memory).
// [[Rcpp::export]]
Rcpp::List cpp_shard_pass(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, Rcpp::List params,
                          std::string model, Rcpp::NumericVector origin, int threads, int variant,
                          bool single) {
  return shard_pass(x, w, params, model, origin, threads, variant, single, nullptr, 0, 0);
}

// A stepwise pass over some units of a shard: the anchored statistics (data
// coordinates) of its units `units` (0-based, in this order, summed in it),
// the shard's rows being cut into units of unit_size rows of which the first
// has unit_size - phase (see ClusterEngine). As cpp_shard_pass otherwise.
// [[Rcpp::export]]
Rcpp::List cpp_shard_pass_units(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w, Rcpp::List params,
                                std::string model, Rcpp::NumericVector origin, int threads,
                                int variant, bool single, double unit_size, double phase,
                                Rcpp::IntegerVector units) {
  if (!(unit_size >= 1 && phase >= 0 && phase < unit_size))
    Rcpp::stop("internal error: bad stepwise unit size or phase");
  return shard_pass(x, w, params, model, origin, threads, variant, single, &units,
                    Index(unit_size), Index(phase));
}

// Statistics of an assignment over a shard (the passes of the
// initialisation): kind 0 nearest of centres (k x d, data coordinates), 1
// labels (the shard's, 1-based), 2 random (seed as decimal text; row_offset:
// the global index of the shard's first row), 3 all rows in one component.
// Anchors d x k in data coordinates. Returns the statistics and the weighted
// sum of squared distances to the nearest centre (kind 0).
// [[Rcpp::export]]
Rcpp::List cpp_shard_assign(SEXP x, Rcpp::Nullable<Rcpp::NumericVector> w,
                            Rcpp::NumericVector origin, int kind, SEXP centres,
                            Rcpp::Nullable<Rcpp::IntegerVector> labels, std::string seed, int k,
                            double row_offset, Rcpp::NumericMatrix anchors, std::string scatter,
                            int threads) {
  std::unique_ptr<Source> src = make_source(x);
  const Index n = src->rows();
  const double* wp = shard_weights(w, n);
  ParallelExecutor ex(threads);
  PassContext ctx;
  init_context(ctx, ex);
  const VectorXd o = Rcpp::as<VectorXd>(origin);
  if (o.size() != src->cols() || anchors.nrow() != src->cols() || anchors.ncol() != k)
    Rcpp::stop("internal error: origin or anchors of the wrong dimension");
  Assignment a;
  a.kind = Assignment::Kind(kind);
  a.k = k;
  std::vector<int> z;
  if (a.kind == Assignment::Nearest) {
    a.centres = Rcpp::as<MatrixXd>(centres);
    if (a.centres.rows() != k || a.centres.cols() != src->cols())
      Rcpp::stop("internal error: centres of the wrong shape");
    a.centres.rowwise() -= o.transpose();
  } else if (a.kind == Assignment::Labels) {
    if (labels.isNull()) Rcpp::stop("internal error: no labels");
    Rcpp::IntegerVector lab(labels.get());
    if (lab.size() != n) Rcpp::stop("internal error: labels of the wrong length");
    z.assign(lab.begin(), lab.end());
    for (int& v : z) {
      if (v < 1 || v > k) Rcpp::stop("internal error: label out of range");
      --v;
    }
    a.labels = z.data();
  } else if (a.kind == Assignment::Random) {
    a.seed = std::stoull(seed);
  } else if (a.kind != Assignment::All) {
    Rcpp::stop("internal error: unknown assignment");
  }
  return guarded([&] {
    DataRef data = make_data(*src, wp, ctx, o);
    CpuEngine engine(data, nullptr, CpuOptions());
    MatrixXd anc = Rcpp::as<MatrixXd>(anchors);
    anc.colwise() -= o;
    double value = 0;
    const Stats st = engine.assign_stats(anc, scatter_from_name(scatter),
                                         assignment_fill(a, Index(row_offset)), &value);
    Rcpp::List res = stats_to_list(st, o);
    res["value"] = value;
    return res;
  });
}

// Rows idx (0-based, sorted, distinct) of any source, as a matrix.
// [[Rcpp::export]]
Rcpp::NumericMatrix cpp_source_rows(SEXP x, Rcpp::NumericVector idx) {
  std::unique_ptr<Source> src = make_source(x);
  std::vector<Index> rows;
  for (double v : idx) {
    if (!(v >= 0 && v < double(src->rows()))) Rcpp::stop("internal error: row index out of range");
    if (!rows.empty() && Index(v) <= rows.back()) Rcpp::stop("internal error: row indices not sorted");
    rows.push_back(Index(v));
  }
  MatrixXd out;
  guarded([&] {
    src->gather(rows, out);
    return 0;
  });
  return Rcpp::wrap(out);
}

// Turns off Nagle's algorithm (TCP_NODELAY) on this process's TCP connections from local
// port local_port (any when negative) to peer port peer_port: R writes a serialized message
// to a connection 4096 bytes at a time, and without this each message longer than that
// waits for the receiver's delayed acknowledgement (40 ms on Linux). Returns the number of
// connections changed and the local port of the last one (-1 when none). Only the latency
// of the connection changes; what it carries does not.
// [[Rcpp::export]]
Rcpp::IntegerVector cpp_tcp_nodelay(int local_port, int peer_port) {
  int changed = 0, port = -1;
#ifndef _WIN32
  const int top = std::min<long>(sysconf(_SC_OPEN_MAX) > 0 ? sysconf(_SC_OPEN_MAX) : 1024, 65536);
  auto port_of = [](const sockaddr_storage& a) {
    if (a.ss_family == AF_INET) return int(ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port));
    if (a.ss_family == AF_INET6)
      return int(ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port));
    return -1;
  };
  for (int fd = 0; fd < top; ++fd) {
    int type = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage peer, self;
    socklen_t pl = sizeof(peer), sl = sizeof(self);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&self), &sl) != 0)
      continue;
    if (port_of(peer) != peer_port || (local_port >= 0 && port_of(self) != local_port)) continue;
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) {
      ++changed;
      port = port_of(self);
    }
  }
#else
  (void)local_port;
  (void)peer_port;
#endif
  return Rcpp::IntegerVector::create(changed, port);
}

// --- main side -------------------------------------------------------------------------

// A fit whose passes are cluster round trips. ops: R functions (R/cluster.R)
//   pass(params) -> list(stats = list of shard statistics, fallback, offset)
//   pass_units(params, unit_size, per_shard) -> as pass, for the shards whose element of
//     per_shard (one per shard) is not NULL but list(phase, units): see ClusterEngine
//   assign(kind, centres, seed, k, anchors, scatter) -> list(stats, value)
//   weights(idx), positive_count(), positive_rows(ranks), rows(idx) -> list(x, w)
// (row indices 0-based, global). init as for cpp_fit; with init = 4 the
// labels are held by ops$assign.
// [[Rcpp::export]]
Rcpp::List cpp_fit_cluster(Rcpp::List ops, double n, int d, Rcpp::NumericVector origin,
                           bool weighted, int k, std::string model, int init,
                           Rcpp::Nullable<Rcpp::List> start, int n_init, int max_iter, double tol,
                           Rcpp::NumericVector reg_covar, double seed, bool verbose,
                           Rcpp::List control,
                           Rcpp::Nullable<Rcpp::Function> progress = R_NilValue) {
  const VectorXd o = Rcpp::as<VectorXd>(origin);
  if (o.size() != d) Rcpp::stop("internal error: origin of the wrong dimension");
  FitRequest req = fit_request(k, model, init, start, R_NilValue, n_init, max_iter, tol,
                               reg_covar, seed, verbose);
  req.progress = progress;
  apply_control(req, control);
  ClusterInitData data(ops, Index(n), d, o, weighted);
  const Rcpp::Function pass = ops["pass"];
  Rcpp::Nullable<Rcpp::Function> pass_units =
      ops.containsElementNamed("pass_units") ? Rcpp::Nullable<Rcpp::Function>(ops["pass_units"])
                                             : Rcpp::Nullable<Rcpp::Function>(R_NilValue);
  std::vector<double> offsets, rows;
  if (ops.containsElementNamed("shard_offsets")) {
    offsets = Rcpp::as<std::vector<double>>(ops["shard_offsets"]);
    rows = Rcpp::as<std::vector<double>>(ops["shard_rows"]);
  }
  if (offsets.empty()) pass_units = R_NilValue;
  ClusterEngine engine(pass, pass_units, o, offsets, rows);
  return guarded([&] { return fit_restarts(data, engine, req); });
}

// M-step from summed shard statistics (lists as cpp_shard_pass returns;
// anchors in data coordinates). Returns the parameters in data coordinates.
// [[Rcpp::export]]
Rcpp::List cpp_mstep_stats(Rcpp::List stats, std::string model, Rcpp::NumericVector reg_covar) {
  const CovarianceModel* m = model_from_name(model);
  if (stats.size() == 0) Rcpp::stop("no statistics");
  const Rcpp::List first = stats[0];
  const Rcpp::NumericMatrix a = first["anchor"];
  // Origin: the first shard's first anchor, so that the core works near the data.
  VectorXd origin = Rcpp::as<MatrixXd>(a).col(0);
  Stats st;
  sum_shards(stats, origin, m->scatter, st);
  MStepOptions mo;
  mo.reg = Rcpp::as<VectorXd>(reg_covar);
  if (mo.reg.size() != st.d) Rcpp::stop("internal error: reg_covar of the wrong length");
  return guarded([&] {
    const Params p = mstep(st, m, mo);
    Rcpp::List res = params_to_list(p, origin);
    res["loglik"] = st.loglik;
    return res;
  });
}
