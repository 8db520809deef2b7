// The CPU backend: every pass over a block source (EM passes, the passes of
// the initialisation, scoring) on the executor's workers, tile by tile.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine.h"
#include "kernels/terms.h"
#include "pass.h"

namespace fastgmm {

// The data of a fit: a source, optional weights (n values, in memory), the
// origin the kernels subtract, the tiling and the pass context.
struct DataRef {
  Source* src = nullptr;
  const double* w = nullptr;
  VectorXd origin;  // d
  Tiling tiling;
  PassContext* ctx = nullptr;
  Index n() const { return src->rows(); }
  Index d() const { return src->cols(); }
};

// Makes a DataRef with the weighted column means as the origin (one pass).
DataRef make_data(Source& src, const double* w, PassContext& ctx);
// ... or with a given origin (scoring relative to a fitted model).
DataRef make_data(Source& src, const double* w, PassContext& ctx, const VectorXd& origin);

// The buffers one task of a pass computes a block in: the block, and one
// scratch per component group.
template <typename T>
struct BlockBuffers {
  Work<T> wk;
  std::vector<Scratch<T>> sc;
  size_t bytes() const;
};

// Block buffers shared by the tasks of passes: a task takes a free set and
// gives it back, so that only about as many sets exist as tasks run at once
// (not one per tile in flight), and the set used last, warm in the cache, is
// taken first. Sets never move, so a task's set stays valid while others grow
// the pool.
template <typename T>
class BlockPool {
 public:
  class Lease {
   public:
    Lease(BlockPool& p) : pool_(p), i_(p.take()) {}
    ~Lease() { pool_.give(i_); }
    BlockBuffers<T>& operator*() const { return *pool_.at(i_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    BlockPool& pool_;
    size_t i_;
  };
  size_t bytes() const;
  // Frees every set (none may be leased).
  void clear() {
    sets_.clear();
    free_.clear();
  }

 private:
  size_t take();
  void give(size_t i);
  BlockBuffers<T>* at(size_t i);
  std::mutex m_;
  std::vector<std::unique_ptr<BlockBuffers<T>>> sets_;
  std::vector<size_t> free_;
};

// The loaded blocks (x - origin and the weights, as load_block() leaves them) of small
// in-memory data, kept from pass to pass of one engine: later passes swap a block in instead
// of loading it again (a tenth of a pass at 1e4 x 10 was spent loading).
template <typename T>
struct BlockCache {
  Index step = 0;  // the block step they were loaded with (0: none yet)
  std::vector<Mat<T>> X;
  std::vector<Vec<T>> w;
  std::vector<char> ready;
};

struct CpuOptions {
  Variant variant = Variant::Gemm;
  bool single = false;  // compute in float, accumulate in double
  int form = -1;        // -1: chosen per pass by the offset; else a Form (tests, benchmarks)
};

// The shared-origin kernels keep at least 12 significant digits in double
// while the means lie within this many standard deviations of the origin
// (the moments cancel by about offset^2); beyond, passes use the anchored form.
constexpr double shared_offset_double = 100;
// In single precision the shared form is used up to 16 standard deviations
// (measured: covariances within about 3e-9 offset^2 of double, 3e-6 at 16 sd;
// log-likelihood within 2e-8), the anchored form up to 2e4 (float rounding of
// x - origin is then about 1e-3 sd; measured: log-likelihood within 1e-6 and
// parameters within 1e-5 of double at 1e4 sd separation, 2e-5 and 4e-5 at
// 1e5); beyond, passes compute in double and the engine says so.
constexpr double shared_offset_single = 16;
constexpr double anchored_offset_single = 2e4;

class CpuEngine : public Engine {
 public:
  CpuEngine(DataRef& data, const CovarianceModel* model, CpuOptions opt);
  void em_pass(const Params& p, Stats& out) override;
  // Stepwise units: segments of rows (stepwise_unit_size(), engine.h), so
  // that a mini-batch gathers rows from many places of the data.
  Index units() const override { return units_.count; }
  void set_unit_rows(Index rows) override;
  // Units of `size` rows aligned with those of a larger whole in which this
  // source's rows start at a row that is phase past a unit boundary (a
  // cluster shard's units, see Tiling): unit 0 has size - phase rows.
  void set_units(Index size, Index phase);
  Index unit_rows(Index u) const override { return units_.end(u) - units_.begin(u); }
  bool units_in_any_order() const override { return data_.src->random_access(); }
  void em_pass_units(const Params& p, const std::vector<Index>& units, Stats& out) override;
  // Statistics of given responsibilities, about `anchors` (d x k), in double
  // with the anchored form. fill(row0, wk, R) sets R (b x k) to the weighted
  // responsibilities of the block's rows row0.. (wk.X: x - origin; wk.w: weights)
  // and returns a number summed over blocks into *value.
  using Fill = std::function<double(Index row0, const Work<double>& wk, Mat<double>& R)>;
  Stats assign_stats(const MatrixXd& anchors, ScatterKind kind, const Fill& fill,
                     double* value = nullptr);
  // As assign_stats, anchored at the means found by a first pass.
  Stats assign_stats(Index k, ScatterKind kind, const Fill& fill);
  DataRef& data() { return data_; }
  Form last_form() const { return last_form_; }

 private:
  template <typename T>
  void run(const Terms<T>& t, Variant v, ScatterKind kind, Stats& out,
           const std::vector<Index>* order = nullptr);
  const Tiling& tiling_for(const std::vector<Index>* order) const {
    return order ? units_ : data_.tiling;
  }
  void pass(const Params& p, Stats& out, const std::vector<Index>* order);
  BlockPool<double>& pool(double*) { return pool_d_; }
  BlockPool<float>& pool(float*) { return pool_f_; }
  BlockPool<double> pool_d_;  // kept from pass to pass (allocating per pass cost page faults)
  BlockPool<float> pool_f_;
  BlockCache<double>& cache(double*) { return cache_d_; }
  BlockCache<float>& cache(float*) { return cache_f_; }
  BlockCache<double> cache_d_;
  BlockCache<float> cache_f_;
  DataRef& data_;
  const CovarianceModel* model_;
  CpuOptions opt_;
  Form last_form_ = Form::Shared;
  Tiling units_;
};

// Per-row results for predict and for the fitted classification. Arrays
// (n values, or n x k column-major) are filled when given; sink, when set,
// receives each tile's rows in order on the main thread instead.
struct ScoreRequest {
  bool logdens = false, post = false, rowll = false, cls = false;
  double* logdens_out = nullptr;  // log prop_j + log N(x_i | j)
  double* post_out = nullptr;     // posterior probabilities
  double* rowll_out = nullptr;    // log density of the mixture
  int* cls_out = nullptr;         // 1-based most probable component
  double* unc_out = nullptr;      // 1 - largest posterior
  // sink(r0, rows, logdens, post (rows x k each, column-major), rowll, cls, unc)
  std::function<void(Index, Index, const double*, const double*, const double*, const int*,
                     const double*)>
      sink;
};
struct ScoreSums {
  double loglik = 0;   // sum_i w_i log p(x_i)
  double entropy = 0;  // - sum_i w_i sum_j z_ij log z_ij
};
ScoreSums score(DataRef& data, const Params& p, const ScoreRequest& req);

// The kernel variant used when none is chosen by timing: the register-blocked
// direct form for small d and k, the product form otherwise.
Variant default_variant(Index d, Index k, EShape shape);

}  // namespace fastgmm
