# Tests of the scale rules: relative weights (any positive scale, both precisions; nobs and the
# log-likelihood count the same rows) and the relative, scale-aware `reg_covar`.

local_edition(3)

scale_two_clusters <- function(n = 400, sep = 4, seed = 1) {
  with_seed(seed, {
    lab <- rep(1:2, length.out = n)
    x <- cbind(rnorm(n) + sep * (lab - 1), rnorm(n))
    list(x = x, labels = lab)
  })
}

# Share of rows whose class agrees with the truth, best over the label permutations (k = 2).
scale_agreement <- function(a, b) max(mean(a == b), mean(a == 3 - b))

# --- weights -----------------------------------------------------------------------------

test_that("weights of any positive scale give the same fit, in both precisions", {
  s <- sim_mixture(n = 300, d = 2, k = 3, seed = 21)
  w <- with_seed(2, runif(300, 0.5, 2))
  for (precision in c("double", "single")) {
    ref <- gmm(s$x, 3, weights = w, init = s$labels, threads = 1,
               control = gmm_control(precision = precision))
    expect_equal(sum(ref$weights), 300)
    for (scale in c(1e-300, 1e-50, 1e-10, 1e40, 1e300)) {
      info <- paste(precision, scale)
      fit <- gmm(s$x, 3, weights = w * scale, init = s$labels, threads = 1,
                 control = gmm_control(precision = precision))
      expect_equal(fit$loglik, ref$loglik, tolerance = 1e-10, info = info)
      expect_params_equal(fit$parameters, ref$parameters, 1e-10)
      expect_identical(fit$classification, ref$classification, info = info)
      expect_identical(nobs(fit), 300L)
    }
    # the largest weights a double holds (their sum overflows)
    big <- gmm(s$x, 3, weights = rep(1e307, 300), init = s$labels, threads = 1,
               control = gmm_control(precision = precision))
    plain <- gmm(s$x, 3, init = s$labels, threads = 1, control = gmm_control(precision = precision))
    expect_equal(big$loglik, plain$loglik, tolerance = 1e-12)
    expect_equal(big$bic, plain$bic, tolerance = 1e-12)
  }
  # the R reference agrees
  r <- gmm(s$x, 3, weights = w * 1e300, init = s$labels, backend = "r")
  cpu <- gmm(s$x, 3, weights = w, init = s$labels, threads = 1,
             control = gmm_control(accelerate = FALSE))
  expect_equal(r$loglik, cpu$loglik, tolerance = 1e-10)
})

test_that("nobs and the BIC penalty count the rows with positive weight, as the log-likelihood", {
  s <- sim_mixture(n = 200, d = 2, k = 2, seed = 22)
  w <- rep(c(0, 3, 1, 2), 50)
  fit <- gmm(s$x, 2, weights = w, init = s$labels, threads = 1)
  expect_identical(nobs(fit), 150L)
  expect_equal(sum(fit$weights), 150)
  expect_identical(fit$weights[w == 0], rep(0, 50))
  expect_equal(fit$loglik, sum(fit$weights * predict(fit, type = "logdensity", threads = 1)),
               tolerance = 1e-10)
  expect_equal(BIC(fit), -2 * fit$loglik + fit$df * log(150))
  # equal weights are no weights
  fit1 <- gmm(s$x, 2, weights = rep(7, 200), init = s$labels, threads = 1)
  fit0 <- gmm(s$x, 2, init = s$labels, threads = 1)
  expect_equal(fit1$loglik, fit0$loglik, tolerance = 1e-12)
  expect_identical(nobs(fit1), nobs(fit0))
})

# --- reg_covar -----------------------------------------------------------------------------

test_that("relative reg_covar: rescaling the data does not change the clustering", {
  s <- sim_mixture(n = 400, d = 3, k = 3, seed = 23)
  for (cv in models) {
    # Converged fits. (The stopping rule on the log-likelihood, mclust's, is not scale-free:
    # |l_t - l_t-1| <= tol (1 + |l_t|), and l shifts by n d log(scale), so with the default
    # tol a rescaled fit may stop a few iterations earlier or later.)
    ref_conv <- gmm(s$x, 3, covariance = cv, threads = 1, seed = 4, tol = 1e-12, max_iter = 5000)
    # and a fixed number of iterations of plain EM, to compare the parameters (accelerated
    # EM's accept-or-fall-back choices can turn rounding differences into different paths)
    plain <- gmm_control(accelerate = FALSE)
    ref <- gmm(s$x, 3, covariance = cv, threads = 1, seed = 4, tol = 0, max_iter = 30,
               control = plain)
    for (scale in c(1e-8, 1e-4, 1e4, 1e8)) {
      info <- paste(cv, scale)
      fit <- gmm(s$x * scale, 3, covariance = cv, threads = 1, seed = 4, tol = 1e-12,
                 max_iter = 5000)
      expect_identical(fit$classification, ref_conv$classification, info = info)
      fit <- gmm(s$x * scale, 3, covariance = cv, threads = 1, seed = 4, tol = 0, max_iter = 30,
                 control = plain)
      expect_identical(fit$classification, ref$classification, info = info)
      expect_equal(fit$loglik, ref$loglik - 400 * 3 * log(scale), tolerance = 1e-9, info = info)
      expect_equal(unname(fit$parameters$means), unname(ref$parameters$means) * scale,
                   tolerance = 1e-9, info = info)
      expect_equal(unname(fit$parameters$covariances), unname(ref$parameters$covariances) * scale^2,
                   tolerance = 1e-9, info = info)
    }
    # each column in its own units (from the same labels: k-means++ itself depends on the
    # relative scales of the columns; the spherical model does too)
    if (cv != "VII") {
      fitc <- gmm(s$x %*% diag(c(1e-4, 1, 1e4)), 3, covariance = cv, init = ref$classification,
                  threads = 1, tol = 0, max_iter = 30, control = plain)
      refc <- gmm(s$x, 3, covariance = cv, init = ref$classification, threads = 1, tol = 0,
                  max_iter = 30, control = plain)
      expect_identical(fitc$classification, refc$classification, info = cv)
      expect_equal(fitc$loglik, refc$loglik - 400 * log(1e-4 * 1e4), tolerance = 1e-9)
    }
  }
})

test_that("on data in tiny units, clusters 4 sd apart are found (an absolute 1e-6 merges them)", {
  s <- scale_two_clusters()
  x <- s$x * 1e-4
  rel <- gmm(x, 2, threads = 1, seed = 1)
  expect_gt(scale_agreement(rel$classification, s$labels), 0.95)
  abs6 <- gmm(x, 2, reg_covar = 1e-6, control = gmm_control(reg_covar_type = "absolute"),
              threads = 1, seed = 1)
  expect_lt(scale_agreement(abs6$classification, s$labels), 0.8)
  # at 1e-3 the absolute default doubles the variances; the relative one does not move them
  x3 <- s$x * 1e-3
  r0 <- gmm(x3, 2, init = s$labels, reg_covar = 0, max_iter = 0, threads = 1)
  r1 <- gmm(x3, 2, init = s$labels, max_iter = 0, threads = 1)
  a1 <- gmm(x3, 2, init = s$labels, max_iter = 0, threads = 1,
            control = gmm_control(reg_covar_type = "absolute"))
  expect_equal(r1$parameters$covariances, r0$parameters$covariances, tolerance = 1e-5)
  expect_gt(a1$parameters$covariances[1, 1, 1] / r0$parameters$covariances[1, 1, 1], 1.8)
})

test_that("reg_covar adds its documented amount to each model's covariances", {
  s <- sim_mixture(n = 300, d = 3, k = 2, seed = 24)
  x <- s$x %*% diag(c(1, 10, 100))
  v <- fastgmm:::column_spread(fastgmm:::as_source(x), NULL)   # the columns' squared spreads
  expect_true(all(v <= apply(x, 2, function(col) mean((col - mean(col))^2))))
  for (cv in models) {
    mle <- gmm(x, 2, covariance = cv, init = s$labels, reg_covar = 0, max_iter = 0, threads = 1)
    rel <- gmm(x, 2, covariance = cv, init = s$labels, reg_covar = 0.01, max_iter = 0, threads = 1)
    abs <- gmm(x, 2, covariance = cv, init = s$labels, reg_covar = c(1, 2, 3), max_iter = 0,
               threads = 1, control = list(reg_covar_type = "absolute"))
    add_rel <- if (cv == "VII") diag(mean(0.01 * v), 3) else diag(0.01 * v)
    add_abs <- if (cv == "VII") diag(2, 3) else diag(c(1, 2, 3))
    for (j in 1:2) {
      expect_equal(unname(rel$parameters$covariances[, , j]),
                   unname(mle$parameters$covariances[, , j]) + add_rel, tolerance = 1e-12, info = cv)
      expect_equal(unname(abs$parameters$covariances[, , j]),
                   unname(mle$parameters$covariances[, , j]) + add_abs, tolerance = 1e-12, info = cv)
    }
    # the R reference does the same
    r <- gmm(x, 2, covariance = cv, init = s$labels, reg_covar = 0.01, max_iter = 5, tol = 0,
             backend = "r")
    cpu <- gmm(x, 2, covariance = cv, init = s$labels, reg_covar = 0.01, max_iter = 5, tol = 0,
               threads = 1, control = gmm_control(accelerate = FALSE))
    expect_equal(r$loglik_trace, cpu$loglik_trace, tolerance = 1e-10, info = cv)
  }
  # reg_covar = 0 is exactly no regularisation in either mode
  a <- gmm(x, 2, init = s$labels, reg_covar = 0, threads = 1)
  b <- gmm(x, 2, init = s$labels, reg_covar = 0, threads = 1,
           control = gmm_control(reg_covar_type = "absolute"))
  expect_identical(a$parameters, b$parameters)
})

test_that("column scales: weighted, constant columns, many rows", {
  cs <- function(x, w) fastgmm:::column_scale(fastgmm:::as_source(x), w)
  x <- cbind(a = c(1, 2, 3, 4), b = 5, c = c(0, 0, 2, 2))
  expect_equal(cs(x, NULL), c(1.25, mean(c(1.25, 1)), 1))
  expect_equal(cs(x, c(1, 1, 0, 0))[c(1, 3)], c(0.25, mean(c(0.25))))
  expect_equal(cs(cbind(rep(3, 5), rep(1, 5)), NULL), c(1, 1))
  big <- cbind(seq_len(300000) %% 7)
  expect_equal(cs(big, NULL), cs(big[round(seq(1, 300000, length.out = 1e5)), , drop = FALSE], NULL))
})

test_that("the relative reg_covar follows the within-cluster scale, not the clusters' spread", {
  # clusters 1e8 apart: the column's variance is 2.5e15, the clusters' variance 1
  set.seed(1)
  x <- cbind(c(rnorm(500), rnorm(500, 1e8)), rnorm(1000))
  sp <- fastgmm:::column_spread(fastgmm:::as_source(x), NULL)
  expect_lt(sp[1], 10)
  f <- gmm(x, 2, init = rep(1:2, each = 500), threads = 1)
  f0 <- gmm(x, 2, init = rep(1:2, each = 500), threads = 1, reg_covar = 0)
  expect_equal(f$loglik, f0$loglik, tolerance = 1e-5)
  # scale-equivariant, and integer weights give the estimate of repeated rows
  expect_equal(fastgmm:::column_spread(fastgmm:::as_source(x * 1e-6), NULL), sp * 1e-12)
  w <- rep(1:3, length.out = 1000)
  expect_equal(fastgmm:::column_spread(fastgmm:::as_source(x), w),
               fastgmm:::column_spread(fastgmm:::as_source(x[rep(1:1000, w), ]), NULL))
  # a single Gaussian: about its variance
  z <- matrix(rnorm(2e4, sd = 3), ncol = 1)
  expect_equal(fastgmm:::column_spread(fastgmm:::as_source(z), NULL), 9, tolerance = 0.05)
})

test_that("gmm_control and reg_covar are checked", {
  expect_s3_class(gmm_control(), "gmm_control")
  expect_identical(gmm_control()$reg_covar_type, "relative")
  expect_identical(gmm_control(reg_covar_type = "abs")$reg_covar_type, "absolute")
  expect_error(gmm_control(reg_covar_type = "scaled"), "`reg_covar_type` must be one of")
  expect_error(gmm_control(stepwise_alpha = 0.5), "`stepwise_alpha` must be a single number in \\(0.5, 1\\]")
  expect_error(gmm_control(accelerate = NA), "`accelerate` must be TRUE or FALSE")
  expect_output(print(gmm_control()), "reg_covar_type +relative")
  x <- sim_mixture(n = 100, d = 2, seed = 25)$x
  expect_error(gmm(x, 2, control = "absolute"), "`control` must be made by gmm_control")
  expect_error(gmm(x, 2, control = list(tol = 1)), "unknown setting\\(s\\): tol")
  expect_error(gmm(x, 2, reg_covar = c(1, 2, 3)), "`reg_covar` must be .* or 2 of them")
  expect_error(gmm(x, 2, reg_covar = c(1, -1)), "`reg_covar` must be")
  expect_error(gmm(x, 2, reg_covar = NA), "`reg_covar` must be")
  fit <- gmm(x, 2, reg_covar = c(1e-3, 1e-2), threads = 1, seed = 1)
  expect_identical(fit$control$reg_covar, c(1e-3, 1e-2))
  expect_identical(fit$control$reg_covar_type, "relative")
})
