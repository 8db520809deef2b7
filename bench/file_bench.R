#!/usr/bin/env Rscript
# Fits from a binary file on disk against the same rows in memory: seconds per pass and
# the process's peak resident memory (VmHWM, whole R process included).
#   Rscript bench/file_bench.R gen  N PATH      # writes N x 10 rows (a 10-component mixture)
#   Rscript bench/file_bench.R file N PATH [E]  # gmm(gmm_file(PATH, 10), 10), E passes
#   Rscript bench/file_bench.R mem  N PATH [E]  # the same rows read into memory first
# Each fit: full covariance, k = 10, init = "random_from_data", seed 1, tol = 0 (exactly E
# passes, plain EM), threads = 2. Appends to $BENCH_RESULTS/file.csv (default bench/results):
# wall and CPU seconds per pass (E-step time from fit$timings over the passes), VmHWM in MB,
# the load, and the log-likelihood (equal for file and memory).
suppressPackageStartupMessages(library(fastgmm))
options(fastgmm.cache = FALSE)
args <- commandArgs(TRUE)
what <- args[1]
n <- as.numeric(args[2])
path <- args[3]
passes <- if (length(args) > 3) as.integer(args[4]) else 5L
d <- 10L
k <- 10L

if (what == "gen") {
  set.seed(1)
  means <- matrix(rnorm(k * d, sd = 4), k, d)
  chunk <- 1e6
  unlink(path)
  for (first in seq(1, n, by = chunk)) {
    m <- min(chunk, n - first + 1)
    lab <- sample(k, m, TRUE)
    gmm_write(means[lab, , drop = FALSE] + matrix(rnorm(m * d), m), path, append = first > 1)
  }
  cat(sprintf("wrote %s: %.0f rows, %.2f GB\n", path, n, file.size(path) / 1e9))
  quit(status = 0)
}

vm_hwm <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(sub("[^0-9]*([0-9]+).*", "\\1", s[grep("^VmHWM", s)])) / 1024
}
src <- gmm_file(path, d)
if (what == "mem") {
  x <- matrix(readBin(path, "double", n = n * d, endian = "little"), ncol = d, byrow = TRUE)
  src <- x
}
load1 <- as.numeric(strsplit(readLines("/proc/loadavg"), " ")[[1L]][1L])
c0 <- sum(proc.time()[c("user.self", "sys.self")]); t0 <- Sys.time()
fit <- gmm(src, k, init = "random_from_data", seed = 1, tol = 0, max_iter = passes, threads = 2,
           control = gmm_control(accelerate = FALSE))
wall <- as.numeric(Sys.time() - t0, units = "secs")
cpu <- sum(proc.time()[c("user.self", "sys.self")]) - c0
row <- data.frame(source = what, n = n, d = d, k = k, passes = fit$iterations,
                  estep_s_per_pass = round(fit$timings[["estep"]] / fit$iterations, 4),
                  wall_s = round(wall, 2), cpu_s = round(cpu, 2), vmhwm_mb = round(vm_hwm(), 1),
                  data_mb = round(n * d * 8 / 2^20), load1 = load1, loglik = fit$loglik,
                  cpu_model = sub("^model name\\s*:\\s*", "",
                                  grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)[1]),
                  date = format(Sys.time(), "%Y-%m-%dT%H:%M:%S"))
f <- file.path(Sys.getenv("BENCH_RESULTS", "bench/results"), "file.csv")
write.table(row, f, sep = ",", row.names = FALSE, col.names = !file.exists(f), append = file.exists(f))
print(row)
