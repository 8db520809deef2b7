#!/usr/bin/env Rscript
# Summarises bench/results/select_vs_mclust.csv (from bench/select_vs_mclust.sh) as markdown.
#   Rscript bench/select_vs_mclust_report.R > bench/results/select_vs_mclust.md
results <- Sys.getenv("BENCH_RESULTS", "bench/results")
scratch <- file.path(Sys.getenv("FASTGMM_BENCH_DIR", "/tmp/fastgmm-bench"), "select")
r <- utils::read.csv(file.path(results, "select_vs_mclust.csv"), stringsAsFactors = FALSE)
tab_of <- function(tool, n, d, grid, rep = 1) {
  f <- file.path(scratch, sprintf("%s_n%g_d%d_%s_rep%d.rds", tool, n, d, grid, rep))
  if (file.exists(f)) readRDS(f) else NULL
}
bic_at <- function(tab, model, k) {
  if (is.null(tab)) return(NA_real_)
  v <- tab$bic[tab$covariance == model & tab$k == k]
  if (length(v)) v[1L] else NA_real_
}
fmt <- function(v, digits = 3) ifelse(is.na(v), "–", trimws(formatC(signif(v, digits), digits = digits, format = "fg", big.mark = ",")))

cat("## gmm_select() vs Mclust(): the 14 x 9 grid\n\n")
cat("Seconds (elapsed) for the whole grid; fastgmm: median of its repetitions (range in",
    "brackets; the first with an empty kernel-variant cache where n >= 20000, see",
    "select_vs_mclust.R), 2 threads; mclust: one core (its Fortran is serial). `others` is",
    "the CPU other processes used during the run, in cores of the 2 (the machine is",
    "shared); `cpu` the process's own CPU seconds (all threads), and the speed-up in CPU",
    "time, which depends less on the other processes. BIC in fastgmm's sign (smaller is",
    "better).\n\n")
cat("| n | d | fastgmm s (cpu) | others | mclust s (cpu) | others | speed-up: elapsed (cpu) | fastgmm choice (BIC, loglik) | Mclust choice (BIC, loglik) |\n")
cat("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
est <- list()
for (d in sort(unique(r$d))) for (n in sort(unique(r$n))) {
  f <- r[r$tool == "fastgmm" & r$n == n & r$d == d & r$grid == "full", ]
  m <- r[r$tool == "mclust" & r$n == n & r$d == d & r$grid == "full", ]
  if (!nrow(f)) next
  fs <- stats::median(f$seconds)
  fc <- stats::median(f$cpu_seconds)
  frange <- if (nrow(f) > 1) sprintf(" [%s–%s]", fmt(min(f$seconds)), fmt(max(f$seconds))) else ""
  choice <- function(x) sprintf("%s, %d (%s, %s)", x$model[1], x$k[1], fmt(x$bic[1], 9), fmt(x$loglik[1], 9))
  if (nrow(m)) {
    ms <- stats::median(m$seconds)
    mc <- stats::median(m$cpu_seconds)
    mtxt <- sprintf("%s (%s)", fmt(ms), fmt(mc))
    speed <- sprintf("%.0fx (%.0fx)", ms / fs, mc / fc)
    mchoice <- choice(m)
    mothers <- fmt(mean(m$others_cpu), 2)
  } else if (n < 1e6) {
    mtxt <- "not run"
    speed <- "–"
    mchoice <- "–"
    mothers <- "–"
  } else {
    # no full mclust run: estimate from the 1e5 full grid scaled by the reduced grid's times
    m5 <- r[r$tool == "mclust" & r$n == 1e5 & r$d == d & r$grid == "full", ]
    red_n <- r[r$tool == "mclust" & r$n == n & r$d == d & r$grid == "reduced", ]
    red_5 <- r[r$tool == "mclust" & r$n == 1e5 & r$d == d & r$grid == "reduced", ]
    e <- if (nrow(m5) && nrow(red_n) && nrow(red_5)) m5$seconds[1] * red_n$seconds[1] / red_5$seconds[1] else NA
    est[[paste(n, d)]] <- c(estimate = e, full_1e5 = if (nrow(m5)) m5$seconds[1] else NA,
                            red_n = if (nrow(red_n)) red_n$seconds[1] else NA,
                            red_5 = if (nrow(red_5)) red_5$seconds[1] else NA)
    mtxt <- sprintf("~%s (estimate*)", fmt(e))
    speed <- sprintf("~%.0fx (estimate*)", e / fs)
    mchoice <- "not run (full grid)"
    mothers <- "–"
  }
  cat(sprintf("| %s | %d | %s%s (%s) | %s | %s | %s | %s | %s | %s |\n", sprintf("1e%d", round(log10(n))), d,
              fmt(fs), frange, fmt(fc), fmt(mean(f$others_cpu), 2), mtxt, mothers, speed, choice(f), mchoice))
}
if (length(est)) {
  cat("\n\\* Estimate, not a measurement: mclust's full grid on 1e6 rows would take hours on this",
      "machine, so it was not run. Its time is estimated as the measured full-grid time on the",
      "first 1e5 rows of the same data, times the ratio of the measured times of a reduced grid",
      "(k = 4, models EII, VVI, EEE, VVV) on 1e6 and on 1e5 rows:\n\n")
  for (nm in names(est)) {
    e <- est[[nm]]
    cat(sprintf("* n, d = %s: %s s x %s s / %s s = %s s\n", nm, fmt(e[["full_1e5"]]), fmt(e[["red_n"]]),
                fmt(e[["red_5"]]), fmt(e[["estimate"]])))
  }
}

cat("\n## The reduced grid (k = 4; EII, VVI, EEE, VVV), measured for both\n\n")
cat("| n | d | fastgmm s | mclust s | speed-up | fastgmm choice | Mclust choice |\n| --- | --- | --- | --- | --- | --- | --- |\n")
for (d in sort(unique(r$d))) for (n in sort(unique(r$n))) {
  f <- r[r$tool == "fastgmm" & r$n == n & r$d == d & r$grid == "reduced", ]
  m <- r[r$tool == "mclust" & r$n == n & r$d == d & r$grid == "reduced", ]
  if (!nrow(f) || !nrow(m)) next
  cat(sprintf("| %s | %d | %s | %s | %.0fx | %s, %d (BIC %s) | %s, %d (BIC %s) |\n", sprintf("1e%d", round(log10(n))), d,
              fmt(f$seconds[1]), fmt(m$seconds[1]), m$seconds[1] / f$seconds[1], f$model[1], f$k[1],
              fmt(f$bic[1], 9), m$model[1], m$k[1], fmt(m$bic[1], 9)))
}

cat("\n## Where the choices differ: each tool's BIC at the other's choice\n\n")
any_diff <- FALSE
for (i in which(r$tool == "mclust" & r$rep == 1)) {
  m <- r[i, ]
  f <- r[r$tool == "fastgmm" & r$n == m$n & r$d == m$d & r$grid == m$grid & r$rep == 1, ]
  if (!nrow(f) || (f$model == m$model && f$k == m$k)) next
  any_diff <- TRUE
  ft <- tab_of("fastgmm", m$n, m$d, m$grid)
  mt <- tab_of("mclust", m$n, m$d, m$grid)
  cat(sprintf(paste0("* n = %g, d = %d (%s grid): fastgmm %s, %d (BIC %s), Mclust %s, %d (BIC %s); ",
                     "fastgmm's BIC at Mclust's choice %s, mclust's BIC at fastgmm's choice %s\n"),
              m$n, m$d, m$grid, f$model, f$k, fmt(f$bic, 9), m$model, m$k, fmt(m$bic, 9),
              fmt(bic_at(ft, m$model, m$k), 9), fmt(bic_at(mt, f$model, f$k), 9)))
}
if (!any_diff) cat("None: both chose the same model and k in every run.\n")
