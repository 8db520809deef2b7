# as_Mclust(): a fit (or a selection) as an object of mclust's class "Mclust", so that mclust's
# summary, plots, predict and MclustDR work on it. mclust is only suggested: nothing here
# calls it, the object is built by hand in the layout mclust's functions read.

#' Convert a fit to an mclust `"Mclust"` object
#'
#' Builds the object `mclust::Mclust()` returns from a fastgmm fit, so that
#' mclust's tools work on it: `summary()` (mclust's `summary.Mclust`), `plot()`
#' (classification, uncertainty and density plots; for a selection also the
#' BIC plot), `predict()`, `mclust::MclustDR()` (dimension reduction),
#' `mclust::cdens()`, `mclust::icl()` and so on. mclust is not needed to
#' convert, only to use the result.
#'
#' The fields are those of `Mclust()`: `call`, `data`, `modelName`, `n`,
#' `d`, `G`, `BIC`, `loglik`, `df`, `bic`, `icl`, `hypvol` (`NA`: no noise
#' component), `parameters` and `z` (the posterior probabilities),
#' `classification`, `uncertainty`. `parameters` is `list(pro, mean,
#' variance)` with `mean` a d x G matrix (a named vector in one dimension)
#' and `variance` the list mclust's M-step builds for the model: `modelName`,
#' `d`, `G`, `sigma` (d x d x G), the model's decomposition `scale`, `shape`
#' (a vector when common, a d x G matrix when it varies) and `orientation`
#' (d x d when common, d x d x G when it varies) where mclust reports it,
#' and `Sigma`, `cholSigma`, `cholsigma` or `sigmasq` as mclust does for the
#' model. mclust's sign convention is used throughout: `bic` and the `BIC`
#' table are \eqn{2 \log L - p \log n}{2 log L - p log n}, larger is better (fastgmm's with the
#' opposite sign).
#'
#' `BIC` is an `"mclustBIC"` table: for a single fit one cell, for a
#' [gmm_select()] selection the whole grid (`NA` where a fit failed), so that
#' `plot(m, what = "BIC")` draws the selection as mclust would.
#'
#' @param x A fit from [gmm()] or a selection from [gmm_select()] (whose best
#'   fit is converted). The fit must hold its training data in memory.
#' @param data The training data, when the fit does not hold it (for
#'   example a fit to a [gmm_file()]); it must be what the model was fitted
#'   to.
#' @param threads Number of CPU threads for the scoring pass that computes
#'   the posterior probabilities; default as in [gmm()].
#' @param ... Unused.
#' @return An object of class `"Mclust"`.
#' @note mclust has no observation weights: a weighted fit converts, but
#'   mclust's functions treat every row alike (`n` is the number of rows).
#' @seealso [gmm()], [gmm_select()]; `mclust::Mclust()`.
#' @examples
#' fit <- gmm(faithful, 3, covariance = "EEE", threads = 1, seed = 1)
#' m <- as_Mclust(fit)
#' m$parameters$variance$sigma[, , 1]
#' if (requireNamespace("mclust", quietly = TRUE)) {
#'   summary(m)
#'   dr <- mclust::MclustDR(m)
#'   summary(dr)
#' }
#' @export
as_Mclust <- function(x, ...) UseMethod("as_Mclust")

#' @rdname as_Mclust
#' @export
as_Mclust.gmm <- function(x, data = NULL, threads = NULL, ...) {
  gm_check_fit(x, "x")
  threads <- check_threads(threads)
  if (is.null(data)) {
    data <- gm_training_data(x)
  } else {
    src <- gm_newdata(x, data)
    if (!src$in_memory)
      stop("`data` must be in memory (a matrix, data frame or numeric vector)", call. = FALSE)
    data <- src$data
  }
  if (nrow(data) != x$n)
    stop(sprintf("`data` has %d rows, but the model was fitted to %d", nrow(data), x$n), call. = FALSE)
  mc_object(x, data, threads, bic_table = NULL)
}

#' @rdname as_Mclust
#' @export
as_Mclust.gmm_select <- function(x, data = NULL, threads = NULL, ...) {
  sel_check_object(x, "x")
  m <- as_Mclust.gmm(x$best, data = data, threads = threads)
  m$BIC <- mc_bic_table(x$table, x$best)
  m
}

# --- internal helpers ----------------------------------------------------------------------

# x: a validated fit; data: its training data as an n x d matrix.
mc_object <- function(x, data, threads, bic_table) {
  d <- x$d
  k <- x$k
  vars <- gm_dim_names(x)
  data <- unname(data)
  colnames(data) <- vars
  post <- unname(predict.gmm(x, data, type = "posterior", threads = threads))
  cls <- max.col(post, ties.method = "first")
  bic <- -x$bic
  p <- x$parameters
  mean <- t(unname(p$means))
  rownames(mean) <- vars
  if (d == 1L) mean <- stats::setNames(as.numeric(mean), seq_len(k))
  hard <- post[cbind(seq_len(nrow(post)), cls)]
  structure(list(
    call = x$call, data = data, modelName = x$covariance, n = x$n, d = d, G = k,
    BIC = mc_bic_table(data.frame(k = k, covariance = x$covariance, bic = x$bic,
                                  stringsAsFactors = FALSE), x),
    loglik = x$loglik, df = x$df, bic = bic,
    icl = bic + 2 * sum(ifelse(hard > 0, log(hard), 0)),
    hypvol = NA,
    parameters = list(pro = unname(as.numeric(p$proportions)), mean = mean,
                      variance = mc_variance(x, vars)),
    z = post, classification = cls, uncertainty = 1 - hard
  ), class = "Mclust")
}

# mclust's `variance` list for the fit's model (see mclust::mstep and its variants).
mc_variance <- function(x, vars) {
  p <- gm_params(x)
  d <- x$d
  k <- x$k
  cv <- x$covariance
  parts <- model_parts(cv)
  sigma <- array(unname(p$covariances), c(d, d, k), list(vars, vars, NULL))
  out <- list(modelName = cv, d = d, G = k)
  if (d == 1L) {
    v <- as.numeric(p$covariances[1L, 1L, ])
    out$sigmasq <- if (cv == "E") v[1L] else v
    if (cv == "V") out$scale <- v
    return(out)
  }
  out$sigma <- sigma
  named <- function(M) {
    dimnames(M) <- list(vars, vars)
    M
  }
  if (cv %in% c("EII", "EEI", "EEE")) out$Sigma <- named(sigma[, , 1L])
  if (cv == "EEE") out$cholSigma <- named(chol(sigma[, , 1L]))
  if (cv == "VVV")
    out$cholsigma <- array(vapply(seq_len(k), function(j) chol(sigma[, , j]), matrix(0, d, d)),
                           c(d, d, k), list(vars, vars, NULL))
  if (cv %in% c("EII", "VII")) out$sigmasq <- as.numeric(p$scale)
  if (!is.null(p$scale)) out$scale <- unname(as.numeric(p$scale))
  if (!is.null(p$shape)) {
    out$shape <- if (identical(parts$shape, "E")) unname(p$shape[1L, ]) else unname(t(p$shape))
  }
  if (!is.null(p$orientation)) {
    o <- p$orientation
    out$orientation <- if (identical(parts$orientation, "E")) named(o[, , 1L])
                       else array(unname(o), c(d, d, k), list(vars, vars, NULL))
  }
  out
}

# An "mclustBIC" table (mclust's sign: larger is better) from rows (k, covariance, bic).
mc_bic_table <- function(table, fit) {
  ks <- sort(unique(table$k))
  covs <- unique(table$covariance)
  m <- matrix(NA_real_, length(ks), length(covs), dimnames = list(ks, covs))
  m[cbind(match(table$k, ks), match(table$covariance, covs))] <- -table$bic
  codes <- ifelse(is.na(m), -1, 0)
  structure(m, G = ks, modelNames = covs,
            control = list(eps = .Machine$double.eps, tol = c(fit$control$tol, sqrt(.Machine$double.eps)),
                           itmax = c(fit$control$max_iter, .Machine$integer.max), equalPro = FALSE),
            initialization = list(hcPairs = NULL, subset = NULL, noise = NULL),
            warn = FALSE, n = fit$n, d = fit$d, oneD = fit$d == 1L, criterion = "BIC",
            returnCodes = codes, class = "mclustBIC")
}
