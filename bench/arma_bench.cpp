// bench/arma_bench.cpp -- Armadillo anchor: seconds per EM iteration of arma::gmm_full /
// arma::gmm_diag on a benchmark case written by bench/gen_data.py.
//
// Build (exact command used by bench/run_anchors.sh):
//   g++ -O3 -march=native -fopenmp -std=c++17 -o arma_bench bench/arma_bench.cpp -larmadillo
// Run:
//   OMP_NUM_THREADS=2 ./arma_bench DATADIR CASE [E_LO E_HI [REPS]]
// e.g. OMP_NUM_THREADS=2 ./arma_bench /tmp/fastgmm-bench full_1e6x10_k10 10 20 3
//
// Method: the model is reset to the case's fixed starting parameters with set_params(), then
//   learn(X, K, eucl_dist, keep_existing, km_iter = 0, em_iter = E, var_floor = 1e-6,
//         print_mode = true)
// is timed for E = E_LO and E = E_HI (each REPS times, minimum kept), and
//   sec_per_iter = (t(E_HI) - t(E_LO)) / (E_HI - E_LO),
// so fixed costs (is_finite() scan, model copies, set-up) cancel. print_mode is on only so
// that the number of EM iterations actually run can be counted (Armadillo stops early when
// |change in mean log-likelihood| <= DBL_EPSILON): std::cout is redirected to a string
// while learning, which costs a few microseconds per iteration. loglik_final is
// sum_log_p(X) of the parameters returned by the E_HI fit (total, not per point).
//
// Output: one CSV line on stdout
//   tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,
//   cpu_per_iter
// (iters_* = EM iterations Armadillo really ran; equal to e_* unless it stopped early;
// cpu_per_iter = the same difference in process CPU seconds, all threads together).
// Diagnostics go to stderr.
#include <armadillo>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "data.h"

#if !defined(ARMA_USE_OPENMP)
#error "Armadillo OpenMP support is off: compile with -fopenmp"
#endif

namespace {

struct FitResult {
  double seconds, cpu;
  int iters;
  int n_threads;
  bool ok;
};

int count_lines_with(const std::string& s, const std::string& needle) {
  int c = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++c;
  return c;
}

int parse_threads(const std::string& s) {
  const std::string key = "n_threads: ";
  size_t p = s.find(key);
  return p == std::string::npos ? -1 : std::atoi(s.c_str() + p + key.size());
}

template <class Model, class Covs>
FitResult fit(Model& model, const arma::mat& X, const arma::mat& means, const Covs& covs,
              const arma::rowvec& hefts, int em_iter) {
  model.set_params(means, covs, hefts);
  std::ostringstream log;
  std::streambuf* old = std::cout.rdbuf(log.rdbuf());
  const double c0 = benchdata::cpu_seconds();
  const double t0 = benchdata::now_seconds();
  const bool ok = model.learn(X, means.n_cols, arma::eucl_dist, arma::keep_existing,
                              /*km_iter=*/0, /*em_iter=*/em_iter, /*var_floor=*/1e-6,
                              /*print_mode=*/true);
  const double t1 = benchdata::now_seconds();
  const double c1 = benchdata::cpu_seconds();
  std::cout.rdbuf(old);
  const std::string s = log.str();
  return FitResult{t1 - t0, c1 - c0, count_lines_with(s, "EM: iteration:"), parse_threads(s), ok};
}

template <class Model, class Covs>
int run(const char* tool, const std::string& case_name, const arma::mat& X,
        const arma::mat& means, const Covs& covs, const arma::rowvec& hefts, int e_lo,
        int e_hi, int reps) {
  Model model;
  double t_lo = std::numeric_limits<double>::infinity(), t_hi = t_lo, c_lo = t_lo, c_hi = t_lo;
  int it_lo = 0, it_hi = 0, nthr = -1;
  for (int r = 0; r < reps; ++r) {
    FitResult a = fit(model, X, means, covs, hefts, e_lo);
    FitResult b = fit(model, X, means, covs, hefts, e_hi);
    if (!a.ok || !b.ok) {
      std::cerr << tool << " " << case_name << ": learn() failed\n";
      return 1;
    }
    t_lo = std::min(t_lo, a.seconds);
    t_hi = std::min(t_hi, b.seconds);
    c_lo = std::min(c_lo, a.cpu);
    c_hi = std::min(c_hi, b.cpu);
    it_lo = a.iters;
    it_hi = b.iters;
    nthr = b.n_threads;
    std::cerr << tool << " " << case_name << " rep " << r << ": t(" << e_lo
              << ")=" << a.seconds << "s [" << a.iters << " it, cpu " << a.cpu << "s], t(" << e_hi << ")=" << b.seconds
              << "s [" << b.iters << " it, cpu " << b.cpu << "s], n_threads=" << b.n_threads
              << "\n";
  }
  if (it_lo != e_lo || it_hi != e_hi)
    std::cerr << "WARNING: Armadillo stopped early (" << it_lo << "/" << e_lo << ", " << it_hi
              << "/" << e_hi << " iterations); per-iteration time uses the iterations run\n";
  const double loglik = model.sum_log_p(X);  // parameters after the last E_HI fit
  const double spi = (t_hi - t_lo) / double(it_hi - it_lo);
  std::cout.precision(10);
  std::cout << tool << "," << case_name << "," << nthr << "," << spi << "," << loglik << ","
            << e_lo << "," << e_hi << "," << t_lo << "," << t_hi << "," << it_lo << "," << it_hi
            << "," << (c_hi - c_lo) / double(it_hi - it_lo) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " DATADIR CASE [E_LO E_HI [REPS]]\n";
    return 2;
  }
  const std::string dir = argv[1], case_name = argv[2];
  const int e_lo = argc > 3 ? std::atoi(argv[3]) : 10;
  const int e_hi = argc > 4 ? std::atoi(argv[4]) : 20;
  const int reps = argc > 5 ? std::atoi(argv[5]) : 3;
  try {
    const benchdata::Data data = benchdata::read_data(dir + "/" + case_name + ".data.bin");
    const benchdata::Init init = benchdata::read_init(dir + "/" + case_name + ".init.bin");
    if (init.d != data.d) throw std::runtime_error("data/init dimension mismatch");
    const arma::uword N = data.n, D = data.d, K = init.k;
    // Armadillo wants one observation per column (D x N): transpose the column-major N x D.
    const arma::mat Xnd(const_cast<double*>(data.x.data()), N, D, /*copy_aux_mem=*/false,
                        /*strict=*/true);
    const arma::mat X = Xnd.t();
    const arma::mat means(init.means.data(), D, K);
    const arma::rowvec hefts(init.weights.data(), K);
#ifdef _OPENMP
    std::cerr << "omp_get_max_threads() = " << omp_get_max_threads() << "\n";
#endif
    if (init.covtype == benchdata::FULL) {
      const arma::cube fcovs(init.covs.data(), D, D, K);
      return run<arma::gmm_full, arma::cube>("armadillo", case_name, X, means, fcovs, hefts,
                                             e_lo, e_hi, reps);
    } else {
      const arma::mat dcovs(init.covs.data(), D, K);
      return run<arma::gmm_diag, arma::mat>("armadillo", case_name, X, means, dcovs, hefts,
                                            e_lo, e_hi, reps);
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
