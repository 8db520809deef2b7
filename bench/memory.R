# Peak extra memory of a fit beyond the data (issue: at most a quarter of the
# data's size plus 48 MB). Linux only: resets and reads VmHWM.
#   Rscript bench/memory.R
library(fastgmm)
peak_mb <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(sub("[^0-9]*([0-9]+).*", "\\1", s[grep("^VmHWM", s)])) / 1024
}
reset_peak <- function() cat("5", file = "/proc/self/clear_refs")
cases <- list(c(1e6, 10, 10, "full"), c(1e6, 50, 20, "diag"), c(1e7, 1, 4, "full"), c(2e5, 100, 5, "full"))
for (cs in cases) {
  n <- as.numeric(cs[1]); d <- as.numeric(cs[2]); k <- as.numeric(cs[3]); cov <- cs[4]
  set.seed(1)
  x <- matrix(rnorm(n * d), n, d)
  x[, 1] <- x[, 1] + 6 * sample(0:2, n, TRUE)
  gc(); invisible(gc())
  reset_peak(); before <- peak_mb()
  fit <- gmm(x, k, covariance = cov, max_iter = 5, tol = 0, threads = 2, seed = 1)
  extra <- peak_mb() - before
  data_mb <- n * d * 8 / 2^20
  result_mb <- as.numeric(object.size(fit[setdiff(names(fit), "data")])) / 2^20
  cat(sprintf("n=%g d=%g k=%g %s: data %.0f MB, peak extra %.1f MB (of which result %.1f MB), bound %.1f MB\n",
              n, d, k, cov, data_mb, extra, result_mb, data_mb / 4 + 48))
  rm(x, fit); invisible(gc())
}
