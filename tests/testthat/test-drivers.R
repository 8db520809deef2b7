# The EM drivers (plain, accelerated, stepwise) and the starts (robust k-means++, subsample,
# a previous fit): same fixed points, passes counted, deterministic.

local_edition(3)

overlapping <- function(n = 4000, seed = 41) {
  with_seed(seed, {
    lab <- sample(3, n, TRUE)
    m <- rbind(c(0, 0), c(2.2, 0.6), c(0.4, 2.4))
    m[lab, ] + matrix(rnorm(2 * n), n) * c(1, 0.8, 1.2)[lab]
  })
}

test_that("accelerated EM reaches plain EM's fixed point in fewer passes", {
  x <- overlapping()
  for (cov in c("VVV", "VVI", "EEE", "VEV")) {
    p <- gmm(x, 3, covariance = cov, seed = 2, tol = 1e-9, max_iter = 5000, threads = 2,
             control = gmm_control(accelerate = FALSE))
    a <- gmm(x, 3, covariance = cov, seed = 2, tol = 1e-9, max_iter = 5000, threads = 2)
    expect_true(a$control$accelerate)
    expect_false(p$control$accelerate)
    expect_true(a$converged && p$converged)
    expect_gte(a$loglik, p$loglik - 1e-8 * abs(p$loglik))
    expect_lt(a$iterations, p$iterations)
    expect_lt(max(abs(a$parameters$means[order(a$parameters$means[, 1]), ] -
                      p$parameters$means[order(p$parameters$means[, 1]), ])), 0.01)
  }
})

test_that("every driver counts passes over the data as iterations", {
  x <- overlapping(2000)
  for (ctl in list(gmm_control(accelerate = FALSE), gmm_control(accelerate = TRUE))) {
    f <- gmm(x, 3, seed = 1, tol = 0, max_iter = 17, threads = 1, control = ctl)
    expect_identical(f$iterations, 17L)
    expect_length(f$loglik_trace, 17L)
  }
  s <- gmm(x, 3, seed = 1, tol = 0, max_iter = 9, method = "stepwise", threads = 1,
           control = gmm_control(stepwise_batch = 500, stepwise_passes = 2, polish = 3))
  expect_identical(s$iterations, 2L + 1L + 3L)  # stepwise passes, the first polish pass, 3 polish iterations
  expect_length(s$loglik_trace, 6L)
  s <- gmm(x, 3, seed = 1, tol = 0, max_iter = 2, method = "stepwise", threads = 1)
  expect_identical(s$iterations, 2L)  # max_iter keeps one pass for the final log-likelihood
  expect_identical(s$control$method, "stepwise")
})

test_that("stepwise EM: the log-likelihood is the returned parameters' on all the data", {
  x <- overlapping(6000)
  s <- gmm(x, 3, seed = 3, method = "stepwise", threads = 2,
           control = gmm_control(stepwise_batch = 1000, polish = 0))
  expect_equal(s$loglik, sum(predict(s, x, type = "logdensity", threads = 1)), tolerance = 1e-10)
  b <- gmm(x, 3, seed = 3, tol = 1e-10, max_iter = 2000, threads = 2)
  expect_lt((b$loglik - s$loglik) / nrow(x), 1e-3)
})

test_that("stepwise EM is deterministic, whatever the threads, on every source", {
  x <- overlapping(5000)
  ctl <- gmm_control(stepwise_batch = 1024)
  a <- gmm(x, 3, seed = 9, method = "stepwise", threads = 1, control = ctl)
  b <- gmm(x, 3, seed = 9, method = "stepwise", threads = 2, control = ctl)
  expect_identical(a$parameters, b$parameters)
  expect_identical(a$loglik_trace, b$loglik_trace)
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  src <- gmm_write(x, f)
  c1 <- gmm(src, 3, seed = 9, method = "stepwise", threads = 2, control = ctl)
  expect_identical(unname(c1$parameters[1:3]), unname(a$parameters[1:3]))
  # chunk sources are read in order (their mini-batches do not shuffle), and still work
  ch <- gmm_chunks(function(i) if (i > 5) NULL else x[(1000 * (i - 1) + 1):(1000 * i), ], 2)
  d1 <- gmm(ch, 3, seed = 9, method = "stepwise", threads = 2, control = ctl)
  expect_lt((b <- gmm(x, 3, seed = 9, tol = 1e-10, threads = 2))$loglik - d1$loglik, 1e-3 * 5000)
  expect_error(gmm(x, 3, method = "stepwise", backend = "r"), "stepwise")
})

test_that("the default start finds well-separated clusters for every seed", {
  x <- with_seed(5, {
    centres <- rbind(c(0, 0, 0), c(4.5, 0, 0), c(0, 4.5, 0), c(0, 0, 4.5), c(4.5, 4.5, 4.5))
    lab <- sample(5, 3000, TRUE)
    list(x = centres[lab, ] + matrix(rnorm(9000), 3000), lab = lab)
  })
  best <- gmm(x$x, 5, init = x$lab, tol = 1e-10, threads = 2)$loglik
  ll <- vapply(1:15, function(s) gmm(x$x, 5, seed = s, tol = 1e-10, threads = 2)$loglik, 0)
  expect_true(all(ll >= best - 1e-7 * abs(best)))
  sel <- gmm_select(x$x, k = 1:7, covariance = c("VVV", "EEE", "VII"), seed = 1, threads = 2)
  expect_identical(sel$best$k, 5L)
})

test_that("init = \"subsample\" and init = a previous fit continue on all rows", {
  x <- overlapping(30000)
  full <- gmm(x, 3, seed = 4, tol = 1e-9, threads = 2)
  sub <- gmm(x, 3, init = "subsample", seed = 4, tol = 1e-9, threads = 2,
             control = gmm_control(subsample = 0.3))
  expect_identical(sub$control$init, "subsample")
  expect_equal(sub$loglik, full$loglik, tolerance = 1e-6)
  short <- suppressWarnings(gmm(x, 3, seed = 4, max_iter = 3, threads = 2))
  cont <- gmm(x, 3, init = short, tol = 1e-9, threads = 2)
  expect_identical(cont$control$init, "fit")
  expect_equal(cont$loglik, full$loglik, tolerance = 1e-6)
  # a fit of one model starts another: its covariances are put into the model's form
  diag_fit <- gmm(x, 3, covariance = "VVI", init = full, threads = 2)
  expect_s3_class(diag_fit, "gmm")
  sph <- gmm(x, 3, covariance = "EII", init = full, max_iter = 0, threads = 1)
  expect_equal(sph$parameters$covariances[, , 1], sph$parameters$covariances[, , 2])
  expect_error(gmm(x, 4, init = full), "`init` is a fit with k = 3")
  expect_error(gmm(x, 3, init = "subsample", backend = "r"), "subsample")
})

test_that("gmm_control() checks its settings and gmm() its old tuning arguments", {
  expect_error(gmm_control(accelerate = "yes"), "`accelerate` must be TRUE or FALSE")
  expect_error(gmm_control(stepwise_alpha = 1.5), "`stepwise_alpha`")
  expect_error(gmm_control(subsample = 0), "`subsample`")
  expect_error(gmm_control(stepwise_batch = 0), "`stepwise_batch`")
  expect_error(gmm_control(init_starts = 0), "`init_starts`")
  x <- overlapping(500)
  expect_error(gmm(x, 2, method = "online"), "`method` must be one of")
  expect_warning(f <- gmm(x, 2, variant = "gemm", threads = 1, seed = 1), "gmm_control")
  expect_identical(f$control$variant, "gemm")
  expect_error(gmm(x, 2, control = list(accelerate = TRUE, foo = 1)), "unknown setting")
  expect_identical(gmm(x, 2, control = list(accelerate = FALSE), threads = 1, seed = 1)$control$accelerate,
                   FALSE)
})
