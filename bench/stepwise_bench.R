#!/usr/bin/env Rscript
# bench/stepwise_bench.R -- stepwise (mini-batch) EM against batch EM on the full
# anchor case at N = 1e7 (D = 10, K = 10, data from bench/gen_data.py): from the same
# start, passes and seconds until the log-likelihood per observation is within 1e-3
# of the batch optimum.
#   python3 bench/gen_data.py /tmp/fastgmm-bench/data-n10000000 --n 10000000 --cases full
#   Rscript bench/stepwise_bench.R [DATADIR] [THREADS]
# or, on the 10-component mixture that bench/file_bench.R writes (read into memory):
#   Rscript bench/file_bench.R gen 1e7 /tmp/n1e7.bin
#   Rscript bench/stepwise_bench.R /tmp/n1e7.bin [THREADS]
# Seconds are wall time; cpu_seconds (all threads) is less sensitive to other load.
suppressPackageStartupMessages(library(fastgmm))
options(fastgmm.cache = FALSE)
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE)[1])),
                 "read_bench_data.R"))
args <- commandArgs(TRUE)
dir <- if (length(args) > 0) args[1] else "/tmp/fastgmm-bench/data-n10000000"
threads <- if (length(args) > 1) as.integer(args[2]) else 2L
x <- if (grepl("[.]bin$", dir)) {
  matrix(readBin(dir, "double", n = file.size(dir) / 8, endian = "little"), ncol = 10, byrow = TRUE)
} else read_data(file.path(dir, "full_1e7x10_k10.data.bin"))
n <- nrow(x)
cat(sprintf("N = %d, D = %d, threads = %d, CPU: %s\n", n, ncol(x), threads,
            system("lscpu | sed -n 's/^Model name: *//p'", intern = TRUE)))
t0 <- system.time(st <- gmm(x, 10, seed = 1, max_iter = 0, threads = threads))[["elapsed"]]
start <- st$parameters[c("means", "covariances", "proportions")]
cat(sprintf("start (robust k-means++ on a sample): %.2f s, log-likelihood/n %.6f\n", t0, st$loglik / n))
# The batch optimum (accelerated EM to a tight tolerance), and plain batch EM's path to it.
opt <- gmm(x, 10, init = start, tol = 1e-10, max_iter = 2000, threads = threads)
lstar <- opt$loglik / n
cat(sprintf("batch optimum: log-likelihood/n %.6f after %d passes\n", lstar, opt$iterations))
report <- function(label, fit, tm) {
  secs <- tm[["elapsed"]]
  cpu <- tm[["user.self"]] + tm[["sys.self"]]
  gap <- lstar - fit$loglik / n
  cat(sprintf("%-34s %3d passes %8.2f s (cpu %7.2f s)  gap/n %.2e %s\n", label, fit$iterations,
              secs, cpu, gap, if (gap <= 1e-3) "(within 1e-3)" else ""))
  data.frame(method = label, passes = fit$iterations, seconds = secs, cpu_seconds = cpu,
             gap_per_obs = gap)
}
rows <- list()
for (acc in c(FALSE, TRUE)) for (iters in c(1, 2, 3, 5, 10, 20)) {
  tm <- system.time(f <- suppressWarnings(gmm(x, 10, init = start, tol = 0, max_iter = iters,
    threads = threads, control = gmm_control(accelerate = acc))))
  rows[[length(rows) + 1L]] <- report(sprintf("batch EM%s, %d passes", if (acc) " (accelerated)" else "", iters), f, tm)
  if (lstar - f$loglik / n <= 1e-3) break
}
for (passes in 1:2) for (batch in c(65536, 262144)) {
  tm <- system.time(f <- gmm(x, 10, init = start, method = "stepwise", threads = threads,
    control = gmm_control(stepwise_passes = passes, polish = 0, stepwise_batch = batch)))
  rows[[length(rows) + 1L]] <- report(sprintf("stepwise, %d pass%s, batch %d", passes,
                                              if (passes > 1) "es" else "", batch), f, tm)
}
write.csv(do.call(rbind, rows), Sys.getenv("BENCH_OUT", "bench/results/stepwise.csv"),
          row.names = FALSE)
