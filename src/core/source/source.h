// The block source: the only way any code in the core reaches the data.
//
// A source holds n rows of d numbers. Passes read it in tiles (a fixed
// partition of the rows that depends only on n and the problem shape, see
// Tiling in pass.h), so every source yields the same blocks, reduced in the
// same order, and a fit is identical() whatever holds the data:
//   - zero-copy sources (an in-memory column-major matrix) hand out views;
//   - other sources copy a tile's rows into a column-major buffer with read():
//     random-access ones (a binary file) from any thread, sequential ones
//     (an R callback) on the main thread only, in increasing row order.
// Everything else (EM passes, initialisation, scoring, prediction, kernel
// timing, GPU upload) goes through this interface. A new source is one new
// file implementing it.
#pragma once
#include <Eigen/Dense>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastgmm {

using Eigen::Index;

// Bad data met while reading (a non-finite value, a short file, a chunk of
// the wrong shape); the message is user-facing and names the row.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Rows r0 .. r0 + rows - 1 of the data: x[i * rs + c * cs] is row r0 + i,
// column c (column-major: rs = 1, cs = ld; row-major: rs = d, cs = 1).
struct TileView {
  const double* x = nullptr;
  Index rs = 1, cs = 0;
  Index rows = 0;
  double at(Index i, Index c) const { return x[i * rs + c * cs]; }
};

class Source {
 public:
  virtual ~Source() {}
  virtual Index rows() const = 0;
  virtual Index cols() const = 0;
  // A short description for messages ("file /path/x.bin", "matrix", ...).
  virtual std::string describe() const = 0;

  // Zero-copy sources return views with view(); the others fill buffers with read().
  virtual bool zero_copy() const { return false; }
  virtual TileView view(Index r0, Index b) const;
  // read() may be called from any thread (random access) or only from the
  // main thread in increasing, contiguous row order starting at 0 on each pass.
  virtual bool random_access() const { return false; }
  // Copies rows r0 .. r0 + b - 1 into buf (room for b * d doubles, in the
  // layout the source prefers) and returns the view of them; throws DataError.
  virtual TileView read(Index r0, Index b, double* buf) = 0;

  // Rows idx (sorted, distinct) into out (idx.size() x d). The default reads
  // the data tile by tile (any source); random-access sources read only those rows.
  virtual void gather(const std::vector<Index>& idx, Eigen::MatrixXd& out);
};

}  // namespace fastgmm
