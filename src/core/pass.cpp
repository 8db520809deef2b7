#include "pass.h"

#include <algorithm>

namespace fastgmm {

Tiling::Tiling(Index n_rows, Index d) : n(n_rows) {
  const Index by_bytes = std::max<Index>(1024, (Index(4) << 20) / (8 * std::max<Index>(d, 1)));
  const Index hi = std::min<Index>(65536, by_bytes);
  Index s = (n + 63) / 64;
  s = std::max<Index>(1024, std::min(hi, s));
  size = (s + 15) / 16 * 16;
  count = n > 0 ? (n + size - 1) / size : 0;
}

// As many tiles as 64 MB of partial states allow (but at least two per
// thread), so that small problems make one batch per pass.
Index tile_batch(const PassContext& ctx, const Tiling& tl, double partial_bytes) {
  const int th = ctx.ex ? ctx.ex->threads() : 1;
  const double budget = 64.0 * (1 << 20);
  const Index by_mem = Index(budget / std::max(partial_bytes, 1.0));
  const Index b = std::max<Index>(2 * Index(th), by_mem);
  return std::max<Index>(1, std::min(b, tl.count));
}

void run_tiles(Source& src, const double* weights, const Tiling& tl, PassContext& ctx,
               Index batch, double row_cost, const std::function<void(const TileTask&)>& work,
               const std::function<void(const TileTask&)>& reduce,
               const std::vector<Index>* order) {
  ctx.abort = false;
  const Index count = order ? Index(order->size()) : tl.count;
  if (count == 0) return;
  batch = std::max<Index>(1, std::min(batch, count));
  const Index d = src.cols();
  const bool zero = src.zero_copy();
  if (!zero) {  // two sets of tile buffers: at most about 64 MB in all
    const double tile_bytes = 8.0 * double(tl.size) * double(d);
    const int th = ctx.ex ? ctx.ex->threads() : 1;
    batch = std::min(batch, std::max<Index>(Index(th), Index(32.0 * (1 << 20) / tile_bytes)));
  }
  if (!zero) {
    ctx.buffers.resize(size_t(2 * batch));
    for (auto& b : ctx.buffers) b.resize(size_t(tl.size * d));
  }
  std::vector<TileTask> tasks[2];
  auto load = [&](Index first, std::vector<TileTask>& out, int set) {
    out.clear();
    for (Index pos = first; pos < std::min(count, first + batch); ++pos) {
      const Index t = order ? (*order)[size_t(pos)] : pos;
      TileTask task;
      task.tile = t;
      task.r0 = tl.begin(t);
      task.rows = tl.end(t) - task.r0;
      task.slot = int(pos - first);
      task.view = zero ? src.view(task.r0, task.rows)
                       : src.read(task.r0, task.rows, ctx.buffers[size_t(set * batch + task.slot)].data());
      task.w = weights ? weights + task.r0 : nullptr;
      out.push_back(task);
    }
  };
  const double batch_cost = double(batch) * double(tl.size) * std::max(row_cost, 1.0);
  const bool background = !zero || (ctx.ex && ctx.ex->threads() > 0 && batch_cost > 2e7);
  int cur = 0;
  load(0, tasks[0], 0);
  for (Index first = 0; first < count; first += batch) {
    std::vector<TileTask>& now = tasks[cur];
    auto compute = [&] {
      run_tasks(*ctx.ex, Index(now.size()), [&](Index i) {
        if (!ctx.stopped()) work(now[size_t(i)]);
      });
    };
    const bool more = first + batch < count;
    if (background) {
      Background bg(compute);
      if (more) {
        try {
          load(first + batch, tasks[1 - cur], 1 - cur);
        } catch (...) {
          bg.abandon(ctx);
          throw;
        }
      }
      bg.wait(ctx);
    } else {
      compute();
      ctx.check();
      if (more) load(first + batch, tasks[1 - cur], 1 - cur);
    }
    if (ctx.stopped()) throw std::runtime_error("pass stopped");
    for (const TileTask& t : now) reduce(t);
    cur = 1 - cur;
  }
}

}  // namespace fastgmm
