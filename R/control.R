# gmm_control(): the tuning knobs of gmm() in one place (as mclust::emControl() does), and
# the two rules that make a fit independent of the scale of its inputs: weights are
# relative (rescaled to sum to the number of rows with positive weight) and `reg_covar` is by
# default relative to each column's within-cluster scale (column_spread()).

#' Tuning settings for gmm()
#'
#' Collects the settings of [gmm()] that few fits need to change: the
#' arithmetic (precision and kernel variants), the EM driver (acceleration,
#' stepwise EM), the initialisation, and how `reg_covar` is scaled.
#'
#' @param precision `"double"`, or `"single"` to compute the E-step in single
#'   precision (statistics are still accumulated in double). Faster, with a
#'   log-likelihood that agrees to about 1e-6 relative. Components lying far
#'   from the data's centre (over about 2e4 standard deviations) cannot be
#'   resolved in single precision: the fit then computes in double and warns.
#' @param variant The CPU kernel variant: `"auto"` (chosen by timing on first
#'   use for a problem shape, on one thread, then cached: in memory for the
#'   session and, in an interactive session or when the options
#'   `fastgmm.cache` or `fastgmm.cache_dir` ask for it, on disk; see
#'   \sQuote{The variant cache} in [gmm_time_variants()]), `"gemm"`
#'   (matrix-product form) or `"direct"` (register-blocked, often faster for
#'   small dimensions). Variants agree to rounding.
#' @param cuda_variant The GPU statistics kernel for `backend = "cuda"`:
#'   `"auto"` (on at least 1e5 rows timed on first use for a problem shape and
#'   device, then cached like `variant`; `"component"`, far slower on every
#'   shape measured, is not among those timed; on fewer rows `"cell"`, or
#'   `"cublas"` for ellipsoidal models beyond 32 dimensions), or one of
#'   `"cell"`, `"cell_all"`, `"component"`, `"component_split"`, `"cublas"`.
#'   See [gmm_backends()].
#' @param accelerate `TRUE` (the default) to accelerate EM by extrapolation
#'   (SQUAREM, Varadhan and Roland 2008) on unconstrained parameters (log
#'   proportions, means, Cholesky factors with log diagonals), with a
#'   safeguard: an extrapolated step whose log-likelihood would fall below the
#'   plain EM step's is replaced by it, so the log-likelihood never
#'   decreases. It reaches the same fixed point as plain EM in fewer passes
#'   over the data; `FALSE` runs plain EM (whose iterations match mclust's
#'   one for one). Used by `method = "em"`.
#' @param stepwise_batch,stepwise_alpha,stepwise_passes,polish For `method =
#'   "stepwise"` in [gmm()]: rows per mini-batch (rounded to whole blocks of
#'   rows), the step-size exponent alpha in (0.5, 1] (the running statistics
#'   are blended with step (t + 2)^-alpha), the number of stepwise passes over
#'   the data, then the number of full batch EM iterations that polish the
#'   result.
#' @param init_starts,init_em_starts,init_em_iter,init_sample For `init =
#'   "kmeans++"`: the number of greedy k-means++ seedings (Arthur and
#'   Vassilvitskii 2007, with 2 + log k candidates per step), each followed by
#'   Lloyd's iterations to convergence, on a sample of `init_sample` rows
#'   (`NULL`: 100 per component, between 2000 and 65536); the number of them,
#'   those of lowest k-means inertia, from which EM then runs `init_em_iter`
#'   iterations on the sample; the start with the highest log-likelihood on
#'   the sample is kept (ties: the first).
#' @param subsample For `init = "subsample"`: the fraction of the rows (at
#'   least 10000 of them, at most a million) fitted first, from a k-means++
#'   start to convergence; the fit to all rows continues from there.
#' @param reg_covar_type How the `reg_covar` argument of [gmm()] is read:
#'   `"relative"` (the default): the amount added to the diagonal of the
#'   covariances in dimension j is `reg_covar` times the squared
#'   within-cluster scale of column j: a robust estimate from the (weighted)
#'   quantiles (the median gap between quantiles 1% apart, calibrated to the
#'   standard deviation of a Gaussian), which clusters far apart
#'   do not inflate, never more than the column's variance (computed on at
#'   most 100000 evenly spaced rows with positive weight; where ties make the
#'   gap 0, the variance; a constant column uses the mean variance of the
#'   other columns, or 1 when all are constant). Rescaling or changing the
#'   units of a column does not change the fit beyond that rescaling;
#'   `"absolute"`: `reg_covar` is added as it is, as in scikit-learn's
#'   `GaussianMixture`. Spherical models add the mean of the per-dimension
#'   amounts. With `reg_covar = 0` both mean no regularisation.
#' @return An object of class `"gmm_control"` (a list of the settings).
#' @seealso [gmm()]
#' @examples
#' gmm_control()
#' # plain EM, single precision
#' fit <- gmm(faithful, 2, threads = 1, seed = 1,
#'            control = gmm_control(accelerate = FALSE, precision = "single"))
#' fit$iterations
#' # on data in tiny units the default (relative) regularisation is harmless ...
#' x <- faithful * 1e-4
#' fit <- gmm(x, 2, threads = 1, seed = 1)
#' table(fit$classification)
#' # ... while an absolute 1e-6 swamps variances of about 1e-8 and merges the clusters
#' fit_abs <- gmm(x, 2, reg_covar = 1e-6, control = gmm_control(reg_covar_type = "absolute"),
#'                threads = 1, seed = 1)
#' table(fit_abs$classification)
#' @export
gmm_control <- function(precision = c("double", "single"), variant = "auto",
                        cuda_variant = "auto", accelerate = TRUE, stepwise_batch = 65536,
                        stepwise_alpha = 0.7, stepwise_passes = 2, polish = 3, init_starts = 5,
                        init_em_starts = 2, init_em_iter = 10, init_sample = NULL, subsample = 0.1,
                        reg_covar_type = c("relative", "absolute")) {
  num <- function(v, arg, lo, hi, open_lo = FALSE) {
    if (!is.numeric(v) || length(v) != 1L || is.na(v) || !is.finite(v) ||
        (if (open_lo) v <= lo else v < lo) || v > hi)
      stop(sprintf("`%s` must be a single number in %s%s, %s]", arg, if (open_lo) "(" else "[",
                   format(lo), format(hi)), call. = FALSE)
    as.double(v)
  }
  structure(list(
    precision = match_choice(precision, c("double", "single"), "precision"),
    variant = match_choice(variant, c("auto", variant_names), "variant"),
    cuda_variant = match_choice(cuda_variant, c("auto", cuda_variant_names), "cuda_variant"),
    accelerate = check_flag(accelerate, "accelerate"),
    stepwise_batch = check_count(stepwise_batch, "stepwise_batch"),
    stepwise_alpha = num(stepwise_alpha, "stepwise_alpha", 0.5, 1, open_lo = TRUE),
    stepwise_passes = check_count(stepwise_passes, "stepwise_passes", min = 0),
    polish = check_count(polish, "polish", min = 0),
    init_starts = check_count(init_starts, "init_starts"),
    init_em_starts = check_count(init_em_starts, "init_em_starts"),
    init_em_iter = check_count(init_em_iter, "init_em_iter", min = 0),
    init_sample = if (is.null(init_sample)) NULL else check_count(init_sample, "init_sample"),
    subsample = num(subsample, "subsample", 0, 1, open_lo = TRUE),
    reg_covar_type = match_choice(reg_covar_type, c("relative", "absolute"), "reg_covar_type")),
    class = "gmm_control")
}

#' @export
print.gmm_control <- function(x, ...) {
  cat("gmm() settings (gmm_control):\n")
  show <- vapply(x, function(v) if (is.null(v)) "NULL (chosen)" else format(v), "")
  cat(paste0("  ", format(names(x)), "  ", show), sep = "\n")
  invisible(x)
}

# The settings the C++ driver reads (rcpp_restarts.cpp: apply_control()).
control_for_cpp <- function(control, method) {
  list(driver = if (method == "stepwise") 2 else if (control$accelerate) 1 else 0,
       stepwise_batch = control$stepwise_batch, stepwise_alpha = control$stepwise_alpha,
       stepwise_passes = control$stepwise_passes, polish = control$polish,
       init_starts = control$init_starts, init_em_starts = control$init_em_starts,
       init_em_iter = control$init_em_iter,
       init_sample = if (is.null(control$init_sample)) 0 else control$init_sample,
       subsample = control$subsample)
}

# A "gmm_control" object from `control` (a gmm_control() result or a list of its arguments).
check_control <- function(control) {
  if (inherits(control, "gmm_control")) control <- unclass(control)
  if (!is.list(control) || (length(control) && is.null(names(control))))
    stop("`control` must be made by gmm_control()", call. = FALSE)
  bad <- setdiff(names(control), names(formals(gmm_control)))
  if (length(bad))
    stop(sprintf("`control` has unknown setting(s): %s; see ?gmm_control",
                 paste(bad, collapse = ", ")), call. = FALSE)
  do.call(gmm_control, control)
}

# `reg_covar`: one non-negative number, or one per column of the data.
check_reg_covar <- function(reg_covar, d) {
  if (!is.numeric(reg_covar) || !length(reg_covar) %in% c(1L, d) || anyNA(reg_covar) ||
      any(!is.finite(reg_covar)) || any(reg_covar < 0))
    stop(sprintf("`reg_covar` must be a single finite number >= 0, or %d of them (one per column)",
                 d), call. = FALSE)
  as.double(reg_covar)
}

# The amounts added to the covariance diagonals, one per dimension.
reg_covar_amount <- function(reg_covar, type, src, weights) {
  d <- src$d
  if (all(reg_covar == 0)) return(rep(0, d))
  if (type == "absolute") return(rep_len(reg_covar, d))
  rep_len(reg_covar, d) * column_spread(src, weights)
}

# The squared within-cluster scale of each column, for the relative `reg_covar`: a robust
# estimate that far-apart clusters do not inflate (the column's variance would: clusters 1e8
# apart made it 2.5e15), scale-equivariant, from the same evenly spaced rows as column_scale().
# The median, over probabilities u, of the gap Q(u + 1%) - Q(u) between the (weighted)
# quantiles of the column, divided by the same for a standard normal, estimates the standard
# deviation of the Gaussian the typical row lies in (in a mixture, about its sd over its
# weight). Integer weights give the estimate of repeated rows. Never more than the column's
# variance; where ties make the median gap 0, the variance.
column_spread <- function(src, weights, max_rows = 100000L) {
  if (isTRUE(spread_memo$active) && identical(spread_memo$key, list(src$data, weights, max_rows)))
    return(spread_memo$value)
  v <- column_spread_of(src, weights, max_rows)
  if (isTRUE(spread_memo$active)) {
    spread_memo$key <- list(src$data, weights, max_rows)
    spread_memo$value <- v
  }
  v
}

# gmm_select() keeps the last spread while its fits run (the same data for every fit), with
# the data it has checked for non-finite values (`checked`) and their weighted column means
# (data_origin(): the origin the C++ core centres the rows on, one pass over the data).
spread_memo <- new.env(parent = emptyenv())
spread_memo_clear <- function() {
  spread_memo$active <- FALSE
  spread_memo$key <- NULL
  spread_memo$value <- NULL
  spread_memo$checked <- NULL
  spread_memo$origin_key <- NULL
  spread_memo$origin <- NULL
  spread_memo$labels <- NULL
}

# The C++ memo of a partition's statistics for cpp_fit() (see LabelMemo in rcpp_restarts.h):
# while gmm_select() runs, the models it starts at one k from the same labels share them.
label_memo <- function(start) {
  if (!isTRUE(spread_memo$active) || !identical(start$kind, "labels")) return(NULL)
  if (is.null(spread_memo$labels)) spread_memo$labels <- cpp_label_memo()
  spread_memo$labels
}

# The origin of an in-memory source for cpp_fit(): NULL (the core computes it) unless
# gmm_select() is running, which computes it once for all its fits.
data_origin <- function(src, weights) {
  if (!isTRUE(spread_memo$active) || !src$in_memory) return(NULL)
  if (!identical(spread_memo$origin_key, list(src$data, weights))) {
    spread_memo$origin <- cpp_origin(src$data, weights)
    spread_memo$origin_key <- list(src$data, weights)
  }
  spread_memo$origin
}

column_spread_of <- function(src, weights, max_rows) {
  v <- column_scale(src, weights, max_rows)
  rows <- column_rows(src, weights, max_rows)
  lag <- 0.01
  u <- (seq_len(1000L) - 0.5) / 1000 * (1 - lag)
  ref <- stats::median(stats::qnorm(u + lag) - stats::qnorm(u))
  r <- vapply(seq_len(src$d), function(j) {
    xj <- rows$col(j)
    if (length(xj) < 2L) return(NA_real_)
    o <- order(xj)
    xs <- xj[o]
    cw <- if (is.null(rows$w)) seq_along(xs) else cumsum(rows$w[o])
    cw <- cw / cw[length(cw)]
    q <- function(p) xs[pmin(length(xs), findInterval(p, cw, left.open = TRUE) + 1L)]
    (stats::median(q(u + lag) - q(u)) / ref)^2
  }, numeric(1))
  ok <- is.finite(r) & r > 0
  v[ok] <- pmin(v[ok], r[ok])
  v
}

# Rows of the source for column statistics: at most `max_rows` evenly spaced ones, those with
# positive weight; col(j) gives column j.
column_rows <- function(src, weights, max_rows = 100000L) {
  n <- src$n
  idx <- if (n > max_rows) unique(round(seq(1, n, length.out = max_rows))) else NULL
  if (isTRUE(src$cluster)) {
    g <- cl_gather_rows(src$source, if (is.null(idx)) seq_len(n) else idx)
    x <- g$x
    w <- if (isTRUE(src$source$weighted)) g$w else if (is.null(weights)) NULL else weights
    if (!isTRUE(src$source$weighted) && !is.null(w) && !is.null(idx)) w <- w[idx]
  } else if (src$in_memory) {
    x <- if (is.null(idx)) src$data else src$data[idx, , drop = FALSE]
    w <- if (is.null(weights)) NULL else if (is.null(idx)) weights else weights[idx]
  } else {
    x <- cpp_gather_rows(src$data, (if (is.null(idx)) seq_len(n) else idx) - 1)
    w <- if (is.null(weights)) NULL else if (is.null(idx)) weights else weights[idx]
  }
  keep <- if (is.null(w) || !any(w > 0)) NULL else which(w > 0)
  list(col = function(j) if (is.null(keep)) x[, j] else x[keep, j],
       w = if (is.null(keep)) NULL else w[keep])
}

# Variance of each column (weighted), on at most `max_rows` evenly spaced rows (read through
# the source when the data are not in memory); a constant column gets the mean variance of
# the other columns, or 1 when every column is constant.
column_scale <- function(src, weights, max_rows = 100000L) {
  n <- src$n
  idx <- if (n > max_rows) unique(round(seq(1, n, length.out = max_rows))) else NULL
  if (isTRUE(src$cluster)) {
    g <- cl_gather_rows(src$source, if (is.null(idx)) seq_len(n) else idx)
    col <- function(j) g$x[, j]
    if (isTRUE(src$source$weighted)) weights <- g$w
    idx <- NULL
  } else if (src$in_memory) {
    x <- src$data
    col <- function(j) if (is.null(idx)) x[, j] else x[idx, j]
  } else {
    rows <- cpp_gather_rows(src$data, (if (is.null(idx)) seq_len(n) else idx) - 1)
    col <- function(j) rows[, j]
  }
  w <- if (is.null(weights)) NULL else if (is.null(idx)) weights else weights[idx]
  if (!is.null(w) && !(sum(w) > 0)) w <- NULL          # only zero weights sampled
  v <- vapply(seq_len(src$d), function(j) {
    xj <- col(j)
    if (is.null(w)) {
      m <- sum(xj) / length(xj)
      sum((xj - m)^2) / length(xj)
    } else {
      m <- sum(w * xj) / sum(w)
      sum(w * (xj - m)^2) / sum(w)
    }
  }, numeric(1))
  pos <- is.finite(v) & v > 0
  v[!pos] <- if (any(pos)) mean(v[pos]) else 1
  v
}

# Weights are relative: rescaled to sum to the number of rows with positive weight (first
# divided by their largest value, so that no scale overflows or underflows).
normalise_weights <- function(weights) {
  if (is.null(weights)) return(NULL)
  w <- weights / max(weights)          # weights below 1e-308 of the largest become 0
  w * (sum(w > 0) / sum(w))
}

# gmm()'s `...`: the tuning arguments gmm() used to take itself (precision, variant,
# cuda_variant) are moved into `control`, with a warning; anything else is an error.
control_with_dots <- function(control, dots) {
  control <- check_control(control)
  if (!length(dots)) return(control)
  nm <- names(dots)
  if (is.null(nm) || any(!nzchar(nm)))
    stop("gmm() takes no further unnamed arguments", call. = FALSE)
  moved <- intersect(nm, c("precision", "variant", "cuda_variant"))
  bad <- setdiff(nm, moved)
  if (length(bad))
    stop(sprintf("unused argument%s %s; tuning settings go in `control = gmm_control(...)`",
                 if (length(bad) > 1L) "s" else "", paste0("`", bad, "`", collapse = ", ")),
         call. = FALSE)
  warning(sprintf("`%s` is a setting of gmm_control() now: use control = gmm_control(%s)",
                  moved[1L], paste0(moved, " = ...", collapse = ", ")), call. = FALSE)
  args <- utils::modifyList(unclass(control), dots[moved])
  do.call(gmm_control, args)
}
