#!/usr/bin/env Rscript
# fastgmm: seconds per EM iteration of gmm() on the anchors' data and starts (plain EM,
# accelerate = FALSE, as the anchors run it, so the log-likelihoods match theirs).
#
# Usage: Rscript bench/fastgmm_bench.R DATADIR CASE [E_LO E_HI [REPS [THREADS]]]
#
# Same data files, starting parameters and timing method as the anchors
# (bench/README.md): sec_per_iter = (t(E_HI) - t(E_LO)) / (E_HI - E_LO) of whole
# gmm() calls with tol = 0, so validation, the start and the final
# classification pass cancel. The kernel variant is chosen (timed and cached)
# by a warm-up call before timing. Threads: "1,2" by default.
# Prints one CSV line per (threads, precision), in the anchors' columns:
#   tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,cpu_per_iter
suppressPackageStartupMessages(library(fastgmm))
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE)[1])),
                 "read_bench_data.R"))

main <- function(args) {
  if (length(args) < 2L) stop("usage: fastgmm_bench.R DATADIR CASE [E_LO E_HI [REPS [THREADS]]]")
  ddir <- args[1]; case <- args[2]
  e_lo <- if (length(args) > 2L) as.integer(args[3]) else 10L
  e_hi <- if (length(args) > 3L) as.integer(args[4]) else 20L
  reps <- if (length(args) > 4L) as.integer(args[5]) else 2L
  threads <- if (length(args) > 5L) as.integer(strsplit(args[6], ",")[[1]]) else c(1L, 2L)

  X <- read_data(file.path(ddir, paste0(case, ".data.bin")))
  init <- read_init(file.path(ddir, paste0(case, ".init.bin")))
  k <- init$k
  covariance <- if (init$d == 1L) "full" else init$covtype
  start <- list(means = t(init$means), proportions = init$weights,
                covariances = if (init$covtype == "full") init$covs else t(init$covs))

  for (th in threads) for (precision in c("double", "single")) {
    fit_once <- function(e) {
      invisible(gc())
      st <- system.time(fit <- gmm(X, k, covariance = covariance, init = start, max_iter = e,
                                   tol = 0, reg_covar = 1e-6, threads = th,
                                   control = gmm_control(reg_covar_type = "absolute",
                                                         precision = precision,
                                                         accelerate = FALSE)))
      list(t = st[["elapsed"]], cpu = st[["user.self"]] + st[["sys.self"]], fit = fit)
    }
    invisible(fit_once(0L))  # chooses and caches the kernel variant
    t_lo <- t_hi <- c_lo <- c_hi <- Inf
    for (r in seq_len(reps)) {
      a <- fit_once(e_lo)
      b <- fit_once(e_hi)
      t_lo <- min(t_lo, a$t); t_hi <- min(t_hi, b$t)
      c_lo <- min(c_lo, a$cpu); c_hi <- min(c_hi, b$cpu)
    }
    message(sprintf("fastgmm %s threads=%d %s: variant %s", case, th, precision, b$fit$control$variant))
    cat(sprintf("fastgmm-%s,%s,%d,%.10g,%.10g,%d,%d,%.10g,%.10g,%d,%d,%.10g\n", precision, case, th,
                (t_hi - t_lo) / (e_hi - e_lo), b$fit$loglik, e_lo, e_hi, t_lo, t_hi,
                a$fit$iterations, b$fit$iterations, (c_hi - c_lo) / (e_hi - e_lo)))
  }
}

main(commandArgs(trailingOnly = TRUE))
