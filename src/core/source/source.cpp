#include "source.h"

#include <algorithm>

namespace fastgmm {

TileView Source::view(Index, Index) const {
  throw std::logic_error("this source has no views");
}

void Source::gather(const std::vector<Index>& idx, Eigen::MatrixXd& out) {
  const Index d = cols(), n = rows();
  out.resize(Index(idx.size()), d);
  if (idx.empty()) return;
  const Index step = 4096;
  std::vector<double> buf;
  size_t next = 0;
  // Sequential sources are read from row 0 in order (a later pass restarts at 0).
  for (Index r0 = 0; r0 < n && next < idx.size(); r0 += step) {
    const Index b = std::min(step, n - r0);
    if (random_access() && idx[next] >= r0 + b) continue;
    buf.resize(size_t(b * d));
    const TileView v = read(r0, b, buf.data());
    for (; next < idx.size() && idx[next] < r0 + b; ++next)
      for (Index c = 0; c < d; ++c) out(Index(next), c) = v.at(idx[next] - r0, c);
  }
}

}  // namespace fastgmm
