# S3 methods for fitted "gmm" objects: print, summary, predict, logLik, nobs, coef, fitted,
# residuals, simulate and as.data.frame (plots are in plot.R and autoplot.R, the broom-style
# tidiers in tidy.R). Internal helpers are prefixed `gm_` to keep clear of the other files.
# Every method first validates its object with gm_check_fit() (check-fit.R).

#' @importFrom stats predict simulate nobs logLik coef fitted residuals
NULL

# --- internal helpers --------------------------------------------------------------------

gm_component_names <- function(object) paste0("C", seq_len(object$k))

gm_dim_names <- function(object) {
  nm <- colnames(object$parameters$means)
  if (is.null(nm)) nm <- if (object$d == 1L) "x" else paste0("x", seq_len(object$d))
  nm
}

gm_model_label <- function(covariance, d = 2L) {
  sprintf("%s (%s)", model_descriptions[[covariance]], covariance)
}

# The fit's parameters with mclust's decomposition (see model_decomposition()), named:
# scale by component (when it varies), shape by variable (diagonal models) or axis, the
# orientation's columns by axis.
gm_params <- function(object) {
  p <- model_decomposition(object$parameters, object$covariance)
  comps <- gm_component_names(object)
  vars <- gm_dim_names(object)
  parts <- model_parts(object$covariance)
  axes <- paste0("axis", seq_len(object$d))
  if (!is.null(p$scale)) {
    p$scale <- as.numeric(p$scale)
    if (length(p$scale) == object$k && identical(parts$scale, "V")) names(p$scale) <- comps
  }
  if (!is.null(p$shape)) {
    p$shape <- matrix(p$shape, ncol = object$d)
    dimnames(p$shape) <- list(if (nrow(p$shape) == 1L) NULL else comps,
                              if (model_family(object$covariance) == "diagonal") vars else axes)
  }
  if (!is.null(p$orientation)) {
    m <- length(p$orientation) / object$d^2
    p$orientation <- array(p$orientation, c(object$d, object$d, m),
                           list(vars, axes, if (m == 1L) NULL else comps))
  }
  p
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
  gm_check_fit(x, "x")
  cat(sprintf("Gaussian mixture model (fastgmm): %d component%s, covariance model %s\n  (%s)\n",
              x$k, if (x$k == 1L) "" else "s", x$covariance, model_descriptions[[x$covariance]]))
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
#' the compact form of the covariance model, with mclust's decomposition of
#' the covariances into scale, shape and orientation where the model has
#' one), log-likelihood, number of free parameters, AIC and BIC, the
#' classification of the training data, the convergence and the control
#' settings used.
#'
#' @section Decomposition:
#' mclust writes the covariance matrix of component \eqn{j} as
#' \eqn{\Sigma_j = \lambda_j D_j A_j D_j^\top}{Sigma_j = lambda_j D_j A_j D_j'}: `scale` \eqn{\lambda_j} (the
#' volume is \eqn{\lambda_j^d}), `shape` \eqn{A_j} (diagonal, with
#' determinant 1) and `orientation` \eqn{D_j} (orthogonal, its columns the
#' axes of the ellipsoid). The model's name says which of the three are
#' equal for all components (`E`), vary (`V`) or are the identity (`I`):
#' for example `VEV` has a scale per component, one shape and an
#' orientation per component. The spherical models (`EII`, `VII`) have only
#' a scale, which is their variance; the diagonal ones (`..I`) a scale and a
#' shape per variable; `EEE` and `VVV` are not decomposed (as in mclust).
#' In one dimension `E` and `V` have a variance (the scale).
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param ... Unused.
#' @return An object of class `"summary.gmm"`: a list with `call`,
#'   `covariance`, `description` (of the model), `k`, `n`, `d`, `nobs`,
#'   `weighted`, `loglik`, `df`, `aic`, `bic`, `iterations`, `converged`,
#'   `convergence` (a sentence), `backend`, `proportions`, `means`,
#'   `covariances` (the d x d x k array), `scale`, `shape`, `orientation`
#'   (mclust's decomposition, see the section; `NULL` where the model has
#'   none: `scale` a number or one per component, `shape` a vector or a k x
#'   d matrix, `orientation` a d x d matrix or a d x d x k array),
#'   `variances` (the covariances in the compact form of the model: one
#'   variance for `EII` and `E`, one per component for `VII` and `V`; the
#'   variances of the common diagonal for `EEI`, a k x d matrix for the other
#'   diagonal models; the common matrix for `EEE`; `NULL` for the other
#'   ellipsoidal models, whose matrices are `covariances`),
#'   `classification` (a table of the training data's classes),
#'   `uncertainty` (summary of the uncertainties), `timings` (seconds; see
#'   [gmm()]), `control`.
#'
#'   The printed timings say where the time of the fit went: initialisation,
#'   the E-step passes over the data (with the time per pass), the M-steps,
#'   the final scoring pass and the whole call. A slow initialisation calls
#'   for another `init`; many cheap passes for a looser `tol` or a better
#'   start; slow passes for more `threads`, `precision = "single"` or another
#'   backend.
#' @seealso [print.gmm()], [gmm()], [coef.gmm()] (the free parameters).
#' @examples
#' fit <- gmm(faithful, 2, covariance = "VVI", threads = 1, seed = 1)
#' s <- summary(fit)
#' s
#' s$classification
#' s$shape
#' # an ellipsoidal model with a common shape: scale, shape and orientations
#' summary(gmm(iris[, 1:4], 2, covariance = "VEV", threads = 1, seed = 1))
#' @export
summary.gmm <- function(object, ...) {
  gm_check_fit(object)
  p <- gm_params(object)
  comps <- gm_component_names(object)
  d <- object$d
  k <- object$k
  cv <- object$covariance
  parts <- model_parts(cv)
  vars <- gm_dim_names(object)
  diag_of <- function(j) diag(matrix(p$covariances[, , j], d, d))
  variances <- switch(model_family(cv),
    univariate = , spherical = {
      v <- stats::setNames(p$covariances[1L, 1L, ], comps)
      if (model_common(cv)) v[[1L]] else v
    },
    diagonal = if (model_common(cv)) stats::setNames(diag_of(1L), vars) else
      matrix(t(vapply(seq_len(k), diag_of, numeric(d))), k, d, dimnames = list(comps, vars)),
    ellipsoidal = if (model_common(cv)) p$covariances[, , 1L] else NULL)
  shape <- p$shape
  if (!is.null(shape) && nrow(shape) == 1L) shape <- stats::setNames(shape[1L, ], colnames(shape))
  orientation <- p$orientation
  if (!is.null(orientation) && dim(orientation)[3L] == 1L) orientation <- orientation[, , 1L]
  cls <- object$classification
  tab <- if (is.null(cls)) NULL else table(factor(comps[cls], levels = comps), dnn = NULL)
  structure(list(
    call = object$call, covariance = cv, description = model_descriptions[[cv]], k = k,
    n = object$n, d = d, nobs = object$nobs, weighted = !is.null(object$weights),
    loglik = object$loglik, df = object$df, aic = object$aic, bic = object$bic,
    iterations = object$iterations, converged = object$converged,
    convergence = gm_convergence_text(object), backend = object$backend,
    proportions = p$proportions, means = p$means, covariances = p$covariances,
    scale = p$scale, shape = shape, orientation = orientation, variances = variances,
    classification = tab,
    uncertainty = if (is.null(object$uncertainty)) NULL else summary(object$uncertainty),
    timings = object$timings, control = object$control
  ), class = "summary.gmm")
}

# mclust's decomposition of a model as a formula, for print.summary.gmm().
gm_model_formula <- function(model) {
  parts <- model_parts(model)
  sub <- function(part) if (identical(part, "V")) "_j" else ""
  switch(model_family(model),
    univariate = sprintf("variance of component j: sigma%s^2", sub(parts$scale)),
    spherical = sprintf("Sigma_j = scale%s * I", sub(parts$scale)),
    diagonal = sprintf("Sigma_j = scale%s * diag(shape%s)", sub(parts$scale), sub(parts$shape)),
    ellipsoidal = if (model == "EEE") "Sigma_j = Sigma, one matrix for all components"
      else if (model == "VVV") "Sigma_j unconstrained"
      else sprintf("Sigma_j = scale%s * D%s diag(shape%s) D%s'", sub(parts$scale),
                   sub(parts$orientation), sub(parts$shape), sub(parts$orientation)))
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

  cv <- x$covariance
  parts <- model_parts(cv)
  comps <- names(x$proportions)
  fam <- model_family(cv)
  cat(sprintf("\nCovariances (%s): %s\n", cv, gm_model_formula(cv)))
  if (fam %in% c("univariate", "spherical")) {
    cat(if (fam == "univariate") {
      if (model_common(cv)) "Variance (all components):\n" else "Variances:\n"
    } else if (model_common(cv)) "Variance of every coordinate (scale, all components):\n"
      else "Variance of every coordinate (scale):\n")
    print(signif(x$variances, digits))
  } else {
    if (!is.null(x$scale)) {
      cat(if (identical(parts$scale, "E")) "\nScale (all components):\n" else "\nScale:\n")
      print(signif(x$scale, digits))
    }
    if (!is.null(x$shape)) {
      cat(if (identical(parts$shape, "E")) "\nShape (all components):\n" else "\nShape:\n")
      print(signif(x$shape, digits))
    }
    if (!is.null(x$orientation)) {
      if (identical(parts$orientation, "E")) {
        cat("\nOrientation (all components; columns are the axes):\n")
        print(signif(x$orientation, digits))
      } else for (j in seq_len(x$k)) {
        cat(sprintf("\nOrientation of %s (columns are the axes):\n", comps[j]))
        print(signif(x$orientation[, , j], digits))
      }
    }
    if (fam == "diagonal") {
      cat(if (model_common(cv)) "\nVariances (the common diagonal covariance):\n"
          else "\nVariances (diagonal covariances):\n")
      print(signif(x$variances, digits))
    } else if (model_common(cv)) {
      cat("\nCovariance (all components):\n")
      print(signif(x$variances, digits))
    } else for (j in seq_len(x$k)) {
      cat(sprintf("\nCovariance of %s:\n", comps[j]))
      print(signif(x$covariances[, , j], digits))
    }
  }

  if (!is.null(x$classification)) {
    cat("\nClassification of the training data:\n")
    print(x$classification)
  }
  if (!is.null(x$uncertainty)) {
    cat("\nUncertainty (1 - largest posterior probability):\n")
    print(signif(x$uncertainty, digits))
  }
  if (!is.null(x$timings)) gm_print_timings(x$timings, x$iterations, x$control$n_init)
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

# Where the time of a fit went, with each part's share of the total.
gm_print_timings <- function(t, iterations, n_init) {
  secs <- function(v) {
    if (is.na(v)) return("not measured")
    if (v >= 1) sprintf("%.3g s", v) else sprintf("%.3g ms", 1000 * v)
  }
  total <- t[["total"]]
  share <- function(v) if (is.na(v) || !(total > 0)) "" else sprintf("(%.0f%%)", 100 * v / total)
  passes <- iterations + 1L
  per_pass <- if (!is.na(t[["estep"]]) && identical(as.integer(n_init), 1L))
    sprintf("  %s per pass, %d passes", secs(t[["estep"]] / passes), passes) else ""
  rows <- list(c("initialisation", "init", ""),
               c("E-steps and statistics", "estep", per_pass),
               c("M-steps", "mstep", ""),
               c("final scoring pass", "score", ""))
  cat("\nTime spent:\n")
  lab <- format(c(vapply(rows, `[`, "", 1L), "total (with checks)"))
  val <- format(c(vapply(rows, function(r) secs(t[[r[2L]]]), ""), secs(total)), justify = "right")
  shr <- format(c(vapply(rows, function(r) share(t[[r[2L]]]), ""), ""), justify = "right")
  extra <- c(vapply(rows, `[`, "", 3L), "")
  cat(paste0("  ", lab, "  ", val, " ", shr, extra), sep = "\n")
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
  gm_check_fit(object)
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

# --- logLik / nobs / coef / residuals -----------------------------------------------------

#' Log-likelihood, number of observations and parameters of a fit
#'
#' `logLik()` returns a `"logLik"` object with the number of free parameters
#' (`df`) and of observations (`nobs`), so that [stats::AIC()] and
#' [stats::BIC()] work and agree with `fit$aic` and `fit$bic`. `coef()`
#' returns the free parameters as a named numeric vector; the parameters in
#' their natural shapes are `fit$parameters`. `residuals()` is an error: a
#' mixture has no fitted value per observation to take residuals from.
#'
#' @section Free parameters:
#' `coef()` has one element per free parameter, `df` in all (mclust's count,
#' `mclust::nMclustParams()`): the mixing proportions of components 2 to k
#' (that of component 1 is one minus their sum), `proportion[Cj]`; the
#' means, component by component, `mean[Cj, v]` for each variable `v`; then
#' the covariance parameters of the model, in mclust's decomposition
#' \eqn{\Sigma_j = \lambda_j D_j A_j D_j^\top}{Sigma_j = lambda_j D_j A_j D_j'} (see [summary.gmm()]) where the
#' model has one. A part that is common to all components appears once
#' (`scale`), one that varies once per component (`scale[Cj]`):
#' \describe{
#'   \item{`VVV`}{per component, the variances and covariances of the upper
#'     triangle row by row, `var[Cj, v]` and `cov[Cj, v, w]`;}
#'   \item{`EEE`}{the common matrix's upper triangle, `var[v]` and
#'     `cov[v, w]`;}
#'   \item{`EII`, `VII`}{the scale (the variance of every coordinate),
#'     `scale` or `scale[Cj]`;}
#'   \item{diagonal models (`EEI`, `VEI`, `EVI`, `VVI`)}{the scale, then the
#'     shape of the first d - 1 variables, `shape[v]` or `shape[Cj, v]` (the
#'     shape of the last variable is one over the product of the others);}
#'   \item{the other ellipsoidal models}{the scale; the shape of the first d
#'     - 1 axes, `shape[a]` or `shape[Cj, a]` (the axes in decreasing order of
#'     their shape, except for `EVE` and `VVE`, whose axes keep the order of
#'     mclust's iterations); then the orientation as d (d - 1) / 2 rotation
#'     angles in radians, `angle[a, b]` or `angle[Cj, a, b]` for axes a < b:
#'     the Givens rotations in the planes (a, b) that turn the orientation
#'     matrix \eqn{D} (its last column negated when \eqn{\det D < 0}{det D < 0}; the
#'     signs of the axes do not change \eqn{\Sigma}) into the identity, column
#'     by column, for each column a the planes b = d, d - 1, ..., a + 1, each
#'     angle `atan2(D[b, a], D[a, a])` of the matrix rotated so far. In two
#'     dimensions the one angle is the direction of the first axis;}
#'   \item{one dimension}{the variance, `var` (`E`) or `var[Cj]` (`V`).}
#' }
#' The parameters in their natural shapes are `fit$parameters` (and, with
#' the decomposition, [summary.gmm()]).
#'
#' @section Weights:
#' With `weights`, `nobs()` is the number of rows with positive weight, and
#' the log-likelihood is computed with the weights rescaled to sum to that
#' number (see the `weights` argument of [gmm()]), so the BIC penalty and the
#' log-likelihood count the same observations.
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param ... Unused.
#' @return `logLik()`: a `"logLik"` object; `nobs()`: the number of
#'   observations (with weights, those with positive weight); `coef()`: a
#'   named numeric vector of the `df` free parameters.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' logLik(fit)
#' c(AIC(fit), BIC(fit))
#' nobs(fit)
#' coef(fit)
#' length(coef(fit)) == attr(logLik(fit), "df")
#' # a decomposed model: scales, one shape, one orientation (as an angle)
#' coef(gmm(faithful, 2, covariance = "VEE", threads = 1, seed = 1))
#' fit$parameters$means
#' @export
logLik.gmm <- function(object, ...) {
  gm_check_fit(object)
  structure(object$loglik, df = object$df, nobs = object$nobs, class = "logLik")
}

#' @rdname logLik.gmm
#' @export
nobs.gmm <- function(object, ...) {
  gm_check_fit(object)
  object$nobs
}

#' @rdname logLik.gmm
#' @export
coef.gmm <- function(object, ...) {
  gm_check_fit(object)
  gm_free_parameters(object)
}

#' @rdname logLik.gmm
#' @export
residuals.gmm <- function(object, ...) {
  gm_check_fit(object)
  stop("residuals() is not defined for a Gaussian mixture: it has no fitted value per ",
       "observation. For per-row results use predict(fit, type = \"posterior\"), ",
       "as.data.frame(fit) or augment(fit).", call. = FALSE)
}

# The free parameters as a named vector (see ?coef.gmm), df of them.
gm_free_parameters <- function(object) {
  p <- gm_params(object)
  k <- object$k
  d <- object$d
  cv <- object$covariance
  parts <- model_parts(cv)
  comps <- gm_component_names(object)
  vars <- gm_dim_names(object)
  pro <- as.numeric(p$proportions)[-1L]
  names(pro) <- if (k > 1L) sprintf("proportion[%s]", comps[-1L]) else character()
  mu <- as.vector(t(p$means))
  names(mu) <- sprintf("mean[%s, %s]", rep(comps, each = d), rep(vars, k))
  # "name[C1, a]" for a part that varies, "name[a]" for a common one
  label <- function(name, varies, inner = NULL) {
    pre <- if (varies) paste0(comps, if (length(inner)) ", " else "") else ""
    if (!length(inner)) return(if (varies) sprintf("%s[%s]", name, comps) else name)
    sprintf("%s[%s%s]", name, rep(pre, each = length(inner)), rep(inner, length(pre)))
  }
  upper <- which(upper.tri(diag(d), diag = TRUE), arr.ind = TRUE)
  upper <- upper[order(upper[, 1L], upper[, 2L]), , drop = FALSE]    # row by row
  tri <- function(S, prefix) {
    v <- S[upper]
    names(v) <- ifelse(upper[, 1L] == upper[, 2L],
                       sprintf("var[%s%s]", prefix, vars[upper[, 1L]]),
                       sprintf("cov[%s%s, %s]", prefix, vars[upper[, 1L]], vars[upper[, 2L]]))
    v
  }
  s <- p$covariances
  cov <- if (model_family(cv) == "univariate") {
    v <- s[1L, 1L, ]
    if (cv == "E") c(var = v[[1L]]) else stats::setNames(v, sprintf("var[%s]", comps))
  } else if (cv == "VVV") {
    unlist(lapply(seq_len(k), function(j) tri(matrix(s[, , j], d, d), paste0(comps[j], ", "))))
  } else if (cv == "EEE") {
    tri(matrix(s[, , 1L], d, d), "")
  } else {
    out <- stats::setNames(as.numeric(p$scale), label("scale", parts$scale == "V"))
    if (!is.na(parts$shape)) {
      # d - 1 free values per shape (their product is 1): the last is left out
      inner <- if (model_family(cv) == "diagonal") vars[-d] else as.character(seq_len(d - 1L))
      sh <- as.vector(t(p$shape[, -d, drop = FALSE]))
      out <- c(out, stats::setNames(sh, label("shape", parts$shape == "V", inner)))
    }
    if (!is.na(parts$orientation) && d > 1L) {
      m <- dim(p$orientation)[3L]
      ang <- lapply(seq_len(m), function(j) model_angles(p$orientation[, , j]))
      out <- c(out, stats::setNames(unlist(ang), label("angle", m > 1L, names(ang[[1L]]))))
    }
    out
  }
  c(pro, mu, cov)
}

# --- simulate ------------------------------------------------------------------------------

#' Simulate data sets from a fitted mixture
#'
#' Draws `nsim` data sets of `n` observations each from the fitted mixture,
#' following [stats::simulate()]: each observation's component is drawn with
#' the mixing proportions, then the observation from that component's normal
#' distribution.
#'
#' @param object A `"gmm"` object from [gmm()].
#' @param nsim Number of data sets to simulate.
#' @param seed `NULL` to draw from R's current random stream, or a whole
#'   number: the draws then use that seed and the caller's random state
#'   (`.Random.seed`, and so the generator kinds) is restored afterwards,
#'   exactly as it was (or removed again when there was none).
#' @param n Number of observations in each data set; default the number of
#'   rows the model was fitted to.
#' @param ... Unused.
#' @return A data frame with `n` rows and `nsim` columns `sim_1`, ...,
#'   `sim_<nsim>`, as [stats::simulate()] returns: in one dimension each
#'   column is a numeric vector; in `d` dimensions each column is an `n` x `d`
#'   matrix (with the fitted data's column names), so `res$sim_1` or
#'   `res[[1]]` is one data set. Attributes: `"seed"`, as in
#'   [stats::simulate()] (the seed with the generator kinds as attribute
#'   `"kind"`, or the value of `.Random.seed` before the draws), and
#'   `"classification"`, an `n` x `nsim` integer matrix of the components
#'   (`1..k`) the observations were drawn from.
#' @seealso [predict.gmm()]
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' sims <- simulate(fit, nsim = 2, seed = 42)
#' dim(sims$sim_1)
#' colMeans(sims$sim_2)
#' table(attr(sims, "classification")[, 1])
#' # one larger data set, with the components drawn
#' big <- simulate(fit, n = 1000, seed = 1)
#' y <- big$sim_1
#' table(attr(big, "classification"))
#' @export
simulate.gmm <- function(object, nsim = 1, seed = NULL, n = NULL, ...) {
  gm_check_fit(object)
  nsim <- check_count(nsim, "nsim")
  n <- if (is.null(n)) as.integer(object$n) else check_count(n, "n")
  env <- globalenv()
  if (!is.null(seed)) {
    if (!is.numeric(seed) || length(seed) != 1L || is.na(seed) || seed != round(seed) ||
        abs(seed) > .Machine$integer.max)
      stop("`seed` must be NULL or a single whole number", call. = FALSE)
    had_seed <- exists(".Random.seed", envir = env, inherits = FALSE)
    if (had_seed) old_seed <- get(".Random.seed", envir = env, inherits = FALSE)
    on.exit({
      if (had_seed) assign(".Random.seed", old_seed, envir = env)
      else if (exists(".Random.seed", envir = env, inherits = FALSE))
        rm(".Random.seed", envir = env)
    }, add = TRUE)
    set.seed(seed)
    rng_state <- structure(seed, kind = as.list(RNGkind()))
  } else {
    if (!exists(".Random.seed", envir = env, inherits = FALSE)) stats::runif(1L)   # as stats
    rng_state <- get(".Random.seed", envir = env, inherits = FALSE)
  }
  p <- object$parameters
  d <- object$d
  roots <- lapply(seq_len(object$k), function(j) chol(matrix(p$covariances[, , j], d, d)))
  sims <- lapply(seq_len(nsim), function(i) gm_draw_one(p, roots, n, d))
  nm <- paste0("sim_", seq_len(nsim))
  cls <- matrix(unlist(lapply(sims, `[[`, "cls")), n, nsim, dimnames = list(NULL, nm))
  cols <- lapply(sims, function(s) if (d == 1L) s$y[, 1L] else s$y)
  structure(stats::setNames(cols, nm), row.names = c(NA_integer_, -n), class = "data.frame",
            seed = rng_state, classification = cls)
}

# One data set of n rows: list(y = n x d matrix, cls = components).
gm_draw_one <- function(p, roots, n, d) {
  k <- length(roots)
  cls <- if (k == 1L) rep(1L, n) else
    sample.int(k, n, replace = TRUE, prob = as.numeric(p$proportions))
  y <- matrix(0, n, d, dimnames = list(NULL, colnames(p$means)))
  for (j in seq_len(k)) {
    idx <- which(cls == j)
    nj <- length(idx)
    if (nj == 0L) next
    z <- matrix(stats::rnorm(nj * d), nj, d) %*% roots[[j]]
    y[idx, ] <- sweep(z, 2L, p$means[j, ], "+")
  }
  list(y = y, cls = cls)
}

# --- as.data.frame -------------------------------------------------------------------------

#' Per-observation results of a fit as a data frame
#'
#' One row per observation of the training data: its values, its class
#' (the most probable component), its classification uncertainty and,
#' optionally, its posterior probabilities.
#'
#' @param x A `"gmm"` object from [gmm()].
#' @param row.names,optional As in [base::as.data.frame()].
#' @param posterior Add the posterior probabilities, columns `posterior_C1`,
#'   ..., `posterior_Ck`.
#' @param ... Unused.
#' @return A data frame with the columns of the training data,
#'   `classification` (integer, `1..k`), `uncertainty` (one minus the
#'   largest posterior probability), `weight` for a weighted fit (the
#'   rescaled weights) and the posterior probabilities.
#' @seealso [augment.fastgmm()] for the same as a tibble, also on new data.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' head(as.data.frame(fit))
#' @export
as.data.frame.gmm <- function(x, row.names = NULL, optional = FALSE, ..., posterior = TRUE) {
  gm_check_fit(x, "x")
  posterior <- check_flag(posterior, "posterior")
  data <- gm_training_data(x)
  out <- as.data.frame(data, row.names = row.names, optional = optional)
  if (is.null(colnames(data))) names(out) <- gm_dim_names(x)
  out$classification <- as.integer(x$classification)
  out$uncertainty <- as.numeric(x$uncertainty)
  if (!is.null(x$weights)) out$weight <- x$weights
  if (posterior) {
    post <- predict.gmm(x, type = "posterior")
    colnames(post) <- paste0("posterior_", colnames(post))
    out <- cbind(out, post)
  }
  out
}
