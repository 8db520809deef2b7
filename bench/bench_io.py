"""Python readers for the benchmark files (formats in bench/data.h)."""
import numpy as np

FULL, DIAG = 0, 1


def read_data(path):
    """Return an (N, D) float64 array (a column-major view of the file's data)."""
    with open(path, "rb") as f:
        n, d = (int(v) for v in np.fromfile(f, dtype="<i8", count=2))
        x = np.fromfile(f, dtype="<f8", count=n * d)
    if x.size != n * d:
        raise IOError(f"short read from {path}")
    return x.reshape(d, n).T


def read_init(path):
    """Return dict(k, d, covtype, weights (K,), means (K, D), covs (K, D, D) or (K, D))."""
    with open(path, "rb") as f:
        k, d, ct = (int(v) for v in np.fromfile(f, dtype="<i8", count=3))
        w = np.fromfile(f, dtype="<f8", count=k)
        m = np.fromfile(f, dtype="<f8", count=d * k).reshape(k, d)
        if ct == FULL:
            c = np.fromfile(f, dtype="<f8", count=d * d * k).reshape(k, d, d)
        else:
            c = np.fromfile(f, dtype="<f8", count=d * k).reshape(k, d)
    return dict(k=k, d=d, covtype=ct, weights=w, means=m, covs=c)
