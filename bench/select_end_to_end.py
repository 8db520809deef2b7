#!/usr/bin/python3
"""End to end, default settings, scikit-learn: the counterpart of bench/select_end_to_end.R.

Usage: /usr/bin/python3 bench/select_end_to_end.py DATA N [FILE]
(use Debian's /usr/bin/python3, which has python3-sklearn; not the pyenv python3.)
  DATA  separated | overlapping (as in bench/select_end_to_end.R)
  N     rows (the first N of the 1e6 that select_end_to_end.R draws once per DATA)
  FILE  optional: the data as written by
            Rscript bench/select_end_to_end.R write DATA N FILE
        (x: n x 5 float64, row-major, little-endian; FILE.labels: int32). Read if it exists
        (its first N rows; a file written with a larger N serves), else written there and
        kept. Without FILE the data are written to a temporary file under
        tempfile.gettempdir() and removed afterwards.
R's RNG draws the data, so they are the same rows the R script fits.

Fits sklearn.mixture.GaussianMixture(n_components=k, covariance_type=c, random_state=1) for
c in full, tied, diag, spherical (mclust's VVV, EEE, VVI, VII: grid "four") x k = 1..9, all
else at sklearn's defaults (init_params="kmeans", n_init=1, tol=1e-3, max_iter=100,
reg_covar=1e-6), and selects the smallest gm.bic(x). Wall and process CPU seconds
(time.process_time, all threads) cover the whole grid including the BIC of each fit.
Appends one line to $BENCH_RESULTS/select_end_to_end.csv (default bench/results) with the
R script's columns (tool = "sklearn", grid = "four"): others_cpu = the machine's busy time
from /proc/stat minus this process's CPU time, over the wall time (cores), as in the R script;
ari = adjusted Rand index of gm.predict(x) of the chosen fit against the true components;
loglik = gm.score(x) * n; bic = -gm.bic(x) (mclust's sign); fits = grid cells tried (as
fastgmm's), failed = those that raised. Threads (os.cpu_count(), the OMP/OPENBLAS/MKL
settings, the pools threadpoolctl sees) and the fits that hit max_iter are printed, not
written to the CSV (its columns are the R script's).
"""
import gc
import os
import subprocess
import sys
import tempfile
import time
import warnings
from decimal import Decimal

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

D = 5
COVS = [("full", "VVV"), ("tied", "EEE"), ("diag", "VVI"), ("spherical", "VII")]
KS = range(1, 10)
HERE = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["tool", "data", "n", "grid", "seconds", "cpu_seconds", "others_cpu", "load1",
           "model", "k", "ari", "loglik", "bic", "fits", "failed", "cpu_model", "date"]


def busy():
    """Busy CPU seconds of the whole machine, as busy() in select_end_to_end.R."""
    with open("/proc/stat") as f:
        v = [float(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def r_num(v):
    """A number as R's write.table writes it (15 significant digits, fixed unless sci is shorter)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "NA"
    d = Decimal("%.15g" % v).normalize()
    fixed = format(d, "f")
    sign, digits, exp = d.as_tuple()
    mant = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    e10 = exp + len(digits) - 1
    sci = "%s%se%s%02d" % ("-" if sign else "", mant, "+" if e10 >= 0 else "-", abs(e10))
    return fixed if len(fixed) <= len(sci) else sci


def r_field(v):
    if v is None:
        return "NA"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    return r_num(v)


def thread_info():
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OMP_", "OPENBLAS_", "MKL_", "BLIS_"))}
    try:
        from threadpoolctl import threadpool_info
        pools = ["%s:%s" % (p.get("internal_api"), p.get("num_threads")) for p in threadpool_info()]
    except Exception:  # threadpoolctl missing
        pools = ["threadpoolctl unavailable"]
    return "cpu_count=%s env=%s pools=%s" % (os.cpu_count(), env or "{}", ",".join(pools) or "none")


def load_data(kind, n, path):
    tmp = None
    if path is None:
        fd, tmp = tempfile.mkstemp(prefix="select_end_to_end_", suffix=".bin",
                                   dir=tempfile.gettempdir())
        os.close(fd)
        path = tmp
    try:
        if tmp is not None or not os.path.exists(path):
            subprocess.run(["Rscript", os.path.join(HERE, "select_end_to_end.R"), "write", kind,
                            str(n), path], check=True)
        x = np.fromfile(path, dtype="<f8")
        lab = np.fromfile(path + ".labels", dtype="<i4")
    finally:
        if tmp is not None:
            for f in (tmp, tmp + ".labels"):
                if os.path.exists(f):
                    os.remove(f)
    if x.size % D or x.size // D != lab.size or lab.size < n:
        sys.exit("%s: %d doubles and %d labels, not at least %d rows of %d columns"
                 % (path, x.size, lab.size, n, D))
    return np.ascontiguousarray(x.reshape(-1, D)[:n]), lab[:n]


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("separated", "overlapping"):
        sys.exit(__doc__)
    kind = sys.argv[1]
    n = int(float(sys.argv[2]))
    x, truth = load_data(kind, n, sys.argv[3] if len(sys.argv) > 3 else None)
    out_dir = os.environ.get("BENCH_RESULTS", "bench/results")

    with open("/proc/loadavg") as f:
        load1 = float(f.read().split()[0])
    gc.collect()
    best = None  # (bic, cov, mclust name, k, fitted model)
    fits = failed = not_converged = 0
    b0, c0, t0 = busy(), time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for cov, name in COVS:
            for k in KS:
                fits += 1
                try:
                    gm = GaussianMixture(n_components=k, covariance_type=cov, random_state=1)
                    gm.fit(x)
                    bic = gm.bic(x)
                except Exception as e:  # a failed fit (e.g. a singular covariance)
                    failed += 1
                    print("%s k=%d failed: %s" % (cov, k, e), file=sys.stderr)
                    continue
                not_converged += not gm.converged_
                if np.isfinite(bic) and (best is None or bic < best[0]):
                    best = (bic, cov, name, k, gm)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    others = max(0.0, (busy() - b0) - cpu) / wall

    if best is None:
        model = k_best = ari = loglik = bic = None
    else:
        bic_min, _, model, k_best, gm = best
        ari = round(adjusted_rand_score(truth, gm.predict(x)), 4)
        loglik = gm.score(x) * n
        bic = -bic_min
    cpu_model = None
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    row = dict(tool="sklearn", data=kind, n=n, grid="four", seconds=round(wall, 2),
               cpu_seconds=round(cpu, 2), others_cpu=round(others, 2), load1=load1,
               model=model, k=k_best, ari=ari, loglik=loglik, bic=bic, fits=fits,
               failed=failed, cpu_model=cpu_model, date=time.strftime("%Y-%m-%dT%H:%M:%S"))

    os.makedirs(out_dir, exist_ok=True)
    f = os.path.join(out_dir, "select_end_to_end.csv")
    new = not os.path.exists(f)
    with open(f, "a") as out:
        if new:
            out.write(",".join('"%s"' % c for c in COLUMNS) + "\n")
        out.write(",".join(r_field(row[c]) for c in COLUMNS) + "\n")
    print(" ".join("%s=%s" % (c, row[c]) for c in COLUMNS))
    print("threads: %s; fits at max_iter (not converged): %d" % (thread_info(), not_converged))


if __name__ == "__main__":
    main()
