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

// Rows i0 .. i0 + b - 1 of the tile, minus the origin, into X; weights into w;
// with squares, the Diag features (the squares of X) into Y as well, while each
// value is in a register (a pass of their own read X again: 4% of a diagonal pass).
// X has at least bp rows (a caller keeping bp fixed through a pass keeps the
// buffers' size), rounded up to a multiple of row_pad. A column-major view is
// read a cache line of every column at a time, with the same line of the next
// b rows asked for as it goes (measured faster than column by column, where
// each column's short run of lines waited on memory, and than asking for the
// whole next block at once). (Loops on the level's vectors, not Eigen expressions: Eigen's own
// SIMD code is the baseline's, see dispatch.h.)
template <typename T>
void load_block(const TileView& v, const double* w, Index i0, Index b, Index bp,
                const double* origin, Index d, Work<T>& wk, bool squares) {
  using S = Simd<T>;
  using V = typename S::V;
  constexpr int W = S::W;
  constexpr int line = 64 / sizeof(double);
  constexpr int chunk = W > line ? W : line;  // rows per step: whole vectors and lines
  typedef double D __attribute__((vector_size(W * sizeof(double))));  // W doubles
  bp = (std::max(b, bp) + row_pad - 1) / row_pad * row_pad;
  wk.rows = b;
  wk.features = -1;
  wk.X.resize(bp, d);
  if (squares) wk.Y.resize(bp, d);
  T* X = wk.X.data();
  T* Y = squares ? wk.Y.data() : nullptr;
  Index i = 0;
  if (v.rs == 1) {
    const Index ahead = std::min(b, v.rows - i0 - b);  // rows of the next block to ask for
    const double* x0 = v.x + i0;
    for (; i + chunk <= b; i += chunk)
      for (Index c = 0; c < d; ++c) {
        const double* src = x0 + c * v.cs + i;
        T* dst = X + c * bp + i;
        const double o = origin[c];
#pragma GCC unroll 4
        for (int l = 0; l < chunk; l += line)
          if (i + l < ahead) __builtin_prefetch(src + b + l, 0, 2);
#pragma GCC unroll 4
        for (int l = 0; l < chunk; l += W) {
          D x;
          std::memcpy(&x, src + l, sizeof(D));
          const V xv = __builtin_convertvector(x - o, V);
          S::store(dst + l, xv);
          if (Y) S::store(Y + c * bp + i + l, xv * xv);
        }
      }
  }
  for (Index c = 0; c < d; ++c) {
    T* dst = X + c * bp;
    const double o = origin[c];
    const double* src = v.x + i0 * v.rs + c * v.cs;
    for (Index r = i; r < b; ++r) dst[r] = T(src[r * v.rs] - o);
    for (Index r = b; r < bp; ++r) dst[r] = T(0);
    if (Y)
      for (Index r = i; r < bp; ++r) Y[c * bp + r] = dst[r] * dst[r];
  }
  wk.w.resize(bp);
  T* wd = wk.w.data();
  for (Index r = 0; r < b; ++r) wd[r] = w ? T(w[i0 + r]) : T(1);
  for (Index r = b; r < bp; ++r) wd[r] = T(0);
  if (Y) wk.features = int(ScatterKind::Diag);
}

// Squared distances of the rows of S (m x d, column-major) to the point c
// (entries c[j cs]), for the k-means of the starts.
inline void sq_dist(const double* S, Index m, Index d, const double* c, Index cs, double* out) {
  using S_ = Simd<double>;
  using V = S_::V;
  Index i = 0;
  for (; i + S_::W <= m; i += S_::W) {
    V acc = S_::splat(0);
    for (Index j = 0; j < d; ++j) {
      const V e = S_::load(S + j * m + i) - c[j * cs];
      acc += e * e;
    }
    S_::store(out + i, acc);
  }
  for (; i < m; ++i) {
    double acc = 0;
    for (Index j = 0; j < d; ++j) {
      const double e = S[j * m + i] - c[j * cs];
      acc += e * e;
    }
    out[i] = acc;
  }
}

// The non-linear features of the block (see n_features(); the linear ones
// are X itself) into Y.
template <typename T>
void load_features(ScatterKind kind, Work<T>& wk) {
  using S = Simd<T>;
  using V = typename S::V;
  if (wk.features == int(kind)) return;
  const Index b = wk.X.rows(), d = wk.X.cols();  // b: a multiple of row_pad, so of S::W
  wk.Y.resize(b, n_features(kind, d) - d);
  const T* x = wk.X.data();
  T* y = wk.Y.data();
  switch (kind) {
    case ScatterKind::Diag:
      for (Index c = 0; c < d; ++c)
        for (Index r = 0; r < b; r += S::W) {
          const V v = S::load(x + c * b + r);
          S::store(y + c * b + r, v * v);
        }
      break;
    case ScatterKind::Trace:
      for (Index r = 0; r < b; r += S::W) {
        V s = S::splat(0);
        for (Index c = 0; c < d; ++c) {
          const V v = S::load(x + c * b + r);
          s += v * v;
        }
        S::store(y + r, s);
      }
      break;
    case ScatterKind::Full:
      for (Index c = 0, p = 0; c < d; ++c)
        for (Index i = 0; i <= c; ++i, ++p)
          for (Index r = 0; r < b; r += S::W)
            S::store(y + p * b + r, S::load(x + i * b + r) * S::load(x + c * b + r));
      break;
  }
  wk.features = int(kind);
}

// Turns L into weighted responsibilities w_i r_ij in place; returns
// sum_i w_i log sum_j exp(L_ij). Row log-likelihoods go to rowll if given,
// and the entropies of the rows' responsibilities, - sum_j r_ij log r_ij, to
// rowent (as log s - sum_j e_j v_j / s, with v_j = L_ij - max_j L_ij,
// e_j = exp(v_j), s = sum_j e_j: no log per term). Terms below exp(cut) of
// the row's largest are set to zero: they are far below rounding, and left
// alone they would be slow subnormal numbers. Column by column over the
// block's rows: the exps of many rows are independent of each other.
template <typename T>
double normalize(Work<T>& wk, double* rowll = nullptr, double* rowent = nullptr) {
  using S = Simd<T>;
  using M = SimdMath<T>;
  using V = typename S::V;
  Mat<T>& L = wk.L;
  const Index b = L.rows(), k = L.cols();
  const T cut = sizeof(T) == 8 ? T(-230) : T(-50);
  wk.aux.resize(3 * b);
  T* mx = wk.aux.data();  // row maxima, then weight / row sum
  T* sum = mx + b;        // row sums
  T* ent = sum + b;       // sum_j e_j v_j
  T* l = L.data();
  for (Index r = 0; r < b; r += S::W) {
    V m = S::load(l + r);
    for (Index j = 1; j < k; ++j) {
      const V v = S::load(l + j * b + r);
      m = v > m ? v : m;
    }
    S::store(mx + r, m);
    S::store(sum + r, S::splat(0));
    if (rowent) S::store(ent + r, S::splat(0));
  }
  // G vectors of rows at a time (b is a multiple of row_pad), their exps
  // interleaved; v below the cut (or NaN) is clamped to it by vmax, and its e zeroed.
  constexpr int G = row_pad % (2 * S::W) == 0 ? 2 : 1;
  const V vcut = S::splat(cut);
  for (Index j = 0; j < k; ++j) {
    T* lj = l + j * b;
    for (Index r = 0; r < b; r += G * S::W) {
      V v[G], e[G];
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        const Index q = r + g * S::W;
        e[g] = v[g] = vmax(S::load(lj + q) - S::load(mx + q), vcut);
      }
      M::exp(e);
#pragma GCC unroll 2
      for (int g = 0; g < G; ++g) {
        const Index q = r + g * S::W;
        e[g] = v[g] > vcut ? e[g] : S::splat(0);
        S::store(lj + q, e[g]);
        S::store(sum + q, S::load(sum + q) + e[g]);
        if (rowent) S::store(ent + q, S::load(ent + q) + e[g] * v[g]);
      }
    }
  }
  double tot = 0;
  V vtot = S::splat(0);  // double: summed per lane, then across lanes
  for (Index r = 0; r < b; r += S::W) {
    const V s = S::load(sum + r);
    const V w = S::load(wk.w.data() + r);
    const V logs = M::log(s);
    const V ll = S::load(mx + r) + logs;
    if (rowent) {
      const V h = logs - S::load(ent + r) / s;
      for (int i = 0; i < S::W && r + i < wk.rows; ++i) rowent[r + i] = double(h[i] > T(0) ? h[i] : T(0));
    }
    S::store(mx + r, w / s);
    if (sizeof(T) == 8) {
      vtot += w != T(0) ? w * ll : S::splat(0);
    } else {
      for (int i = 0; i < S::W; ++i)
        if (w[i] != 0) tot += double(w[i]) * double(ll[i]);
    }
    if (rowll)
      for (int i = 0; i < S::W && r + i < wk.rows; ++i) rowll[r + i] = double(ll[i]);
  }
  for (Index j = 0; j < k; ++j) {
    T* lj = l + j * b;
    for (Index r = 0; r < b; r += S::W) S::store(lj + r, S::load(lj + r) * S::load(mx + r));
  }
  if (sizeof(T) == 8) tot = double(hsum<T>(vtot));
  return tot;
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
