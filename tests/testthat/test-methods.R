# Tests of the S3 methods for "gmm" fits: predict, fitted, logLik, nobs, coef, residuals,
# simulate, as.data.frame, print and summary; the validation of the fit every method does;
# timings and the warning of a fit that does not converge. (Plots: test-plot.R; tidiers:
# test-tidy.R.)

local_edition(3)

# --- local helpers -------------------------------------------------------------------------

# Log-density of each row of x under N(mu, S), straight from the definition via chol().
methods_ldnorm <- function(x, mu, S) {
  x <- as.matrix(x)
  U <- chol(S)                                   # S = U'U
  z <- backsolve(U, t(x) - mu, transpose = TRUE)  # U'^{-1} (x - mu)
  -0.5 * ncol(x) * log(2 * pi) - sum(log(diag(U))) - 0.5 * colSums(z^2)
}

# n x k matrix of log(pi_j) + log N(x | mu_j, S_j) from a parameter list.
methods_logdens <- function(x, p) {
  k <- length(p$proportions)
  d <- ncol(as.matrix(x))
  sapply(seq_len(k), function(j)
    log(p$proportions[[j]]) + methods_ldnorm(x, p$means[j, ], matrix(p$covariances[, , j], d, d)))
}

# Calls fun() with no .Random.seed in the global environment, then puts the old one back.
methods_without_seed <- function(fun) {
  g <- globalenv()
  had <- exists(".Random.seed", envir = g, inherits = FALSE)
  old <- if (had) get(".Random.seed", envir = g, inherits = FALSE)
  if (had) rm(".Random.seed", envir = g)
  on.exit(if (had) assign(".Random.seed", old, envir = g)
          else if (exists(".Random.seed", envir = g, inherits = FALSE))
            rm(".Random.seed", envir = g))
  fun()
}

# Calls fun() with RNGkind(kind...), then restores the caller's kinds.
methods_with_rngkind <- function(kind, fun) {
  old <- RNGkind()
  on.exit(do.call(RNGkind, as.list(old)))
  do.call(RNGkind, as.list(kind))
  fun()
}

methods_models <- model_names      # all fourteen (in one dimension they reduce to E and V)

# --- predict -------------------------------------------------------------------------------

test_that("predict types agree with each other and with a direct R computation", {
  for (d in 1:3) {
    s <- data_blobs(n = 300, d = d, k = 3, seed = 10 + d)
    new <- data_blobs(n = 57, d = d, k = 3, seed = 20 + d)$x
    for (cv in methods_models) {
      fit <- gmm(s$x, 3, covariance = cv, init = s$labels, threads = 1)
      cls <- predict(fit, new, type = "class", threads = 2)
      post <- predict(fit, new, type = "posterior", threads = 2)
      dens <- predict(fit, new, type = "density", threads = 1)
      ldens <- predict(fit, new, type = "logdensity", threads = 1)

      expect_type(cls, "integer")
      expect_length(cls, 57)
      expect_equal(dim(post), c(57L, 3L))
      expect_identical(colnames(post), c("C1", "C2", "C3"))
      expect_equal(rowSums(post), rep(1, 57), tolerance = 1e-12)
      expect_true(all(post >= 0 & post <= 1))
      expect_identical(cls, max.col(post, ties.method = "first"))
      expect_equal(dens, exp(ldens), tolerance = 1e-12)

      # direct R computation from the parameters
      ld <- methods_logdens(new, fit$parameters)
      expect_equal(ldens, log(rowSums(exp(ld))), tolerance = 1e-10)
      expect_equal(dens, rowSums(exp(ld)), tolerance = 1e-10)
      expect_equal(unname(post), exp(ld) / rowSums(exp(ld)), tolerance = 1e-10)
      expect_identical(cls, max.col(ld, ties.method = "first"))
    }
  }
})

test_that("predict gives the same answers with 1 and 2 threads and on a single row", {
  s <- data_blobs(n = 2000, d = 3, k = 3, seed = 4)
  fit <- gmm(s$x, 3, init = s$labels, threads = 2)
  expect_equal(predict(fit, s$x, "logdensity", threads = 1),
               predict(fit, s$x, "logdensity", threads = 2), tolerance = 1e-14)
  one <- s$x[5, , drop = FALSE]
  expect_equal(predict(fit, one, "posterior", threads = 1),
               predict(fit, s$x, "posterior", threads = 1)[5, , drop = FALSE],
               tolerance = 1e-12)
  expect_equal(predict(fit, one, "logdensity", threads = 1),
               log(sum(exp(methods_logdens(one, fit$parameters)))), tolerance = 1e-10)
})

test_that("predict on the training data gives the fit's classification", {
  s <- data_blobs(n = 400, d = 2, k = 3, seed = 5)
  fit <- gmm(s$x, 3, threads = 2, seed = 1)
  expect_identical(predict(fit, threads = 1), fit$classification)
  expect_identical(predict(fit, s$x, threads = 1), fit$classification)
  post <- predict(fit, type = "posterior", threads = 1)
  expect_equal(1 - apply(post, 1, max), fit$uncertainty, tolerance = 1e-12)
  # the log-likelihood is the sum of the log densities of the training rows
  expect_equal(sum(predict(fit, type = "logdensity", threads = 1)), fit$loglik,
               tolerance = 1e-8)
})

test_that("predict accepts vectors and data frames, and checks newdata", {
  x1 <- data_1d()
  fit1 <- gmm(x1, 2, threads = 1, seed = 1)
  expect_identical(predict(fit1, x1, threads = 1), fit1$classification)
  expect_equal(predict(fit1, c(-1, 4), "density", threads = 1),
               rowSums(exp(methods_logdens(matrix(c(-1, 4)), fit1$parameters))),
               tolerance = 1e-10)

  df <- data_frame_2d()
  fit <- gmm(df, 3, threads = 1, seed = 1)
  expect_identical(predict(fit, df, threads = 1), fit$classification)
  expect_identical(predict(fit, as.matrix(unname(df)), threads = 1), fit$classification)

  expect_error(predict(fit, df[, 1, drop = FALSE], threads = 1), "`newdata`.*1 column")
  expect_error(predict(fit, cbind(df, z = 1), threads = 1), "`newdata`.*3 columns")
  expect_error(predict(fit, df[, 2:1], threads = 1), "column names of `newdata`")
  bad <- df[1:5, ]
  bad[2, 1] <- NA
  expect_error(predict(fit, bad, threads = 1), "`newdata`.*NA")
  expect_error(predict(fit, data.frame(a = "x", b = "y"), threads = 1), "`newdata`")
  expect_error(predict(fit, df, type = "probability", threads = 1), "`type`")
  expect_error(predict(fit, df, threads = 0), "`threads`")
  # the caller's data are not modified
  df0 <- df
  invisible(predict(fit, df, "posterior", threads = 1))
  expect_identical(df, df0)
})

test_that("type accepts unique abbreviations", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 6)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  expect_identical(predict(fit, type = "post", threads = 1),
                   predict(fit, type = "posterior", threads = 1))
  expect_identical(predict(fit, type = "logd", threads = 1),
                   predict(fit, type = "logdensity", threads = 1))
  expect_identical(predict(fit, type = "d", threads = 1),
                   predict(fit, type = "density", threads = 1))
  expect_error(predict(fit, type = "", threads = 1), "`type`")
  expect_error(predict(fit, type = NA, threads = 1), "`type`")
  expect_error(predict(fit, type = c("class", "density"), threads = 1), "`type`")
})

test_that("fitted is predict on the training data", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 7)
  fit <- gmm(s$x, 3, threads = 1, seed = 2)
  expect_identical(fitted(fit, threads = 1), fit$classification)
  expect_identical(fitted(fit, "posterior", threads = 1),
                   predict(fit, s$x, "posterior", threads = 1))
  expect_error(fitted(fit, "density"), "`type`")
})

# --- logLik / nobs / coef ------------------------------------------------------------------

test_that("logLik, AIC, BIC, nobs and coef agree with the fit", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 8)
  for (cv in methods_models) {
    fit <- gmm(s$x, 3, covariance = cv, threads = 1, seed = 3)
    ll <- logLik(fit)
    expect_s3_class(ll, "logLik")
    expect_equal(as.numeric(ll), fit$loglik)
    expect_equal(attr(ll, "df"), fit$df)
    expect_equal(attr(ll, "nobs"), 300)
    expect_equal(BIC(fit), fit$bic)
    expect_equal(AIC(fit), fit$aic)
    expect_equal(BIC(fit), -2 * fit$loglik + fit$df * log(300))
    expect_equal(AIC(fit), -2 * fit$loglik + 2 * fit$df)
    expect_equal(nobs(fit), 300)
    cf <- coef(fit)
    expect_type(cf, "double")
    expect_length(cf, fit$df)
    expect_false(anyDuplicated(names(cf)) > 0)
  }
  # df of the full model in 2-D with 3 components: 2 + 3 * 2 + 3 * 3
  expect_equal(attr(logLik(gmm(s$x, 3, threads = 1, seed = 3)), "df"), 17)
})

test_that("nobs counts rows with positive weight, and so does the log-likelihood", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 9)
  w <- rep(c(0, 1, 2, 1), 50)
  fit <- gmm(s$x, 2, weights = w, threads = 1, seed = 1)
  expect_equal(nobs(fit), 150)
  expect_equal(BIC(fit), -2 * fit$loglik + fit$df * log(150))
  expect_equal(BIC(fit), fit$bic)
  # the weights are rescaled to sum to nobs; the log-likelihood is the weighted sum of the
  # rows' log-densities with those weights
  expect_equal(sum(fit$weights), 150)
  expect_equal(fit$weights, w * 150 / sum(w))
  expect_equal(fit$loglik, sum(fit$weights * predict(fit, type = "logdensity", threads = 1)),
               tolerance = 1e-10)
})

# --- simulate ------------------------------------------------------------------------------

test_that("simulate follows stats::simulate: nsim data sets, seed attribute, labels", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 11)
  fit <- gmm(s$x, 3, threads = 1, seed = 1)
  a <- simulate(fit, nsim = 4, seed = 123)
  expect_s3_class(a, "data.frame")
  expect_identical(names(a), paste0("sim_", 1:4))
  expect_identical(nrow(a), 300L)                       # n defaults to the fitted rows
  expect_true(all(vapply(a, function(m) identical(dim(m), c(300L, 2L)), NA)))
  expect_identical(colnames(a$sim_1), c("x1", "x2"))
  seed_attr <- attr(a, "seed")
  expect_equal(as.numeric(seed_attr), 123)
  expect_identical(attr(seed_attr, "kind"), as.list(RNGkind()))
  cls <- attr(a, "classification")
  expect_identical(dim(cls), c(300L, 4L))
  expect_type(cls, "integer")
  expect_true(all(cls %in% 1:3))
  # the data sets differ from each other
  expect_false(identical(a$sim_1, a$sim_2))
  # n sets the size; one dimension gives plain numeric columns
  b <- simulate(fit, nsim = 2, n = 50, seed = 1)
  expect_identical(dim(b$sim_2), c(50L, 2L))
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  y1 <- simulate(fit1, nsim = 3, n = 40, seed = 2)
  expect_identical(dim(y1), c(40L, 3L))
  expect_type(y1$sim_3, "double")
  expect_null(dim(y1$sim_3))
})

test_that("simulate with a seed is reproducible and leaves .Random.seed alone", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 11)
  fit <- gmm(s$x, 3, threads = 1, seed = 1)
  set.seed(99)
  before <- .Random.seed
  a <- simulate(fit, 2, seed = 123, n = 50)
  expect_identical(.Random.seed, before)
  b <- simulate(fit, 2, seed = 123, n = 50)
  expect_identical(a, b)
  expect_identical(.Random.seed, before)
  expect_false(identical(a, simulate(fit, 2, seed = 124, n = 50)))

  # also with another RNG kind: the kind is restored too
  methods_with_rngkind(c("Mersenne-Twister", "Box-Muller"), function() {
    set.seed(1)
    before <- .Random.seed
    c1 <- simulate(fit, 1, n = 10, seed = 5)
    expect_identical(.Random.seed, before)
    expect_identical(RNGkind()[2], "Box-Muller")
    expect_identical(attr(attr(c1, "seed"), "kind")[[2]], "Box-Muller")
  })
})

test_that("simulate with a seed removes .Random.seed again when there was none", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 12)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  methods_without_seed(function() {
    expect_false(exists(".Random.seed", envir = globalenv(), inherits = FALSE))
    a <- simulate(fit, 1, n = 20, seed = 7)
    expect_false(exists(".Random.seed", envir = globalenv(), inherits = FALSE))
    b <- simulate(fit, 1, n = 20, seed = 7)
    expect_identical(a, b)
    expect_false(exists(".Random.seed", envir = globalenv(), inherits = FALSE))
  })
})

test_that("simulate without a seed draws from the current stream and records it", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 13)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  set.seed(42)
  state <- .Random.seed
  a <- simulate(fit, 2, n = 30)
  after_a <- .Random.seed
  expect_identical(attr(a, "seed"), state)          # the state before the draws, as stats
  set.seed(42)
  b <- simulate(fit, 2, n = 30)
  expect_identical(a, b)
  expect_identical(.Random.seed, after_a)
  expect_false(identical(state, after_a))            # the stream moved on
  a2 <- simulate(fit, 2, n = 30, seed = 42)          # same draws as seeding by hand
  attr(a2, "seed") <- attr(a, "seed")
  expect_identical(a2, a)
  # replaying the recorded state gives the same data sets
  assign(".Random.seed", attr(a, "seed"), envir = globalenv())
  expect_identical(simulate(fit, 2, n = 30)$sim_2, a$sim_2)
})

test_that("simulated data have the mixture's moments", {
  for (d in 1:2) {
    s <- data_blobs(n = 500, d = d, k = 3, seed = 14)
    fit <- gmm(s$x, 3, init = s$labels, threads = 1)
    p <- fit$parameters
    sim <- simulate(fit, 1, n = 2e5, seed = 1)
    y <- as.matrix(sim$sim_1)
    cls <- attr(sim, "classification")[, 1]
    expect_equal(dim(y), c(2e5L, d))
    pi <- as.numeric(p$proportions)
    mu <- colSums(pi * p$means)
    cov_mix <- Reduce(`+`, lapply(1:3, function(j)
      pi[j] * (matrix(p$covariances[, , j], d, d) + tcrossprod(p$means[j, ] - mu))))
    expect_equal(unname(colMeans(y)), unname(mu), tolerance = 0.02)
    expect_equal(unname(cov(y)), unname(cov_mix), tolerance = 0.02)
    expect_equal(as.numeric(tabulate(cls, 3) / 2e5), pi, tolerance = 0.02)
    # within a component, the draws have that component's mean
    for (j in 1:3)
      expect_lt(max(abs(colMeans(y[cls == j, , drop = FALSE]) - p$means[j, ])), 0.03)
  }
})

test_that("simulate checks its arguments", {
  s <- data_blobs(n = 100, d = 2, k = 2, seed = 15)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  expect_error(simulate(fit, 0), "`nsim`")
  expect_error(simulate(fit, 2.5), "`nsim`")
  expect_error(simulate(fit, 1, n = 0), "`n`")
  expect_error(simulate(fit, 5, seed = "a"), "`seed`")
  expect_error(simulate(fit, 5, seed = c(1, 2)), "`seed`")
})

# --- print / summary -----------------------------------------------------------------------

test_that("print shows the key numbers", {
  df <- data_frame_2d()
  fit <- gmm(df, 3, threads = 1, seed = 1)
  expect_output(print(fit), "3 components, covariance model VVV\n  \\(ellipsoidal, varying volume, shape and orientation\\)")
  expect_output(print(fit), "n = 300 observations")
  expect_output(print(fit), "d = 2 dimensions")
  expect_output(print(fit), format(signif(fit$loglik, 7)), fixed = TRUE)
  expect_output(print(fit), format(signif(fit$bic, 7)), fixed = TRUE)
  expect_output(print(fit), sprintf("converged after %d iterations", fit$iterations))
  expect_output(print(fit), "backend: cpu")
  expect_output(print(fit), "Mixing proportions")
  expect_output(print(fit), "height")
  expect_output(print(fit), "weight")
  out <- capture.output(vis <- withVisible(print(fit)))
  expect_false(vis$visible)
  expect_identical(vis$value, fit)

  fit0 <- gmm(df, 3, threads = 1, seed = 1, tol = 0, max_iter = 3)
  expect_output(print(fit0), "EM ran 3 iterations \\(tol = 0\\)")

  # many dimensions: only the first few means are shown
  s <- data_blobs(n = 200, d = 9, k = 2, seed = 16)
  fit9 <- gmm(s$x, 2, threads = 1, seed = 1)
  expect_output(print(fit9), "and 3 more dimensions")
})

test_that("summary holds and prints the parameters, criteria and settings", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 17)
  for (cv in methods_models) {
    fit <- gmm(s$x, 3, covariance = cv, threads = 1, seed = 2)
    sm <- summary(fit)
    expect_s3_class(sm, "summary.gmm")
    expect_equal(sm$loglik, fit$loglik)
    expect_equal(sm$bic, fit$bic)
    expect_equal(sm$aic, fit$aic)
    expect_equal(sm$df, fit$df)
    expect_identical(sm$means, fit$parameters$means)
    expect_equal(as.vector(sm$classification), tabulate(fit$classification, 3))
    expect_identical(names(sm$classification), c("C1", "C2", "C3"))
    expect_identical(sm$control, fit$control)
    out <- capture.output(print(sm))
    txt <- paste(out, collapse = "\n")
    expect_match(txt, format(signif(fit$loglik, 7)), fixed = TRUE)
    expect_match(txt, format(signif(fit$bic, 7)), fixed = TRUE)
    expect_match(txt, format(signif(fit$aic, 7)), fixed = TRUE)
    expect_match(txt, "Classification of the training data")
    expect_match(txt, "Control settings")
    expect_match(txt, "reg_covar")
    expect_match(txt, "kmeans\\+\\+")
    expect_match(txt, sprintf("converged after %d iteration", fit$iterations))
  }
  # the compact form of each model, with mclust's decomposition where it has one
  for (cv in methods_models) {
    fit <- gmm(s$x, 3, covariance = cv, threads = 1, seed = 2)
    sm <- summary(fit)
    p <- fit$parameters
    txt <- paste(capture.output(print(sm)), collapse = "\n")
    fam <- model_family(cv)
    parts <- model_parts(cv)
    expect_match(txt, sprintf("Covariances \\(%s\\): Sigma_j", cv), info = cv)
    expect_identical(sm$description, model_descriptions[[cv]])
    expect_identical(is.null(sm$scale), cv %in% c("EEE", "VVV"), info = cv)
    if (!is.null(sm$scale)) expect_equal(unname(sm$scale), as.numeric(p$scale), info = cv)
    expect_identical(is.null(sm$shape), is.na(parts$shape), info = cv)
    if (!is.na(parts$shape)) {
      expect_match(txt, if (parts$shape == "E") "Shape \\(all components\\)" else "\nShape:\n", info = cv)
      if (parts$shape == "E") expect_equal(unname(sm$shape), as.numeric(p$shape), info = cv)
      else expect_equal(unname(sm$shape), unname(p$shape), info = cv)
    }
    expect_identical(is.null(sm$orientation), is.na(parts$orientation), info = cv)
    if (!is.na(parts$orientation)) {
      expect_match(txt, if (parts$orientation == "E") "Orientation \\(all components; columns are the axes\\)"
                   else "Orientation of C3", info = cv)
      expect_equal(as.vector(sm$orientation), as.vector(p$orientation), info = cv)
    }
    diags <- unname(t(apply(p$covariances, 3, diag)))
    if (fam == "spherical") {
      expect_equal(unname(sm$variances), unname(if (cv == "EII") p$covariances[1, 1, 1] else p$covariances[1, 1, ]))
    } else if (fam == "diagonal") {
      expect_equal(unname(sm$variances), if (cv == "EEI") diags[1, ] else diags, info = cv)
      expect_match(txt, "Variances \\(", info = cv)
    } else if (cv == "EEE") {
      expect_equal(unname(sm$variances), unname(p$covariances[, , 1]))
      expect_match(txt, "Covariance \\(all components\\)")
    } else {
      expect_null(sm$variances)
      expect_match(txt, "Covariance of C3", info = cv)
    }
  }
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  expect_output(print(summary(fit1)), "Variances")
  expect_output(print(summary(fit1)), "d = 1 dimension\\b")
  expect_output(print(fit1), "2 components, covariance model V\n  \\(univariate, varying variance\\)")
  expect_length(summary(fit1)$variances, 2L)
  fit1t <- gmm(data_1d(), 2, covariance = "tied", threads = 1, seed = 1)
  expect_output(print(fit1t), "covariance model E\n  \\(univariate, equal variance\\)")
  expect_output(print(summary(fit1t)), "Variance \\(all components\\)")
  expect_length(summary(fit1t)$variances, 1L)
})

# --- coef / residuals / as.data.frame ------------------------------------------------------

# The covariance matrices from coef(), following ?coef.gmm (an independent reading of the
# documented parametrisation: the rotations are built as products of Givens matrices).
coef_covariances <- function(cf, model, k, d, vars = paste0("x", seq_len(d))) {
  comps <- paste0("C", seq_len(k))
  get <- function(fmt, ...) unname(cf[sprintf(fmt, ...)])
  if (d == 1L) {
    v <- if (model == "E") rep(get("var"), k) else vapply(comps, function(cj) get("var[%s]", cj), 0)
    return(array(v, c(1, 1, k)))
  }
  if (model %in% c("VVV", "EEE")) {
    out <- array(0, c(d, d, k))
    for (j in seq_len(k)) for (a in seq_len(d)) for (b in a:d) {
      pre <- if (model == "VVV") paste0(comps[j], ", ") else ""
      v <- if (a == b) get("var[%s%s]", pre, vars[a]) else get("cov[%s%s, %s]", pre, vars[a], vars[b])
      out[a, b, j] <- out[b, a, j] <- v
    }
    return(out)
  }
  parts <- model_parts(model)
  pre <- function(part, j, more = TRUE) if (identical(part, "V")) paste0(comps[j], if (more) ", " else "") else ""
  out <- array(0, c(d, d, k))
  for (j in seq_len(k)) {
    lam <- if (parts$scale == "V") get("scale[%s]", comps[j]) else get("scale")
    a <- rep(1, d)
    if (!is.na(parts$shape)) {
      inner <- if (model_family(model) == "diagonal") vars[-d] else as.character(seq_len(d - 1))
      a[-d] <- vapply(inner, function(v) get("shape[%s%s]", pre(parts$shape, j), v), 0)
      a[d] <- 1 / prod(a[-d])
    }
    D <- diag(d)
    if (!is.na(parts$orientation)) {
      G <- function(a_, b_, th) { R <- diag(d); R[a_, a_] <- R[b_, b_] <- cos(th)
        R[a_, b_] <- sin(th); R[b_, a_] <- -sin(th); R }         # the rotation applied to rows
      for (a_ in seq_len(d - 1)) for (b_ in d:(a_ + 1)) {
        th <- get("angle[%s%d, %d]", pre(parts$orientation, j), a_, b_)
        D <- D %*% t(G(a_, b_, th))                              # D = G1' G2' ... Gm'
      }
    }
    out[, , j] <- lam * D %*% diag(a, d) %*% t(D)
  }
  out
}

test_that("coef is a named vector of the df free parameters, in every model", {
  for (d in 1:3) {
    s <- data_blobs(n = 200, d = d, k = 3, seed = 30 + d)
    for (cv in methods_models) {
      fit <- gmm(s$x, 3, covariance = cv, init = s$labels, threads = 1)
      cf <- coef(fit)
      info <- paste(d, cv)
      expect_length(cf, fit$df)
      expect_identical(length(cf), as.integer(attr(logLik(fit), "df")))
      expect_false(anyNA(names(cf)), info = info)
      expect_false(anyNA(cf), info = info)
      expect_false(anyDuplicated(names(cf)) > 0, info = info)
      p <- fit$parameters
      expect_equal(unname(cf[c("proportion[C2]", "proportion[C3]")]),
                   unname(p$proportions[2:3]), info = info)
      expect_equal(unname(cf[sprintf("mean[C2, x%d]", d)]), unname(p$means[2, d]), info = info)
      # the covariances follow from the documented parametrisation
      expect_equal(coef_covariances(cf, fit$covariance, 3, d), unname(p$covariances),
                   tolerance = 1e-10, info = info)
    }
  }
  # names use the data's column names
  fit <- gmm(faithful, 2, threads = 1, seed = 1)
  expect_true("cov[C1, eruptions, waiting]" %in% names(coef(fit)))
  expect_identical(names(coef(fit))[1:3], c("proportion[C2]", "mean[C1, eruptions]",
                                            "mean[C1, waiting]"))
  expect_identical(names(coef(gmm(faithful, 2, covariance = "VVI", threads = 1, seed = 1)))[-(1:5)],
                   c("scale[C1]", "scale[C2]", "shape[C1, eruptions]", "shape[C2, eruptions]"))
  expect_identical(names(coef(gmm(faithful, 2, covariance = "VEV", threads = 1, seed = 1)))[-(1:5)],
                   c("scale[C1]", "scale[C2]", "shape[1]", "angle[C1, 1, 2]", "angle[C2, 1, 2]"))
  # in two dimensions the angle is the direction of the first axis
  fe <- gmm(faithful, 2, covariance = "EEV", threads = 1, seed = 1)
  D <- fe$parameters$orientation[, , 2]
  if (det(D) < 0) D[, 2] <- -D[, 2]
  expect_equal(unname(coef(fe)["angle[C2, 1, 2]"]), atan2(D[2, 1], D[1, 1]))
})

test_that("residuals() says why there are none instead of returning NULL", {
  fit <- gmm(faithful, 2, threads = 1, seed = 1)
  expect_error(residuals(fit), "not defined for a Gaussian mixture.*augment")
  expect_error(resid(fit), "not defined for a Gaussian mixture")
})

test_that("as.data.frame gives per-row results", {
  fit <- gmm(faithful, 2, threads = 1, seed = 1)
  df <- as.data.frame(fit)
  expect_s3_class(df, "data.frame")
  expect_identical(nrow(df), 272L)
  expect_identical(names(df), c("eruptions", "waiting", "classification", "uncertainty",
                                "posterior_C1", "posterior_C2"))
  expect_identical(df$classification, fit$classification)
  expect_identical(df$uncertainty, fit$uncertainty)
  expect_equal(df$eruptions, faithful$eruptions)
  expect_equal(df$posterior_C1 + df$posterior_C2, rep(1, 272), tolerance = 1e-12)
  expect_identical(names(as.data.frame(fit, posterior = FALSE)),
                   c("eruptions", "waiting", "classification", "uncertainty"))
  w <- rep(1:2, 136)
  fitw <- gmm(faithful, 2, weights = w, threads = 1, seed = 1)
  expect_equal(as.data.frame(fitw)$weight, fitw$weights)
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  expect_identical(names(as.data.frame(fit1))[1:2], c("x", "classification"))
})

# --- validation of the fit -----------------------------------------------------------------

test_that("every method rejects a modified fit with a message that says what is wrong", {
  s <- data_blobs(n = 200, d = 2, k = 3, seed = 40)
  fit <- gmm(s$x, 3, threads = 1, seed = 1)
  methods <- list(
    predict = function(f) predict(f, threads = 1),
    predict_new = function(f) predict(f, s$x[1:3, ], type = "posterior", threads = 1),
    fitted = function(f) fitted(f, threads = 1),
    simulate = function(f) simulate(f, 1, n = 5, seed = 1),
    coef = coef, logLik = logLik, nobs = nobs, BIC = BIC, summary = summary,
    print = function(f) capture.output(print(f)),
    as.data.frame = as.data.frame,
    plot = function(f) { grDevices::pdf(NULL); on.exit(grDevices::dev.off()); plot(f) },
    tidy = tidy, glance = function(f) glance(f, threads = 1),
    augment = function(f) augment(f, threads = 1))
  breakers <- list(
    "proportions. has length 1, but the fit has k = 3" = function(f) {
      f$parameters$proportions <- 1; f },
    "proportions. sum to 1.5, not 1" = function(f) {
      f$parameters$proportions <- c(0.5, 0.5, 0.5); f },
    "proportions. must be positive" = function(f) {
      f$parameters$proportions <- c(1.2, -0.1, -0.1); f },
    "means. must be a k x d \\(3 x 2\\) matrix" = function(f) {
      f$parameters$means <- f$parameters$means[1:2, ]; f },
    "means. must be finite" = function(f) { f$parameters$means[1, 1] <- NaN; f },
    "covariances. must be a d x d x k \\(2 x 2 x 3\\) array" = function(f) {
      f$parameters$covariances <- f$parameters$covariances[, , 1:2]; f },
    "covariance of component 2 is not symmetric" = function(f) {
      f$parameters$covariances[1, 2, 2] <- f$parameters$covariances[1, 2, 2] + 0.1; f },
    "covariance of component 3 is not positive definite" = function(f) {
      f$parameters$covariances[, , 3] <- matrix(c(1, 2, 2, 1), 2); f },
    "`k` must be a whole number" = function(f) { f$k <- 2.5; f },
    "`covariance` must be one of" = function(f) { f$covariance <- "full"; f },
    "`df` is 5, but the \"VVV\" model" = function(f) { f$df <- 5; f },
    "`loglik` must be a single finite number" = function(f) { f$loglik <- NA; f },
    "it has no `parameters`" = function(f) { f$parameters <- NULL; f })
  for (why in names(breakers)) {
    bad <- breakers[[why]](fit)
    for (m in names(methods)) {
      expect_error(methods[[m]](bad), paste0("not a valid \"gmm\" fit: .*", why),
                   info = paste(m, why))
    }
  }
  # the model's structure is checked too
  fd <- gmm(s$x, 3, covariance = "diag", threads = 1, seed = 1)
  fd$parameters$covariances[1, 2, 1] <- fd$parameters$covariances[2, 1, 1] <- 0.1
  expect_error(predict(fd, threads = 1), "component 1 is not diagonal")
  ft <- gmm(s$x, 3, covariance = "tied", threads = 1, seed = 1)
  ft$parameters$covariances[, , 2] <- 2 * ft$parameters$covariances[, , 2]
  expect_error(predict(ft, threads = 1), "the covariances differ between components")
  fs <- gmm(s$x, 3, covariance = "spherical", threads = 1, seed = 1)
  fs$parameters$covariances[1, 1, 1] <- 2 * fs$parameters$covariances[1, 1, 1]
  expect_error(predict(fs, threads = 1), "not a multiple of the identity")
  # the constraints of the other models, and their decomposition
  mk <- function(cv) gmm(s$x, 3, covariance = cv, threads = 1, seed = 1)
  scale_cov <- function(f, j, by) {
    f$parameters$covariances[, , j] <- by * f$parameters$covariances[, , j]
    f
  }
  for (cv in c("EVI", "EVE", "EEV", "EVV")) {
    f <- scale_cov(mk(cv), 2, 1.5)
    f$parameters[c("scale", "shape", "orientation")] <- NULL     # checked without them
    expect_error(predict(f, threads = 1), "volumes \\(determinants\\) differ", info = cv)
  }
  fv <- mk("VEI")
  fv$parameters$covariances[1, 1, 2] <- 2 * fv$parameters$covariances[1, 1, 2]
  fv$parameters$scale <- NULL
  fv$parameters$shape <- NULL
  expect_error(predict(fv, threads = 1), "shapes differ")
  fo <- mk("VVE")
  fo$parameters$covariances[, , 2] <- fo$parameters$covariances[2:1, 2:1, 2]
  fo$parameters[c("scale", "shape", "orientation")] <- NULL
  expect_error(predict(fo, threads = 1), "different axes")
  # a decomposition that does not give the covariances, or the wrong shape of it
  fe <- mk("VEV")
  fe$parameters$scale <- 2 * fe$parameters$scale
  expect_error(predict(fe, threads = 1), "do not give the covariance of component 1")
  fe <- mk("VEV")
  fe$parameters$shape <- rbind(fe$parameters$shape, fe$parameters$shape)
  expect_error(predict(fe, threads = 1), "`parameters\\$shape` must be a 1 x 2 matrix")
  fe <- mk("EEE")
  fe$parameters$scale <- 1
  expect_error(predict(fe, threads = 1), "`parameters\\$scale` must be absent for \"EEE\"")
  # a fit without its decomposition (an older or hand-made one) is valid: it is computed from
  # the covariances (the axes in decreasing order of their shape, which for EVE and VVE may
  # differ from the order of mclust's iterations: the same matrices all the same)
  for (cv in methods_models) {
    f <- mk(cv)
    g <- f
    g$parameters[c("scale", "shape", "orientation")] <- NULL
    expect_identical(names(coef(g)), names(coef(f)))
    expect_equal(coef_covariances(coef(g), cv, 3, 2), unname(f$parameters$covariances),
                 tolerance = 1e-8, info = cv)
    if (!cv %in% c("EVE", "VVE")) expect_equal(coef(g), coef(f), tolerance = 1e-8, info = cv)
  }
  expect_error(predict(structure(list(k = 1), class = "gmm")), "not a valid \"gmm\" fit")
  expect_error(fastgmm:::gm_check_fit(unclass(fit)), "must be a \"gmm\" fit")
  # an unmodified fit passes, and so does a valid edit
  ok <- fit
  ok$parameters$proportions[] <- c(0.2, 0.3, 0.5)
  expect_length(predict(ok, threads = 1), 200)
})

test_that("gmm_select methods check the selection too", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 41)
  sel <- gmm_select(s$x, k = 1:2, covariance = "full", threads = 1, seed = 1)
  bad <- sel
  bad$best$parameters$proportions <- 1
  expect_error(print(bad), "`x\\$best` is not a valid \"gmm\" fit")
  expect_error(summary(bad), "`object\\$best` is not a valid")
  bad2 <- sel
  bad2$table <- NULL
  expect_error(print(bad2), "`table` must be a data frame")
  expect_error(tidy(bad2), "`table` must be a data frame")
})

# --- timings and convergence ---------------------------------------------------------------

test_that("a fit records where its time went, and summary prints it", {
  s <- data_blobs(n = 2000, d = 3, k = 3, seed = 42)
  for (backend in c("cpu", "r")) {
    fit <- gmm(s$x, 3, backend = backend, threads = 1, seed = 1, n_init = 2)
    t <- fit$timings
    expect_identical(names(t), c("init", "estep", "mstep", "score", "total"), info = backend)
    expect_true(all(is.finite(t) & t >= 0), info = backend)
    expect_gt(t[["estep"]], 0)
    expect_lte(sum(t[c("init", "estep", "mstep", "score")]), t[["total"]] * 1.01 + 1e-3)
  }
  out <- paste(capture.output(print(summary(fit))), collapse = "\n")
  expect_match(out, "Time spent:")
  expect_match(out, "E-steps and statistics")
  expect_match(out, "M-steps")
  expect_match(out, "final scoring pass")
  expect_match(out, "total \\(with checks\\)")
  fit1 <- gmm(s$x, 3, threads = 1, seed = 1)
  out1 <- paste(capture.output(print(summary(fit1))), collapse = "\n")
  expect_match(out1, sprintf("per pass, %d passes", fit1$iterations + 1L))
  # a backend that does not report its parts
  t <- fastgmm:::fit_timings(NULL, 0.1, 0.5)
  expect_identical(names(t), c("init", "estep", "mstep", "score", "total"))
  expect_true(all(is.na(t[1:3])))
  sm <- summary(fit1)
  sm$timings <- t
  expect_output(print(sm), "not measured")
})

test_that("a fit that stops at max_iter warns once, with the iterations and the last change", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 43)
  for (backend in c("cpu", "r")) {
    w <- NULL
    fit <- withCallingHandlers(
      gmm(s$x, 3, init = "random", max_iter = 3, backend = backend, threads = 1, seed = 1),
      warning = function(cnd) {
        w <<- c(w, list(cnd))
        invokeRestart("muffleWarning")
      })
    expect_length(w, 1L)
    expect_s3_class(w[[1]], "fastgmm_not_converged")
    tr <- fit$loglik_trace
    change <- abs(tr[3] - tr[2]) / (1 + abs(tr[3]))
    expect_match(conditionMessage(w[[1]]), sprintf(
      "did not converge in 3 iterations: the last relative change of the log-likelihood was %s \\(tol = 1e-06\\)",
      gsub(".", "\\.", sprintf("%.3g", change), fixed = TRUE)))
    expect_equal(w[[1]]$change, change)
    expect_identical(w[[1]]$iterations, 3L)
    expect_false(fit$converged)
  }
  # no warning for tol = 0 (a fixed number of iterations), max_iter = 0, or convergence
  expect_silent(gmm(s$x, 3, max_iter = 3, tol = 0, threads = 1, seed = 1))
  expect_silent(gmm(s$x, 3, max_iter = 0, threads = 1, seed = 1))
  expect_silent(gmm(s$x, 3, threads = 1, seed = 1))
})
