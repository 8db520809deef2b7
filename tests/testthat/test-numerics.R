# Anchored statistics: far-apart clusters and far outliers give the same numbers as the
# plain R backend (two-pass, centred) and mclust, in every model; single precision agrees
# with double where float can hold the data, and says so where it cannot.

local_edition(3)

# Three clusters: unit, 0.5 and 2 sd, at 0, sep and -sep / 3 (sep in units of the first).
far_clusters <- function(sep, d, n = c(300, 200, 250), seed = 1) {
  with_seed(seed, {
    x <- rbind(matrix(rnorm(n[1] * d), n[1]), matrix(rnorm(n[2] * d, sd = 0.5), n[2]) + sep,
               matrix(rnorm(n[3] * d, sd = 2), n[3]) - sep / 3)
    list(x = x, labels = rep(1:3, n))
  })
}

rel_err <- function(a, b) max(abs(a - b)) / max(abs(b))

test_that("clusters 1e2 to 1e8 sd apart agree with the R backend and mclust (all models)", {
  skip_if_not_installed("mclust")
  for (sep in c(1e2, 1e4, 1e6, 1e8)) for (d in 1:2) {
    s <- far_clusters(sep, d, seed = d)
    for (cov in models) {
      ctl <- list(init = s$labels, reg_covar = 0, tol = 1e-12, max_iter = 500,
                  control = gmm_control(accelerate = FALSE))
      a <- do.call(gmm, c(list(s$x, 3, covariance = cov, threads = 2), ctl))
      r <- do.call(gmm, c(list(s$x, 3, covariance = cov, backend = "r"), ctl))
      m <- mclust_me(s$x, s$labels, cov)
      expect_equal(a$loglik, r$loglik, tolerance = 1e-8)
      expect_equal(a$loglik, m$loglik, tolerance = 1e-8)
      for (p in list(r$parameters, m)) {
        expect_lt(rel_err(a$parameters$means, p$means), 1e-6)
        expect_lt(rel_err(a$parameters$covariances, p$covariances), 1e-6)
        expect_lt(rel_err(a$parameters$proportions, p$proportions), 1e-6)
      }
    }
  }
})

test_that("a single far outlier (1e4 to 1e10) does not break any model", {
  for (out in c(1e4, 1e6, 1e8, 1e10)) {
    x <- with_seed(1, rbind(matrix(rnorm(600), 300), matrix(rnorm(600, 5), 300), c(out, -out)))
    lab <- c(rep(1:2, each = 300), 3)
    for (cov in models) {
      a <- gmm(x, 3, covariance = cov, init = lab, tol = 1e-12, threads = 2,
               control = gmm_control(accelerate = FALSE))
      r <- gmm(x, 3, covariance = cov, init = lab, tol = 1e-12, backend = "r")
      expect_equal(a$loglik, r$loglik, tolerance = 1e-8)
      expect_lt(rel_err(a$parameters$means, r$parameters$means), 1e-6)
      expect_lt(rel_err(a$parameters$covariances, r$parameters$covariances), 1e-6)
    }
  }
  # the issue's example: an outlier at 1e6 with k = 3 fits (it gets a component of its own)
  x <- with_seed(1, rbind(matrix(rnorm(2000), 1000), matrix(rnorm(2000, 5), 1000), c(1e6, 1e6)))
  fit <- gmm(x, 3, seed = 1, threads = 1)
  expect_true(is.finite(fit$loglik))
  expect_identical(sort(as.vector(table(fit$classification)))[1], 1L)
})

test_that("single precision agrees with double up to 1e3 sd and warns beyond float's reach", {
  for (sep in c(10, 1e2, 1e3)) {
    s <- far_clusters(sep, 2, n = c(3000, 2000, 2500), seed = 3)
    for (cov in c("full", "diag", "spherical", "tied")) {
      a <- gmm(s$x, 3, covariance = cov, init = s$labels, reg_covar = 0, tol = 0, max_iter = 30)
      b <- expect_silent(gmm(s$x, 3, covariance = cov, init = s$labels, reg_covar = 0, tol = 0,
                             max_iter = 30, control = gmm_control(precision = "single")))
      expect_equal(b$loglik, a$loglik, tolerance = 1e-5)
      expect_lt(rel_err(b$parameters$means, a$parameters$means), 1e-5)
    }
  }
  s <- far_clusters(1e6, 2, seed = 4)
  expect_warning(b <- gmm(s$x, 3, init = s$labels, threads = 1, reg_covar = 0,
                          control = gmm_control(precision = "single")), "precision = \"double\"")
  a <- gmm(s$x, 3, init = s$labels, threads = 1, reg_covar = 0)
  expect_equal(b$loglik, a$loglik, tolerance = 1e-10)
  # the issue's example: a narrow component far from the centre
  x <- with_seed(1, c(rnorm(5000), rnorm(5000, 3, 0.001)))
  v <- gmm(x, 2, init = rep(1:2, each = 5000), reg_covar = 0, control = gmm_control(precision = "single"),
           threads = 1)$parameters$covariances[[1, 1, 2]]
  expect_equal(v, var(x[5001:10000]) * 4999 / 5000, tolerance = 1e-5)
})

test_that("predict on a batch equals predict row by row, whatever else is in the batch", {
  fit <- gmm(faithful, 2, seed = 1, threads = 1)
  all_rows <- predict(fit, faithful, type = "logdensity", threads = 1)
  one_by_one <- vapply(1:20, function(i) predict(fit, faithful[i, ], type = "logdensity",
                                                 threads = 1), 0)
  expect_identical(all_rows[1:20], one_by_one)
  with_far <- predict(fit, rbind(faithful[1:3, ], c(1e9, 1e9)), type = "logdensity", threads = 2)
  expect_identical(with_far[1:3], all_rows[1:3])
  expect_true(is.finite(with_far[4]) && with_far[4] < -1e10)
  post <- predict(fit, rbind(faithful[1:3, ], c(-1e12, 5)), type = "posterior", threads = 1)
  expect_identical(post[1:3, ], predict(fit, faithful[1:3, ], type = "posterior", threads = 1))
  # fitted classes are those predict gives
  expect_identical(predict(fit, faithful, threads = 2), fit$classification)
  for (cov in models) {
    s <- sim_mixture(n = 500, d = 3, seed = 7)
    f <- gmm(s$x, 3, covariance = cov, seed = 1, threads = 1)
    p <- predict(f, s$x, type = "posterior", threads = 2)
    q <- t(vapply(c(1, 250, 500), function(i) predict(f, s$x[i, , drop = FALSE], type = "posterior",
                                                        threads = 1), numeric(3)))
    expect_identical(unname(p[c(1, 250, 500), ]), unname(q))
  }
})

test_that("thread counts beyond the machine are capped with a warning, never a crash", {
  x <- with_seed(2, matrix(rnorm(2e4), ncol = 2))
  expect_warning(fit <- gmm(x, 2, threads = 1e7, seed = 1), "logical CPUs")
  expect_identical(fit$loglik, gmm(x, 2, threads = 1, seed = 1)$loglik)
  old <- options(fastgmm.threads = 100000)
  on.exit(options(old))
  expect_warning(gmm(x, 2, seed = 1), "fastgmm.threads")
})

test_that("threads 1 and 2 give identical fits at every size, variant auto included", {
  for (n in c(500, 5000, 25000, 70000)) {
    s <- sim_mixture(n = n, d = 3, k = 3, seed = 8)
    for (cov in models) {
      a <- gmm(s$x, 3, covariance = cov, seed = 3, threads = 1, max_iter = 8)
      b <- gmm(s$x, 3, covariance = cov, seed = 3, threads = 2, max_iter = 8)
      expect_identical(a$parameters, b$parameters)
      expect_identical(a$loglik_trace, b$loglik_trace)
      expect_identical(a$control$variant, b$control$variant)
    }
  }
})

test_that("fits are identical on 1 and 2 threads where a pass splits the components across threads", {
  # few tiles and many components: each block's components are computed in groups on both
  # threads (each task takes its block buffers from the pass's pool)
  x <- with_seed(3, matrix(rnorm(3000 * 12), ncol = 12) + sample(0:3, 3000, TRUE) * 2)
  for (cov in c("VVV", "VVI", "EEE")) {
    a <- gmm(x, 6, covariance = cov, seed = 1, threads = 1, max_iter = 30, tol = 0)
    b <- gmm(x, 6, covariance = cov, seed = 1, threads = 2, max_iter = 30, tol = 0)
    expect_identical(a$parameters, b$parameters, info = cov)
    expect_identical(a$loglik_trace, b$loglik_trace, info = cov)
  }
})
