#include "file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace fastgmm {

namespace {

std::string row_text(Index i) { return std::to_string(static_cast<long long>(i) + 1); }

template <typename F>
F decode(const unsigned char* p) {
  F v;
  std::memcpy(&v, p, sizeof(F));
  return v;
}

constexpr bool big_endian() {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return true;
#else
  return false;
#endif
}

void swap_bytes(unsigned char* p, size_t count, size_t size) {
  for (size_t i = 0; i < count; ++i, p += size)
    for (size_t a = 0, b = size - 1; a < b; ++a, --b) std::swap(p[a], p[b]);
}

}  // namespace

FileSource::FileSource(const std::string& path, Index d, Type type)
    : path_(path), d_(d), type_(type) {
  if (d < 1) throw DataError("the number of columns must be at least 1");
  row_bytes_ = size_t(d) * (type == Type::Double ? 8 : 4);
  fd_ = ::open(path.c_str(), O_RDONLY);
  if (fd_ < 0) throw DataError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const std::string e = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw DataError("cannot read the size of " + path + ": " + e);
  }
  const auto size = static_cast<unsigned long long>(st.st_size);
  std::string problem;
  if (!S_ISREG(st.st_mode))
    problem = path + " is not a regular file";
  else if (size == 0)
    problem = path + " is empty";
  else if (size % row_bytes_ != 0)
    problem = path + " has " + std::to_string(size) + " bytes, not a whole number of rows of " +
              std::to_string(d) + " " + (type == Type::Double ? "doubles" : "floats") + " (" +
              std::to_string(row_bytes_) + " bytes each): truncated, or another ncol or type";
  if (!problem.empty()) {
    ::close(fd_);
    fd_ = -1;
    throw DataError(problem);
  }
  n_ = Index(size / row_bytes_);
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::read_bytes(Index r0, Index b, unsigned char* dst) const {
  size_t want = size_t(b) * row_bytes_, got = 0;
  off_t off = off_t(r0) * off_t(row_bytes_);
  while (got < want) {
    ssize_t r = ::pread(fd_, dst + got, want - got, off + off_t(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw DataError("error reading " + path_ + ": " + std::strerror(errno));
    if (r == 0)
      throw DataError(path_ + " ended before row " + row_text(r0 + Index(got / row_bytes_)) +
                      " (was it truncated during the fit?)");
    got += size_t(r);
  }
}

// Row-major doubles straight into buf (floats are widened in place, from the end).
TileView FileSource::read(Index r0, Index b, double* buf) {
  unsigned char* raw = reinterpret_cast<unsigned char*>(buf);
  const size_t m = size_t(b) * size_t(d_);
  read_bytes(r0, b, raw);
  if (type_ == Type::Double) {
    if (big_endian()) swap_bytes(raw, m, 8);
  } else {
    if (big_endian()) swap_bytes(raw, m, 4);
    for (size_t i = m; i-- > 0;) buf[i] = double(decode<float>(raw + 4 * i));
  }
  bool ok = true;
  for (size_t i = 0; i < m; ++i) ok &= std::isfinite(buf[i]);
  if (!ok)
    for (size_t i = 0; i < m; ++i)
      if (!std::isfinite(buf[i]))
        throw DataError("row " + row_text(r0 + Index(i) / d_) + " of " + path_ +
                        " has a non-finite value (" + (std::isnan(buf[i]) ? "NaN" : "Inf") +
                        ") in column " + std::to_string(Index(i) % d_ + 1));
  TileView v;
  v.x = buf;
  v.rs = d_;
  v.cs = 1;
  v.rows = b;
  return v;
}

void FileSource::gather(const std::vector<Index>& idx, Eigen::MatrixXd& out) {
  out.resize(Index(idx.size()), d_);
  std::vector<double> buf;
  for (size_t s = 0; s < idx.size();) {
    size_t e = s + 1;  // a run of consecutive rows is one read
    while (e < idx.size() && idx[e] == idx[e - 1] + 1 && e - s < 4096) ++e;
    const Index b = Index(e - s);
    buf.resize(size_t(b * d_));
    const TileView v = read(idx[s], b, buf.data());
    for (Index i = 0; i < b; ++i)
      for (Index c = 0; c < d_; ++c) out(Index(s) + i, c) = v.at(i, c);
    s = e;
  }
}

}  // namespace fastgmm
