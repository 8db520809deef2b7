# Plain, vectorised R implementation of EM for Gaussian mixtures.
#
# This is the reference oracle the C++ core is tested against and the baseline of the
# performance vignette. It is written for clarity, not speed: two-pass (centred) sufficient
# statistics, log-densities through the Cholesky factor, log-sum-exp over components.
#
# Conventions (shared with the C++ core):
#   x           numeric matrix n x d (already validated by the caller)
#   w           numeric vector of n non-negative observation weights, sum(w) > 0
#   covariance  "full" (VVV), "diag" (VVI), "spherical" (VII), "tied" (EEE), "EII" or "EEI"
#               (the closed-form models; fit_r() maps mclust's names)
#   params      list(proportions = numeric k, means = k x d matrix,
#                    covariances = d x d x k array)
#               (diag/spherical: diagonal slices; tied: all k slices equal)

#' Cholesky factor of a covariance matrix, or a clear error
#'
#' @param S a d x d covariance matrix.
#' @param k the component index (for the message).
#' @param covariance the covariance model (for the message).
#' @return the upper triangular U with S = U'U.
#' @noRd
r_chol_or_stop <- function(S, k, covariance) {
  U <- tryCatch(chol(S), error = function(e) NULL)
  if (is.null(U) || any(!is.finite(U)) || any(diag(U) <= 1e-12 * max(diag(U)))) {
    what <- if (identical(covariance, "tied")) {
      "the tied covariance is singular"
    } else {
      sprintf("covariance of component %d is singular", k)
    }
    stop(what, " (not positive definite); set reg_covar > 0 to regularise it",
         call. = FALSE)
  }
  U
}

#' E-step: log-densities, per-row log-likelihoods and responsibilities
#'
#' @param x numeric matrix n x d.
#' @param params list(proportions, means, covariances).
#' @param covariance covariance model.
#' @return list(logdens = n x k matrix of log(pi_k) + log N(x_i | mu_k, Sigma_k),
#'   loglik_i = numeric n (log-sum-exp of logdens over k), z = n x k responsibilities).
#' @noRd
r_estep <- function(x, params, covariance) {
  x <- as.matrix(x)
  n <- nrow(x)
  d <- ncol(x)
  pro <- params$proportions
  k <- length(pro)
  means <- matrix(params$means, nrow = k, ncol = d)
  covs <- array(params$covariances, dim = c(d, d, k))

  logdens <- matrix(0, n, k)
  for (j in seq_len(k)) {
    U <- r_chol_or_stop(covs[, , j], j, covariance)
    # Sigma = U'U, so Sigma^{-1} = U^{-1} U^{-T} and the squared Mahalanobis distance of a
    # row (x - mu) is || (x - mu) U^{-1} ||^2: one matrix product over all rows.
    prec_chol <- backsolve(U, diag(d))
    xc <- sweep(x, 2L, means[j, ], check.margin = FALSE)
    maha <- rowSums((xc %*% prec_chol)^2)
    logdet <- 2 * sum(log(diag(U)))
    logdens[, j] <- log(pro[j]) - 0.5 * (d * log(2 * pi) + logdet + maha)
  }

  # log-sum-exp over components, row by row (vectorised)
  m <- logdens[cbind(seq_len(n), max.col(logdens, ties.method = "first"))]
  m[!is.finite(m)] <- 0
  loglik_i <- m + log(rowSums(exp(logdens - m)))
  z <- exp(logdens - loglik_i)

  list(logdens = logdens, loglik_i = loglik_i, z = z)
}

#' M-step: parameters from weighted responsibilities
#'
#' @param x numeric matrix n x d.
#' @param w numeric n, observation weights.
#' @param z n x k responsibilities.
#' @param covariance covariance model.
#' @param reg_covar non-negative number, or one per dimension, added to the covariance
#'   diagonals (spherical models add its mean).
#' @return list(proportions, means, covariances).
#' @noRd
r_mstep <- function(x, w, z, covariance, reg_covar) {
  x <- as.matrix(x)
  d <- ncol(x)
  z <- as.matrix(z)
  k <- ncol(z)

  r <- w * z                      # r_ik = w_i z_ik
  S0 <- colSums(r)
  total <- sum(S0)
  for (j in seq_len(k)) {
    if (!(S0[j] > 0) || S0[j] < 1e-12 * total) {
      stop(sprintf(paste0(
        "component %d collapsed (its total responsibility is %g); ",
        "try reg_covar > 0 or fewer components"), j, S0[j]), call. = FALSE)
    }
  }

  proportions <- S0 / total
  means <- crossprod(r, x) / S0   # k x d
  dimnames(means) <- NULL

  covs <- array(0, dim = c(d, d, k))
  if (covariance %in% c("EII", "EEI")) {
    v <- rep(0, d)
    for (j in seq_len(k)) {
      xc <- sweep(x, 2L, means[j, ], check.margin = FALSE)
      v <- v + colSums(r[, j] * xc^2)
    }
    v <- v / total
    v <- if (covariance == "EII") rep(mean(v) + mean(reg_covar), d) else v + reg_covar
    if (any(!(v > 1e-24 * max(v)))) r_chol_or_stop(matrix(0, 1, 1), 1L, "tied")
    for (j in seq_len(k)) covs[, , j] <- diag(v, d)
  } else if (covariance == "tied") {
    S <- matrix(0, d, d)
    for (j in seq_len(k)) {
      xc <- sweep(x, 2L, means[j, ], check.margin = FALSE)
      S <- S + crossprod(sqrt(r[, j]) * xc)
    }
    S <- S / total + diag(reg_covar, d)
    dimnames(S) <- NULL
    r_chol_or_stop(S, 1L, "tied")
    for (j in seq_len(k)) covs[, , j] <- S
  } else {
    for (j in seq_len(k)) {
      xc <- sweep(x, 2L, means[j, ], check.margin = FALSE)
      if (covariance == "full") {
        S <- crossprod(sqrt(r[, j]) * xc) / S0[j] + diag(reg_covar, d)
        dimnames(S) <- NULL
        r_chol_or_stop(S, j, covariance)
      } else {
        v <- colSums(r[, j] * xc^2) / S0[j]    # diagonal variances
        v <- if (covariance == "spherical") rep(mean(v) + mean(reg_covar), d) else v + reg_covar
        if (any(!(v > 1e-24 * max(v)))) r_chol_or_stop(matrix(0, 1, 1), j, covariance)
        S <- diag(v, d)
      }
      covs[, , j] <- S
    }
  }

  list(proportions = proportions, means = means, covariances = covs)
}

#' EM iterations from a start
#'
#' @param x numeric matrix n x d.
#' @param w numeric n, observation weights.
#' @param start a params list, or list(z = n x k matrix) meaning "first do an M-step from z".
#' @param covariance covariance model.
#' @param max_iter number of M-steps at most (0 evaluates the start only).
#' @param tol relative tolerance on the change in log-likelihood; 0 runs all max_iter steps.
#' @param reg_covar non-negative number, or one per dimension, added to the covariance
#'   diagonals.
#' @return list(parameters, loglik (of the returned parameters), loglik_trace,
#'   iterations (M-steps done after the start), converged, timings = c(init, estep, mstep)
#'   in seconds, where init is the initial M-step from z when there is one).
#' @noRd
r_em <- function(x, w, start, covariance, max_iter, tol, reg_covar) {
  x <- as.matrix(x)
  now <- function() as.numeric(Sys.time())
  t_init <- t_e <- t_m <- 0
  t0 <- now()
  params <- if (!is.null(start$z)) {
    r_mstep(x, w, start$z, covariance, reg_covar)
  } else {
    start
  }
  t_init <- now() - t0

  t0 <- now()
  e <- r_estep(x, params, covariance)
  t_e <- now() - t0
  ll_prev <- sum(w * e$loglik_i)
  if (!is.finite(ll_prev)) {
    stop("the log-likelihood of the starting parameters is not finite; ",
         "try reg_covar > 0 or a different start", call. = FALSE)
  }
  ll <- ll_prev
  trace <- numeric(0)
  converged <- FALSE
  iterations <- 0L

  for (t in seq_len(max_iter)) {
    t0 <- now()
    params <- r_mstep(x, w, e$z, covariance, reg_covar)
    t1 <- now()
    e <- r_estep(x, params, covariance)
    t_m <- t_m + (t1 - t0)
    t_e <- t_e + (now() - t1)
    ll <- sum(w * e$loglik_i)
    iterations <- t
    if (!is.finite(ll)) {
      stop(sprintf(paste0("the log-likelihood became non-finite at iteration %d; ",
                          "try reg_covar > 0"), t), call. = FALSE)
    }
    trace[t] <- ll
    if (tol > 0 && abs(ll - ll_prev) <= tol * (1 + abs(ll))) {
      converged <- TRUE
      break
    }
    ll_prev <- ll
  }

  list(parameters = params, loglik = ll, loglik_trace = trace,
       iterations = iterations, converged = converged,
       timings = c(init = t_init, estep = t_e, mstep = t_m))
}
