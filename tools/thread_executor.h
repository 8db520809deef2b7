// A plain std::thread Executor for the standalone drivers (R builds use
// RcppParallel instead).
#pragma once
#include <atomic>
#include <thread>
#include <vector>

#include "core/parallel.h"

namespace fastgmm {

struct ThreadExecutor : Executor {
  int threads;
  explicit ThreadExecutor(int t) : threads(t) {}
  void run(Index n, const std::function<void(Index)>& f) override {
    if (threads <= 1 || n <= 1) {
      for (Index i = 0; i < n; ++i) f(i);
      return;
    }
    std::atomic<Index> next(0);
    auto work = [&] {
      for (Index i; (i = next++) < n;) f(i);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
  }
};

}  // namespace fastgmm
