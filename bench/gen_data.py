#!/usr/bin/python3
"""Deterministic benchmark data for fastgmm and the anchor tools.

Writes, for each case, into OUTDIR:
  <case>.data.bin   int64 N, int64 D, then N*D float64, column-major N x D
  <case>.init.bin   int64 K, int64 D, int64 covtype (0 full, 1 diag),
                    weights[K], means[D*K] (column-major D x K),
                    covariances (full: D*D*K; diag: D*K variances)
Formats are documented in bench/data.h; readers: data.h (C++), bench_io.py, mclust_bench.R.

Usage: /usr/bin/python3 bench/gen_data.py OUTDIR [--n N] [--cases full,diag,uni]

Cases (N defaults to 1e6):
  full_1e6x10_k10  D=10, K=10, full covariances (random orientations, eigenvalues 0.3..2),
                   means ~ N(0, 3^2) per coordinate (well separated, ~13 sd apart).
  diag_1e6x50_k20  D=50, K=20, diagonal covariances (variances 0.3..2),
                   means ~ N(0, 2^2) per coordinate (~20 sd apart).
  uni_1e6x1_k4     D=1, means 0,5,10,3, sds 1,1,1,0.5, weights .3,.3,.3,.1.
Starting parameters (identical for all tools):
  full/diag: means = the first K rows of the data (random points, so some true clusters
             start with two means and some with none: EM keeps moving for many iterations,
             which keeps the tools from stopping early), covariances = identity,
             weights = 1/K.
  uni:       means -1,-3,11,4, variances 1, weights 1/4.
Seeds are fixed (numpy PCG64 via default_rng), so the files are reproducible.
"""
import argparse
import os
import sys

import numpy as np

FULL, DIAG = 0, 1


def write_data(path, x):
    n, d = x.shape
    with open(path, "wb") as f:
        np.array([n, d], dtype="<i8").tofile(f)
        # x.T in C order == x in column-major order
        np.ascontiguousarray(x.T, dtype="<f8").tofile(f)


def write_init(path, weights, means, covs, covtype):
    """weights (K,), means (K, D), covs (K, D, D) for full or (K, D) for diag."""
    k, d = means.shape
    with open(path, "wb") as f:
        np.array([k, d, covtype], dtype="<i8").tofile(f)
        np.asarray(weights, dtype="<f8").tofile(f)
        # column-major D x K == row-major K x D
        np.ascontiguousarray(means, dtype="<f8").tofile(f)
        # full: D x D x K column-major: component k's matrix contiguous (symmetric, so
        # row/column order inside it does not matter); diag: D x K column-major
        np.ascontiguousarray(covs, dtype="<f8").tofile(f)


def sample_mixture(rng, n, weights, means, chols):
    k, d = means.shape
    labels = rng.choice(k, size=n, p=weights)
    x = np.empty((n, d))
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        z = rng.standard_normal((idx.size, d))
        x[idx] = means[j] + z @ chols[j].T
    return x, labels


def random_spd(rng, d, lo=0.3, hi=2.0):
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    ev = rng.uniform(lo, hi, d)
    return (q * ev) @ q.T


def case_full(rng, n):
    d, k = 10, 10
    weights = rng.dirichlet(np.full(k, 5.0))
    means = rng.normal(0.0, 3.0, (k, d))
    covs = np.stack([random_spd(rng, d) for _ in range(k)])
    chols = np.linalg.cholesky(covs)
    x, _ = sample_mixture(rng, n, weights, means, chols)
    init = (np.full(k, 1.0 / k), x[:k].copy(), np.stack([np.eye(d)] * k), FULL)
    return x, init


def case_diag(rng, n):
    d, k = 50, 20
    weights = rng.dirichlet(np.full(k, 5.0))
    means = rng.normal(0.0, 2.0, (k, d))
    variances = rng.uniform(0.3, 2.0, (k, d))
    chols = np.stack([np.diag(np.sqrt(v)) for v in variances])
    x, _ = sample_mixture(rng, n, weights, means, chols)
    init = (np.full(k, 1.0 / k), x[:k].copy(), np.ones((k, d)), DIAG)
    return x, init


def case_uni(rng, n):
    weights = np.array([0.3, 0.3, 0.3, 0.1])
    means = np.array([[0.0], [5.0], [10.0], [3.0]])
    sds = np.array([1.0, 1.0, 1.0, 0.5])
    chols = sds.reshape(4, 1, 1)
    x, _ = sample_mixture(rng, n, weights, means, chols)
    init = (np.full(4, 0.25), np.array([[-1.0], [-3.0], [11.0], [4.0]]), np.ones((4, 1)), DIAG)
    return x, init


CASES = {
    "full": ("full_1e6x10_k10", case_full, 20240601),
    "diag": ("diag_1e6x50_k20", case_diag, 20240602),
    "uni": ("uni_1e6x1_k4", case_uni, 20240603),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--n", type=int, default=1_000_000, help="rows per case (default 1e6)")
    ap.add_argument("--cases", default="full,diag,uni")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for key in a.cases.split(","):
        name, fun, seed = CASES[key]
        rng = np.random.default_rng(seed)
        x, (w, m, c, ct) = fun(rng, a.n)
        write_data(os.path.join(a.outdir, name + ".data.bin"), x)
        write_init(os.path.join(a.outdir, name + ".init.bin"), w, m, c, ct)
        print(f"{name}: N={x.shape[0]} D={x.shape[1]} K={m.shape[0]} "
              f"covtype={'full' if ct == FULL else 'diag'} checksum={x.sum():.6f}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
