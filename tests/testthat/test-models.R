# Every covariance model with every way of fitting: weights, both precisions, every start,
# every data source, any thread count. (The comparisons with mclust are in test-mclust.R.)

local_edition(3)

models_data <- function() sim_mixture(n = 400, d = 3, k = 3, seed = 61, sep = 4)

# The EM drivers every model must work with, as extra arguments of gmm(). The accelerated and
# stepwise drivers (the EM driver issue) plug in here, e.g.
#   accelerated = list(control = gmm_control(accelerate = TRUE)),
#   stepwise = list(method = "stepwise")
# and then run through every test below that loops over `models_drivers`.
models_drivers <- list(plain = list())

# The data sources every model must read, as functions of the matrix: the same fit from each.
# (The cluster source, gmm_cluster(), plugs in here once it exists: a function making a
# two-worker cluster of the rows, closed on exit.)
models_sources <- function(x, dir) {
  f <- file.path(dir, "x.bin")
  list(file = gmm_write(x, f), chunks = gmm_chunks(function(i) {
    r0 <- (i - 1) * 150 + 1
    if (r0 > nrow(x)) NULL else x[r0:min(nrow(x), r0 + 149), , drop = FALSE]
  }, ncol(x)))
}

test_that("every model, with every driver: integer weights are repeated rows, zero weights drop rows", {
  s <- models_data()
  n <- nrow(s$x)
  w <- with_seed(62, sample(0:3, n, replace = TRUE))
  rows <- rep(seq_len(n), w)
  for (driver in names(models_drivers)) for (model in all_models) {
    info <- paste(driver, model)
    args <- c(list(covariance = model, reg_covar = 0, tol = 0, max_iter = 25, threads = 2),
              models_drivers[[driver]])
    a <- do.call(gmm, c(list(s$x, 3, init = s$labels, weights = w), args))
    b <- do.call(gmm, c(list(s$x[rows, ], 3, init = s$labels[rows]), args))
    # (iterative M-steps stop their inner iterations on a relative change: the rounding of
    # weighted and repeated sums may move that stop by one inner step)
    tol <- if (model %in% iterative_models) 1e-6 else 1e-9
    expect_equal(a$loglik, b$loglik * sum(w > 0) / sum(w), tolerance = tol, info = info)
    expect_params_equal(a$parameters, b$parameters, tol)
    expect_identical(a$nobs, sum(w > 0))
    expect_equal(a$bic, -2 * a$loglik + a$df * log(sum(w > 0)))
  }
})

test_that("every model in single precision is close to double, and independent of the threads", {
  s <- models_data()
  for (model in c(all_models)) {
    fits <- lapply(c(double = "double", single = "single"), function(p) lapply(1:2, function(t)
      gmm(s$x, 3, covariance = model, init = s$labels, control = gmm_control(precision = p), tol = 0, max_iter = 15,
          threads = t)))
    for (p in names(fits)) {
      expect_identical(fits[[p]][[1]]$parameters, fits[[p]][[2]]$parameters, info = paste(model, p))
      expect_identical(fits[[p]][[1]]$loglik_trace, fits[[p]][[2]]$loglik_trace, info = paste(model, p))
    }
    expect_equal(fits$single[[1]]$loglik, fits$double[[1]]$loglik, tolerance = 1e-6, info = model)
    expect_params_equal(fits$single[[1]]$parameters, fits$double[[1]]$parameters, 1e-4)
  }
})

test_that("every model starts from every kind of start, whatever the thread count", {
  s <- models_data()
  for (model in all_models) {
    ref <- gmm(s$x, 3, covariance = model, init = s$labels, threads = 1)
    starts <- list("kmeans++", "random", "random_from_data", s$labels,
                   ref$parameters[c("means", "covariances", "proportions")],
                   # a start that does not have the model's structure: the first M-step imposes it
                   if (!model_common(model) && model_family(model) == "ellipsoidal")
                     list(means = ref$parameters$means,
                          covariances = array(c(diag(3), diag(c(1, 2, 3)), 2 * diag(3)), c(3, 3, 3))))
    for (i in seq_along(starts)) {
      if (is.null(starts[[i]])) next
      info <- paste(model, i)
      a <- without_nonconvergence(gmm(s$x, 3, covariance = model, init = starts[[i]], seed = 3,
                                      threads = 1, max_iter = 30))
      b <- without_nonconvergence(gmm(s$x, 3, covariance = model, init = starts[[i]], seed = 3,
                                      threads = 2, max_iter = 30))
      expect_identical(a$parameters, b$parameters, info = info)
      expect_identical(a$loglik_trace, b$loglik_trace, info = info)
      expect_true(is.finite(a$loglik), info = info)
      expect_identical(a$covariance, model)
      # a valid fit of the model: its constraints, its decomposition, its free parameters
      expect_silent(gm_check_fit(a))
      expect_length(coef(a), a$df)
      expect_identical(predict(a, threads = 1), a$classification)
    }
  }
})

test_that("every model fitted from a file or chunk source is the in-memory fit", {
  s <- models_data()
  dir <- tempfile("models")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  srcs <- models_sources(s$x, dir)
  w <- with_seed(63, runif(nrow(s$x)))
  for (model in all_models) for (init in list("kmeans++", s$labels)) {
    ref <- gmm(s$x, 3, covariance = model, init = init, weights = w, seed = 4, threads = 1,
               max_iter = 20, tol = 0)
    for (src in names(srcs)) {
      a <- gmm(srcs[[src]], 3, covariance = model, init = init, weights = w, seed = 4,
               threads = 2, max_iter = 20, tol = 0)
      expect_identical(unname(a$parameters), unname(ref$parameters), info = paste(model, src))
      expect_identical(a$loglik_trace, ref$loglik_trace, info = paste(model, src))
    }
  }
})

test_that("every model simulates, predicts and plots", {
  s <- models_data()
  f <- tempfile(fileext = ".png")
  on.exit(unlink(f))
  for (model in all_models) {
    fit <- gmm(s$x, 3, covariance = model, init = s$labels, threads = 1)
    sims <- simulate(fit, nsim = 1, n = 20000, seed = 1)
    # the simulated data have the model's structure: refitting recovers the parameters
    re <- gmm(sims$sim_1, 3, covariance = model, init = attr(sims, "classification")[, 1],
              threads = 2)
    expect_equal(unname(re$parameters$covariances), unname(fit$parameters$covariances),
                 tolerance = 0.1, info = model)
    post <- predict(fit, s$x[1:5, ], type = "posterior", threads = 1)
    expect_equal(rowSums(post), rep(1, 5), tolerance = 1e-12)
    g <- glance(fit, threads = 1)
    expect_identical(g$model, model)
    expect_identical(g$df, fit$df)
    grDevices::png(f)
    plot(fit)
    grDevices::dev.off()
  }
})

test_that("E and V in one dimension: weights, precisions, starts and sources", {
  x <- data_1d(n = 300)
  lab <- ifelse(x > 1.5, 2L, 1L)
  dir <- tempfile("models1")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  src <- gmm_write(x, file.path(dir, "x.bin"))
  w <- rep(1:2, 150)
  for (model in c("E", "V")) {
    a <- gmm(x, 2, covariance = model, init = lab, weights = w, tol = 0, max_iter = 20, threads = 2)
    b <- gmm(x[rep(seq_along(x), w)], 2, covariance = model, init = lab[rep(seq_along(x), w)],
             tol = 0, max_iter = 20, threads = 2)
    expect_params_equal(a$parameters, b$parameters, 1e-9)
    sg <- gmm(x, 2, covariance = model, init = lab, control = gmm_control(precision = "single"), tol = 0, max_iter = 20,
              threads = 1)
    expect_equal(sg$loglik, gmm(x, 2, covariance = model, init = lab, tol = 0, max_iter = 20,
                                threads = 1)$loglik, tolerance = 1e-6)
    for (init in list("kmeans++", "random", "random_from_data", lab,
                      list(means = c(-1, 4), covariances = c(1, 1)))) {
      m <- gmm(x, 2, covariance = model, init = init, seed = 1, threads = 1, max_iter = 20, tol = 0)
      f <- gmm(src, 2, covariance = model, init = init, seed = 1, threads = 2, max_iter = 20, tol = 0)
      expect_identical(unname(f$parameters), unname(m$parameters))
      expect_length(coef(m), m$df)
    }
  }
})

test_that("at k = 1 every full model is the unconstrained fit, as mclust's mvn()", {
  # close eigenvalues: EVE's and VVE's MM iteration would stop short of the optimum here
  set.seed(7)
  x <- matrix(rnorm(600 * 20), 600)
  ref <- gmm(x, 1, "VVV", reg_covar = 0, threads = 1, seed = 1)
  for (m in c("EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV")) {
    f <- gmm(x, 1, m, reg_covar = 0, threads = 1, seed = 1)
    expect_equal(f$loglik, ref$loglik, tolerance = 1e-12, info = m)
    expect_equal(f$parameters$covariances, ref$parameters$covariances, tolerance = 1e-10,
                 info = m)
  }
  skip_if_not_installed("mclust")
  expect_equal(ref$loglik, mclust::mvnXXX(x)$loglik, tolerance = 1e-12)
})
