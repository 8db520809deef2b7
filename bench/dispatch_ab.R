#!/usr/bin/env Rscript
# CPU seconds per EM iteration on one thread, for an A/B of builds or levels
# (bench/README.md, "CPU instruction-set levels"): (cpu(E) - cpu(0)) / E of
# gmm() calls from the anchors' start, the minimum over REPS; process CPU
# time, far less sensitive to other load than wall time. The kernel variant
# is pinned (gemm, what the selector picks for both anchors here).
#   Rscript bench/dispatch_ab.R DATADIR CASE [E [REPS]]
# Prints: level,case,precision,cpu_per_iter,loglik
suppressPackageStartupMessages(library(fastgmm))
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE)[1])),
                 "read_bench_data.R"))
args <- commandArgs(TRUE)
ddir <- args[1]; case <- args[2]
e <- if (length(args) > 2L) as.integer(args[3]) else 10L
reps <- if (length(args) > 3L) as.integer(args[4]) else 2L
X <- read_data(file.path(ddir, paste0(case, ".data.bin")))
init <- read_init(file.path(ddir, paste0(case, ".init.bin")))
start <- list(means = t(init$means), proportions = init$weights,
              covariances = if (init$covtype == "full") init$covs else t(init$covs))
lv <- gmm_cpu_levels()
for (prec in c("double", "single")) {
  run <- function(iters) {
    fit <- NULL
    t <- system.time(fit <- gmm(X, init$k, covariance = init$covtype, init = start,
                                max_iter = iters, tol = 0, reg_covar = 1e-6, threads = 1,
                                control = gmm_control(precision = prec, variant = "gemm",
                                                      reg_covar_type = "absolute")))
    list(cpu = t[["user.self"]] + t[["sys.self"]], loglik = fit$loglik)
  }
  invisible(run(1L))
  best <- Inf
  for (r in seq_len(reps)) {
    a <- run(0L)
    b <- run(e)
    best <- min(best, (b$cpu - a$cpu) / e)
  }
  cat(sprintf("%s,%s,%s,%.4f,%.10g\n", lv$level[lv$active], case, prec, best, b$loglik))
}
