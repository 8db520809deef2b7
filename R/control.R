# gmm_control(): tuning knobs of gmm() in one place (today only how `reg_covar` is scaled),
# and the two rules that make a fit independent of the scale of its inputs: weights are
# relative (rescaled to sum to the number of rows with positive weight) and `reg_covar` is by
# default relative to each column's variance.

#' Tuning settings for gmm()
#'
#' Collects the settings of [gmm()] that few fits need to change. Today it
#' holds one: how `reg_covar` is scaled.
#'
#' @param reg_covar_type How the `reg_covar` argument of [gmm()] is read:
#'   `"relative"` (the default): the amount added to the diagonal of the
#'   covariances in dimension j is `reg_covar` times the variance of column j
#'   of the data (weighted by `weights`; computed on at most 100000 evenly
#'   spaced rows; a constant column uses the mean variance of the other
#'   columns, or 1 when all are constant), so rescaling or changing the units
#'   of a column does not change the fit beyond that rescaling;
#'   `"absolute"`: `reg_covar` is added as it is, as in scikit-learn's
#'   `GaussianMixture`. Spherical models add the mean of the per-dimension
#'   amounts. With `reg_covar = 0` both mean no regularisation.
#' @return An object of class `"gmm_control"` (a list of the settings).
#' @seealso [gmm()]
#' @examples
#' gmm_control()
#' # on data in tiny units the default (relative) regularisation is harmless ...
#' x <- faithful * 1e-4
#' fit <- gmm(x, 2, threads = 1, seed = 1)
#' table(fit$classification)
#' # ... while an absolute 1e-6 swamps variances of about 1e-8 and merges the clusters
#' fit_abs <- gmm(x, 2, reg_covar = 1e-6, control = gmm_control(reg_covar_type = "absolute"),
#'                threads = 1, seed = 1)
#' table(fit_abs$classification)
#' @export
gmm_control <- function(reg_covar_type = c("relative", "absolute")) {
  structure(list(reg_covar_type = match_choice(reg_covar_type, c("relative", "absolute"),
                                               "reg_covar_type")),
            class = "gmm_control")
}

#' @export
print.gmm_control <- function(x, ...) {
  cat("gmm() settings (gmm_control):\n")
  cat(paste0("  ", format(names(x)), "  ", vapply(x, format, "")), sep = "\n")
  invisible(x)
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
  rep_len(reg_covar, d) * column_scale(src, weights)
}

# Variance of each column (weighted), on at most `max_rows` evenly spaced rows (read through
# the source when the data are not in memory); a constant column gets the mean variance of
# the other columns, or 1 when every column is constant.
column_scale <- function(src, weights, max_rows = 100000L) {
  n <- src$n
  idx <- if (n > max_rows) unique(round(seq(1, n, length.out = max_rows))) else NULL
  if (src$in_memory) {
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
