#include "cpu_engine.h"

#include <algorithm>
#include <cmath>

#include "kernels/dispatch.h"

namespace fastgmm {

namespace {

// Rows per block: enough to amortise the products, small enough for cache.
// Full models' blocks are half as large (measured: at d = 10, k = 10, 384 rows
// against 768 take 6% less time with AVX2, the same with AVX-512; diagonal
// models are slower with half).
Index block_rows(ScatterKind kind, Index k, Index d) {
  Index cols = d + 2 * k;
  if (kind != ScatterKind::Full || quadratic_features(d))
    cols += n_features(kind, d);
  else
    cols += 2 * std::min<Index>(k * d, 512);
  Index b = (kind == ScatterKind::Full ? 32768 : 65536) / cols;
  b = std::max<Index>(64, std::min<Index>(2048, b));
  return b / row_pad * row_pad;
}

double stats_bytes(ScatterKind kind, Index k, Index d) {
  return 8.0 * double(k) * double(1 + d + s2_rows(kind, d));
}

// Rows per block of a tile of tile_rows: at most about brows, and the same
// for every block of a full tile (a multiple of row_pad), so that the block
// buffers keep their size through a pass (a short last block would make them
// reallocate twice per tile).
Index block_step(Index tile_rows, Index brows) {
  const Index nb = std::max<Index>(1, (tile_rows + brows - 1) / brows);
  const Index per = (tile_rows + nb - 1) / nb;
  return (per + row_pad - 1) / row_pad * row_pad;
}

// Rough flops per row of an EM pass.
double row_cost(ScatterKind kind, Index k, Index d) {
  return double(k) * (kind == ScatterKind::Full ? double(d * d + 4 * d) : 6.0 * double(d));
}

}  // namespace

template <typename T>
size_t BlockBuffers<T>::bytes() const {
  size_t n = sizeof(T) * size_t(wk.X.size() + wk.L.size() + wk.Y.size() + wk.XU.size() +
                                wk.w.size() + wk.sq.size() + wk.aux.size());
  for (const Scratch<T>& c : sc)
    n += sizeof(T) * size_t(c.Z.size() + c.RZ.size() + c.a.size() + c.b.size()) +
         sizeof(double) * size_t(c.C.size());
  return n;
}

template <typename T>
size_t BlockPool<T>::take() {
  std::lock_guard<std::mutex> lock(m_);
  if (free_.empty()) {
    sets_.emplace_back(new BlockBuffers<T>());
    return sets_.size() - 1;
  }
  const size_t i = free_.back();
  free_.pop_back();
  return i;
}

template <typename T>
void BlockPool<T>::give(size_t i) {
  std::lock_guard<std::mutex> lock(m_);
  free_.push_back(i);
}

template <typename T>
BlockBuffers<T>* BlockPool<T>::at(size_t i) {
  std::lock_guard<std::mutex> lock(m_);
  return sets_[i].get();
}

template <typename T>
size_t BlockPool<T>::bytes() const {
  size_t n = 0;
  for (const auto& b : sets_) n += b->bytes();
  return n;
}

template struct BlockBuffers<double>;
template struct BlockBuffers<float>;
template class BlockPool<double>;
template class BlockPool<float>;

Variant default_variant(Index d, Index k, EShape shape) {
  return d <= 10 && (k <= 10 || shape == EShape::Spherical) ? Variant::Direct : Variant::Gemm;
}

DataRef make_data(Source& src, const double* w, PassContext& ctx, const VectorXd& origin) {
  DataRef D;
  D.src = &src;
  D.w = w;
  D.ctx = &ctx;
  D.tiling = Tiling(src.rows(), src.cols());
  D.origin = origin;
  return D;
}

DataRef make_data(Source& src, const double* w, PassContext& ctx) {
  const Index d = src.cols();
  DataRef D = make_data(src, w, ctx, VectorXd::Zero(d));
  const Index batch = tile_batch(ctx, D.tiling, 8.0 * double(d + 1));
  std::vector<VectorXd> part(size_t(batch), VectorXd::Zero(d));
  std::vector<double> pw(size_t(batch), 0.0);
  VectorXd tot = VectorXd::Zero(d);
  double tw = 0;
  run_tiles(src, w, D.tiling, ctx, batch, double(d),
            [&](const TileTask& t) {
              VectorXd& s = part[size_t(t.slot)];
              s.setZero();
              double sw = 0;
              for (Index i = 0; i < t.rows; ++i) {
                const double wi = t.w ? t.w[i] : 1.0;
                if (wi == 0) continue;
                for (Index c = 0; c < d; ++c) s[c] += wi * t.view.at(i, c);
                sw += wi;
              }
              pw[size_t(t.slot)] = sw;
            },
            [&](const TileTask& t) {
              tot += part[size_t(t.slot)];
              tw += pw[size_t(t.slot)];
            });
  D.origin = tw > 0 ? VectorXd(tot / tw) : VectorXd::Zero(d);
  return D;
}

CpuEngine::CpuEngine(DataRef& data, const CovarianceModel* model, CpuOptions opt)
    : data_(data), model_(model), opt_(opt) {
  set_unit_rows(1024);
}

void CpuEngine::set_unit_rows(Index rows) { set_units(stepwise_unit_size(rows), 0); }

void CpuEngine::set_units(Index size, Index phase) {
  if (size < 1 || phase < 0 || phase >= size)
    throw std::invalid_argument("internal error: bad stepwise unit size or phase");
  units_.n = data_.n();
  units_.size = size;
  units_.phase = phase;
  units_.count = units_.n > 0 ? (units_.n + phase + size - 1) / size : 0;
}

// Components are split into groups computed in parallel within each block
// when the tiles alone cannot keep the threads busy within the memory budget
// for partial statistics (large k d^2, or few tiles). Each group writes only
// its own columns of L and of the statistics, so the grouping (which may
// depend on the thread count) never changes the result.
template <typename T>
void CpuEngine::run(const Terms<T>& t, Variant v, ScatterKind kind, Stats& out,
                    const std::vector<Index>* order) {
  const Index d = data_.d(), k = t.k;
  const bool anchored = t.form == Form::Anchored;
  const bool squares = !anchored && kind == ScatterKind::Diag;  // the statistics' features
  const MatrixXd acc_anchor = anchored ? t.anchor : MatrixXd::Zero(d, k);
  const Index brows = block_rows(kind, k, d);
  PassContext& ctx = *data_.ctx;
  const int th = ctx.ex ? ctx.ex->threads() : 1;
  const double pbytes = stats_bytes(kind, k, d);
  const Index by_mem = std::max<Index>(1, Index(64.0 * (1 << 20) / pbytes));
  const Tiling& tiling = tiling_for(order);
  const Index tiles = tiling.count;
  const bool wide = th > 1 && k >= 4 && (tiles < 2 * th || by_mem < 2 * th) &&
                    row_cost(kind, k, d) * double(brows) > 2e5;
  const Index batch = wide ? std::max<Index>(1, std::min<Index>({tiles, by_mem, Index(th)}))
                           : tile_batch(ctx, tiling, pbytes);
  const Index groups = wide ? std::min<Index>(k, 2 * th) : 1;
  std::vector<Stats> parts(static_cast<size_t>(batch));
  BlockPool<T>& blocks = pool(static_cast<T*>(nullptr));
  const Index step = block_step(tiling.size, brows);
  const double* origin = data_.origin.data();
  const KernelFns<T>& K = cpu_kernels().fns<T>();  // this pass's instruction-set level
  // Blocks kept from pass to pass where the data are in memory and small (at most 16 MB).
  BlockCache<T>& cache = this->cache(static_cast<T*>(nullptr));
  const Index per_tile = (tiling.size + step - 1) / step;
  const bool cached = !order && data_.src->zero_copy() &&
                      double(tiling.n) * double(d + 1) * sizeof(T) <= double(16 << 20);
  if (cached && cache.step != step) {
    const size_t blocks_total = size_t(tiling.count * per_tile);
    cache.X.assign(blocks_total, Mat<T>());
    cache.w.assign(blocks_total, Vec<T>());
    cache.ready.assign(blocks_total, 0);
    cache.step = step;
  }
  out.reset(kind, acc_anchor);
  run_tiles(*data_.src, data_.w, tiling, ctx, batch, row_cost(kind, k, d),
            [&](const TileTask& task) {
              Stats& st = parts[size_t(task.slot)];
              st.reset(kind, acc_anchor);
              typename BlockPool<T>::Lease lease(blocks);
              Work<T>& wk = (*lease).wk;
              if ((*lease).sc.size() < size_t(groups)) (*lease).sc.resize(size_t(groups));
              Scratch<T>* sc = (*lease).sc.data();
              auto each_group = [&](const std::function<void(Scratch<T>&, Index, Index)>& f) {
                if (groups == 1)
                  f(sc[0], 0, k);
                else
                  run_tasks(*ctx.ex, groups,
                            [&](Index g) { f(sc[g], k * g / groups, k * (g + 1) / groups); });
              };
              for (Index i0 = 0; i0 < task.rows; i0 += step) {
                if (ctx.stopped()) return;
                const Index b = std::min(step, task.rows - i0);
                const size_t id = size_t(task.tile * per_tile + i0 / step);
                const bool hit = cached && cache.ready[id];
                if (hit) {  // swapped back below, whatever happens
                  wk.X.swap(cache.X[id]);
                  wk.w.swap(cache.w[id]);
                  wk.rows = b;
                  wk.features = -1;
                } else {
                  K.load_block(task.view, task.w, i0, b, step, origin, d, wk, squares);
                  if (cached) {
                    cache.X[id] = wk.X;
                    cache.w[id] = wk.w;
                    cache.ready[id] = 1;
                  }
                }
                struct SwapBack {
                  bool on;
                  Work<T>& wk;
                  Mat<T>& X;
                  Vec<T>& w;
                  ~SwapBack() {
                    if (on) {
                      wk.X.swap(X);
                      wk.w.swap(w);
                    }
                  }
                } back{hit, wk, hit ? cache.X[id] : wk.X, hit ? cache.w[id] : wk.w};
                K.block_terms(t, v, wk);
                each_group(
                    [&](Scratch<T>& s, Index j0, Index j1) { K.log_density(t, v, wk, s, j0, j1); });
                st.loglik += K.normalize(wk, nullptr, nullptr);
                if (anchored) {
                  each_group([&](Scratch<T>& s, Index j0, Index j1) {
                    K.accumulate_anchored(kind, t.meant, wk.L, wk, s, st, j0, j1);
                  });
                } else {
                  K.stats_features(kind, wk);
                  each_group([&](Scratch<T>& s, Index j0, Index j1) {
                    K.accumulate_shared(kind, wk.L, wk, s, st, j0, j1);
                  });
                }
              }
            },
            [&](const TileTask& task) { out.add(parts[size_t(task.slot)]); }, order);
  // Keep the buffers for the next pass only while they are small.
  if (blocks.bytes() > (size_t(48) << 20)) blocks.clear();
  if (order) {
    partial_passes += double(order->size()) / double(std::max<Index>(1, tiles));
    if (partial_passes >= 1 - 1e-9) {
      ++passes;
      partial_passes -= 1;
    }
  } else {
    ++passes;
  }
}

void CpuEngine::em_pass(const Params& p, Stats& out) { pass(p, out, nullptr); }

void CpuEngine::em_pass_units(const Params& p, const std::vector<Index>& units, Stats& out) {
  pass(p, out, &units);
}

void CpuEngine::pass(const Params& p, Stats& out, const std::vector<Index>* order) {
  const Prepared q = prepare(p, data_.ctx->ex);
  worst_offset = std::max(worst_offset, q.offset);
  const ScatterKind kind = model_->scatter;
  Form form;
  if (!opt_.single) {
    form = q.offset <= shared_offset_double ? Form::Shared : Form::Anchored;
    if (opt_.form >= 0) form = Form(opt_.form);
    run(Terms<double>(q, form), opt_.variant, kind, out, order);
  } else if (q.offset <= anchored_offset_single) {
    form = q.offset <= shared_offset_single ? Form::Shared : Form::Anchored;
    if (opt_.form >= 0) form = Form(opt_.form);
    run(Terms<float>(q, form), opt_.variant, kind, out, order);
  } else {
    fell_back_to_double = true;
    form = Form::Anchored;
    run(Terms<double>(q, form), opt_.variant, kind, out, order);
  }
  last_form_ = form;
  if (form == Form::Shared) out.reanchor(q.mean.transpose());
}

Stats CpuEngine::assign_stats(const MatrixXd& anchors, ScatterKind kind, const Fill& fill,
                              double* value) {
  const Index d = data_.d(), k = anchors.cols();
  const Index brows = block_rows(kind, k, d);
  const Index batch = tile_batch(*data_.ctx, data_.tiling, stats_bytes(kind, k, d));
  std::vector<Stats> parts(static_cast<size_t>(batch));
  BlockPool<double>& blocks = pool(static_cast<double*>(nullptr));
  const Index step = block_step(data_.tiling.size, brows);
  std::vector<double> vals(static_cast<size_t>(batch));
  const Mat<double> A = anchors;
  const KernelFns<double>& K = cpu_kernels().d;
  PassContext& ctx = *data_.ctx;
  Stats out;
  out.reset(kind, anchors);
  double total = 0;
  run_tiles(*data_.src, data_.w, data_.tiling, ctx, batch, row_cost(kind, k, d),
            [&](const TileTask& task) {
              Stats& st = parts[size_t(task.slot)];
              st.reset(kind, anchors);
              BlockPool<double>::Lease lease(blocks);
              Work<double>& wk = (*lease).wk;
              if ((*lease).sc.empty()) (*lease).sc.resize(1);
              double v = 0;
              for (Index i0 = 0; i0 < task.rows; i0 += step) {
                if (ctx.stopped()) return;
                const Index b = std::min(step, task.rows - i0);
                K.load_block(task.view, task.w, i0, b, step, data_.origin.data(), d, wk, false);
                wk.L.setZero(wk.X.rows(), k);
                v += fill(task.r0 + i0, wk, wk.L);
                wk.L.bottomRows(wk.X.rows() - b).setZero();
                K.accumulate_anchored(kind, A, wk.L, wk, (*lease).sc[0], st, 0, k);
              }
              vals[size_t(task.slot)] = v;
            },
            [&](const TileTask& task) {
              out.add(parts[size_t(task.slot)]);
              total += vals[size_t(task.slot)];
            });
  ++passes;
  if (value) *value = total;
  return out;
}

Stats CpuEngine::assign_stats(Index k, ScatterKind kind, const Fill& fill) {
  const Stats first = assign_stats(MatrixXd::Zero(data_.d(), k), ScatterKind::Trace, fill);
  MatrixXd anchors = MatrixXd::Zero(data_.d(), k);
  for (Index j = 0; j < k; ++j)
    if (first.s0[j] > 0) anchors.col(j) = first.s1.col(j) / first.s0[j];
  return assign_stats(anchors, kind, fill);
}

ScoreSums score(DataRef& data, const Params& p, const ScoreRequest& req) {
  const Prepared q = prepare(p, data.ctx->ex);
  const Index n = data.n(), d = data.d(), k = p.k;
  const Form form = q.offset <= shared_offset_double ? Form::Shared : Form::Anchored;
  const Terms<double> t(q, form);
  const Variant v = default_variant(d, k, q.shape);
  const ScatterKind kind = p.model->scatter;
  const Index brows = block_rows(kind, k, d);
  const Tiling& tl = data.tiling;
  const KernelFns<double>& K = cpu_kernels().d;
  const bool per_row = req.logdens || req.post || req.rowll || req.cls;
  const double slot_bytes = req.sink ? 8.0 * double(tl.size) * double(2 * k + 3) : 1024.0;
  const Index batch = tile_batch(*data.ctx, tl, slot_bytes);
  struct Slot {
    std::vector<double> logdens, post, rowll, unc;
    std::vector<int> cls;
    ScoreSums sums;
  };
  std::vector<Slot> slots(static_cast<size_t>(batch));
  BlockPool<double> blocks;
  const Index step = block_step(tl.size, brows);
  ScoreSums total;
  PassContext& ctx = *data.ctx;
  run_tiles(*data.src, data.w, tl, ctx, batch, row_cost(kind, k, d),
            [&](const TileTask& task) {
              Slot& s = slots[size_t(task.slot)];
              BlockPool<double>::Lease lease(blocks);
              Work<double>& wk = (*lease).wk;
              if ((*lease).sc.empty()) (*lease).sc.resize(1);
              s.sums = ScoreSums();
              const Index m = task.rows;
              // With a sink, a tile's rows go to slot buffers; else straight to the arrays.
              double* ld = nullptr;
              double* po = nullptr;
              double* rl = nullptr;
              double* un = nullptr;
              int* cl = nullptr;
              Index ldo = n, off = task.r0;
              if (req.sink && per_row) {
                ldo = m;
                off = 0;
                if (req.logdens) { s.logdens.resize(size_t(m * k)); ld = s.logdens.data(); }
                if (req.post) { s.post.resize(size_t(m * k)); po = s.post.data(); }
                if (req.rowll) { s.rowll.resize(size_t(m)); rl = s.rowll.data(); }
                if (req.cls) {
                  s.cls.resize(size_t(m));
                  s.unc.resize(size_t(m));
                  cl = s.cls.data();
                  un = s.unc.data();
                }
              } else {
                ld = req.logdens_out;
                po = req.post_out;
                rl = req.rowll_out;
                cl = req.cls_out;
                un = req.unc_out;
              }
              std::vector<double> rowll(static_cast<size_t>(step)), rowent(static_cast<size_t>(step));
              std::vector<double> mx(static_cast<size_t>(step));
              std::vector<int> arg(static_cast<size_t>(step));
              for (Index i0 = 0; i0 < m; i0 += step) {
                if (ctx.stopped()) return;
                const Index b = std::min(step, m - i0);
                K.load_block(task.view, task.w, i0, b, step, data.origin.data(), d, wk, false);
                const VectorXd w = wk.w.head(b);
                K.block_terms(t, v, wk);
                K.log_density(t, v, wk, (*lease).sc[0], 0, k);
                if (ld)
                  for (Index j = 0; j < k; ++j)
                    Eigen::Map<VectorXd>(ld + j * ldo + off + i0, b) = wk.L.col(j).head(b);
                wk.w.setOnes();
                K.normalize(wk, rowll.data(), rowent.data());
                for (Index i = 0; i < b; ++i) {
                  s.sums.loglik += w[i] * rowll[size_t(i)];
                  s.sums.entropy += w[i] * rowent[size_t(i)];
                }
                if (rl) std::copy(rowll.begin(), rowll.begin() + b, rl + off + i0);
                if (po)
                  for (Index j = 0; j < k; ++j)
                    Eigen::Map<VectorXd>(po + j * ldo + off + i0, b) = wk.L.col(j).head(b);
                if (cl) {  // the first largest posterior of each row
                  const double* L0 = wk.L.data();
                  const Index lb = wk.L.rows();
                  for (Index i = 0; i < b; ++i) {
                    mx[size_t(i)] = L0[i];
                    arg[size_t(i)] = 1;
                  }
                  for (Index j = 1; j < k; ++j)
                    for (Index i = 0; i < b; ++i)
                      if (L0[j * lb + i] > mx[size_t(i)]) {
                        mx[size_t(i)] = L0[j * lb + i];
                        arg[size_t(i)] = int(j) + 1;
                      }
                  for (Index i = 0; i < b; ++i) {
                    cl[off + i0 + i] = arg[size_t(i)];
                    un[off + i0 + i] = 1 - mx[size_t(i)];
                  }
                }
              }
            },
            [&](const TileTask& task) {
              Slot& s = slots[size_t(task.slot)];
              total.loglik += s.sums.loglik;
              total.entropy += s.sums.entropy;
              if (req.sink && per_row)
                req.sink(task.r0, task.rows, req.logdens ? s.logdens.data() : nullptr,
                         req.post ? s.post.data() : nullptr, req.rowll ? s.rowll.data() : nullptr,
                         req.cls ? s.cls.data() : nullptr, req.cls ? s.unc.data() : nullptr);
            });
  return total;
}

template void CpuEngine::run<double>(const Terms<double>&, Variant, ScatterKind, Stats&,
                                     const std::vector<Index>*);
template void CpuEngine::run<float>(const Terms<float>&, Variant, ScatterKind, Stats&,
                                    const std::vector<Index>*);

}  // namespace fastgmm
