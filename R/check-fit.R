# One validator for every method that reads a fit: a "gmm" object edited by hand (or built by
# other code) gets a clear error naming what is wrong, never garbage from the C++ code.

gm_check_fit <- function(object, arg = "object") {
  bad <- function(fmt, ...)
    stop(sprintf("`%s` is not a valid \"gmm\" fit: %s (was it modified? refit it with gmm())",
                 arg, sprintf(fmt, ...)), call. = FALSE)
  if (!is.list(object) || !inherits(object, "gmm"))
    stop(sprintf("`%s` must be a \"gmm\" fit from gmm()", arg), call. = FALSE)
  for (f in c("parameters", "k", "d", "covariance", "loglik", "df", "nobs", "n"))
    if (is.null(object[[f]])) bad("it has no `%s`", f)
  is_count <- function(v) is.numeric(v) && length(v) == 1L && !is.na(v) && v >= 1 && v == round(v)
  if (!is_count(object$k)) bad("`k` must be a whole number >= 1")
  if (!is_count(object$d)) bad("`d` must be a whole number >= 1")
  if (!is_count(object$n)) bad("`n` must be a whole number >= 1")
  k <- as.integer(object$k)
  d <- as.integer(object$d)
  cv <- object$covariance
  if (!is.character(cv) || length(cv) != 1L ||
      !cv %in% (if (d == 1L) c("E", "V") else model_names))
    bad("`covariance` must be one of %s",
        paste0("\"", if (d == 1L) c("E", "V") else model_names, "\"", collapse = ", "))
  for (f in c("loglik", "df", "nobs"))
    if (!is.numeric(object[[f]]) || length(object[[f]]) != 1L || !is.finite(object[[f]]))
      bad("`%s` must be a single finite number", f)

  p <- object$parameters
  if (!is.list(p)) bad("`parameters` must be a list")
  for (f in c("proportions", "means", "covariances"))
    if (is.null(p[[f]])) bad("`parameters$%s` is missing", f)
  pro <- p$proportions
  if (!is.numeric(pro) || length(pro) != k)
    bad("`parameters$proportions` has length %d, but the fit has k = %d component%s",
        length(pro), k, if (k == 1L) "" else "s")
  if (any(!is.finite(pro)) || any(pro <= 0))
    bad("`parameters$proportions` must be positive and finite")
  if (abs(sum(pro) - 1) > 1e-8) bad("`parameters$proportions` sum to %s, not 1", format(sum(pro)))
  m <- p$means
  if (!is.numeric(m) || !is.matrix(m) || !identical(dim(m), c(k, d)))
    bad("`parameters$means` must be a k x d (%d x %d) matrix", k, d)
  if (any(!is.finite(m))) bad("`parameters$means` must be finite")
  s <- p$covariances
  if (!is.numeric(s) || !identical(as.integer(dim(s)), c(d, d, k)))
    bad("`parameters$covariances` must be a d x d x k (%d x %d x %d) array", d, d, k)
  if (any(!is.finite(s))) bad("`parameters$covariances` must be finite")
  fam <- model_family(cv)
  for (j in seq_len(k)) {
    S <- matrix(s[, , j], d, d)
    scale <- max(abs(S))
    if (max(abs(S - t(S))) > 1e-10 * scale) bad("the covariance of component %d is not symmetric", j)
    U <- tryCatch(chol(S), error = function(e) NULL)
    if (is.null(U) || !(min(diag(U)) > 1e-12 * max(diag(U))))
      bad("the covariance of component %d is not positive definite", j)
    off <- S[row(S) != col(S)]
    if (fam %in% c("diagonal", "spherical") && any(off != 0))
      bad("the covariance of component %d is not diagonal, as the \"%s\" model needs", j, cv)
    if (fam == "spherical" && max(abs(diag(S) - S[1L, 1L])) > 1e-12 * S[1L, 1L])
      bad("the covariance of component %d is not a multiple of the identity (\"%s\")", j, cv)
    if (model_common(cv) && max(abs(S - s[, , 1L])) > 1e-12 * scale)
      bad("the covariances differ between components, but the \"%s\" model shares one", cv)
  }
  if (k > 1L && !model_common(cv)) gm_check_structure(s, cv, bad)
  if (!isTRUE(all.equal(as.numeric(object$df), gmm_df(k, d, cv))))
    bad("`df` is %s, but the \"%s\" model with k = %d and d = %d has %s free parameters",
        format(object$df), cv, k, d, format(gmm_df(k, d, cv)))
  gm_check_decomposition(p, cv, k, d, bad)
  n <- as.integer(object$n)
  if (!is.null(object$classification) &&
      (!is.numeric(object$classification) || length(object$classification) != n))
    bad("`classification` must have one value per observation (%d)", n)
  if (!is.null(object$uncertainty) &&
      (!is.numeric(object$uncertainty) || length(object$uncertainty) != n))
    bad("`uncertainty` must have one value per observation (%d)", n)
  dat <- object$data
  if (!is.null(dat)) {
    dims <- if (inherits(dat, "gmm_source")) c(dat$nrow, dat$ncol)
            else if (is.data.frame(dat) || is.matrix(dat) || inherits(dat, "big.matrix")) c(nrow(dat), ncol(dat))
            else if (is.atomic(dat) && is.null(dim(dat))) c(length(dat), 1L)
            else c(NA, NA)
    if (anyNA(dims) || dims[1L] != n || dims[2L] != d)
      bad("`data` must be the n x d (%d x %d) training data or its source", n, d)
  }
  if (!is.null(object$weights) && (!is.numeric(object$weights) || length(object$weights) != n))
    bad("`weights` must have one value per observation (%d)", n)
  invisible(object)
}

# The same for a "gmm_select" object: its table and its best fit.
sel_check_object <- function(object, arg = "object") {
  if (!is.list(object) || !inherits(object, "gmm_select"))
    stop(sprintf("`%s` must be a \"gmm_select\" object from gmm_select()", arg), call. = FALSE)
  tab <- object$table
  need <- c("k", "covariance", "loglik", "df", "bic", "icl", "iterations", "converged", "seconds",
            "error")
  if (!is.data.frame(tab) || !all(need %in% names(tab)) || nrow(tab) < 1L)
    stop(sprintf(paste0("`%s` is not a valid \"gmm_select\" object: `table` must be a data frame ",
                        "with columns %s (was it modified?)"), arg, paste(need, collapse = ", ")),
         call. = FALSE)
  if (!is.character(object$criterion) || length(object$criterion) != 1L ||
      !object$criterion %in% c("bic", "icl"))
    stop(sprintf("`%s` is not a valid \"gmm_select\" object: `criterion` must be \"bic\" or \"icl\"",
                 arg), call. = FALSE)
  gm_check_fit(object$best, paste0(arg, "$best"))
  invisible(object)
}

# The constraints of the models whose covariances are neither all equal nor free: equal volume
# (first letter E: equal determinants), equal shape (second letter E: the same eigenvalues,
# each matrix divided by its volume; for VEI the same diagonal up to a factor) and equal
# orientation (third letter E: the matrices commute, so they share their axes). Relative
# tolerances far above rounding, far below any real difference.
gm_check_structure <- function(s, cv, bad) {
  d <- dim(s)[1L]
  k <- dim(s)[3L]
  parts <- model_parts(cv)
  S <- lapply(seq_len(k), function(j) matrix(s[, , j], d, d))
  ev <- lapply(S, function(M) eigen(M, symmetric = TRUE, only.values = TRUE)$values)
  vol <- vapply(ev, function(v) exp(mean(log(v))), 0)        # det^(1/d) = the scale
  if (identical(parts$scale, "E") && max(abs(vol / vol[1L] - 1)) > 1e-8)
    bad("the components' volumes (determinants) differ, but the \"%s\" model has one volume", cv)
  if (identical(parts$shape, "E")) {
    shp <- if (model_family(cv) == "diagonal") lapply(seq_len(k), function(j) diag(S[[j]]) / vol[j])
           else lapply(seq_len(k), function(j) ev[[j]] / vol[j])
    if (max(vapply(shp, function(a) max(abs(a - shp[[1L]])) / max(shp[[1L]]), 0)) > 1e-7)
      bad("the components' shapes differ, but the \"%s\" model has one shape", cv)
  }
  if (identical(parts$orientation, "E")) {
    for (j in seq_len(k)[-1L]) {
      comm <- S[[1L]] %*% S[[j]] - S[[j]] %*% S[[1L]]
      if (max(abs(comm)) > 1e-8 * max(abs(S[[1L]])) * max(abs(S[[j]])))
        bad("the covariances of components 1 and %d have different axes, but the \"%s\" model has one orientation",
            j, cv)
    }
  }
}

# mclust's decomposition in `parameters`, where the fit holds one: the sizes of its parts, and
# the covariances it gives back.
gm_check_decomposition <- function(p, cv, k, d, bad) {
  if (is.null(p$scale) && is.null(p$shape) && is.null(p$orientation)) return(invisible())
  parts <- model_parts(cv)
  n_of <- function(part) if (identical(part, "V")) k else 1L
  if (is.na(parts$scale) || !is.numeric(p$scale) || length(p$scale) != n_of(parts$scale) ||
      any(!is.finite(p$scale)) || any(p$scale <= 0))
    bad("`parameters$scale` must be %s", if (is.na(parts$scale)) sprintf("absent for \"%s\"", cv)
        else sprintf("%d positive number%s", n_of(parts$scale), if (n_of(parts$scale) == 1L) "" else "s"))
  has_shape <- !is.na(parts$shape)
  if (has_shape != !is.null(p$shape) ||
      (has_shape && (!is.numeric(p$shape) || length(p$shape) != n_of(parts$shape) * d ||
                     any(!is.finite(p$shape)) || any(p$shape <= 0))))
    bad("`parameters$shape` must be %s", if (!has_shape) sprintf("absent for \"%s\"", cv)
        else sprintf("a %d x %d matrix of positive numbers", n_of(parts$shape), d))
  has_or <- !is.na(parts$orientation)
  if (has_or != !is.null(p$orientation) ||
      (has_or && (!is.numeric(p$orientation) || length(p$orientation) != n_of(parts$orientation) * d * d ||
                  any(!is.finite(p$orientation)))))
    bad("`parameters$orientation` must be %s", if (!has_or) sprintf("absent for \"%s\"", cv)
        else sprintf("a %d x %d x %d array", d, d, n_of(parts$orientation)))
  pick <- function(v, j, n) if (n == 1L) 1L else j
  for (j in seq_len(k)) {
    lam <- p$scale[pick(p$scale, j, length(p$scale))]
    a <- if (has_shape) matrix(p$shape, ncol = d)[pick(NULL, j, n_of(parts$shape)), ] else rep(1, d)
    D <- if (has_or) matrix(array(p$orientation, c(d, d, n_of(parts$orientation)))[, , pick(NULL, j, n_of(parts$orientation))], d, d)
         else diag(d)
    M <- lam * D %*% (a * t(D))
    S <- matrix(p$covariances[, , j], d, d)
    if (max(abs(M - S)) > 1e-6 * max(abs(S)))
      bad("`parameters$scale`, `shape` and `orientation` do not give the covariance of component %d", j)
  }
  invisible()
}
