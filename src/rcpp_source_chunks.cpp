// A block source over an R function: chunk i of the data is fun(i), NULL
// after the last (gmm_chunks() in R/sources.R wraps the user's function so
// that it returns a double matrix of the right width). Read on the main
// thread only, in order; every pass calls fun(1), fun(2), ... again.
#include <cmath>

#include "rcpp_map.h"

namespace fastgmm {

namespace {

class ChunkSource : public Source {
 public:
  ChunkSource(Rcpp::Function fun, Index n, Index d) : fun_(fun), n_(n), d_(d) {}
  Index rows() const override { return n_; }
  Index cols() const override { return d_; }
  std::string describe() const override { return "chunk function"; }

  TileView read(Index r0, Index b, double* buf) override {
    if (r0 == 0) restart();
    if (r0 != pos_) throw std::logic_error("chunk source read out of order");
    Index done = 0;
    while (done < b) {
      if (cur_row_ == cur_rows_) next_chunk();
      const Index m = std::min(b - done, cur_rows_ - cur_row_);
      const double* src = REAL(cur_) + cur_row_;
      for (Index c = 0; c < d_; ++c) {
        const double* s = src + c * cur_rows_;
        double* t = buf + done + c * b;
        bool ok = true;
        for (Index i = 0; i < m; ++i) {
          t[i] = s[i];
          ok &= std::isfinite(s[i]);
        }
        if (!ok)
          for (Index i = 0; i < m; ++i)
            if (!std::isfinite(s[i]))
              throw DataError("row " + std::to_string(static_cast<long long>(pos_ + i) + 1) +
                              " of the data (row " +
                              std::to_string(static_cast<long long>(cur_row_ + i) + 1) +
                              " of chunk " + std::to_string(chunk_ - 1) +
                              ") has a non-finite value in column " + std::to_string(c + 1));
      }
      done += m;
      cur_row_ += m;
      pos_ += m;
    }
    if (pos_ == n_) finish();
    TileView v;
    v.x = buf;
    v.rs = 1;
    v.cs = b;
    v.rows = b;
    return v;
  }

 private:
  void restart() {
    chunk_ = 1;
    pos_ = 0;
    cur_row_ = cur_rows_ = 0;
    cur_ = R_NilValue;
  }
  SEXP call(int i) {
    try {
      return fun_(i);
    } catch (const Rcpp::eval_error& e) {
      throw DataError(std::string("the chunk function failed on chunk ") + std::to_string(i) +
                      ": " + e.what());
    }
  }
  void next_chunk() {
    for (;;) {
      SEXP ch = call(chunk_++);
      if (Rf_isNull(ch))
        throw DataError("the chunk function returned NULL after " +
                        std::to_string(static_cast<long long>(pos_)) + " rows; the first pass had " +
                        std::to_string(static_cast<long long>(n_)) +
                        " (it must return the same rows on every pass)");
      if (TYPEOF(ch) != REALSXP || !Rf_isMatrix(ch) || Rf_ncols(ch) != d_)
        throw DataError("chunk " + std::to_string(chunk_ - 1) + " is not a numeric matrix with " +
                        std::to_string(d_) + " columns");
      cur_ = ch;
      cur_rows_ = Rf_nrows(ch);
      cur_row_ = 0;
      if (cur_rows_ > 0) return;
    }
  }
  // After the last row: the current chunk must be used up, and the next call NULL.
  void finish() {
    bool extra = cur_row_ < cur_rows_;
    if (!extra) {
      SEXP ch = call(chunk_);
      extra = !Rf_isNull(ch) && !(Rf_isMatrix(ch) && Rf_nrows(ch) == 0);
    }
    cur_ = R_NilValue;
    if (extra)
      throw DataError("the chunk function returned more than the " +
                      std::to_string(static_cast<long long>(n_)) +
                      " rows of its first pass (it must return the same rows on every pass)");
  }

  Rcpp::Function fun_;
  Index n_, d_;
  int chunk_ = 1;
  Index pos_ = 0, cur_row_ = 0, cur_rows_ = 0;
  Rcpp::RObject cur_;
};

}  // namespace

std::unique_ptr<Source> make_chunk_source(const Rcpp::List& src) {
  Rcpp::Function fun = src["read"];
  const double n = Rcpp::as<double>(src["nrow"]);
  const int d = Rcpp::as<int>(src["ncol"]);
  return std::unique_ptr<Source>(new ChunkSource(fun, Index(n), d));
}

}  // namespace fastgmm
