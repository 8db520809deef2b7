// The seam between the core and a thread pool. The core splits work into a
// fixed number of tasks (independent of the thread count) and joins their
// results in task order, so results never depend on scheduling.
#pragma once
#include <Eigen/Dense>
#include <exception>
#include <functional>
#include <mutex>

namespace fastgmm {

using Eigen::Index;

struct Executor {
  virtual ~Executor() {}
  // Runs f(0) .. f(n - 1), possibly concurrently. f must not throw.
  virtual void run(Index n, const std::function<void(Index)>& f) = 0;
};

struct SerialExecutor : Executor {
  void run(Index n, const std::function<void(Index)>& f) override {
    for (Index i = 0; i < n; ++i) f(i);
  }
};

// Runs f over n tasks; an exception thrown by any task is caught in the worker
// and the one of the lowest-numbered failing task is rethrown here.
inline void run_tasks(Executor& ex, Index n, const std::function<void(Index)>& f) {
  std::mutex m;
  std::exception_ptr err;
  Index err_task = n;
  ex.run(n, [&](Index i) {
    try {
      f(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (i < err_task) {
        err_task = i;
        err = std::current_exception();
      }
    }
  });
  if (err) std::rethrow_exception(err);
}

// A fixed split of n rows into contiguous chunks. The count depends only on n
// and on how large one chunk's partial statistics are.
struct Chunks {
  Index n = 0, count = 1;
  Chunks() {}
  Chunks(Index n_rows, Index partial_bytes) : n(n_rows) {
    const Index min_rows = 4096, max_chunks = 64;
    const Index budget = Index(32) << 20;  // bytes of partial statistics in all
    Index c = (n + min_rows - 1) / min_rows;
    if (c > max_chunks) c = max_chunks;
    Index by_mem = budget / (partial_bytes > 0 ? partial_bytes : 1);
    if (by_mem < 2) by_mem = 2;
    if (c > by_mem) c = by_mem;
    count = c < 1 ? 1 : c;
  }
  Index begin(Index i) const { return n * i / count; }
  Index end(Index i) const { return n * (i + 1) / count; }
};

}  // namespace fastgmm
