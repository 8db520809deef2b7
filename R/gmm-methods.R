# S3 methods for fitted "gmm" objects: print, summary, predict, logLik, nobs, coef, fitted,
# simulate and plot. Internal helpers are prefixed `gm_` to keep clear of the other files.

#' @importFrom stats predict simulate nobs logLik coef fitted
NULL

# --- internal helpers --------------------------------------------------------------------

gm_component_names <- function(object) paste0("C", seq_len(object$k))

gm_dim_names <- function(object) {
  nm <- colnames(object$parameters$means)
  if (is.null(nm)) nm <- if (object$d == 1L) "x" else paste0("x", seq_len(object$d))
  nm
}

gm_model_label <- function(covariance, d = 2L) {
  if (d == 1L) return(if (covariance == "tied") "one common variance (E)" else "unequal variances (V)")
  switch(covariance,
         full = "full covariances (VVV)",
         diag = "diagonal covariances (VVI)",
         spherical = "spherical covariances (VII)",
         tied = "one tied covariance (EEE)",
         covariance)
}

# The training data as a matrix (fits refer to the object they were fitted
# to, without a copy; sources are read where needed).
gm_training_data <- function(object) {
  if (is.null(object$data))
    stop("this fit does not refer to its training data; pass `newdata`", call. = FALSE)
  if (inherits(object$data, "gmm_source"))
    stop("this fit was made from a file or chunk source; pass it as `newdata`", call. = FALSE)
  as_data_matrix(object$data)
}

# Validated `newdata` as a source (see as_source()) with object$d columns in
# the fit's order.
gm_newdata <- function(object, newdata) {
  src <- as_source(newdata, "newdata")
  if (src$d != object$d)
    stop(sprintf("`newdata` has %d column%s but the model was fitted to %d dimension%s",
                 src$d, if (src$d == 1L) "" else "s",
                 object$d, if (object$d == 1L) "" else "s"), call. = FALSE)
  fit_names <- colnames(object$parameters$means)
  new_names <- src$names
  if (!is.null(fit_names) && !is.null(new_names) && !identical(new_names, fit_names))
    stop(sprintf("the column names of `newdata` (%s) do not match those of the fitted data (%s)",
                 paste(new_names, collapse = ", "), paste(fit_names, collapse = ", ")),
         call. = FALSE)
  src
}

# The training data as a source (see as_source()).
gm_training_source <- function(object) {
  if (is.null(object$data))
    stop("this fit does not refer to its training data; pass `newdata`", call. = FALSE)
  as_source(object$data)
}

# The training data as a matrix for plots, or NULL when the fit has none in memory.
gm_plot_data <- function(object) {
  if (is.null(object$data) || inherits(object$data, "gmm_source")) return(NULL)
  as_data_matrix(object$data)
}

# Means and covariances of the marginal mixture over the dimensions `dims`.
gm_marginal <- function(object, dims) {
  p <- object$parameters
  list(proportions = as.numeric(p$proportions),
       means = unname(p$means[, dims, drop = FALSE]),
       covariances = unname(p$covariances[dims, dims, , drop = FALSE]))
}

# Upper Cholesky factor of a covariance matrix, or an error naming the component.
gm_chol <- function(S, j) {
  U <- tryCatch(chol(S), error = function(e) NULL)
  if (is.null(U))
    stop(sprintf("the covariance of component %d is not positive definite", j), call. = FALSE)
  U
}

# Log mixture density of the rows of x (n x p) under a marginal mixture (plain R; plots).
gm_mix_logdens <- function(x, m) {
  x <- as.matrix(x)
  p <- ncol(x)
  k <- length(m$proportions)
  ld <- matrix(-Inf, nrow(x), k)
  for (j in seq_len(k)) {
    if (m$proportions[j] <= 0) next
    U <- gm_chol(matrix(m$covariances[, , j], p, p), j)
    z <- backsolve(U, t(x) - m$means[j, ], transpose = TRUE)
    ld[, j] <- log(m$proportions[j]) - 0.5 * p * log(2 * pi) - sum(log(diag(U))) -
      0.5 * colSums(z^2)
  }
  mx <- apply(ld, 1L, max)
  mx + log(rowSums(exp(ld - mx)))
}

# Points on the `level` ellipse of a bivariate normal.
gm_ellipse <- function(mu, S, level = 0.95, npts = 120L) {
  e <- eigen(S, symmetric = TRUE)
  A <- e$vectors %*% diag(sqrt(pmax(e$values, 0)), 2L)
  r <- sqrt(stats::qchisq(level, 2))
  t <- seq(0, 2 * pi, length.out = npts)
  t(mu + r * A %*% rbind(cos(t), sin(t)))
}

gm_colours <- function(k) grDevices::hcl.colors(max(k, 1L), "Dark 3")

# Calls a graphics function with defaults overridden by the user's `...`.
gm_draw <- function(fun, defaults, dots) do.call(fun, utils::modifyList(defaults, dots))

gm_round <- function(v, digits) format(signif(v, digits))

# --- print / summary -----------------------------------------------------------------------

#' Print a fitted Gaussian mixture
#'
#' A compact description of a fit: the covariance model, the number of
#' components, observations and dimensions, the log-likelihood and BIC, the
#' EM convergence, the backend, the mixing proportions and the component
#' means (the first few dimensions when there are many).
#'
#' @param x A `"gmm"` object from [gmm()].
#' @param digits Number of significant digits.
#' @param ... Unused.
#' @return `x`, invisibly.
#' @seealso [summary.gmm()] for the full parameters.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' print(fit)
#' @export
print.gmm <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat(sprintf("Gaussian mixture model (fastgmm): %d component%s, %s\n",
              x$k, if (x$k == 1L) "" else "s", gm_model_label(x$covariance, x$d)))
  nobs_txt <- if (is.null(x$weights)) "" else sprintf(" (weighted; %d with positive weight)", x$nobs)
  cat(sprintf("  n = %d observations%s, d = %d dimension%s\n", x$n, nobs_txt, x$d,
              if (x$d == 1L) "" else "s"))
  cat(sprintf("  log-likelihood = %s, BIC = %s, df = %s\n", gm_round(x$loglik, digits + 3L),
              gm_round(x$bic, digits + 3L), format(x$df)))
  cat("  ", gm_convergence_text(x), "; backend: ", x$backend, "\n", sep = "")
  cat("\nMixing proportions:\n")
  print(round(x$parameters$proportions, digits + 1L))
  cat("\nMeans:\n")
  means <- x$parameters$means
  if (is.null(colnames(means))) colnames(means) <- gm_dim_names(x)
  max_cols <- 6L
  max_rows <- 10L
  shown <- means[seq_len(min(x$k, max_rows)), seq_len(min(x$d, max_cols)), drop = FALSE]
  print(signif(shown, digits))
  if (x$d > max_cols) cat(sprintf("  ... and %d more dimensions\n", x$d - max_cols))
  if (x$k > max_rows) cat(sprintf("  ... and %d more components\n", x$k - max_rows))
  invisible(x)
}

gm_convergence_text <- function(x) {
  tol <- x$control$tol
  it <- x$iterations
  its <- sprintf("%d iteration%s", it, if (it == 1L) "" else "s")
  if (isTRUE(x$converged)) sprintf("EM converged after %s", its)
  else if (!is.null(tol) && tol == 0) sprintf("EM ran %s (tol = 0)", its)
  else sprintf("EM did not converge in %s", its)
}

#' Summarise a fitted Gaussian mixture
#'
#' Collects everything about a fit: all the parameters (covariances shown in
#' the compact form of the covariance model), log-likelihood, number of free
#' parameters, AIC and BIC, the classification of the training data, the
#' convergence and the control settings used.
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param ... Unused.
#' @return An object of class `"summary.gmm"`: a list with `call`,
#'   `covariance`, `k`, `n`, `d`, `nobs`, `weighted`, `loglik`, `df`, `aic`,
#'   `bic`, `iterations`, `converged`, `convergence` (a sentence), `backend`,
#'   `proportions`, `means`, `covariances` (the d x d x k array),
#'   `variances` (the compact form: a k x d matrix for `"diag"`, a vector for
#'   `"spherical"` or one dimension, a d x d matrix for `"tied"`, `NULL` for
#'   `"full"`), `classification` (a table of the training data's classes),
#'   `uncertainty` (summary of the uncertainties) and `control`.
#' @seealso [print.gmm()], [gmm()].
#' @examples
#' fit <- gmm(faithful, 2, covariance = "diag", threads = 1, seed = 1)
#' s <- summary(fit)
#' s
#' s$classification
#' @export
summary.gmm <- function(object, ...) {
  p <- object$parameters
  comps <- gm_component_names(object)
  d <- object$d
  variances <- if (d == 1L) {
    stats::setNames(as.numeric(p$covariances), comps)
  } else switch(object$covariance,
    full = NULL,
    diag = {
      v <- t(apply(p$covariances, 3L, diag))
      if (object$k == 1L) v <- matrix(v, 1L)
      dimnames(v) <- list(comps, colnames(p$means))
      v
    },
    spherical = stats::setNames(p$covariances[1L, 1L, ], comps),
    tied = p$covariances[, , 1L])
  cls <- object$classification
  tab <- if (is.null(cls)) NULL else table(factor(comps[cls], levels = comps), dnn = NULL)
  structure(list(
    call = object$call, covariance = object$covariance, k = object$k, n = object$n, d = d,
    nobs = object$nobs, weighted = !is.null(object$weights),
    loglik = object$loglik, df = object$df, aic = object$aic, bic = object$bic,
    iterations = object$iterations, converged = object$converged,
    convergence = gm_convergence_text(object), backend = object$backend,
    proportions = p$proportions, means = p$means, covariances = p$covariances,
    variances = variances, classification = tab,
    uncertainty = if (is.null(object$uncertainty)) NULL else summary(object$uncertainty),
    control = object$control
  ), class = "summary.gmm")
}

#' @rdname summary.gmm
#' @param x A `"summary.gmm"` object.
#' @param digits Number of significant digits.
#' @export
print.summary.gmm <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  cat("Gaussian mixture model fitted by EM (fastgmm)\n")
  if (!is.null(x$call)) cat("Call: ", paste(deparse(x$call), collapse = "\n"), "\n", sep = "")
  cat(sprintf("\nModel: %d component%s, %s\n", x$k, if (x$k == 1L) "" else "s",
              gm_model_label(x$covariance, x$d)))
  cat(sprintf("Data: n = %d observations%s, d = %d dimension%s\n", x$n,
              if (x$weighted) sprintf(" (weighted; nobs = %d)", x$nobs) else "",
              x$d, if (x$d == 1L) "" else "s"))
  fit_tab <- data.frame(`log-likelihood` = x$loglik, n = x$nobs, df = x$df, AIC = x$aic,
                        BIC = x$bic, check.names = FALSE)
  cat("\n")
  print(format(fit_tab, digits = digits + 3L), row.names = FALSE)
  cat("\n", x$convergence, "; backend: ", x$backend, "\n", sep = "")

  cat("\nMixing proportions:\n")
  print(signif(x$proportions, digits))
  cat("\nMeans:\n")
  means <- x$means
  if (is.null(colnames(means))) colnames(means) <- if (x$d == 1L) "x" else paste0("x", seq_len(x$d))
  print(signif(means, digits))
  comps <- names(x$proportions)
  if (x$d == 1L) {
    cat("\nVariances:\n")
    print(signif(x$variances, digits))
  } else if (x$covariance == "full") {
    for (j in seq_len(x$k)) {
      cat(sprintf("\nCovariance of %s:\n", comps[j]))
      print(signif(x$covariances[, , j], digits))
    }
  } else if (x$covariance == "diag") {
    cat("\nVariances (diagonal covariances):\n")
    print(signif(x$variances, digits))
  } else if (x$covariance == "spherical") {
    cat("\nVariances (spherical covariances, the same in every dimension):\n")
    print(signif(x$variances, digits))
  } else {
    cat("\nCovariance (shared by all components):\n")
    print(signif(x$variances, digits))
  }

  if (!is.null(x$classification)) {
    cat("\nClassification of the training data:\n")
    print(x$classification)
  }
  if (!is.null(x$uncertainty)) {
    cat("\nUncertainty (1 - largest posterior probability):\n")
    print(signif(x$uncertainty, digits))
  }
  ctl <- x$control
  if (length(ctl)) {
    cat("\nControl settings:\n")
    show <- vapply(ctl, function(v) {
      if (is.null(v)) "NULL" else if (length(v) > 1L) sprintf("<%s of length %d>", class(v)[1L], length(v))
      else format(v)
    }, character(1))
    cat(paste0("  ", format(names(ctl)), "  ", show), sep = "\n")
  }
  invisible(x)
}

# --- predict / fitted ----------------------------------------------------------------------

#' Classify new data, or compute posterior probabilities and densities
#'
#' Scores data under a fitted mixture with the package's multi-threaded C++
#' code. Each row is scored relative to the fitted model alone, so its result
#' does not depend on the other rows passed with it.
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param newdata A numeric matrix, data frame of numeric columns or numeric
#'   vector (one dimension) with the fitted number of columns (and, when both
#'   have names, the same column names in the same order), or a data source
#'   ([gmm_file()], [gmm_chunks()], a `bigmemory::big.matrix`, a
#'   [gmm_cluster()]). Missing: the training data.
#' @param type What to return: `"class"` (an integer vector of the most
#'   probable component, `1..k`), `"posterior"` (an n x k matrix of posterior
#'   probabilities, columns `C1..Ck`), `"density"` (the mixture density of each
#'   row) or `"logdensity"` (its logarithm, accurate also where the density
#'   underflows).
#' @param threads Number of CPU threads; default as in [gmm()].
#' @param file Optional file name: the result is written there instead of
#'   being returned, as little-endian doubles, row-major (one row per row of
#'   `newdata`: `k` values for `"posterior"`, one otherwise; classes as whole
#'   numbers), for results larger than memory. The file appears only when
#'   complete. `predict()` then returns its [gmm_file()] invisibly. For a
#'   [gmm_cluster()] source: one file name per shard, each written by its
#'   worker on its own disk.
#' @param ... For a [gmm_cluster()] source, `gather = TRUE` returns the
#'   results; by default they stay on the workers (see [gmm_cluster()]).
#' @return See `type` (or, with `file`, the [gmm_file()] of the result).
#' @seealso [fitted.gmm()], [gmm()], [gmm_file()].
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' new <- data.frame(eruptions = c(2, 3.5, 5), waiting = c(50, 70, 85))
#' predict(fit, new, threads = 1)
#' predict(fit, new, type = "posterior", threads = 1)
#' predict(fit, new, type = "logdensity", threads = 1)
#' # on the training data, the classes are the fit's classification
#' all(predict(fit, threads = 1) == fit$classification)
#' # results streamed to a file
#' out <- predict(fit, faithful, type = "posterior", threads = 1,
#'                file = tempfile(fileext = ".bin"))
#' out
#' unlink(out$path)
#' @export
predict.gmm <- function(object, newdata, type = c("class", "posterior", "density", "logdensity"),
                        threads = NULL, file = NULL, ...) {
  type <- match_choice(type, c("class", "posterior", "density", "logdensity"), "type")
  src <- if (missing(newdata) || is.null(newdata)) gm_training_source(object)
         else gm_newdata(object, newdata)
  if (isTRUE(src$cluster)) return(cluster_predict(object, src$source, type, threads, file, ...))
  threads <- check_threads(threads)
  what <- switch(type, class = 8L, posterior = 2L, density = 4L, logdensity = 4L)
  model <- model_name(object$covariance, object$d)
  if (!is.null(file)) {
    file <- check_path(file)
    if (type == "density")
      stop("`file` is written for type = \"logdensity\", \"posterior\" or \"class\"",
           call. = FALSE)
    cpp_score(src$data, object$parameters, model, what, threads, file)
    return(invisible(gmm_file(file, if (type == "posterior") object$k else 1L)))
  }
  sc <- cpp_score(src$data, object$parameters, model, what, threads)
  switch(type,
         class = sc$classification,
         posterior = {
           post <- sc$posterior
           dimnames(post) <- list(NULL, gm_component_names(object))
           post
         },
         density = exp(sc$rowll),
         logdensity = sc$rowll)
}

#' Classes or posterior probabilities of the training data
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param type `"class"` or `"posterior"`.
#' @param ... Passed to [predict.gmm()] (for example `threads`).
#' @return As [predict.gmm()] on the training data.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' head(fitted(fit, "posterior", threads = 1))
#' @export
fitted.gmm <- function(object, type = c("class", "posterior"), ...) {
  type <- match_choice(type, c("class", "posterior"), "type")
  predict.gmm(object, type = type, ...)
}

# --- logLik / nobs / coef ------------------------------------------------------------------

#' Log-likelihood, number of observations and parameters of a fit
#'
#' `logLik()` returns a `"logLik"` object with the number of free parameters
#' (`df`) and of observations (`nobs`), so that [stats::AIC()] and
#' [stats::BIC()] work and agree with `fit$aic` and `fit$bic`. `coef()`
#' returns the parameters `list(proportions, means, covariances)`.
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param ... Unused.
#' @return `logLik()`: a `"logLik"` object; `nobs()`: the number of
#'   observations (with weights, those with positive weight); `coef()`: the
#'   list of parameters.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' logLik(fit)
#' c(AIC(fit), BIC(fit))
#' nobs(fit)
#' coef(fit)$means
#' @export
logLik.gmm <- function(object, ...) {
  structure(object$loglik, df = object$df, nobs = object$nobs, class = "logLik")
}

#' @rdname logLik.gmm
#' @export
nobs.gmm <- function(object, ...) object$nobs

#' @rdname logLik.gmm
#' @export
coef.gmm <- function(object, ...) object$parameters

# --- simulate ------------------------------------------------------------------------------

#' Draw observations from a fitted mixture
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param nsim Number of observations to draw.
#' @param seed `NULL` to draw from R's current random stream, or a whole
#'   number: the draws then use that seed and the caller's random state
#'   (`.Random.seed`) is restored afterwards, exactly as it was.
#' @param ... Unused.
#' @return An `nsim` x d matrix with an attribute `"classification"`: the
#'   component (`1..k`) each row was drawn from.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' y <- simulate(fit, 500, seed = 42)
#' table(attr(y, "classification"))
#' colMeans(y)
#' @export
simulate.gmm <- function(object, nsim = 1, seed = NULL, ...) {
  nsim <- check_count(nsim, "nsim")
  if (!is.null(seed)) {
    if (!is.numeric(seed) || length(seed) != 1L || is.na(seed) || seed != round(seed) ||
        abs(seed) > .Machine$integer.max)
      stop("`seed` must be NULL or a single whole number", call. = FALSE)
    env <- globalenv()
    had_seed <- exists(".Random.seed", envir = env, inherits = FALSE)
    if (had_seed) old_seed <- get(".Random.seed", envir = env, inherits = FALSE)
    on.exit({
      if (had_seed) assign(".Random.seed", old_seed, envir = env)
      else if (exists(".Random.seed", envir = env, inherits = FALSE))
        rm(".Random.seed", envir = env)
    }, add = TRUE)
    set.seed(seed)
  }
  p <- object$parameters
  k <- object$k
  d <- object$d
  cls <- if (k == 1L) rep(1L, nsim) else
    sample.int(k, nsim, replace = TRUE, prob = as.numeric(p$proportions))
  y <- matrix(0, nsim, d, dimnames = list(NULL, colnames(p$means)))
  for (j in seq_len(k)) {
    idx <- which(cls == j)
    nj <- length(idx)
    if (nj == 0L) next
    S <- matrix(p$covariances[, , j], d, d)
    A <- tryCatch(chol(S), error = function(e) {
      e <- eigen(S, symmetric = TRUE)            # positive semi-definite: a square root
      t(e$vectors %*% diag(sqrt(pmax(e$values, 0)), d))
    })
    z <- matrix(stats::rnorm(nj * d), nj, d) %*% A
    y[idx, ] <- sweep(z, 2L, p$means[j, ], "+")
  }
  attr(y, "classification") <- cls
  y
}

# --- plot ----------------------------------------------------------------------------------

#' Plot a fitted Gaussian mixture
#'
#' Base-graphics plots of a fit. `"loglik"`: the log-likelihood after each EM
#' iteration. `"classification"`: the training data in the two chosen
#' dimensions coloured by class, with the component means and the 95%
#' ellipses of the component covariances (projected onto those dimensions);
#' in one dimension, the data on one strip per class with the means and
#' mean +/- 1.96 standard deviations. `"density"`: in one dimension a
#' histogram with the fitted mixture density and the weighted component
#' densities; in two, contours of the mixture's marginal density over the
#' chosen dimensions, labelled with the share of the training data they
#' enclose. `"uncertainty"`: the training data with point size and shade
#' growing with the classification uncertainty (in one dimension, the
#' uncertainty against the data).
#'
#' @param x A `"gmm"` object from [gmm()].
#' @param what Which plot: `"loglik"`, `"classification"`, `"density"` or
#'   `"uncertainty"`.
#' @param dimens The dimensions to show: two different column numbers (a
#'   scatter or contour plot), or one (plots of that margin). Ignored for
#'   `"loglik"`; a one-dimensional fit always shows its only dimension.
#' @param ... Graphical parameters passed to the main plotting call (for
#'   example `main`, `xlab`, `pch`).
#' @return `x`, invisibly.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' plot(fit, "loglik")
#' plot(fit, "classification")
#' plot(fit, "density")
#' plot(fit, "uncertainty")
#' fit1 <- gmm(faithful$waiting, 2, threads = 1, seed = 1)
#' plot(fit1, "density")
#' @export
plot.gmm <- function(x, what = c("loglik", "classification", "density", "uncertainty"),
                     dimens = c(1, 2), ...) {
  what <- match_choice(what, c("loglik", "classification", "density", "uncertainty"), "what")
  d <- x$d
  if (d == 1L && missing(dimens)) dimens <- 1L
  if (!is.numeric(dimens) || !length(dimens) %in% 1:2 || anyNA(dimens) ||
      any(dimens != round(dimens)) || any(dimens < 1) || any(dimens > d) ||
      anyDuplicated(dimens))
    stop(sprintf("`dimens` must be one or two different column numbers between 1 and %d", d),
         call. = FALSE)
  dimens <- as.integer(dimens)
  dots <- list(...)
  switch(what,
         loglik = gm_plot_loglik(x, dots),
         classification = gm_plot_classification(x, dimens, dots),
         density = gm_plot_density(x, dimens, dots),
         uncertainty = gm_plot_uncertainty(x, dimens, dots))
  invisible(x)
}

gm_plot_loglik <- function(x, dots) {
  tr <- x$loglik_trace
  if (length(tr) == 0L) tr <- x$loglik
  gm_draw(graphics::plot, list(x = seq_along(tr), y = tr, type = "b", pch = 20,
                               xlab = "iteration", ylab = "log-likelihood",
                               main = "EM log-likelihood"), dots)
}

gm_plot_classification <- function(x, dimens, dots) {
  data <- gm_training_data(x)
  cls <- x$classification
  k <- x$k
  cols <- gm_colours(k)
  m <- gm_marginal(x, dimens)
  labs <- gm_dim_names(x)[dimens]
  comps <- gm_component_names(x)
  if (length(dimens) == 1L) {
    v <- data[, dimens]
    sds <- sqrt(m$covariances[1L, 1L, ])
    lo <- m$means[, 1L] - 1.96 * sds
    hi <- m$means[, 1L] + 1.96 * sds
    gm_draw(graphics::plot,
            list(x = v, y = cls, col = cols[cls], pch = 124, yaxt = "n",
                 ylim = c(0.5, k + 0.5), xlim = range(v, lo, hi),
                 xlab = labs, ylab = "component", main = "Classification"), dots)
    graphics::axis(2L, at = seq_len(k), labels = comps, las = 1L)
    graphics::segments(lo, seq_len(k) + 0.3, hi, seq_len(k) + 0.3, col = cols, lwd = 2)
    graphics::points(m$means[, 1L], seq_len(k) + 0.3, pch = 18, cex = 1.8, col = cols)
  } else {
    ell <- lapply(seq_len(k), function(j) gm_ellipse(m$means[j, ], m$covariances[, , j]))
    all_pts <- rbind(data[, dimens, drop = FALSE], do.call(rbind, ell))
    gm_draw(graphics::plot,
            list(x = data[, dimens[1L]], y = data[, dimens[2L]], col = cols[cls], pch = 20,
                 xlim = range(all_pts[, 1L]), ylim = range(all_pts[, 2L]),
                 xlab = labs[1L], ylab = labs[2L], main = "Classification"), dots)
    for (j in seq_len(k)) graphics::lines(ell[[j]], col = cols[j], lwd = 1.5)
    graphics::points(m$means, pch = 3, cex = 2, lwd = 2)
    graphics::legend("topleft", legend = comps, col = cols, pch = 20, bty = "n", cex = 0.8)
  }
}

gm_plot_density <- function(x, dimens, dots) {
  m <- gm_marginal(x, dimens)
  k <- x$k
  cols <- gm_colours(k)
  labs <- gm_dim_names(x)[dimens]
  data <- gm_plot_data(x)
  if (length(dimens) == 1L) {
    sds <- sqrt(m$covariances[1L, 1L, ])
    rng <- range(m$means[, 1L] - 3 * sds, m$means[, 1L] + 3 * sds)
    if (!is.null(data)) rng <- range(rng, data[, dimens])
    grid <- seq(rng[1L], rng[2L], length.out = 512L)
    comp <- vapply(seq_len(k), function(j)
      m$proportions[j] * stats::dnorm(grid, m$means[j, 1L], sds[j]), numeric(length(grid)))
    comp <- matrix(comp, ncol = k)
    dens <- rowSums(comp)
    if (!is.null(data)) {
      v <- data[, dimens]
      h <- graphics::hist(v, breaks = max(10L, min(100L, grDevices::nclass.FD(v))), plot = FALSE)
      gm_draw(graphics::plot,
              list(x = h, freq = FALSE, col = "grey90", border = "grey60",
                   xlim = rng, ylim = c(0, max(h$density, dens) * 1.05),
                   xlab = labs, ylab = "density", main = "Fitted mixture density"), dots)
      graphics::lines(grid, dens, lwd = 2)
    } else {
      gm_draw(graphics::plot,
              list(x = grid, y = dens, type = "l", lwd = 2, xlab = labs, ylab = "density",
                   main = "Fitted mixture density"), dots)
    }
    for (j in seq_len(k)) graphics::lines(grid, comp[, j], col = cols[j], lty = 2)
  } else {
    sds <- sqrt(cbind(m$covariances[1L, 1L, ], m$covariances[2L, 2L, ]))
    lo <- apply(m$means - 3 * sds, 2L, min)
    hi <- apply(m$means + 3 * sds, 2L, max)
    if (!is.null(data)) {
      lo <- pmin(lo, apply(data[, dimens], 2L, min))
      hi <- pmax(hi, apply(data[, dimens], 2L, max))
    }
    gx <- seq(lo[1L], hi[1L], length.out = 100L)
    gy <- seq(lo[2L], hi[2L], length.out = 100L)
    z <- matrix(exp(gm_mix_logdens(as.matrix(expand.grid(gx, gy)), m)), length(gx))
    if (!is.null(data)) {
      # contours at quantiles of the density at the data: each encloses that share of it
      fd <- exp(gm_mix_logdens(data[, dimens, drop = FALSE], m))
      probs <- c(0.95, 0.9, 0.75, 0.5, 0.25, 0.1)
      levels <- stats::quantile(fd, 1 - probs, names = FALSE)
      keep <- !duplicated(levels) & levels > 0
      levels <- levels[keep]
      level_labels <- paste0(100 * probs[keep], "%")
    } else {
      levels <- pretty(range(z), 10L)
      level_labels <- NULL
    }
    gm_draw(graphics::contour,
            list(x = gx, y = gy, z = z, levels = levels,
                 labels = level_labels, xlab = labs[1L], ylab = labs[2L],
                 main = "Fitted mixture density"), dots)
    if (!is.null(data))
      graphics::points(data[, dimens], pch = 20, cex = 0.5,
                       col = grDevices::adjustcolor("grey40", alpha.f = 0.5))
    graphics::points(m$means, pch = 3, cex = 2, lwd = 2, col = cols)
  }
}

gm_plot_uncertainty <- function(x, dimens, dots) {
  data <- gm_training_data(x)
  u <- x$uncertainty
  cls <- x$classification
  k <- x$k
  cols <- gm_colours(k)
  labs <- gm_dim_names(x)[dimens]
  umax <- if (k > 1L) 1 - 1 / k else 1
  s <- pmin(pmax(u / umax, 0), 1)
  if (length(dimens) == 1L) {
    gm_draw(graphics::plot,
            list(x = data[, dimens], y = u, col = cols[cls], pch = 20,
                 ylim = c(0, umax), xlab = labs, ylab = "uncertainty",
                 main = "Classification uncertainty"), dots)
    graphics::abline(v = x$parameters$means[, dimens], col = cols, lty = 2)
  } else {
    o <- order(s)                                  # the uncertain points drawn last, on top
    gm_draw(graphics::plot,
            list(x = data[o, dimens[1L]], y = data[o, dimens[2L]], pch = 21,
                 bg = grDevices::grey(0.9 * (1 - s[o])), col = cols[cls[o]],
                 cex = 0.4 + 2 * sqrt(s[o]), xlab = labs[1L], ylab = labs[2L],
                 main = "Classification uncertainty"), dots)
    graphics::points(x$parameters$means[, dimens, drop = FALSE], pch = 3, cex = 2, lwd = 2)
  }
}
