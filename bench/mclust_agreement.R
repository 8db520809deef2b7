#!/usr/bin/env Rscript
# How closely fastgmm reproduces mclust, recorded: (1) every covariance model fitted by EM from
# the same starting labels with reg_covar = 0 (as tests/testthat/test-mclust.R asserts), the
# largest relative differences per model and data set; (2) gmm_select() against Mclust() on
# four data sets, with each tool's BIC and log-likelihood at the other's choice.
#   Rscript bench/mclust_agreement.R > bench/results/mclust_agreement.md
suppressPackageStartupMessages({
  library(fastgmm)
  library(mclust)
})
options(fastgmm.cache = FALSE)

sim <- function(n, d, k, seed, sep) {
  set.seed(seed)
  means <- matrix(rnorm(k * d, sd = sep), k, d)
  lab <- sample(k, n, replace = TRUE, prob = seq_len(k) + 1)
  x <- means[lab, , drop = FALSE] + matrix(rnorm(n * d), n, d) %*% diag(runif(d, 0.5, 1.5), d)
  list(x = x, labels = lab)
}
sets <- list(
  faithful = list(x = as.matrix(faithful), labels = ifelse(faithful$eruptions > 3, 2L, 1L)),
  iris = list(x = as.matrix(iris[, 1:4]), labels = as.integer(iris$Species)),
  diabetes = list(x = as.matrix(diabetes[, -1]), labels = as.integer(diabetes$class)),
  banknote = list(x = as.matrix(banknote[, -1]), labels = as.integer(banknote$Status)),
  sim2 = sim(300, 2, 4, 52, 5), sim5 = sim(400, 5, 3, 51, 3))
models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV",
            "EVV", "VVV")
rel <- function(a, b) max(abs(a - b)) / max(abs(b))

rows <- list()
for (set in names(sets)) for (model in models) {
  s <- sets[[set]]
  k <- max(s$labels)
  d <- ncol(s$x)
  fit <- gmm(s$x, k, covariance = model, init = s$labels, reg_covar = 0, tol = 1e-13,
             max_iter = 5000, threads = 2)
  ref <- getExportedValue("mclust", paste0("me", model))(
    data = s$x, z = unmap(s$labels),
    control = emControl(tol = c(1e-13, sqrt(.Machine$double.eps)), itmax = c(5000, .Machine$integer.max)))
  v <- ref$parameters$variance
  p <- fit$parameters
  dec <- 0
  if (!is.null(v$scale)) dec <- max(dec, rel(as.numeric(p$scale), as.numeric(v$scale)))
  if (!is.null(v$shape)) dec <- max(dec, rel(as.numeric(t(p$shape)), as.numeric(v$shape)))
  if (!is.null(v$orientation)) {
    m <- length(v$orientation) / d^2
    o <- array(p$orientation, c(d, d, m))
    r <- array(v$orientation, c(d, d, m))
    for (j in seq_len(m)) for (cc in seq_len(d)) if (sum(o[, cc, j] * r[, cc, j]) < 0) o[, cc, j] <- -o[, cc, j]
    dec <- max(dec, max(abs(o - r)))
  }
  rows[[length(rows) + 1L]] <- data.frame(
    data = set, model = model,
    loglik = abs(fit$loglik - ref$loglik) / abs(ref$loglik),
    params = max(rel(unname(p$proportions), ref$parameters$pro),
                 rel(t(unname(p$means)), unname(ref$parameters$mean)),
                 rel(unname(p$covariances), unname(v$sigma))),
    decomposition = dec,
    df_equal = fit$df == nMclustParams(model, d, k),
    bic = abs(BIC(fit) + bic(model, ref$loglik, nrow(s$x), d, k)) / abs(BIC(fit)),
    iterations = sprintf("%d/%d", fit$iterations, as.integer(attr(ref, "info")[1L])))
}
tab <- do.call(rbind, rows)

cat("# fastgmm against mclust\n\n")
cat(sprintf("Recorded %s with mclust %s (`Rscript bench/mclust_agreement.R`).\n\n",
            format(Sys.Date()), packageVersion("mclust")))
cat("## The same EM from the same labels\n\n")
cat("`gmm(x, k, covariance = M, init = labels, reg_covar = 0, tol = 1e-13, max_iter = 5000)`",
    "against `meM(x, unmap(labels), control = emControl(tol = c(1e-13, sqrt(eps))))`: the",
    "largest relative difference of the log-likelihood, of the parameters (proportions, means,",
    "covariance matrices), of the decomposition (scale and shape relative; orientation: the",
    "largest absolute difference of the axes, up to their signs) and of the BIC (`BIC(fit)`",
    "against minus mclust's); `df` equal to `nMclustParams` in every case:",
    all(tab$df_equal), ". Iterations: fastgmm's / mclust's (mclust counts the first M-step).\n\n")
cat("Largest differences per model over the six data sets (faithful, iris, diabetes,",
    "banknote, two simulated):\n\n")
cat("| model | loglik | parameters | decomposition | BIC |\n| --- | --- | --- | --- | --- |\n")
for (model in models) {
  t <- tab[tab$model == model, ]
  cat(sprintf("| %s | %.1e | %.1e | %.1e | %.1e |\n", model, max(t$loglik), max(t$params),
              max(t$decomposition), max(t$bic)))
}
cat("\nLargest differences per data set over the fourteen models:\n\n")
cat("| data | loglik | parameters | decomposition | BIC |\n| --- | --- | --- | --- | --- |\n")
for (set in names(sets)) {
  t <- tab[tab$data == set, ]
  cat(sprintf("| %s | %.1e | %.1e | %.1e | %.1e |\n", set, max(t$loglik), max(t$params),
              max(t$decomposition), max(t$bic)))
}
cat("\nEvery case:\n\n")
cat("| data | model | loglik | parameters | decomposition | BIC | iterations |\n")
cat("| --- | --- | --- | --- | --- | --- | --- |\n")
for (i in seq_len(nrow(tab)))
  cat(sprintf("| %s | %s | %.1e | %.1e | %.1e | %.1e | %s |\n", tab$data[i], tab$model[i],
              tab$loglik[i], tab$params[i], tab$decomposition[i], tab$bic[i], tab$iterations[i]))

# --- selection ---------------------------------------------------------------------------
cat("\n## Model selection: gmm_select() against Mclust()\n\n")
cat("Both with their defaults over the 14 models x k = 1:9 (`gmm_select(x, seed = 1,",
    "threads = 2)`; `Mclust(x)`). BIC in fastgmm's sign (smaller is better); each tool's",
    "BIC and log-likelihood also at the other's choice.\n\n")
cat("| data | Mclust() choice | BIC | loglik | gmm_select() choice | BIC | loglik | fastgmm at Mclust's choice (BIC, loglik) | mclust at fastgmm's choice (BIC) |\n")
cat("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
data4 <- list(faithful = faithful, iris = iris[, 1:4], diabetes = diabetes[, -1],
              banknote = banknote[, -1])
for (set in names(data4)) {
  x <- data4[[set]]
  sel <- withCallingHandlers(gmm_select(x, seed = 1, threads = 2),
                             fastgmm_not_converged = function(w) invokeRestart("muffleWarning"))
  m <- Mclust(x, verbose = FALSE)
  b <- sel$best
  at <- sel$table[sel$table$k == m$G & sel$table$covariance == m$modelName, ]
  mb <- -m$BIC[as.character(b$k), b$covariance]
  cat(sprintf("| %s | %s, %d | %.3f | %.3f | %s, %d | %.3f | %.3f | %.3f, %.3f | %.3f |\n", set,
              m$modelName, m$G, -m$bic, m$loglik, b$covariance, b$k, b$bic, b$loglik,
              at$bic, at$loglik, mb))
}
