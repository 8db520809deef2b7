#!/usr/bin/env Rscript
# mclust anchor: seconds per EM iteration of mclust::me() (meVVV / meVVI / meV).
#
# Usage: OMP_NUM_THREADS=2 Rscript bench/mclust_bench.R DATADIR CASE [E_LO E_HI [REPS]]
#
# Same data and starting parameters as the other anchors (bench/gen_data.py); the files are
# read with readBin (formats in bench/data.h). mclust's EM starts with an M-step from z, so
# the starting z is the E-step of the fixed starting parameters theta0:
#   z0  <- mclust::estep(data = X, modelName = M, parameters = theta0)$z   (not timed)
#   fit <- mclust::me(data = X, modelName = M, z = z0,
#                     control = emControl(tol = c(0, 0), itmax = c(E, .Machine$integer.max)),
#                     warn = FALSE)
# with M = "VVV" (full), "VVI" (diag) or "V" (1-D). E M-steps from z0 give the same parameters
# as E EM iterations from theta0 in the other tools, and me()'s loglik is that of the
# returned parameters, so loglik_final is comparable across tools. tol = 0: the Fortran loop
# stops only when the relative log-likelihood change is exactly 0 (checked: iterations run
# are reported). Timing: elapsed time of me(), sec_per_iter = (t(E_HI) - t(E_LO)) / (E_HI -
# E_LO), minimum over REPS; me()'s copies of X and z and its post-processing cancel.
# mclust's EM is serial Fortran (+ reference BLAS level 1/2 calls here): one core.
#
# Prints one CSV line:
#   tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,cpu_per_iter
# (cpu_per_iter: the same difference in process CPU seconds, user + system.)
suppressPackageStartupMessages(library(mclust))

source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE)[1])),
                 "read_bench_data.R"))

# theta0 in mclust's parameter layout
mclust_params <- function(init) {
  k <- init$k; d <- init$d
  if (d == 1L) {
    model <- "V"
    v <- as.vector(init$covs)
    variance <- list(modelName = "V", d = 1L, G = k, sigmasq = v, scale = v)
    mean <- as.vector(init$means)
  } else if (init$covtype == "full") {
    model <- "VVV"
    chols <- array(apply(init$covs, 3, chol), c(d, d, k))
    variance <- list(modelName = "VVV", d = d, G = k, sigma = init$covs, cholsigma = chols)
    mean <- init$means
  } else {
    model <- "VVI"
    scale <- apply(init$covs, 2, function(v) exp(mean(log(v))))
    shape <- sweep(init$covs, 2, scale, "/")
    sigma <- array(0, c(d, d, k))
    for (g in seq_len(k)) diag(sigma[, , g]) <- init$covs[, g]
    variance <- list(modelName = "VVI", d = d, G = k, sigma = sigma, scale = scale,
                     shape = shape)
    mean <- init$means
  }
  list(model = model, parameters = list(pro = init$weights, mean = mean, variance = variance))
}

main <- function(args) {
  if (length(args) < 2L) stop("usage: mclust_bench.R DATADIR CASE [E_LO E_HI [REPS]]")
  ddir <- args[1]; case <- args[2]
  e_lo <- if (length(args) > 2L) as.integer(args[3]) else 10L
  e_hi <- if (length(args) > 3L) as.integer(args[4]) else 20L
  reps <- if (length(args) > 4L) as.integer(args[5]) else 1L

  X <- read_data(file.path(ddir, paste0(case, ".data.bin")))
  init <- read_init(file.path(ddir, paste0(case, ".init.bin")))
  if (ncol(X) == 1L) X <- as.vector(X)
  p <- mclust_params(init)
  es <- mclust::estep(data = X, modelName = p$model, parameters = p$parameters, warn = FALSE)
  if (is.na(es$loglik)) stop("estep failed on the starting parameters")
  z0 <- es$z
  rm(es)

  fit_once <- function(e) {
    ctl <- emControl(tol = c(0, 0), itmax = c(e, .Machine$integer.max))
    invisible(gc())
    st <- system.time(fit <- mclust::me(data = X, modelName = p$model, z = z0,
                                        control = ctl, warn = FALSE))
    list(t = st[["elapsed"]], cpu = st[["user.self"]] + st[["sys.self"]], fit = fit,
         iters = abs(attr(fit, "info")[["iterations"]]))
  }
  t_lo <- t_hi <- c_lo <- c_hi <- Inf
  for (r in seq_len(reps)) {
    a <- fit_once(e_lo)
    b <- fit_once(e_hi)
    t_lo <- min(t_lo, a$t); t_hi <- min(t_hi, b$t)
    c_lo <- min(c_lo, a$cpu); c_hi <- min(c_hi, b$cpu)
    message(sprintf("mclust %s rep %d: t(%d)=%.3fs [%d it], t(%d)=%.3fs [%d it]", case, r - 1L,
                    e_lo, a$t, a$iters, e_hi, b$t, b$iters))
  }
  if (is.na(b$fit$loglik)) message("WARNING: mclust fit failed: ", attr(b$fit, "WARNING"))
  if (a$iters != e_lo || b$iters != e_hi)
    message("WARNING: mclust did not run the requested iterations")
  spi <- (t_hi - t_lo) / (b$iters - a$iters)
  threads <- Sys.getenv("OMP_NUM_THREADS", "1")
  cat(sprintf("mclust,%s,%s,%.10g,%.10g,%d,%d,%.10g,%.10g,%d,%d,%.10g\n", case, threads, spi,
              b$fit$loglik, e_lo, e_hi, t_lo, t_hi, a$iters, b$iters,
              (c_hi - c_lo) / (b$iters - a$iters)))
}

main(commandArgs(trailingOnly = TRUE))
