# Checks `init` and turns it into what the backends take.

# Method names and their codes in the C++ core (3 and 4 are a parameter list and labels).
init_methods <- c("kmeans++" = 0L, random = 1L, random_from_data = 2L, subsample = 5L)

check_init <- function(init, n, d, k, covariance) {
  if (is.character(init)) {
    if (length(init) != 1L || is.na(init) || !init %in% names(init_methods))
      stop("`init` must be one of \"kmeans++\", \"random\", \"random_from_data\", ",
           "\"subsample\", a previous fit, a list of starting parameters or a vector of ",
           "starting labels", call. = FALSE)
    return(list(kind = "method", code = init_methods[[init]]))
  }
  if (inherits(init, "gmm")) {
    gm_check_fit(init, "init")
    return(list(kind = "fit", code = 3L, params = start_from_fit(init, k, d, covariance)))
  }
  if (is.list(init)) {
    return(list(kind = "parameters", code = 3L,
                params = check_start_params(init, k, d, covariance)))
  }
  if (is.numeric(init) || is.factor(init)) {
    if (is.factor(init)) init <- as.integer(init)
    if (length(init) != n)
      stop(sprintf("`init` labels must have one value per row of `x` (%.0f), not %d", n, length(init)),
           call. = FALSE)
    bad <- if (is.integer(init)) anyNA(init) || min(init) < 1L || max(init) > k
           else anyNA(init) || any(init != round(init)) || any(init < 1) || any(init > k)
    if (bad)
      stop(sprintf("`init` labels must be whole numbers from 1 to k (%d)", k), call. = FALSE)
    return(list(kind = "labels", code = 4L, labels = as.integer(init)))
  }
  stop("`init` must be a method name, a list of starting parameters or a vector of labels",
       call. = FALSE)
}

# Starting parameters in the canonical form: proportions (k), means (k x d),
# covariances (d x d x k).
check_start_params <- function(init, k, d, covariance) {
  bad <- setdiff(names(init), c("means", "covariances", "proportions"))
  if (is.null(names(init)) || length(bad))
    stop("`init` as a list must have elements named means, covariances and (optionally) proportions",
         call. = FALSE)
  m <- init$means
  if (is.null(m)) stop("`init$means` is missing", call. = FALSE)
  if (is.data.frame(m)) m <- as.matrix(m)
  if (!is.matrix(m) && d == 1L && length(m) == k) m <- matrix(m, ncol = 1L)
  if (!is.numeric(m) || !is.matrix(m) || !identical(dim(m), c(k, d)) || any(!is.finite(m)))
    stop(sprintf("`init$means` must be a finite k x d (%d x %d) matrix", k, d), call. = FALSE)
  storage.mode(m) <- "double"

  s <- init$covariances
  if (is.null(s)) stop("`init$covariances` is missing", call. = FALSE)
  if (!is.numeric(s) || any(!is.finite(s)))
    stop("`init$covariances` must be numeric and finite", call. = FALSE)
  fam <- model_family(covariance)
  common <- model_common(covariance)
  shape <- sprintf(paste0("`init$covariances` for covariance = \"%s\" must be a d x d x k (%d x %d x %d) ",
                          "array%s"), covariance, d, d, k,
                   if (fam %in% c("spherical", "univariate")) " or a vector of k variances"
                   else if (fam == "diagonal") " or a k x d matrix of variances"
                   else if (common) " or a d x d matrix" else "")
  dims <- dim(s)
  arr <- array(0, c(d, d, k))
  if (length(dims) == 3L) {
    if (!identical(as.integer(dims), c(d, d, k))) stop(shape, call. = FALSE)
    arr[] <- s
  } else if ((is.null(dims) && fam == "spherical") || (d == 1L && length(s) == k)) {
    if (length(s) != k) stop(shape, call. = FALSE)
    for (j in seq_len(k)) arr[, , j] <- diag(s[j], d)
  } else if (length(dims) == 2L && fam == "diagonal" && identical(as.integer(dims), c(k, d))) {
    for (j in seq_len(k)) arr[, , j] <- diag(s[j, ], d)
  } else if (length(dims) == 2L && (common || k == 1L) && identical(as.integer(dims), c(d, d))) {
    for (j in seq_len(k)) arr[, , j] <- s
  } else {
    stop(shape, call. = FALSE)
  }
  for (j in seq_len(k)) {
    sj <- matrix(arr[, , j], d, d)
    if (max(abs(sj - t(sj))) > 1e-10 * max(abs(sj)))
      stop(sprintf("`init$covariances` for component %d is not symmetric", j), call. = FALSE)
    off <- sj[row(sj) != col(sj)]
    if (fam %in% c("diagonal", "spherical") && any(off != 0))
      stop(sprintf("`init$covariances` for component %d must be diagonal for covariance = \"%s\"",
                   j, covariance), call. = FALSE)
    if (fam == "spherical" && length(unique(diag(sj))) > 1L)
      stop(sprintf("`init$covariances` for component %d must be a multiple of the identity", j),
           call. = FALSE)
    if (common && any(sj != arr[, , 1L]))
      stop(sprintf("`init$covariances` must be the same for every component when covariance = \"%s\"",
                   covariance), call. = FALSE)
    if (inherits(try(chol(sj), silent = TRUE), "try-error"))
      stop(sprintf("`init$covariances` for component %d is not positive definite", j), call. = FALSE)
  }

  p <- init$proportions
  if (is.null(p)) p <- rep(1 / k, k)
  if (!is.numeric(p) || length(p) != k || any(!is.finite(p)) || any(p <= 0) || abs(sum(p) - 1) > 1e-6)
    stop(sprintf("`init$proportions` must be %d positive numbers that sum to 1", k), call. = FALSE)
  list(proportions = as.double(p) / sum(p), means = m, covariances = arr)
}

# Starting parameters from a previous fit (same k and d), put into the form the
# covariance model needs: diagonal models keep the variances, spherical ones
# their mean, models with one common covariance the weighted average.
start_from_fit <- function(fit, k, d, covariance) {
  if (fit$k != k || fit$d != d)
    stop(sprintf("`init` is a fit with k = %d and d = %d, but this fit has k = %d and d = %d",
                 fit$k, fit$d, k, d), call. = FALSE)
  p <- fit$parameters
  s <- p$covariances
  fam <- model_family(covariance)
  arr <- array(0, c(d, d, k))
  for (j in seq_len(k)) {
    S <- matrix(s[, , j], d, d)
    arr[, , j] <- switch(fam, spherical = diag(mean(diag(S)), d), diagonal = diag(diag(S), d), S)
  }
  if (model_common(covariance)) {
    avg <- matrix(0, d, d)
    for (j in seq_len(k)) avg <- avg + p$proportions[[j]] * arr[, , j]
    for (j in seq_len(k)) arr[, , j] <- avg
  }
  check_start_params(list(means = unname(p$means), covariances = arr,
                          proportions = as.numeric(p$proportions)), k, d, covariance)
}
