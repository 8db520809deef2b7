// Starting parameters: k-means++ with Lloyd steps, random responsibilities,
// random rows as means, or given labels. All read the data through passes
// that turn an assignment of rows to components into statistics, and a
// bounded sample of rows; each ends in an M-step.
//
// The data are seen through InitData, so the same code starts a fit on any
// block source (EngineInitData: the CPU engine's passes) and on shards held
// by the workers of an R cluster (src/rcpp_cluster.cpp): given the same rows
// in the same order, both draw the same sample and the same starts.
#pragma once
#include <cstdint>
#include <vector>

#include "cpu_engine.h"
#include "mstep.h"

namespace fastgmm {

enum class InitMethod { KmeansPP = 0, Random = 1, RandomFromData = 2 };

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

 private:
  CpuEngine& eng_;
};

Params init_params(InitData& data, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo);
// labels: n values in 0 .. k-1, or null when the InitData holds them itself.
Params init_from_labels(InitData& data, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo);
// k-means++ seeding on a sample of at most 65536 rows (and 16 MB), then up to
// lloyd_steps Lloyd iterations over all rows. Returns k x d centres (origin
// coordinates).
MatrixXd kmeans(InitData& data, Index k, uint64_t seed, int lloyd_steps);

// The same on a CPU engine's data.
Params init_params(CpuEngine& eng, const CovarianceModel* model, Index k, InitMethod method,
                   uint64_t seed, const MStepOptions& mo);
Params init_from_labels(CpuEngine& eng, const CovarianceModel* model, Index k, const int* labels,
                        const MStepOptions& mo);
MatrixXd kmeans(CpuEngine& eng, Index k, uint64_t seed, int lloyd_steps);

}  // namespace fastgmm
