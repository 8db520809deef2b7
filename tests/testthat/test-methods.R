# Tests of the S3 methods for "gmm" fits: predict, fitted, logLik, nobs, coef, simulate,
# print, summary and plot.

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

# Calls fun() with a png device open on a temporary file; returns the file's size.
methods_in_png <- function(fun) {
  f <- tempfile(fileext = ".png")
  grDevices::png(f, width = 480, height = 480)
  dev <- grDevices::dev.cur()
  on.exit(unlink(f))
  tryCatch(fun(), finally = grDevices::dev.off(dev))
  file.size(f)
}

# Calls fun() with RNGkind(kind...), then restores the caller's kinds.
methods_with_rngkind <- function(kind, fun) {
  old <- RNGkind()
  on.exit(do.call(RNGkind, as.list(old)))
  do.call(RNGkind, as.list(kind))
  fun()
}

methods_models <- c("full", "diag", "spherical", "tied")

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
    expect_identical(coef(fit), fit$parameters)
  }
  # df of the full model in 2-D with 3 components: 2 + 3 * 2 + 3 * 3
  expect_equal(attr(logLik(gmm(s$x, 3, threads = 1, seed = 3)), "df"), 17)
})

test_that("nobs counts rows with positive weight", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 9)
  w <- rep(c(0, 1, 2, 1), 50)
  fit <- gmm(s$x, 2, weights = w, threads = 1, seed = 1)
  expect_equal(nobs(fit), 150)
  expect_equal(BIC(fit), -2 * fit$loglik + fit$df * log(150))
  expect_equal(BIC(fit), fit$bic)
})

# --- simulate ------------------------------------------------------------------------------

test_that("simulate with a seed is reproducible and leaves .Random.seed alone", {
  s <- data_blobs(n = 300, d = 2, k = 3, seed = 11)
  fit <- gmm(s$x, 3, threads = 1, seed = 1)
  set.seed(99)
  before <- .Random.seed
  a <- simulate(fit, 50, seed = 123)
  expect_identical(.Random.seed, before)
  b <- simulate(fit, 50, seed = 123)
  expect_identical(a, b)
  expect_identical(.Random.seed, before)
  expect_false(identical(a, simulate(fit, 50, seed = 124)))
  expect_equal(dim(a), c(50L, 2L))
  expect_identical(colnames(a), c("x1", "x2"))
  cls <- attr(a, "classification")
  expect_type(cls, "integer")
  expect_length(cls, 50)
  expect_true(all(cls %in% 1:3))

  # also with another RNG kind: the kind is restored too
  methods_with_rngkind(c("Mersenne-Twister", "Box-Muller"), function() {
    set.seed(1)
    before <- .Random.seed
    c1 <- simulate(fit, 10, seed = 5)
    expect_identical(.Random.seed, before)
    expect_identical(RNGkind()[2], "Box-Muller")
  })
})

test_that("simulate with a seed removes .Random.seed again when there was none", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 12)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  methods_without_seed(function() {
    expect_false(exists(".Random.seed", envir = globalenv(), inherits = FALSE))
    a <- simulate(fit, 20, seed = 7)
    expect_false(exists(".Random.seed", envir = globalenv(), inherits = FALSE))
    b <- simulate(fit, 20, seed = 7)
    expect_identical(a, b)
    expect_false(exists(".Random.seed", envir = globalenv(), inherits = FALSE))
  })
})

test_that("simulate without a seed draws from the current stream", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 13)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  set.seed(42)
  a <- simulate(fit, 30)
  after_a <- .Random.seed
  set.seed(42)
  b <- simulate(fit, 30)
  expect_identical(a, b)
  expect_identical(.Random.seed, after_a)
  set.seed(42)
  expect_false(identical(.Random.seed, after_a))   # the stream moved on
  expect_identical(simulate(fit, 30, seed = 42), a)  # same as seeding by hand
})

test_that("simulated data have the mixture's moments", {
  for (d in 1:2) {
    s <- data_blobs(n = 500, d = d, k = 3, seed = 14)
    fit <- gmm(s$x, 3, init = s$labels, threads = 1)
    p <- fit$parameters
    y <- simulate(fit, 2e5, seed = 1)
    expect_equal(dim(y), c(2e5L, d))
    pi <- as.numeric(p$proportions)
    mu <- colSums(pi * p$means)
    cov_mix <- Reduce(`+`, lapply(1:3, function(j)
      pi[j] * (matrix(p$covariances[, , j], d, d) + tcrossprod(p$means[j, ] - mu))))
    expect_equal(unname(colMeans(y)), unname(mu), tolerance = 0.02)
    expect_equal(unname(cov(y)), unname(cov_mix), tolerance = 0.02)
    expect_equal(as.numeric(tabulate(attr(y, "classification"), 3) / 2e5), pi,
                 tolerance = 0.02)
    # within a component, the draws have that component's mean
    cls <- attr(y, "classification")
    for (j in 1:3)
      expect_lt(max(abs(colMeans(y[cls == j, , drop = FALSE]) - p$means[j, ])), 0.03)
  }
})

test_that("simulate checks its arguments", {
  s <- data_blobs(n = 100, d = 2, k = 2, seed = 15)
  fit <- gmm(s$x, 2, threads = 1, seed = 1)
  expect_error(simulate(fit, 0), "`nsim`")
  expect_error(simulate(fit, 2.5), "`nsim`")
  expect_error(simulate(fit, 5, seed = "a"), "`seed`")
  expect_error(simulate(fit, 5, seed = c(1, 2)), "`seed`")
})

# --- print / summary -----------------------------------------------------------------------

test_that("print shows the key numbers", {
  df <- data_frame_2d()
  fit <- gmm(df, 3, threads = 1, seed = 1)
  expect_output(print(fit), "3 components, full covariances")
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
  expect_equal(unname(summary(gmm(s$x, 3, covariance = "diag", threads = 1, seed = 2))$variances),
               unname(t(apply(gmm(s$x, 3, covariance = "diag", threads = 1, seed = 2)$parameters$covariances,
                              3, diag))))
  fit <- gmm(s$x, 3, covariance = "full", threads = 1, seed = 2)
  expect_output(print(summary(fit)), "Covariance of C3")
  fit <- gmm(s$x, 3, covariance = "tied", threads = 1, seed = 2)
  expect_output(print(summary(fit)), "shared by all components")
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  expect_output(print(summary(fit1)), "Variances")
  expect_output(print(summary(fit1)), "d = 1 dimension\\b")
  expect_output(print(fit1), "2 components, unequal variances \\(V\\)")
  fit1t <- gmm(data_1d(), 2, covariance = "tied", threads = 1, seed = 1)
  expect_output(print(fit1t), "one common variance \\(E\\)")
})

# --- plot ----------------------------------------------------------------------------------

test_that("every plot draws for 1-D, 2-D and 3-D fits, to a png file", {
  skip_if_not(capabilities("png"), "png device not available")
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  df <- data_frame_2d()
  fit2 <- gmm(df, 3, threads = 1, seed = 1)
  s3 <- data_blobs(n = 300, d = 3, k = 3, seed = 18)
  fit3 <- gmm(s3$x, 3, covariance = "diag", threads = 1, seed = 1)
  fitk1 <- gmm(data_1d(), 1, threads = 1, seed = 1)       # a single component
  for (what in c("loglik", "classification", "density", "uncertainty")) {
    size <- methods_in_png(function() {
      expect_invisible(plot(fit1, what))
      expect_identical(plot(fit2, what), fit2)
      expect_silent(plot(fit3, what, dimens = c(3, 1)))
      expect_silent(plot(fit3, what, dimens = 2, main = "one margin"))  # 1-D margin of 3-D
      expect_silent(plot(fit2, what, col = "black"))      # user graphics arguments win
      expect_silent(plot(fitk1, what))
    })
    expect_gt(size, 1000)
    for (fit in list(fit1, fit2)) {
      size <- methods_in_png(function() plot(fit, what))
      expect_gt(size, 1000)
    }
  }
  # default: the log-likelihood trace
  expect_gt(methods_in_png(function() expect_silent(plot(fit2))), 1000)
})

test_that("plot checks `what` and `dimens`", {
  fit2 <- gmm(data_frame_2d(), 3, threads = 1, seed = 1)
  expect_error(plot(fit2, "contour"), "`what`")
  expect_error(plot(fit2, 2), "`what`")
  expect_error(plot(fit2, "classification", dimens = c(1, 3)), "`dimens`")
  expect_error(plot(fit2, "classification", dimens = c(1, 1)), "`dimens`")
  expect_error(plot(fit2, "classification", dimens = 1:3), "`dimens`")
  expect_error(plot(fit2, "density", dimens = "a"), "`dimens`")
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  expect_error(plot(fit1, "density", dimens = 2), "`dimens`")
})
