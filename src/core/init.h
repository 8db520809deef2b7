// Starting parameters: robust k-means++ (several greedy k-means++ seedings
// with Lloyd to convergence and short EM runs on a bounded sample, the best
// kept), a fit to a subsample, random responsibilities, random rows as means,
// or given labels. All read the data through passes that turn an assignment
// of rows to components into statistics, and a bounded sample of rows.
//
// The data are seen through InitData, so the same code starts a fit on any
// block source (EngineInitData: the CPU engine's passes) and on shards held
// by the workers of an R cluster (src/rcpp_cluster.cpp): given the same rows
// in the same order, both draw the same sample and the same starts.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu_engine.h"
#include "em.h"
#include "mstep.h"

namespace fastgmm {

// Codes shared with R (3 and 4 are a parameter list and labels, made in the glue).
enum class InitMethod { KmeansPP = 0, Random = 1, RandomFromData = 2, Subsample = 5 };

struct InitOptions {
  int starts = 5;          // kmeans++: greedy k-means++ seedings (with Lloyd) on the sample
  int em_starts = 2;       // kmeans++: the best of them (by inertia) that get a short EM run
  int small_em_iter = 10;  // kmeans++: EM iterations on the sample from each of those
  Index sample_rows = 0;   // kmeans++: rows of the sample; 0 chooses (see init.cpp)
  double subsample = 0.1;  // subsample: fraction of the rows fitted first
  int subsample_iter = 200;
  double tol = 1e-6;
};

// An assignment of rows to components, whose statistics a pass computes.
struct Assignment {
  enum Kind { Nearest = 0, Labels = 1, Random = 2, All = 3 };
  Kind kind = All;
  MatrixXd centres;             // Nearest: k x d, origin coordinates (hard assignment)
  const int* labels = nullptr;  // Labels: n values in 0 .. k-1 (in-memory data only)
  uint64_t seed = 0;            // Random: counter-based uniforms per (row, component)
  Index k = 1;                  // components (All: 1)
};

// The weighted responsibilities of an assignment, as a fill for
// CpuEngine::assign_stats. row_offset: the global index of the source's
// first row (counter-based uniforms are drawn per global row).
CpuEngine::Fill assignment_fill(const Assignment& a, Index row_offset = 0);

// What the initialisation needs from the data.
class InitData {
 public:
  virtual ~InitData() {}
  virtual Index n() const = 0;
  virtual Index d() const = 0;
  // Parameters in the core are relative to this point (data coordinates).
  virtual const VectorXd& origin() const = 0;
  virtual bool weighted() const = 0;
  // Weights of rows idx (any order, repeats allowed); only called when weighted().
  virtual void weights(const std::vector<Index>& idx, std::vector<double>& out) = 0;
  // Number of rows with positive weight, and the rows with positive weight
  // of the given ranks among them (0-based, any order).
  virtual Index positive_count() = 0;
  virtual std::vector<Index> positive_rows(const std::vector<Index>& ranks) = 0;
  // Rows idx (sorted, distinct) minus the origin, idx.size() x d; their
  // weights (1 when not weighted) into w.
  virtual MatrixXd rows(const std::vector<Index>& idx, VectorXd& w) = 0;
  // Statistics of an assignment about anchors (d x k, origin coordinates);
  // *value (when given) receives the weighted sum of squared distances to
  // the nearest centre (Nearest only).
  virtual Stats assign(const Assignment& a, const MatrixXd& anchors, ScatterKind kind,
                       double* value = nullptr) = 0;
  virtual long passes() const = 0;
  // Threads (and interrupts) for the computations on a sample; null: serial.
  virtual PassContext* context() { return nullptr; }
};

// InitData over a CPU engine's data (any block source).
class EngineInitData : public InitData {
 public:
  explicit EngineInitData(CpuEngine& eng) : eng_(eng) {}
  Index n() const override { return eng_.data().n(); }
  Index d() const override { return eng_.data().d(); }
  const VectorXd& origin() const override { return eng_.data().origin; }
  bool weighted() const override { return eng_.data().w != nullptr; }
  void weights(const std::vector<Index>& idx, std::vector<double>& out) override;
  Index positive_count() override;
  std::vector<Index> positive_rows(const std::vector<Index>& ranks) override;
  MatrixXd rows(const std::vector<Index>& idx, VectorXd& w) override;
  Stats assign(const Assignment& a, const MatrixXd& anchors, ScatterKind kind,
               double* value) override;
  long passes() const override { return eng_.passes; }
  PassContext* context() override { return eng_.data().ctx; }

 private:
  CpuEngine& eng_;
};

Params init_params(InitData& data, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo, const InitOptions& io = InitOptions());
// labels: n values in 0 .. k-1, or null when the InitData holds them itself.
Params init_from_labels(InitData& data, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo);
// The statistics of a partition that init_from_labels() takes its M-step from (two passes:
// the means, then the statistics about them).
Stats label_stats(InitData& data, Index k, const int* labels, ScatterKind kind);
// The same on a CPU engine's data.
Params init_params(CpuEngine& eng, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo, const InitOptions& io = InitOptions());
Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo);

}  // namespace fastgmm
