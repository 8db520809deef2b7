test_that("every model matches the R backend and mclust::me() from the same labels", {
  skip_if_not_installed("mclust")
  for (d in c(1, 2, 3)) {
    s <- sim_mixture(n = 400, d = d, k = 3, seed = d, sep = if (d == 1) 8 else 4)
    for (cov in models) {
      ctl <- list(init = s$labels, reg_covar = 0, tol = 1e-13, max_iter = 5000, threads = 2,
                  control = gmm_control(accelerate = FALSE))  # plain EM: mclust's iterations
      a <- do.call(gmm, c(list(s$x, 3, covariance = cov), ctl))
      b <- do.call(gmm, c(list(s$x, 3, covariance = cov, backend = "r"), ctl))
      m <- mclust_me(s$x, s$labels, cov)
      expect_true(a$converged)
      expect_equal(a$loglik, m$loglik, tolerance = 1e-8)
      expect_equal(a$loglik, b$loglik, tolerance = 1e-10)
      expect_params_equal(a$parameters, m, 1e-6)
      expect_params_equal(a$parameters, b$parameters, 1e-8)
      expect_identical(a$iterations, b$iterations)
    }
  }
})

test_that("scikit-learn's names are aliases of mclust's, and the fit holds mclust's name", {
  s <- sim_mixture(n = 200, d = 2, seed = 2)
  for (alias in c(VVV = "full", VVI = "diag", VII = "spherical", EEE = "tied")) {
    nm <- names(which(c(VVV = "full", VVI = "diag", VII = "spherical", EEE = "tied") == alias))
    a <- gmm(s$x, 3, covariance = nm, init = s$labels, threads = 1)
    b <- gmm(s$x, 3, covariance = alias, init = s$labels, threads = 1)
    expect_identical(a$parameters, b$parameters)
    expect_identical(a$covariance, nm)
    expect_identical(b$covariance, nm)
  }
  # in one dimension every name is "E" or "V"
  x1 <- s$x[, 1]
  for (cv in c("EII", "EEI", "EVI", "EEE", "tied", "E")) expect_identical(gmm(x1, 2, covariance = cv, threads = 1)$covariance, "E")
  for (cv in c("VII", "VVI", "VEV", "VVV", "full", "diag", "spherical", "V"))
    expect_identical(gmm(x1, 2, covariance = cv, threads = 1)$covariance, "V")
})

test_that("kmeans++, random and random_from_data starts give the same fit on R and C++", {
  s <- sim_mixture(n = 500, d = 2, k = 3, seed = 3)
  for (init in c("kmeans++", "random", "random_from_data")) {
    for (cov in models) {
      a <- without_nonconvergence(
        gmm(s$x, 3, covariance = cov, init = init, seed = 11, threads = 2, tol = 1e-10,
            control = gmm_control(accelerate = FALSE)))
      b <- without_nonconvergence(
        gmm(s$x, 3, covariance = cov, init = init, seed = 11, backend = "r", tol = 1e-10))
      expect_equal(a$loglik, b$loglik, tolerance = 1e-9)
      expect_equal(a$iterations, b$iterations)
    }
  }
})

test_that("results do not depend on the number of threads", {
  s <- sim_mixture(n = 30000, d = 3, k = 4, seed = 4)
  for (cov in models) for (v in c("gemm", "direct")) for (p in c("double", "single")) {
    a <- gmm(s$x, 4, covariance = cov, seed = 5, threads = 1, max_iter = 20,
             control = gmm_control(variant = v, precision = p))
    b <- gmm(s$x, 4, covariance = cov, seed = 5, threads = 2, max_iter = 20,
             control = gmm_control(variant = v, precision = p))
    expect_identical(a$parameters, b$parameters)
    expect_identical(a$loglik, b$loglik)
    expect_identical(a$loglik_trace, b$loglik_trace)
  }
})

test_that("kernel variants agree, and single precision is close to double", {
  s <- sim_mixture(n = 20000, d = 5, k = 4, seed = 6)
  for (cov in models) {
    fits <- lapply(c("gemm", "direct"), function(v)
      gmm(s$x, 4, covariance = cov, seed = 1, threads = 2, tol = 0, max_iter = 15,
          control = gmm_control(variant = v)))
    expect_equal(fits[[1]]$loglik_trace, fits[[2]]$loglik_trace, tolerance = 1e-12)
    expect_params_equal(fits[[1]]$parameters, fits[[2]]$parameters, 1e-10)
    for (v in c("gemm", "direct")) {
      sg <- gmm(s$x, 4, covariance = cov, seed = 1, threads = 2, tol = 0, max_iter = 15,
                control = gmm_control(variant = v, precision = "single"))
      expect_equal(sg$loglik, fits[[1]]$loglik, tolerance = 1e-6)
    }
  }
})

test_that("loglik is the log-likelihood of the returned parameters", {
  s <- sim_mixture(n = 300, d = 2, seed = 7)
  for (cov in models) {
    fit <- gmm(s$x, 3, covariance = cov, seed = 2, threads = 1, max_iter = 7, tol = 0)
    ll <- sum(r_estep(s$x, fit$parameters, cov)$loglik_i)
    expect_equal(fit$loglik, ll, tolerance = 1e-12)
    expect_identical(fit$iterations, 7L)
    expect_length(fit$loglik_trace, 7L)
    expect_identical(fit$loglik, fit$loglik_trace[7])
    expect_false(fit$converged)
  }
})

test_that("tol stops early and the trace does not decrease", {
  s <- sim_mixture(n = 1000, d = 2, seed = 8)
  fit <- gmm(s$x, 3, seed = 3, threads = 1, tol = 1e-8, max_iter = 500)
  expect_true(fit$converged)
  expect_lt(fit$iterations, 500)
  expect_true(all(diff(fit$loglik_trace) >= -1e-9 * abs(fit$loglik)))
  n <- length(fit$loglik_trace)
  expect_lte(abs(fit$loglik_trace[n] - fit$loglik_trace[n - 1]), 1e-8 * (1 + abs(fit$loglik)))
})

test_that("integer weights give the parameters of repeated rows and zero weights drop rows", {
  # Weights are relative (rescaled to sum to the number of rows with positive weight): the
  # parameters are those of the repeated rows, the log-likelihood that of the 200 distinct
  # rows, i.e. the repeated rows' one times 200 / sum(w).
  s <- sim_mixture(n = 200, d = 2, seed = 9)
  w <- rep(1:3, length.out = 200)
  lab <- s$labels
  for (cov in models) {
    a <- gmm(s$x, 3, covariance = cov, weights = w, init = lab, tol = 1e-12, max_iter = 1000,
             threads = 2)
    b <- gmm(s$x[rep(1:200, w), ], 3, covariance = cov, init = lab[rep(1:200, w)], tol = 1e-12,
             max_iter = 1000, threads = 2)
    expect_equal(a$loglik, b$loglik * 200 / sum(w), tolerance = 1e-9)
    expect_params_equal(a$parameters, b$parameters, 1e-8)
    expect_equal(a$nobs, 200)
    expect_equal(a$bic, -2 * a$loglik + a$df * log(200))
    r <- gmm(s$x, 3, covariance = cov, weights = w, init = lab, tol = 1e-12, max_iter = 1000,
             backend = "r")
    expect_equal(a$loglik, r$loglik, tolerance = 1e-10)
  }
  w0 <- rep(c(1, 0), 100)
  a <- gmm(s$x, 3, weights = w0, init = lab, threads = 1)
  b <- gmm(s$x[w0 > 0, ], 3, init = lab[w0 > 0], threads = 1)
  expect_equal(a$loglik, b$loglik, tolerance = 1e-10)
  expect_equal(a$nobs, 100)
})

test_that("starting parameters are accepted in every documented shape", {
  s <- sim_mixture(n = 300, d = 2, seed = 10)
  ref <- gmm(s$x, 3, init = s$labels, max_iter = 0, threads = 1, reg_covar = 0)$parameters
  full <- gmm(s$x, 3, init = ref, max_iter = 3, tol = 0, threads = 1)
  expect_identical(full$iterations, 3L)
  diag_start <- list(means = ref$means, covariances = t(apply(ref$covariances, 3, diag)))
  fd <- gmm(s$x, 3, covariance = "diag", init = diag_start, max_iter = 0, threads = 1)
  expect_equal(fd$parameters$covariances[, , 2], diag(diag_start$covariances[2, ]), ignore_attr = TRUE)
  expect_equal(unname(fd$parameters$proportions), rep(1 / 3, 3))
  sph <- list(means = ref$means, covariances = c(1, 2, 3), proportions = c(.2, .3, .5))
  fs <- gmm(s$x, 3, covariance = "spherical", init = sph, max_iter = 0, threads = 1)
  expect_equal(fs$parameters$covariances[, , 3], diag(3, 2), ignore_attr = TRUE)
  tied <- list(means = ref$means, covariances = diag(2))
  ft <- gmm(s$x, 3, covariance = "tied", init = tied, max_iter = 0, threads = 1)
  expect_equal(ft$loglik, sum(r_estep(s$x, ft$parameters, "tied")$loglik_i), tolerance = 1e-12)
  x1 <- s$x[, 1]
  f1 <- gmm(x1, 2, init = list(means = c(-1, 1), covariances = c(1, 1)), threads = 1)
  expect_identical(dim(f1$parameters$means), c(2L, 1L))
  # In one dimension variances may come as a k x 1 or 1 x k matrix too.
  f2 <- gmm(x1, 2, init = list(means = c(-1, 1), covariances = matrix(c(1, 1), 2, 1)), threads = 1)
  expect_identical(f1$parameters, f2$parameters)
})

test_that("seeds: reproducible, and the caller's random stream is left alone", {
  s <- sim_mixture(n = 300, d = 2, seed = 11)
  set.seed(42)
  before <- .Random.seed
  a <- gmm(s$x, 3, init = "random", seed = 7, threads = 1)
  expect_identical(.Random.seed, before)
  b <- gmm(s$x, 3, init = "random", seed = 7, threads = 2)
  expect_identical(a$parameters, b$parameters)
  set.seed(1); c1 <- gmm(s$x, 3, init = "random", threads = 1)
  set.seed(1); c2 <- gmm(s$x, 3, init = "random", threads = 1)
  expect_identical(c1$parameters, c2$parameters)
  set.seed(1); invisible(gmm(s$x, 3, threads = 1)); after_fit <- .Random.seed
  set.seed(1); invisible(runif(1)); expect_identical(after_fit, .Random.seed)
})

test_that("n_init keeps the best start", {
  s <- sim_mixture(n = 400, d = 2, k = 4, seed = 12)
  lls <- vapply(0:4, function(r) gmm(s$x, 4, init = "random", seed = 3, n_init = r + 1,
                                       threads = 1)$loglik, 0)
  expect_true(all(diff(lls) >= 0))
})

test_that("bad input gives clear errors naming the argument", {
  s <- sim_mixture(n = 100, d = 2, seed = 13)
  x <- s$x
  xna <- x; xna[3, 1] <- NA
  expect_error(gmm(xna, 2), "`x` contains NA")
  xnan <- x; xnan[3, 1] <- NaN
  expect_error(gmm(xnan, 2), "`x` contains NA or NaN")
  xinf <- x; xinf[3, 2] <- Inf
  expect_error(gmm(xinf, 2), "`x` contains infinite")
  expect_error(gmm(data.frame(a = 1:10, b = letters[1:10]), 2), "`x` has non-numeric column.*b")
  expect_error(gmm(list(1, 2), 2), "`x` must be")
  expect_error(gmm(x, 0), "`k` must be a whole number")
  expect_error(gmm(x, 2.5), "`k` must be a whole number")
  expect_error(gmm(x, 101), "`k` \\(101\\) is larger than the number of rows")
  expect_error(gmm(rbind(x[1:3, ], x[1:3, ]), 4), "distinct rows")
  expect_error(gmm(x, 2, covariance = "VVX"), "`covariance` must be one of mclust's models")
  expect_error(gmm(x, 2, covariance = "V"), "one-dimensional model, but the data have 2 columns")
  expect_error(gmm(x, 2, init = "kmeans"), "`init` must be one of")
  expect_error(gmm(x, 2, init = rep(1:2, 10)), "`init` labels must have one value per row")
  expect_error(gmm(x, 2, init = rep(1:3, length.out = 100)), "`init` labels must be whole numbers from 1 to k")
  expect_error(gmm(x, 2, init = list(means = matrix(0, 3, 2), covariances = diag(2))), "`init\\$means` must be")
  expect_error(gmm(x, 2, init = list(means = matrix(0, 2, 2), covariances = array(1, c(2, 2, 3)))),
               "`init\\$covariances` for covariance = \"VVV\"")
  expect_error(gmm(x, 2, init = list(means = matrix(0, 2, 2), covariances = array(c(1, 2, 2, 1), c(2, 2, 2)))),
               "not positive definite")
  expect_error(gmm(x, 2, weights = rep(-1, 100)), "`weights` must be non-negative")
  expect_error(gmm(x, 2, weights = c(NA, rep(1, 99))), "`weights` must not contain NA")
  expect_error(gmm(x, 2, weights = rep(1, 99)), "`weights` must be a numeric vector with one value per")
  expect_error(gmm(x, 2, reg_covar = -1), "`reg_covar` must be")
  expect_error(gmm(x, 2, tol = NA), "`tol` must be")
  expect_error(gmm(x, 2, max_iter = -1), "`max_iter` must be")
  expect_error(gmm(x, 2, n_init = 0), "`n_init` must be")
  expect_error(gmm(x, 2, threads = 0), "`threads` must be")
  expect_error(gmm(x, 2, seed = "a"), "`seed` must be")
  expect_error(gmm(x, 2, backend = "gpu"), "`backend` must be one of")
  expect_error(gmm(x, 2, control = gmm_control(precision = "half")), "`precision` must be one of")
  expect_error(suppressWarnings(gmm(x, 2, precision = "half")), "`precision` must be one of")
  expect_warning(gmm(x, 2, precision = "single", threads = 1, seed = 1), "setting of gmm_control")
  expect_error(gmm(x, 2, iterations = 5), "unused argument `iterations`")
  expect_error(gmm(x, 2, control = gmm_control(variant = "fast")), "`variant` must be one of")
  expect_error(gmm(x, 2, verbose = NA), "`verbose` must be TRUE or FALSE")
})

test_that("singular and collapsed components are named, with advice", {
  s <- sim_mixture(n = 200, d = 2, seed = 14)
  xc <- cbind(s$x, 3.1)
  for (backend in c("cpu", "r")) {
    expect_error(gmm(xc, 2, reg_covar = 0, init = rep(1:2, 100), backend = backend),
                 "covariance of component 1 is singular.*reg_covar")
    expect_error(gmm(xc, 2, covariance = "tied", reg_covar = 0, init = rep(1:2, 100), backend = backend),
                 "(tied|common) covariance is singular.*reg_covar")
    expect_error(gmm(s$x, 3, init = rep(1:2, 100), backend = backend), "component 3 collapsed")
  }
  fit <- gmm(xc, 2, reg_covar = 1e-6, init = rep(1:2, 100), threads = 1)
  expect_true(is.finite(fit$loglik))
})

test_that("nothing the user passed is modified", {
  s <- sim_mixture(n = 200, d = 2, seed = 15)
  x <- s$x; x0 <- x + 0
  w <- runif(200); w0 <- w + 0
  df <- as.data.frame(x); df0 <- df
  invisible(gmm(x, 2, weights = w, threads = 2))
  invisible(gmm(df, 2, threads = 2))
  expect_identical(x, x0)
  expect_identical(w, w0)
  expect_identical(df, df0)
})

test_that("data frames, vectors and integer matrices are accepted", {
  s <- sim_mixture(n = 200, d = 2, seed = 16)
  a <- gmm(s$x, 3, init = s$labels, threads = 1)
  b <- gmm(as.data.frame(s$x), 3, init = s$labels, threads = 1)
  expect_equal(a$loglik, b$loglik)
  xi <- matrix(as.integer(round(s$x * 10)), ncol = 2)
  expect_s3_class(gmm(xi, 2, threads = 1), "gmm")
  f1 <- gmm(s$x[, 1], 2, threads = 1)
  expect_identical(f1$d, 1L)
})

test_that("the fit object has the documented fields", {
  s <- sim_mixture(n = 200, d = 2, seed = 17)
  fit <- gmm(s$x, 3, threads = 1)
  for (f in c("parameters", "loglik", "loglik_trace", "iterations", "converged", "n", "d", "k",
              "covariance", "df", "bic", "aic", "classification", "uncertainty", "backend", "call"))
    expect_true(f %in% names(fit), info = f)
  expect_identical(fit$df, gmm_df(3, 2, "full"))
  expect_identical(fit$df, 2 + 6 + 9)
  expect_equal(fit$bic, -2 * fit$loglik + fit$df * log(200))
  expect_identical(dim(fit$parameters$covariances), c(2L, 2L, 3L))
  expect_true(all(fit$classification %in% 1:3))
  expect_true(all(fit$uncertainty >= 0 & fit$uncertainty <= 2 / 3))
})
