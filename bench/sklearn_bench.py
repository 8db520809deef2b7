#!/usr/bin/python3
"""scikit-learn anchor: seconds per EM iteration of sklearn.mixture.GaussianMixture.

Usage: OMP_NUM_THREADS=2 /usr/bin/python3 bench/sklearn_bench.py DATADIR CASE [E_LO E_HI [REPS]]
(use Debian's /usr/bin/python3, which has python3-sklearn; not the pyenv python3.)

Same data and starting parameters as the other anchors (bench/gen_data.py). Each fit is
  GaussianMixture(n_components=K, covariance_type=<full|diag>, tol=0, reg_covar=1e-6,
                  max_iter=E, n_init=1, init_params="random_from_data",
                  weights_init=w0, means_init=mu0, precisions_init=inv(Sigma0),
                  random_state=0).fit(X)
with X a C-contiguous (N, D) float64 array (converted once, outside the timing).
tol=0 means the convergence test `abs(change) < tol` never fires, so exactly E iterations
run (checked via n_iter_). The initial responsibilities drawn by init_params are overridden
by the *_init arguments; their cost, input validation and the final E-step are fixed costs
that cancel in sec_per_iter = (t(E_HI) - t(E_LO)) / (E_HI - E_LO) (minimum over REPS).
The 1-D case uses covariance_type="diag". loglik_final = score(X) * N for the E_HI fit:
the total log-likelihood of the returned parameters.

Prints one CSV line:
  tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,cpu_per_iter
(cpu_per_iter: the same difference in process CPU seconds, all threads together.)
threads = the most threads any BLAS/OpenMP pool loaded by numpy/sklearn will use
(threadpoolctl); with Debian's reference BLAS that is 1: numpy and sklearn's GMM code run
on one core whatever OMP_NUM_THREADS says.
"""
import gc
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

from bench_io import FULL, read_data, read_init  # noqa: E402


def effective_threads():
    try:
        from threadpoolctl import threadpool_info
        info = threadpool_info()
        return max([1] + [p.get("num_threads", 1) for p in info])
    except Exception:  # threadpoolctl missing: report the setting
        return int(os.environ.get("OMP_NUM_THREADS", "1"))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    ddir, case = sys.argv[1], sys.argv[2]
    e_lo = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    e_hi = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    reps = int(sys.argv[5]) if len(sys.argv) > 5 else 1

    X = np.ascontiguousarray(read_data(os.path.join(ddir, case + ".data.bin")))
    init = read_init(os.path.join(ddir, case + ".init.bin"))
    k = init["k"]
    if init["covtype"] == FULL:
        cov_type = "full"
        prec = np.linalg.inv(init["covs"])
    else:
        cov_type = "diag"
        prec = 1.0 / init["covs"]

    def fit(e):
        gm = GaussianMixture(n_components=k, covariance_type=cov_type, tol=0.0, reg_covar=1e-6,
                             max_iter=e, n_init=1, init_params="random_from_data",
                             weights_init=init["weights"], means_init=init["means"],
                             precisions_init=prec, random_state=0)
        gc.collect()
        c0 = time.process_time()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)
        t1 = time.perf_counter()
        c1 = time.process_time()
        return t1 - t0, c1 - c0, gm

    t_lo = t_hi = c_lo = c_hi = float("inf")
    for r in range(reps):
        a, ca, gm_lo = fit(e_lo)
        b, cb, gm_hi = fit(e_hi)
        t_lo, t_hi = min(t_lo, a), min(t_hi, b)
        c_lo, c_hi = min(c_lo, ca), min(c_hi, cb)
        print(f"sklearn {case} rep {r}: t({e_lo})={a:.4f}s [{gm_lo.n_iter_} it], "
              f"t({e_hi})={b:.4f}s [{gm_hi.n_iter_} it]; cpu {ca:.3f}s, {cb:.3f}s", file=sys.stderr)
    it_lo, it_hi = gm_lo.n_iter_, gm_hi.n_iter_
    if it_lo != e_lo or it_hi != e_hi:
        print("WARNING: sklearn did not run the requested iterations", file=sys.stderr)
    loglik = gm_hi.score(X) * X.shape[0]
    spi = (t_hi - t_lo) / (it_hi - it_lo)
    print(f"sklearn,{case},{effective_threads()},{spi:.10g},{loglik:.10g},"
          f"{e_lo},{e_hi},{t_lo:.10g},{t_hi:.10g},{it_lo},{it_hi},"
          f"{(c_hi - c_lo) / (it_hi - it_lo):.10g}")


if __name__ == "__main__":
    main()
