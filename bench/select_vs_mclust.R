#!/usr/bin/env Rscript
# Model selection over mclust's grid (14 covariance models x k = 1:9): fastgmm's gmm_select()
# (its defaults: shared k-means++ starts, threads = 2) against mclust's Mclust() (its
# defaults), on simulated mixtures of 1e4, 1e5 and 1e6 rows in d = 5 and 10 dimensions.
#
#   Rscript bench/select_vs_mclust.R TOOL N D [GRID] [REP]
#     TOOL  fastgmm | mclust
#     GRID  full (14 models x k = 1:9, the default) | reduced (k = 4, models EII VVI EEE VVV:
#           the cells timed for mclust where the full grid takes hours; see bench/README.md)
#   appends one CSV line to $BENCH_RESULTS/select_vs_mclust.csv (default bench/results) and
#   saves the whole BIC table to $FASTGMM_BENCH_DIR/select/ (default /tmp/fastgmm-bench).
#
# Data: a mixture of 4 Gaussians in d dimensions (means ~ N(0, 3^2) per coordinate, random
# full covariances with eigenvalues in [0.3, 2], proportions 0.4, 0.3, 0.2, 0.1), 1e6 rows
# drawn once per d with set.seed(d); the n-row data set is the first n rows.
#
# mclust: Mclust(x) with its defaults. For n > 2000 (every case here) Mclust() runs its
# hierarchical-clustering initialisation on a random subset of 2000 rows
# (mclust.options("subset"), its documented subset initialisation; hc on all rows needs
# n^2 / 2 doubles: 4e11 bytes at n = 1e6); the subset is drawn after set.seed(1) and passed
# explicitly, initialization = list(subset = ...), which is what the default does.
#
# Load: the CPU time other processes used during the run (from /proc/stat busy time minus
# this process's own CPU time), in cores, is recorded as others_cpu, with the 1-minute load
# average before the run.
suppressPackageStartupMessages({
  library(fastgmm)
  library(mclust)
})

args <- commandArgs(TRUE)
if (length(args) < 3L) stop("usage: select_vs_mclust.R TOOL N D [GRID] [REP]")
tool <- args[1]
n <- as.numeric(args[2])
d <- as.integer(args[3])
grid <- if (length(args) > 3L) args[4] else "full"
rep <- if (length(args) > 4L) as.integer(args[5]) else 1L
scratch <- file.path(Sys.getenv("FASTGMM_BENCH_DIR", "/tmp/fastgmm-bench"), "select")
results <- Sys.getenv("BENCH_RESULTS", "bench/results")
dir.create(scratch, recursive = TRUE, showWarnings = FALSE)
# fastgmm times its kernel variants once per problem shape and caches the winner on disk (as
# for any user); the cache lives in the scratch directory, which select_vs_mclust.sh empties
# first: the first repetition of each case runs with a cold cache, the others warm.
options(fastgmm.cache = TRUE, fastgmm.cache_dir = file.path(scratch, "cache"))
cache <- if (file.exists(file.path(scratch, "cache", "cpu-variants.csv"))) "warm" else "cold"

bench_data <- function(d, n_max = 1e6, k = 4) {
  f <- file.path(scratch, sprintf("data_d%d.rds", d))
  if (file.exists(f)) return(readRDS(f))
  set.seed(d)
  means <- matrix(rnorm(k * d, sd = 3), k, d)
  covs <- lapply(seq_len(k), function(j) {
    Q <- qr.Q(qr(matrix(rnorm(d * d), d)))
    Q %*% diag(runif(d, 0.3, 2)) %*% t(Q)
  })
  lab <- sample.int(k, n_max, replace = TRUE, prob = c(0.4, 0.3, 0.2, 0.1))
  x <- matrix(0, n_max, d)
  for (j in seq_len(k)) {
    i <- which(lab == j)
    x[i, ] <- sweep(matrix(rnorm(length(i) * d), ncol = d) %*% chol(covs[[j]]), 2, means[j, ], "+")
  }
  colnames(x) <- paste0("x", seq_len(d))
  saveRDS(x, f)
  x
}

busy <- function() {
  v <- as.numeric(strsplit(readLines("/proc/stat", 1L), " +")[[1L]][2:9])
  c(busy = sum(v) - v[4] - v[5], total = sum(v))
}
hz <- 100   # USER_HZ on Linux

x <- bench_data(d)[seq_len(n), , drop = FALSE]
ks <- if (grid == "full") 1:9 else 4L
models <- if (grid == "full") c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE",
                                 "VVE", "EEV", "VEV", "EVV", "VVV") else c("EII", "VVI", "EEE", "VVV")
load1 <- as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1L]][1L])
b0 <- busy()
c0 <- sum(proc.time()[c("user.self", "sys.self")])
t0 <- proc.time()[["elapsed"]]
if (tool == "fastgmm") {
  res <- withCallingHandlers(gmm_select(x, k = ks, covariance = models, seed = 1, threads = 2),
                             fastgmm_not_converged = function(w) invokeRestart("muffleWarning"))
} else {
  set.seed(1)
  res <- Mclust(x, G = ks, modelNames = models, verbose = FALSE,
                initialization = list(subset = sample.int(nrow(x), 2000)))
}
secs <- proc.time()[["elapsed"]] - t0
cpu <- sum(proc.time()[c("user.self", "sys.self")]) - c0
b1 <- busy()
others <- max(0, ((b1[["busy"]] - b0[["busy"]]) / hz - cpu) / secs)

if (tool == "fastgmm") {
  tab <- res$table
  best <- res$best
  out <- data.frame(model = best$covariance, k = best$k, loglik = best$loglik, bic = best$bic,
                    fits = nrow(tab), failed = sum(!is.na(tab$error)),
                    not_converged = sum(tab$converged %in% FALSE))
} else {
  b <- res$BIC
  tab <- data.frame(k = rep(as.integer(rownames(b)), ncol(b)), covariance = rep(colnames(b), each = nrow(b)),
                    bic = -as.vector(b), stringsAsFactors = FALSE)
  out <- data.frame(model = res$modelName, k = res$G, loglik = res$loglik, bic = -res$bic,
                    fits = length(b), failed = sum(is.na(b)), not_converged = NA)
}
saveRDS(tab, file.path(scratch, sprintf("%s_n%g_d%d_%s_rep%d.rds", tool, n, d, grid, rep)))
line <- data.frame(tool = tool, n = n, d = d, grid = grid, rep = rep,
                   cache = if (tool == "fastgmm") cache else NA, seconds = round(secs, 2),
                   cpu_seconds = round(cpu, 2), others_cpu = round(others, 2), load1 = load1, out,
                   date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S"))
f <- file.path(results, "select_vs_mclust.csv")
write.table(line, f, sep = ",", row.names = FALSE, col.names = !file.exists(f), append = file.exists(f),
            quote = FALSE)
print(line)
