#' Fit a Gaussian mixture model by EM
#'
#' Fits a mixture of `k` Gaussian components by the EM algorithm. Each
#' iteration is one fused pass over the data that computes the
#' responsibilities and the sufficient statistics block by block (no n x k
#' matrix is kept), followed by an M-step.
#'
#' @param x A numeric matrix (rows are observations), a data frame of numeric
#'   columns, or a numeric vector (one dimension). Must not contain `NA`,
#'   `NaN` or infinite values.
#' @param k Number of components, a whole number between 1 and the number of
#'   distinct rows of `x`.
#' @param covariance Covariance model: `"full"` (each component its own
#'   covariance matrix), `"diag"` (diagonal), `"spherical"` (a multiple of the
#'   identity) or `"tied"` (one full matrix shared by all components). The
#'   mclust names `"VVV"`, `"VVI"`, `"VII"` and `"EEE"` are accepted.
#' @param init How to start: `"kmeans++"` (k-means++ seeding on a random sample
#'   of at most 65536 rows and 16 MB, then up to 10 Lloyd steps on all rows, then an M-step
#'   from the k-means labels), `"random"` (random responsibilities, then an
#'   M-step), `"random_from_data"` (k random rows as means, the covariance of
#'   all the data for every component, equal proportions); or a list of
#'   starting parameters `list(means, covariances, proportions)` (means a k x
#'   d matrix, or a vector of length k in one dimension; covariances a d x d x
#'   k array, a d x d matrix for `"tied"`, a k x d matrix of variances for
#'   `"diag"`, or a vector of k variances for `"spherical"` or in one
#'   dimension; proportions default to equal); or an integer vector of
#'   starting labels `1..k`, one per row, in which case the first step is an
#'   M-step from those labels (as `mclust::me()` does).
#' @param n_init Number of starts (for the random methods); the fit with the
#'   highest log-likelihood is kept.
#' @param max_iter Maximum number of EM iterations (each one M-step followed
#'   by one E-step).
#' @param tol Convergence tolerance on the relative change of the
#'   log-likelihood: EM stops when \eqn{|l_t - l_{t-1}| \le tol (1 + |l_t|)},
#'   the rule mclust uses. `tol = 0` runs exactly `max_iter` iterations.
#' @param reg_covar Non-negative number added to the diagonal of every
#'   covariance matrix, keeping them positive definite. `0` gives the plain
#'   maximum-likelihood estimates (as mclust).
#' @param weights Optional non-negative observation weights, one per row. They
#'   multiply each row's contribution to the statistics and to the
#'   log-likelihood (integer weights act as repeated rows).
#' @param backend `"auto"` (the fastest available), `"cpu"` (the C++ core),
#'   `"cuda"` (the GPU, when built with CUDA and a device is present) or `"r"`
#'   (a plain R implementation, the reference for tests).
#' @param threads Number of CPU threads; default `getOption("fastgmm.threads")`
#'   or RcppParallel's default. Results do not depend on it.
#' @param seed `NULL` (one number is drawn from R's random stream, so
#'   `set.seed()` makes fits reproducible) or a whole number, in which case R's
#'   random stream is not touched at all.
#' @param verbose Report the log-likelihood after each EM iteration: a
#'   progress bar updated in place on a dynamic terminal (an interactive
#'   console), otherwise one message per iteration. (The `"r"` backend
#'   reports nothing.)
#' @param precision `"double"`, or `"single"` to compute the E-step in single
#'   precision (statistics are still accumulated in double). Faster, with a
#'   log-likelihood that agrees to about 1e-6 relative.
#' @param variant The CPU kernel variant: `"auto"` (chosen by timing on first
#'   use for a problem shape, then cached), `"gemm"` (matrix-product form) or
#'   `"direct"` (column loops, often faster for small dimensions).
#' @param cuda_variant The GPU statistics kernel for `backend = "cuda"`:
#'   `"auto"` (timed on first use for a problem shape and device, then cached
#'   like `variant`), or one of `"cell"`, `"cell_all"`, `"component"`,
#'   `"component_split"`, `"cublas"`. See [gmm_backends()].
#' @return An object of class `"gmm"`: a list with `parameters =
#'   list(proportions, means (k x d), covariances (d x d x k))`, `loglik` (the
#'   log-likelihood of the returned parameters), `loglik_trace` (after each
#'   iteration), `iterations`, `converged`, `n`, `d`, `k`, `covariance`, `df`
#'   (number of free parameters), `bic` and `aic` (as [stats::BIC()], smaller
#'   is better), `classification`, `uncertainty` (one minus the largest
#'   posterior probability), `backend`, `call` and more.
#' @seealso [predict.gmm()], [plot.gmm()], [summary.gmm()]
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' fit
#' table(fit$classification)
#' # One dimension, all four covariance models, a start from labels
#' x <- c(rnorm(200), rnorm(200, 5))
#' fit1 <- gmm(x, 2, init = rep(1:2, each = 200), threads = 1)
#' coef(fit1)
#' @export
gmm <- function(x, k, covariance = "full", init = "kmeans++", n_init = 1, max_iter = 100,
                tol = 1e-6, reg_covar = 1e-6, weights = NULL, backend = "auto",
                threads = NULL, seed = NULL, verbose = FALSE, precision = "double",
                variant = "auto", cuda_variant = "auto") {
  call <- match.call()
  src <- as_source(x)
  n <- src$n
  d <- src$d
  covariance <- check_covariance(covariance)
  k <- check_count(k, "k")
  if (k > n) stop(sprintf("`k` (%d) is larger than the number of rows of `x` (%.0f)", k, n), call. = FALSE)
  n_init <- check_count(n_init, "n_init")
  max_iter <- check_count(max_iter, "max_iter", min = 0)
  tol <- check_number(tol, "tol")
  reg_covar <- check_number(reg_covar, "reg_covar")
  weights <- check_weights(weights, n)
  threads <- check_threads(threads)
  verbose <- check_flag(verbose, "verbose")
  precision <- match_choice(precision, c("double", "single"), "precision")
  variant <- match_choice(variant, c("auto", variant_names), "variant")
  cuda_variant <- match_choice(cuda_variant, c("auto", cuda_variant_names), "cuda_variant")
  backend <- resolve_backend(backend, n, d, k)
  if (backend == "r" && !src$in_memory)
    stop("`backend = \"r\"` needs the data in memory (a matrix or data frame)", call. = FALSE)
  start <- check_init(init, n, d, k, covariance)
  if (start$kind != "method") n_init <- 1L
  else if (!cpp_distinct_rows(src$data, weights, k))
    stop(sprintf("`k` (%d) is larger than the number of distinct rows of `x`%s", k,
                 if (is.null(weights)) "" else " with positive weight"), call. = FALSE)
  seed <- resolve_seed(seed)
  model <- model_name(covariance, d)
  reg <- rep(reg_covar, d)

  res <- if (backend == "r") {
    fit_r(src$data, weights, k, covariance, start, n_init, max_iter, tol, reg_covar, threads, seed)
  } else if (backend == "cuda") {
    fit_cuda(src, weights, k, covariance, model, start, n_init, max_iter, tol, reg, threads, seed,
             precision, cuda_variant, verbose,
             progress = if (verbose) gm_progress_fit(n_init, max_iter, environment()))
  } else {
    if (variant == "auto") variant <- choose_variant(src, k, covariance, precision)
    cpp_fit(src$data, weights, k, model, start$code, start$params, start$labels,
            n_init, max_iter, tol, reg, threads, seed, match(variant, variant_names) - 1L,
            precision == "single", verbose, score = if (src$in_memory) 3L else 1L,
            progress = if (verbose) gm_progress_fit(n_init, max_iter, environment()))
  }
  if (!is.null(res$failed_restarts) && res$failed_restarts > 0)
    warning(sprintf("%d of %d starts failed (last: %s); kept the best of the others",
                    res$failed_restarts, n_init, res$failure), call. = FALSE)
  if (isTRUE(res$precision_fallback))
    warning(sprintf(paste0("single precision cannot resolve these data (component means lie up to ",
                           "%.3g standard deviations from the data's centre): the fit was computed ",
                           "in double precision; use precision = \"double\""), res$offset),
            call. = FALSE)
  if (backend != "cpu" && src$in_memory) {
    sc <- cpp_score(src$data, res$parameters, model, 8L, threads, w = weights)
    res$classification <- sc$classification
    res$uncertainty <- sc$uncertainty
    res$entropy <- sc$entropy
  }
  new_gmm(res, src, x, weights, covariance, backend, call, threads,
          list(init = if (start$kind == "method") init else start$kind, n_init = n_init,
               max_iter = max_iter, tol = tol, reg_covar = reg_covar, seed = seed,
               precision = precision, variant = if (backend == "cpu") variant else NA_character_,
               cuda_variant = if (backend == "cuda") res$cuda_variant else NA_character_))
}

# Number of free parameters of a model.
gmm_df <- function(k, d, covariance) {
  cov <- switch(covariance, full = k * d * (d + 1) / 2, diag = k * d, spherical = k,
                tied = d * (d + 1) / 2)
  (k - 1) + k * d + cov
}

# Assembles the "gmm" object from a backend's result.
# The fit refers to the data as the user passed them (R shares the object: no
# copy), or to the source; per-row results only for in-memory data.
new_gmm <- function(res, src, x, weights, covariance, backend, call, threads, control) {
  n <- src$n
  d <- src$d
  p <- res$parameters
  k <- length(p$proportions)
  vars <- src$names
  comps <- paste0("C", seq_len(k))
  names(p$proportions) <- comps
  dimnames(p$means) <- list(comps, vars)
  dimnames(p$covariances) <- list(vars, vars, comps)
  nobs <- if (is.null(weights)) n else sum(weights > 0)
  df <- gmm_df(k, d, covariance)
  bic <- -2 * res$loglik + df * log(nobs)
  structure(list(
    parameters = p, loglik = res$loglik, loglik_trace = res$loglik_trace,
    iterations = res$iterations, converged = res$converged, n = n, d = d, k = k,
    covariance = covariance, df = df, nobs = nobs,
    bic = bic, aic = -2 * res$loglik + 2 * df,
    icl = if (is.null(res$entropy)) NA_real_ else bic + 2 * res$entropy,
    classification = res$classification, uncertainty = res$uncertainty,
    timings = res$timings, backend = backend, call = call, control = control, weights = weights,
    data = if (src$in_memory) x else src$source
  ), class = "gmm")
}
