#!/usr/bin/env Rscript
# Seconds per EM iteration of gmm() against N (1e4 .. 1e7) and threads (1, 2),
# full model, d = 10, k = 10, fixed start; (t(E_HI) - t(E_LO)) / (E_HI - E_LO).
#   Rscript bench/scaling.R > bench/results/scaling.csv
suppressPackageStartupMessages(library(fastgmm))
set.seed(42)
d <- 10; k <- 10
centres <- matrix(rnorm(k * d, sd = 3), k, d)
cat("n,threads,precision,sec_per_iter,rows_per_sec\n")
for (n in c(1e4, 1e5, 1e6, 1e7)) {
  x <- centres[sample(k, n, TRUE), ] + matrix(rnorm(n * d), n, d)
  start <- list(means = x[seq_len(k), ], covariances = array(diag(d), c(d, d, k)))
  e_lo <- 5; e_hi <- if (n <= 1e5) 45 else 15
  for (threads in 1:2) for (precision in c("double", "single")) {
    run <- function(e) system.time(gmm(x, k, init = start, max_iter = e, tol = 0, threads = threads,
                                       precision = precision))[["elapsed"]]
    invisible(run(0))
    t_lo <- min(run(e_lo), run(e_lo), run(e_lo)); t_hi <- min(run(e_hi), run(e_hi), run(e_hi))
    spi <- (t_hi - t_lo) / (e_hi - e_lo)
    cat(sprintf("%g,%d,%s,%.6g,%.4g\n", n, threads, precision, spi, n / spi))
  }
  rm(x); invisible(gc())
}
