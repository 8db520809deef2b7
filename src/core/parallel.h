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
  // Threads this executor may use (1: serial).
  virtual int threads() const { return 1; }
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

}  // namespace fastgmm
