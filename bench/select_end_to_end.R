#!/usr/bin/env Rscript
# End to end, default settings: the time to a selected, converged model, and which model.
#   Rscript bench/select_end_to_end.R TOOL DATA N [MODELS]
#     TOOL    fastgmm | mclust
#     DATA    separated (5 components in d = 5, centres >= 4 sd apart, the issue's example)
#             | overlapping (5 components in d = 5, centres >= 2 sd apart, shared random
#             covariance shapes)
#     N       rows (the first N of 1e6 drawn once per DATA)
#     MODELS  all (mclust's 14, the default) | four (VVV, EEE, VVI, VII: the old default grid)
# fastgmm: gmm_select(x, k = 1:9, covariance = MODELS, seed = 1) with everything else at its
# defaults (threads: all cores). mclust: Mclust(x, G = 1:9, modelNames = MODELS) with its
# defaults (hc on a random subset of 2000 rows for n > 2000, drawn after set.seed(1)).
# Appends one line to $BENCH_RESULTS/select_end_to_end.csv (default bench/results): wall and
# CPU seconds, the other processes' CPU use during the run (cores), the chosen model and k,
# the adjusted Rand index against the true components, loglik and BIC (mclust's sign).
# scikit-learn's GaussianMixture over the same grid: bench/select_end_to_end.py.
#   Rscript bench/select_end_to_end.R write DATA N FILE   writes the first N rows of DATA for it and
# exits: x to FILE (n x 5 float64, row-major, little-endian, no header), the true components to
# FILE.labels (int32, 1..5).
suppressPackageStartupMessages({
  library(fastgmm)
  library(mclust)
})
options(fastgmm.cache = FALSE)
args <- commandArgs(TRUE)
tool <- args[1]
kind <- args[2]
n <- as.numeric(args[3])
models <- if (length(args) > 3 && args[4] == "four") c("VVV", "EEE", "VVI", "VII") else mclust.options("emModelNames")
grid <- if (length(args) > 3) args[4] else "all"
out_dir <- Sys.getenv("BENCH_RESULTS", "bench/results")

mixture <- function(kind, n = 1e6, d = 5, k = 5) {
  set.seed(if (kind == "separated") 11 else 12)
  sep <- if (kind == "separated") 4 else 2
  means <- matrix(NA, 0, d)
  box <- sep * k^(1 / d) * 1.2
  while (nrow(means) < k) {
    m <- runif(d, -box, box)
    if (!nrow(means) || min(sqrt(colSums((t(means) - m)^2))) >= sep) means <- rbind(means, m)
  }
  lab <- sample(k, n, TRUE, prob = c(0.3, 0.25, 0.2, 0.15, 0.1))
  x <- matrix(rnorm(n * d), n)
  if (kind == "overlapping") {
    # each component its own covariance: a random rotation and axis scales in [0.5, 1.5]
    for (j in seq_len(k)) {
      q <- qr.Q(qr(matrix(rnorm(d * d), d)))
      r <- which(lab == j)
      x[r, ] <- x[r, , drop = FALSE] %*% (diag(runif(d, 0.5, 1.5)) %*% t(q))
    }
  }
  list(x = x + means[lab, , drop = FALSE], labels = lab)
}

busy <- function() {
  l <- strsplit(readLines("/proc/stat", n = 1L), " +")[[1L]][-1L]
  v <- as.numeric(l)
  (sum(v) - v[4] - v[5]) / 100   # USER_HZ = 100 on Linux
}
cpu_self <- function() {
  p <- proc.time()
  sum(p[c("user.self", "sys.self", "user.child", "sys.child")], na.rm = TRUE)
}

s <- mixture(kind)
x <- s$x[seq_len(n), ]
truth <- s$labels[seq_len(n)]
if (tool == "write") {
  writeBin(as.vector(t(x)), args[4], endian = "little")
  writeBin(as.integer(truth), paste0(args[4], ".labels"), size = 4L, endian = "little")
  quit(save = "no")
}
load1 <- as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1L]][1L])
gc()
b0 <- busy(); c0 <- cpu_self(); t0 <- Sys.time()
if (tool == "fastgmm") {
  sel <- gmm_select(x, k = 1:9, covariance = models, seed = 1)
  model <- sel$best$covariance; k <- sel$best$k
  cls <- sel$best$classification
  loglik <- sel$best$loglik; bic <- -BIC(sel$best)
  fits <- nrow(sel$table); failed <- sum(!is.na(sel$table$error))
} else {
  set.seed(1)
  sub <- if (n > 2000) sample(n, 2000) else seq_len(n)
  m <- Mclust(x, G = 1:9, modelNames = models, initialization = list(subset = sub),
              verbose = FALSE)
  model <- m$modelName; k <- m$G
  cls <- m$classification
  loglik <- m$loglik; bic <- m$bic
  fits <- sum(!is.na(m$BIC)); failed <- sum(is.na(m$BIC))
}
wall <- as.numeric(Sys.time() - t0, units = "secs")
cpu <- cpu_self() - c0
others <- max(0, (busy() - b0) - cpu) / wall
row <- data.frame(tool = tool, data = kind, n = n, grid = grid, seconds = round(wall, 2),
                  cpu_seconds = round(cpu, 2), others_cpu = round(others, 2), load1 = load1,
                  model = model, k = k, ari = round(adjustedRandIndex(cls, truth), 4),
                  loglik = loglik, bic = bic, fits = fits, failed = failed,
                  cpu_model = sub("^model name\\s*:\\s*", "",
                                  grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1]),
                  date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S"))
f <- file.path(out_dir, "select_end_to_end.csv")
write.table(row, f, sep = ",", row.names = FALSE, col.names = !file.exists(f), append = file.exists(f))
print(row)
