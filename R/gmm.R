#' Fit a Gaussian mixture model by EM
#'
#' Fits a mixture of `k` Gaussian components by the EM algorithm. Each
#' iteration is one fused pass over the data that computes the
#' responsibilities and the sufficient statistics block by block (no n x k
#' matrix is kept), followed by an M-step.
#'
#' @param x A numeric matrix (rows are observations), a data frame of numeric
#'   columns, or a numeric vector (one dimension). Must not contain `NA`,
#'   `NaN` or infinite values. Or a data source: [gmm_file()],
#'   [gmm_chunks()], or [gmm_cluster()] (shards on the workers of a cluster).
#' @param k Number of components, a whole number between 1 and the number of
#'   distinct rows of `x`.
#' @param covariance Covariance model, one of mclust's fourteen, named by
#'   the volume, shape and orientation of the components' ellipsoids (`E`
#'   equal for all components, `V` varying, `I` identity): `"EII"`, `"VII"`
#'   (spherical), `"EEI"`, `"VEI"`, `"EVI"`, `"VVI"` (diagonal), `"EEE"`,
#'   `"VEE"`, `"EVE"`, `"VVE"`, `"EEV"`, `"VEV"`, `"EVV"`, `"VVV"`
#'   (ellipsoidal); scikit-learn's names are aliases: `"full"` = `"VVV"`,
#'   `"diag"` = `"VVI"`, `"spherical"` = `"VII"`, `"tied"` = `"EEE"`. In one
#'   dimension every name reduces to mclust's `"E"` (equal variances) or
#'   `"V"` (varying variances), which are accepted too. Models whose M-step
#'   iterates (VEI, VEE, EVE, VVE, VEV) follow mclust's inner algorithms and
#'   tolerances. The fit's `covariance` is the mclust name.
#' @param init How to start: `"kmeans++"` (the default: on a random sample of
#'   2000 to 65536 rows, several greedy k-means++ seedings, each followed by
#'   Lloyd's iterations to convergence, and a short EM run from the best of
#'   them; the start with the highest log-likelihood on the sample is kept;
#'   see [gmm_control()]),
#'   `"subsample"` (a fit to a random fraction of the rows, which the fit to
#'   all rows continues), a previous fit (its parameters, put into the form
#'   the covariance model needs), `"random"` (random responsibilities, then an
#'   M-step), `"random_from_data"` (k random rows as means, the covariance of
#'   all the data for every component, equal proportions); or a list of
#'   starting parameters `list(means, covariances, proportions)` (means a k x
#'   d matrix, or a vector of length k in one dimension; covariances a d x d x
#'   k array, a d x d matrix for the models with one common covariance (EII,
#'   EEI, EEE), a k x d matrix of variances for the diagonal models, or a
#'   vector of k variances for the spherical models or in one dimension; the
#'   diagonal and spherical models need diagonal (spherical) matrices, the
#'   common ones equal matrices; proportions default to equal); or an integer vector of
#'   starting labels `1..k`, one per row, in which case the first step is an
#'   M-step from those labels (as `mclust::me()` does).
#' @param n_init Number of starts (for the random methods); the fit with the
#'   highest log-likelihood is kept.
#' @param max_iter Maximum number of passes over the data (for plain EM, its
#'   iterations: one M-step followed by one E-step pass; an accelerated cycle
#'   makes three passes; see `method`).
#' @param tol Convergence tolerance on the relative change of the
#'   log-likelihood: EM stops when \eqn{|l_t - l_{t-1}| \le tol (1 + |l_t|)}{|l_t - l_(t-1)| <= tol (1 + |l_t|)},
#'   the rule mclust uses. `tol = 0` runs exactly `max_iter` iterations.
#' @param reg_covar Regularisation of the covariances, keeping them positive
#'   definite: a non-negative number (or one per column of `x`). By default
#'   it is relative (see [gmm_control()]): the diagonal of every covariance
#'   matrix gets `reg_covar` times the squared within-cluster scale of that
#'   column (a robust estimate from its quantiles, which far-apart clusters do
#'   not inflate), so that rescaling a column (changing its units) does not
#'   change the clustering. With `control = gmm_control(reg_covar_type = "absolute")`
#'   the amount is added as it is (as scikit-learn does). `0` gives the plain
#'   maximum-likelihood estimates (as mclust) in either case.
#' @param weights Optional non-negative observation weights, one per row.
#'   Weights are relative: only their ratios matter (any positive scale gives
#'   the same fit, in either precision). They are rescaled to sum to the
#'   number of rows with positive weight, \eqn{n_+}; each row then counts
#'   with its rescaled weight in the statistics and in the log-likelihood,
#'   and [nobs()] is \eqn{n_+}, the number used in the BIC penalty. So integer
#'   weights give the same parameters as repeating the rows, with the
#'   log-likelihood of the \eqn{n_+} distinct rows (that of the repeated rows
#'   times \eqn{\sum w / n_+}). Rows with weight 0 are ignored. A [gmm_cluster()]
#'   source carries its own weights (this must then be `NULL`).
#' @param backend `"auto"` (the fastest available), `"cpu"` (the C++ core),
#'   `"cuda"` (the GPU, when built with CUDA and a device is present) or `"r"`
#'   (a plain R implementation, the reference for tests).
#' @param threads Number of CPU threads; default `getOption("fastgmm.threads")`
#'   or RcppParallel's default. Results do not depend on it. For a
#'   [gmm_cluster()] source: the threads of each worker (default: the
#'   worker's own default).
#' @param seed `NULL` (one number is drawn from R's random stream, so
#'   `set.seed()` makes fits reproducible) or a whole number, in which case R's
#'   random stream is not touched at all.
#' @param verbose Report the log-likelihood after each EM iteration: a
#'   progress bar updated in place on a dynamic terminal (an interactive
#'   console), otherwise one message per iteration. (The `"r"` backend
#'   reports nothing.)
#' @param method `"em"` (batch EM over all rows at every iteration;
#'   accelerated by default, see [gmm_control()]) or `"stepwise"` (mini-batch
#'   EM for data too large for many passes: a few passes in which the
#'   parameters are updated after every mini-batch of rows, then a few batch
#'   iterations; see [gmm_control()] for the batch size, step size and number
#'   of passes). With either, `max_iter` counts passes over the data and so
#'   does the fit's `iterations`. Stepwise EM runs on every source: in
#'   memory, files, chunk functions (read in order, without shuffling) and
#'   [gmm_cluster()] sources (one round trip per mini-batch, giving the
#'   in-memory stepwise fit of the same rows).
#' @param control Tuning settings from [gmm_control()]: precision and kernel
#'   variants, acceleration, stepwise EM, the k-means++ start, how
#'   `reg_covar` is scaled.
#' @param ... `precision`, `variant` and `cuda_variant` are accepted here
#'   (with a warning) for compatibility: they are settings of [gmm_control()].
#' @return An object of class `c("fastgmm", "gmm")` (the first class keeps
#'   the broom-style tidiers apart from broom's methods for the gmm package's
#'   `"gmm"` objects): a list with `parameters =
#'   list(proportions, means (k x d), covariances (d x d x k))`, `loglik` (the
#'   log-likelihood of the returned parameters), `loglik_trace` (after each
#'   iteration), `iterations`, `converged`, `n`, `d`, `k`, `covariance`, `df`
#'   (number of free parameters), `bic` and `aic` (as [stats::BIC()], smaller
#'   is better), `classification`, `uncertainty` (one minus the largest
#'   posterior probability), `weights` (the rescaled weights, or `NULL`),
#'   `timings` (a named vector of seconds, over all `n_init` starts: `init`,
#'   the initialisation; `estep`, the E-steps with their statistics passes;
#'   `mstep`, the M-steps; `score`, the final pass that classifies the data;
#'   `total`, the whole call, including checks and kernel selection; printed
#'   by [summary.gmm()]), `backend`, `call` and more.
#'
#'   A fit that stops at `max_iter` without meeting `tol` gives a warning
#'   (of class `"fastgmm_not_converged"`) with the number of iterations and
#'   the last relative change of the log-likelihood.
#' @seealso [predict.gmm()], [plot.gmm()], [summary.gmm()], [tidy.fastgmm()], [gmm_control()], [gmm_select()]
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
                tol = 1e-6, reg_covar = 1e-6, weights = NULL, method = c("em", "stepwise"),
                backend = "auto", threads = NULL, seed = NULL, verbose = FALSE,
                control = gmm_control(), ...) {
  t_start <- as.numeric(Sys.time())
  call <- match.call()
  plan <- gmm_plan(x, k, covariance, init, n_init, max_iter, tol, reg_covar, weights, method,
                   backend, threads, seed, verbose, control, ...)
  gmm_finish(plan, gmm_run(plan), call, t_start)
}

# gmm() in three steps (gmm_select() runs the middle one for several fits at once): the
# checked arguments and the choices made from them (a list); the backend's result; the
# "gmm" object.
gmm_plan <- function(x, k, covariance = "full", init = "kmeans++", n_init = 1, max_iter = 100,
                     tol = 1e-6, reg_covar = 1e-6, weights = NULL, method = c("em", "stepwise"),
                     backend = "auto", threads = NULL, seed = NULL, verbose = FALSE,
                     control = gmm_control(), ...) {
  control <- control_with_dots(control, list(...))
  src <- as_source(x)
  n <- src$n
  d <- src$d
  covariance <- check_covariance(covariance, d)
  k <- check_count(k, "k")
  if (k > n) stop(sprintf("`k` (%d) is larger than the number of rows of `x` (%.0f)", k, n), call. = FALSE)
  n_init <- check_count(n_init, "n_init")
  max_iter <- check_count(max_iter, "max_iter", min = 0)
  tol <- check_number(tol, "tol")
  reg_covar <- check_reg_covar(reg_covar, d)
  method <- match_choice(method, c("em", "stepwise"), "method")
  weights <- normalise_weights(check_weights(weights, n))
  threads <- if (isTRUE(src$cluster)) cluster_threads(threads) else check_threads(threads)
  verbose <- check_flag(verbose, "verbose")
  backend <- if (isTRUE(src$cluster)) cluster_backend(backend) else resolve_backend(backend, n, d, k)
  if (method == "stepwise" && backend != "cpu")
    stop("`method = \"stepwise\"` runs on the CPU backend; use backend = \"cpu\"", call. = FALSE)
  if (backend == "r" && !src$in_memory)
    stop("`backend = \"r\"` needs the data in memory (a matrix or data frame)", call. = FALSE)
  start <- check_init(init, n, d, k, covariance)
  if (backend == "r" && identical(start$code, 5L))
    stop("`init = \"subsample\"` runs on the C++ backends", call. = FALSE)
  if (start$kind != "method") n_init <- 1L
  else if (!isTRUE(src$cluster) && !cpp_distinct_rows(src$data, weights, k))
    stop(sprintf("`k` (%d) is larger than the number of distinct rows of `x`%s", k,
                 if (is.null(weights)) "" else " with positive weight"), call. = FALSE)
  seed <- resolve_seed(seed)
  list(x = x, src = src, k = k, covariance = covariance, init = init, start = start,
       n_init = n_init, max_iter = max_iter, tol = tol, reg_covar = reg_covar,
       reg = reg_covar_amount(reg_covar, control$reg_covar_type, src, weights), method = method,
       weights = weights, threads = threads, verbose = verbose, backend = backend, seed = seed,
       model = model_name(covariance, d), control = control)
}

# The CPU kernel variant of a fit on in-memory data or a file (chosen when "auto").
plan_variant <- function(p) {
  v <- p$control$variant
  if (v == "auto") choose_variant(p$src, p$k, p$covariance, p$control$precision) else v
}

gmm_run <- function(p) {
  src <- p$src
  control <- p$control
  progress <- if (p$verbose) gm_progress_fit(p$n_init, p$max_iter, environment())
  res <- if (p$backend == "r") {
    fit_r(src$data, p$weights, p$k, p$covariance, p$start, p$n_init, p$max_iter, p$tol, p$reg,
          p$threads, p$seed, control)
  } else if (p$backend == "cuda") {
    fit_cuda(src, p$weights, p$k, p$covariance, p$model, p$start, p$n_init, p$max_iter, p$tol,
             p$reg, p$threads, p$seed, control$precision, control$cuda_variant, p$verbose, control,
             progress = progress)
  } else if (isTRUE(src$cluster)) {
    variant <- control$variant
    if (variant == "auto")
      variant <- cl_choose_variant(src$source, p$k, p$covariance, control$precision)
    res <- cluster_fit(src$source, p$weights, p$k, p$covariance, p$model, p$start, p$n_init,
                       p$max_iter, p$tol, p$reg, p$threads, p$seed, control$precision, variant,
                       p$verbose, progress = progress, control = control, method = p$method)
    res$variant <- variant
    res
  } else {
    variant <- plan_variant(p)
    res <- cpp_fit(src$data, p$weights, p$k, p$model, p$start$code, p$start$params,
                   p$start$labels, p$n_init, p$max_iter, p$tol, p$reg, p$threads, p$seed,
                   match(variant, variant_names) - 1L, control$precision == "single", p$verbose,
                   score = if (src$in_memory && !isTRUE(sel_state$grid)) 3L else 1L,
                   control = control_for_cpp(control, p$method), progress = progress,
                   origin = data_origin(src, p$weights), memo = label_memo(p$start))
    res$variant <- variant
    res
  }
  if (p$backend != "cpu" && src$in_memory) {
    t_score <- as.numeric(Sys.time())
    sc <- cpp_score(src$data, res$parameters, p$model, if (isTRUE(sel_state$grid)) 0L else 8L,
                    p$threads, w = p$weights)
    res$classification <- sc$classification
    res$uncertainty <- sc$uncertainty
    res$entropy <- sc$entropy
    res$score_seconds <- as.numeric(Sys.time()) - t_score
  }
  res
}

gmm_finish <- function(p, res, call, t_start) {
  if (!is.null(res$failed_restarts) && res$failed_restarts > 0)
    warning(sprintf("%d of %d starts failed (last: %s); kept the best of the others",
                    res$failed_restarts, p$n_init, res$failure), call. = FALSE)
  if (isTRUE(res$precision_fallback))
    warning(sprintf(paste0("single precision cannot resolve these data (component means lie up to ",
                           "%.3g standard deviations from the data's centre): the fit was computed ",
                           "in double precision; use precision = \"double\""), res$offset),
            call. = FALSE)
  control <- p$control
  backend <- p$backend
  fit <- new_gmm(res, p$src, p$x, p$weights, p$covariance, backend, call, p$threads,
                 list(init = if (p$start$kind == "method") p$init else p$start$kind,
                      n_init = p$n_init, max_iter = p$max_iter, tol = p$tol,
                      reg_covar = p$reg_covar, reg_covar_type = control$reg_covar_type,
                      seed = p$seed, precision = control$precision, method = p$method,
                      accelerate = p$method == "em" && backend != "r" && control$accelerate,
                      variant = if (backend == "cpu") res$variant else NA_character_,
                      cuda_variant = if (backend == "cuda") res$cuda_variant else NA_character_),
                 t_start)
  # (stepwise EM stops after its polish iterations by design)
  if (!fit$converged && p$tol > 0 && p$max_iter > 0 && p$method == "em") warn_not_converged(fit)
  fit
}

# Assembles the "gmm" object from a backend's result.
# The fit refers to the data as the user passed them (R shares the object: no
# copy), or to the source; per-row results only for in-memory data.
new_gmm <- function(res, src, x, weights, covariance, backend, call, threads, control,
                    t_start = as.numeric(Sys.time())) {
  n <- src$n
  d <- src$d
  p <- res$parameters
  k <- length(p$proportions)
  vars <- src$names
  comps <- paste0("C", seq_len(k))
  names(p$proportions) <- comps
  dimnames(p$means) <- list(comps, vars)
  dimnames(p$covariances) <- list(vars, vars, comps)
  nobs <- if (!is.null(res$nobs)) res$nobs else if (is.null(weights)) n else sum(weights > 0)
  df <- gmm_df(k, d, covariance)
  bic <- -2 * res$loglik + df * log(nobs)
  structure(list(
    parameters = p, loglik = res$loglik, loglik_trace = res$loglik_trace,
    iterations = res$iterations, converged = res$converged, n = n, d = d, k = k,
    covariance = covariance, df = df, nobs = nobs,
    bic = bic, aic = -2 * res$loglik + 2 * df,
    icl = if (is.null(res$entropy)) NA_real_ else bic + 2 * res$entropy,
    classification = res$classification, uncertainty = res$uncertainty,
    timings = fit_timings(res$timings, if (is.null(res$score_seconds)) NA_real_ else res$score_seconds,
                          as.numeric(Sys.time()) - t_start),
    backend = backend, call = call, control = control, weights = weights,
    data = if (src$in_memory) x else src$source
  ), class = c("fastgmm", "gmm"))
}

# The timings of a fit: the backend's c(init, estep, mstep) (NA where it does not report
# them), then the final scoring pass and the whole call.
fit_timings <- function(backend_timings, score, total) {
  t <- c(init = NA_real_, estep = NA_real_, mstep = NA_real_)
  if (!is.null(backend_timings)) t[names(t)] <- as.double(backend_timings[names(t)])
  c(t, score = score, total = total)
}

# One warning for a fit that stopped at max_iter before meeting tol.
warn_not_converged <- function(fit) {
  tr <- fit$loglik_trace
  nt <- length(tr)
  change <- if (nt >= 2L) abs(tr[nt] - tr[nt - 1L]) / (1 + abs(tr[nt])) else NA_real_
  msg <- sprintf("EM did not converge in %d iteration%s%s (tol = %s); increase `max_iter`, or try another start",
                 fit$iterations, if (fit$iterations == 1L) "" else "s",
                 if (is.na(change)) "" else sprintf(": the last relative change of the log-likelihood was %.3g", change),
                 format(fit$control$tol))
  warning(structure(class = c("fastgmm_not_converged", "warning", "condition"),
                    list(message = msg, call = NULL, iterations = fit$iterations, change = change)))
}
