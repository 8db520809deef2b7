// Passes over a block source: the rows are cut into tiles (a partition that
// depends only on n and d), tiles are processed in batches by the executor's
// workers, and each tile's partial result is reduced on the main thread in
// tile order. Neither the thread count, nor the batch size, nor the source
// changes what is computed, so results are identical for all of them.
//
// While the workers compute one batch, the main thread loads the next one
// (pread for files, R calls for callbacks: sequential sources are only ever
// read there) and polls for interrupts; workers check an abort flag between
// blocks, so a pass stops within a block's time.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "parallel.h"
#include "source/source.h"

namespace fastgmm {

// The tile partition: about 64 tiles for mid-sized data, at most 4 MB or
// 65536 rows each, at least 1024 rows; a multiple of 16 rows.
// phase (0 <= phase < size; stepwise units of a cluster shard only): the
// tiles are those of a larger whole in which these rows start at row phase,
// so tile 0 is shorter (size - phase rows) and the tiles stay aligned with
// the whole's (see ClusterEngine in rcpp_cluster.cpp).
struct Tiling {
  Index n = 0, size = 1, count = 0, phase = 0;
  Tiling() {}
  Tiling(Index n_rows, Index d);
  Index begin(Index t) const { return std::max<Index>(0, t * size - phase); }
  Index end(Index t) const { return std::min(n, (t + 1) * size - phase); }
};

// Shared by the passes of one fit (or predict call).
struct PassContext {
  Executor* ex = nullptr;
  std::function<void()> poll;  // main thread; throws to stop (interrupts)
  std::atomic<bool> abort{false};
  std::vector<std::vector<double>> buffers;  // tile buffers, reused across passes
  bool stopped() const { return abort.load(std::memory_order_relaxed); }
  void check() {
    if (poll) poll();
  }
};

// Runs f on its own thread; wait() polls the main thread's interrupts meanwhile (passes
// compute beside the main thread; gmm_select()'s fits at once run on several).
class Background {
 public:
  explicit Background(std::function<void()> f) {
    th_ = std::thread([this, f] {
      try {
        f();
      } catch (...) {
        err_ = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Background() {
    if (th_.joinable()) th_.join();
  }
  // Waits for f; poll() is called every 50 ms and may throw, in which case
  // the abort flag is raised, f is waited for, and the exception propagates.
  void wait(PassContext& ctx) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(m_);
        if (cv_.wait_for(lock, std::chrono::milliseconds(50), [this] { return done_; })) break;
      }
      try {
        ctx.check();
      } catch (...) {
        ctx.abort = true;
        th_.join();
        throw;
      }
    }
    th_.join();
    if (err_) std::rethrow_exception(err_);
  }
  void abandon(PassContext& ctx) {
    ctx.abort = true;
    if (th_.joinable()) th_.join();
  }

 private:
  std::thread th_;
  std::mutex m_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr err_;
};

struct TileTask {
  Index tile = 0, r0 = 0, rows = 0;
  TileView view;
  const double* w = nullptr;  // the tile's weights, or null
  int slot = 0;               // in 0 .. batch - 1: the caller's partial state to use
};

// Batch size (tiles in flight) for partial states of `partial_bytes` each.
Index tile_batch(const PassContext& ctx, const Tiling& tl, double partial_bytes);

// Runs work(task) on the workers for every tile, then reduce(task) on the
// main thread in tile order. row_cost: rough flops per row (decides whether
// compute runs beside the main thread, which then polls for interrupts).
// order (optional): the tiles to run, in this order (reduced in it); for
// sequential sources they must continue where the previous pass stopped or
// start again at tile 0.
void run_tiles(Source& src, const double* weights, const Tiling& tl, PassContext& ctx,
               Index batch, double row_cost, const std::function<void(const TileTask&)>& work,
               const std::function<void(const TileTask&)>& reduce,
               const std::vector<Index>* order = nullptr);

}  // namespace fastgmm
