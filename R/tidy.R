# broom-style tidiers through the `generics` package: tidy(), glance() and augment() for "gmm"
# fits and "gmm_select" selections. They return tibbles when the tibble package is installed
# (it is whenever broom is), plain data frames otherwise.

#' @importFrom generics tidy glance augment
#' @export
generics::tidy

#' @export
generics::glance

#' @export
generics::augment

gm_tibble <- function(df) {
  if (requireNamespace("tibble", quietly = TRUE)) tibble::as_tibble(df) else df
}

#' Tidy a fitted mixture: components, model summary, per-row results
#'
#' broom-style summaries of a fit (the generics come from the small
#' `generics` package, so broom itself is not needed). The methods are for
#' the class `"fastgmm"` of [gmm()]'s fits, so broom's methods for the gmm
#' package's `"gmm"` objects never get in the way. `tidy()` gives one row
#' per component, `glance()` one row for the whole model, `augment()` one row
#' per observation.
#'
#' @param x A fit from [gmm()].
#' @param data For `augment()`: the data the model was fitted to, as a data
#'   frame (it may hold further columns, which are kept); default the
#'   training data held by the fit.
#' @param newdata For `augment()`: new data to classify instead (anything
#'   [predict.gmm()] accepts); the result then has its columns.
#' @param threads Number of CPU threads for the scoring passes (the ICL of
#'   `glance()`, the posteriors of `augment()`); default as in [gmm()].
#' @param ... Unused.
#' @return A tibble (a data frame when the tibble package is not installed):
#'   \describe{
#'   \item{`tidy()`}{one row per component: `component` (`1..k`), `size`
#'     (training rows classified into it), `proportion`, then `mean.<v>` and
#'     `var.<v>` (the variance, the diagonal of the covariance) for every
#'     variable `v`;}
#'   \item{`glance()`}{one row: `k`, `model` (the covariance model),
#'     `logLik`, `AIC`, `BIC`, `ICL` (see [gmm_select()]; `NA` when the fit
#'     holds no data), `df`, `nobs`, `iterations`, `converged`;}
#'   \item{`augment()`}{the data, then `.class` (a factor with levels
#'     `1..k`), `.uncertainty` (one minus the largest posterior probability)
#'     and the posterior probabilities `.posterior_C1`, ...,
#'     `.posterior_Ck`.}
#'   }
#' @seealso [gmm()], [coef.gmm()], [as.data.frame.gmm()];
#'   [tidy.gmm_select()].
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' tidy(fit)
#' glance(fit, threads = 1)
#' head(augment(fit, threads = 1))
#' augment(fit, newdata = data.frame(eruptions = c(2, 4.5), waiting = c(55, 80)),
#'         threads = 1)
#' @export
tidy.fastgmm <- function(x, ...) {
  gm_check_fit(x, "x")
  p <- x$parameters
  k <- x$k
  d <- x$d
  vars <- gm_dim_names(x)
  size <- if (is.null(x$classification)) rep(NA_integer_, k) else tabulate(x$classification, k)
  out <- data.frame(component = seq_len(k), size = size,
                    proportion = as.numeric(p$proportions))
  means <- matrix(p$means, k, d)
  vars_k <- matrix(vapply(seq_len(k), function(j) diag(matrix(p$covariances[, , j], d, d)),
                          numeric(d)), k, d, byrow = TRUE)
  for (i in seq_len(d)) out[[paste0("mean.", vars[i])]] <- means[, i]
  for (i in seq_len(d)) out[[paste0("var.", vars[i])]] <- vars_k[, i]
  gm_tibble(out)
}

#' @rdname tidy.fastgmm
#' @export
glance.fastgmm <- function(x, threads = NULL, ...) {
  gm_check_fit(x, "x")
  threads <- check_threads(threads)
  icl <- if (is.null(x$icl)) NA_real_ else x$icl
  gm_tibble(data.frame(k = as.integer(x$k), model = x$covariance, logLik = x$loglik,
                       AIC = x$aic, BIC = x$bic, ICL = icl, df = x$df, nobs = x$nobs,
                       iterations = as.integer(x$iterations), converged = x$converged,
                       stringsAsFactors = FALSE))
}

#' @rdname tidy.fastgmm
#' @export
augment.fastgmm <- function(x, data = NULL, newdata = NULL, threads = NULL, ...) {
  gm_check_fit(x, "x")
  threads <- check_threads(threads)
  if (!is.null(newdata)) {
    m <- gm_newdata(x, newdata)
    if (!m$in_memory)
      stop("`newdata` for augment() must be in memory; use predict() on file or chunk sources",
           call. = FALSE)
    post <- predict.gmm(x, m$data, type = "posterior", threads = threads)
    out <- if (is.data.frame(newdata)) newdata else as.data.frame(m$data)
    if (is.null(m$names) && !is.data.frame(newdata)) names(out) <- gm_dim_names(x)
  } else {
    train <- gm_training_data(x)
    if (!is.null(data)) {
      if (!is.data.frame(data) && !is.matrix(data))
        stop("`data` must be the data frame (or matrix) the model was fitted to", call. = FALSE)
      if (nrow(data) != x$n)
        stop(sprintf("`data` has %d rows, but the model was fitted to %d", nrow(data), x$n),
             call. = FALSE)
      out <- as.data.frame(data)
    } else {
      out <- as.data.frame(train)
      if (is.null(colnames(train))) names(out) <- gm_dim_names(x)
    }
    post <- predict.gmm(x, type = "posterior", threads = threads)
  }
  cls <- max.col(post, ties.method = "first")
  out$.class <- factor(cls, levels = seq_len(x$k))
  out$.uncertainty <- 1 - post[cbind(seq_len(nrow(post)), cls)]
  for (j in seq_len(x$k)) out[[paste0(".posterior_C", j)]] <- post[, j]
  gm_tibble(out)
}

#' Tidy a model selection
#'
#' `tidy()` returns the selection's table (one row per fit), `glance()` the
#' [glance()][glance.fastgmm] row of the best fit with the selection's
#' `criterion`, number of `fits` and of `failed` ones, and `augment()` the
#' [augment()][augment.fastgmm] of the best fit.
#'
#' @param x A `"gmm_select"` object from [gmm_select()].
#' @param ... Passed to the methods for the best fit (e.g. `threads`,
#'   `newdata`).
#' @return A tibble (a data frame when tibble is not installed).
#' @seealso [gmm_select()], [tidy.fastgmm()]
#' @examples
#' sel <- gmm_select(faithful, k = 1:3, covariance = c("full", "tied"),
#'                   threads = 1, seed = 1)
#' tidy(sel)
#' glance(sel, threads = 1)
#' @export
tidy.gmm_select <- function(x, ...) {
  sel_check_object(x, "x")
  gm_tibble(x$table)
}

#' @rdname tidy.gmm_select
#' @export
glance.gmm_select <- function(x, ...) {
  sel_check_object(x, "x")
  g <- as.data.frame(glance.fastgmm(x$best, ...))
  g$criterion <- x$criterion
  g$fits <- nrow(x$table)
  g$failed <- sum(!is.na(x$table$error))
  gm_tibble(g)
}

#' @rdname tidy.gmm_select
#' @export
augment.gmm_select <- function(x, ...) {
  sel_check_object(x, "x")
  augment.fastgmm(x$best, ...)
}
