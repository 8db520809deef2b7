// A binary file of rows: little-endian doubles or floats, row-major, no
// header (as gmm_write() writes it). Read with pread(), so memory stays
// bounded whatever the file's size and reads may run on any thread.
#pragma once
#include <string>

#include "source.h"

namespace fastgmm {

class FileSource : public Source {
 public:
  enum class Type { Double = 0, Float = 1 };
  // Throws DataError for a missing, unreadable, empty or misshapen file.
  FileSource(const std::string& path, Index d, Type type);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  Index rows() const override { return n_; }
  Index cols() const override { return d_; }
  std::string describe() const override { return "file " + path_; }
  bool random_access() const override { return true; }
  TileView read(Index r0, Index b, double* buf) override;
  void gather(const std::vector<Index>& idx, Eigen::MatrixXd& out) override;

 private:
  void read_bytes(Index r0, Index b, unsigned char* dst) const;
  std::string path_;
  Index d_, n_ = 0;
  Type type_;
  int fd_ = -1;
  size_t row_bytes_;
};

}  // namespace fastgmm
