// Statistics of a block from its weighted responsibilities R (b x k): the
// shared form (moments about the origin, all components in one product over
// the row features) and the anchored form (moments about each a_j). Both for
// a range of components j0 .. j1 - 1, whose columns of the statistics they
// alone write.
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

// s0[j] += sum of column j of R, for j0 <= j < j1 (R's rows: a multiple of
// row_pad). (Loops on the level's vectors: Eigen's reductions are the
// baseline's, see dispatch.h.)
template <typename T>
void add_col_sums(const Mat<T>& R, Index j0, Index j1, VectorXd& s0) {
  using S = Simd<T>;
  using V = typename S::V;
  const Index b = R.rows();
  for (Index j = j0; j < j1; ++j) {
    const T* r = R.data() + j * b;
    V a0 = S::splat(0), a1 = S::splat(0);
    Index i = 0;
    for (; i + 2 * S::W <= b; i += 2 * S::W) {
      a0 += S::load(r + i);
      a1 += S::load(r + i + S::W);
    }
    for (; i < b; i += S::W) a0 += S::load(r + i);
    s0[j] += double(hsum<T>(a0 + a1));
  }
}

// S (a packed upper triangle) += A' B for A and B (n x d): the triangle only,
// in bands of B's columns c0 .. c0 + w against A's first c0 + w columns (about
// half the products of the square; each entry summed as by one whole atb()).
// C: scratch.
template <typename T>
void add_packed_atb(const T* A, const T* B, Index n, Index d, MatrixXd& C, double* S) {
  C.setZero(d, d);
  for (Index c0 = 0; c0 < d; c0 += tile_j_max) {
    const Index w = std::min<Index>(tile_j_max, d - c0);
    atb<T>(A, n, c0 + w, B + c0 * n, n, w, n, C.data() + c0 * d, d);
  }
  for (Index c = 0; c < d; ++c)
    for (Index i = 0; i <= c; ++i) S[packed(i, c)] += C(i, c);
}

// Adds sum r x, sum r x x' (its packed triangle, diagonal or trace) about the
// origin; st's anchors are the origin (zero). stats_features() must have run
// on the block: the full form reads the features the E-step stored, else
// forms them as it goes.
template <typename T>
void accumulate_shared(ScatterKind kind, const Mat<T>& R, const Work<T>& wk, Scratch<T>& sc,
                       Stats& st, Index j0, Index j1) {
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = X.cols(), g = j1 - j0;
  add_col_sums(R, j0, j1, st.s0);
  if (kind != ScatterKind::Full || quadratic_features(d)) {
    // The products add into s1 and s2 (the features' rows of Y: s2's rows).
    const Index m = st.s2.rows();
    double* s1 = st.s1.data() + j0 * d;
    double* s2 = st.s2.data() + j0 * m;
    atb<T>(X.data(), b, d, R.data() + j0 * b, b, g, b, s1, d);
    if (kind == ScatterKind::Full && wk.features != int(kind)) {
      sc.Z.resize(b, tile_i);
      atb_pairs<T>(X.data(), b, d, R.data() + j0 * b, b, g, b, s2, m, sc.Z.data());
    } else {
      atb<T>(wk.Y.data(), b, m, R.data() + j0 * b, b, g, b, s2, m);
    }
    return;
  }
  // Full, large d: sum r_j x x' = Z' X with Z = r_j x (the rows scaled), with
  // the level's own products (Eigen's would be the baseline's, see dispatch.h).
  atb<T>(X.data(), b, d, R.data() + j0 * b, b, g, b, st.s1.data() + j0 * d, d);
  for (Index j = j0; j < j1; ++j) {
    sc.Z = X.array().colwise() * R.col(j).array();
    add_packed_atb<T>(sc.Z.data(), X.data(), b, d, sc.C, st.s2.col(j).data());
  }
}

// The features the shared form of the statistics reads (before a parallel
// region): stored for the diagonal and trace forms; the full form's are
// formed as they are read, unless the E-step stored them.
template <typename T>
void stats_features(ScatterKind kind, Work<T>& wk) {
  if (kind != ScatterKind::Full) load_features(kind, wk);
}

// Adds sum r (x - a_j), sum r (x - a_j)(x - a_j)' (packed, diagonal or trace),
// with A (d x k) the anchors in T; st's anchors are double(A).
template <typename T>
void accumulate_anchored(ScatterKind kind, const Mat<T>& A, const Mat<T>& R, const Work<T>& wk,
                         Scratch<T>& sc, Stats& st, Index j0, Index j1) {
  using S = Simd<T>;
  using V = typename S::V;
  const Mat<T>& X = wk.X;
  const Index b = X.rows(), d = X.cols();  // b: a multiple of row_pad
  add_col_sums(R, j0, j1, st.s0);
  for (Index j = j0; j < j1; ++j) {
    const T* r = R.data() + j * b;
    switch (kind) {
      case ScatterKind::Full: {
        sc.Z.resize(b, d);
        sc.RZ.resize(b, d);
        for (Index c = 0; c < d; ++c) {  // z = x - a_j, rz = r z
          const T* x = X.data() + c * b;
          T* z = sc.Z.data() + c * b;
          T* rz = sc.RZ.data() + c * b;
          const T a = A(c, j);
          V acc = S::splat(0);
          for (Index i = 0; i < b; i += S::W) {
            const V zi = S::load(x + i) - a;
            const V ri = S::load(r + i) * zi;
            S::store(z + i, zi);
            S::store(rz + i, ri);
            acc += ri;
          }
          st.s1(c, j) += double(hsum<T>(acc));
        }
        add_packed_atb<T>(sc.RZ.data(), sc.Z.data(), b, d, sc.C, st.s2.col(j).data());
        break;
      }
      case ScatterKind::Diag:
      case ScatterKind::Trace: {  // per column (Diag) or summed over the columns (Trace)
        const bool diag = kind == ScatterKind::Diag;
        V a2 = S::splat(0);
        for (Index c = 0; c < d; ++c) {
          const T* x = X.data() + c * b;
          const T a = A(c, j);
          V a1 = S::splat(0);
          if (diag) a2 = S::splat(0);
          for (Index i = 0; i < b; i += S::W) {
            const V zi = S::load(x + i) - a;
            const V rz = S::load(r + i) * zi;
            a1 += rz;
            a2 += rz * zi;
          }
          st.s1(c, j) += double(hsum<T>(a1));
          if (diag) st.s2(c, j) += double(hsum<T>(a2));
        }
        if (!diag) st.s2(0, j) += double(hsum<T>(a2));
        break;
      }
    }
  }
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
