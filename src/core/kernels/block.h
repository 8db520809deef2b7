// A block of rows in the compute type T: loading from a tile view (shifted
// by the origin, padded to a multiple of row_pad with zero-weight rows), the
// per-row features of the product forms, and the log-sum-exp that turns
// log-densities into weighted responsibilities.
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

// Rows i0 .. i0 + b - 1 of the tile, minus the origin, into X; weights into w.
template <typename T>
void load_block(const TileView& v, const double* w, Index i0, Index b, const double* origin,
                Index d, Work<T>& wk) {
  const Index bp = (b + row_pad - 1) / row_pad * row_pad;
  wk.rows = b;
  wk.features = -1;
  wk.X.resize(bp, d);
  for (Index c = 0; c < d; ++c) {
    T* dst = wk.X.col(c).data();
    const double o = origin[c];
    if (v.rs == 1) {
      Eigen::Map<const Eigen::ArrayXd> src(v.x + i0 + c * v.cs, b);
      wk.X.col(c).head(b) = (src - o).template cast<T>().matrix();
    } else {
      const double* src = v.x + i0 * v.rs + c * v.cs;
      for (Index i = 0; i < b; ++i) dst[i] = T(src[i * v.rs] - o);
    }
    for (Index i = b; i < bp; ++i) dst[i] = T(0);
  }
  wk.w.resize(bp);
  if (w)
    wk.w.head(b) = Eigen::Map<const VectorXd>(w + i0, b).template cast<T>();
  else
    wk.w.head(b).setOnes();
  wk.w.tail(bp - b).setZero();
}

template <typename T>
void load_features(ScatterKind kind, Work<T>& wk) {
  if (wk.features == int(kind)) return;
  const Mat<T>& X = wk.X;
  const Index d = X.cols();
  wk.Y.resize(X.rows(), n_features(kind, d));
  wk.Y.leftCols(d) = X;
  switch (kind) {
    case ScatterKind::Diag: wk.Y.rightCols(d) = X.array().square().matrix(); break;
    case ScatterKind::Trace: wk.Y.col(d) = X.rowwise().squaredNorm(); break;
    case ScatterKind::Full:
      for (Index c = 0, p = d; c < d; ++c)
        for (Index i = 0; i <= c; ++i, ++p) wk.Y.col(p) = X.col(i).cwiseProduct(X.col(c));
      break;
  }
  wk.features = int(kind);
}

// Turns L into weighted responsibilities w_i r_ij in place; returns
// sum_i w_i log sum_j exp(L_ij). Row log-likelihoods go to rowll if given.
// Terms below exp(cut) of the row's largest are set to zero: they are far
// below rounding, and left alone they would be slow subnormal numbers.
template <typename T>
double normalize(Work<T>& wk, double* rowll = nullptr) {
  using S = Simd<T>;
  using M = SimdMath<T>;
  using V = typename S::V;
  Mat<T>& L = wk.L;
  const Index b = L.rows(), k = L.cols();
  const T cut = sizeof(T) == 8 ? T(-230) : T(-50);
  const T floor = std::exp(cut);
  double tot = 0;
  T* l = L.data();
  for (Index r = 0; r < b; r += S::W) {
    V m = S::load(l + r);
    for (Index j = 1; j < k; ++j) {
      V v = S::load(l + j * b + r);
      m = v > m ? v : m;
    }
    V s = S::splat(0);
    for (Index j = 0; j < k; ++j) {
      V v = S::load(l + j * b + r) - m;
      v = v > cut ? v : S::splat(cut);
      v = M::exp(v) - floor;
      v = v > T(0) ? v : S::splat(0);
      S::store(l + j * b + r, v);
      s += v;
    }
    const V w = S::load(wk.w.data() + r);
    const V ll = m + M::log(s);
    const V inv = w / s;
    for (Index j = 0; j < k; ++j) S::store(l + j * b + r, S::load(l + j * b + r) * inv);
    for (int i = 0; i < S::W; ++i) {
      if (w[i] != 0) tot += double(w[i]) * double(ll[i]);
      if (rowll && r + i < wk.rows) rowll[r + i] = double(ll[i]);
    }
  }
  return tot;
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
