#!/usr/bin/env Rscript
# bench/init_robustness.R -- does the default start find well-separated clusters?
# Mixtures with centres at least 4 sd apart (n, d <= 10, k <= 10 varied); for each,
# the best known log-likelihood (the best of a fit from the true labels and 20
# random-start fits), then the default gmm(x, k) for many seeds: the fraction that
# reaches it (within 1e-7 relative) and the share of the fit's time spent in the
# start. Also the old start (one k-means++ seeding + Lloyd, no sample EM) for
# comparison, emulated with init_starts = 1, init_em_iter = 0.
#   Rscript bench/init_robustness.R [SEEDS] [OUT.csv]
suppressPackageStartupMessages(library(fastgmm))
options(fastgmm.cache = FALSE)
args <- commandArgs(TRUE)
nseeds <- if (length(args) > 0) as.integer(args[1]) else 50L
out <- if (length(args) > 1) args[2] else "bench/results/init_robustness.csv"
separated <- function(n, d, k, seed, sep = 4) {
  set.seed(seed)
  box <- sep * k^(1 / d) * 1.5
  means <- matrix(NA, 0, d)
  while (nrow(means) < k) {
    m <- runif(d, -box, box)
    if (!nrow(means) || min(sqrt(colSums((t(means) - m)^2))) >= sep) means <- rbind(means, m)
  }
  lab <- sample(k, n, TRUE, prob = runif(k, 0.5, 1.5))
  list(x = means[lab, , drop = FALSE] + matrix(rnorm(n * d), n), lab = lab)
}
rows <- list()
for (n in c(2000, 20000, 200000)) for (d in c(2, 5, 10)) for (k in c(3, 5, 10)) {
  s <- separated(n, d, k, seed = n + 10 * d + k)
  best <- gmm(s$x, k, init = s$lab, threads = 2, tol = 1e-10, max_iter = 1000)$loglik
  alt <- gmm(s$x, k, init = "random_from_data", n_init = 20, seed = 1, threads = 2, tol = 1e-10,
             max_iter = 1000)$loglik
  best <- max(best, alt)
  for (variant in c("default", "one-seeding")) {
    ctl <- if (variant == "default") gmm_control() else gmm_control(init_starts = 1, init_em_starts = 1, init_em_iter = 0)
    ok <- 0
    share <- numeric(0)
    for (seed in seq_len(nseeds)) {
      f <- suppressWarnings(gmm(s$x, k, seed = seed, threads = 2, tol = 1e-10, max_iter = 1000,
                                control = ctl))
      ok <- ok + ((best - f$loglik) <= 1e-7 * abs(best))
      share <- c(share, f$timings[["init"]] / f$timings[["total"]])
    }
    rows[[length(rows) + 1L]] <- data.frame(n = n, d = d, k = k, start = variant, seeds = nseeds,
                                            reached = ok / nseeds, init_share = median(share))
    cat(sprintf("n %6d d %2d k %2d %-11s: %5.1f%% of %d seeds reach the best; start %.0f%% of the fit's time\n",
                n, d, k, variant, 100 * ok / nseeds, nseeds, 100 * median(share)))
  }
}
tab <- do.call(rbind, rows)
write.csv(tab, out, row.names = FALSE)
def <- tab[tab$start == "default", ]
cat(sprintf("\ndefault start: %.2f%% of %d fits reach the best known log-likelihood (worst case %.1f%%); median share of the fit's time %.0f%%\n",
            100 * mean(def$reached), nrow(def) * nseeds, 100 * min(def$reached), 100 * median(def$init_share)))
cat("CPU:", system("lscpu | sed -n 's/^Model name: *//p'", intern = TRUE), "\n")
