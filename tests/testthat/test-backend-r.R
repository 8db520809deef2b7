# Tests of the plain R EM implementation (the reference oracle), against mclust.

# 3rd edition also when this file is run on its own with test_file(), outside the package
local_edition(3)

# --- fixtures (local to this file) -------------------------------------------------------

# Three well-separated clusters in d dimensions, n rows, and a start-label vector that is
# the true labels with a few rows moved to other components.
backend_r_sim <- function(d = 2, n = 300, seed = 1) {
  set.seed(seed)
  k <- 3
  centres <- matrix(0, k, d)
  centres[2, ] <- 6
  centres[3, 1] <- -6
  if (d > 1) centres[3, 2] <- 6
  labels <- rep(seq_len(k), length.out = n)
  mix <- matrix(0.3, d, d)
  diag(mix) <- 1
  noise <- matrix(rnorm(n * d), n, d) %*% mix
  noise <- noise * c(1, 1.5, 0.7)[labels]       # unequal spreads
  x <- centres[labels, , drop = FALSE] + noise
  start <- labels
  moved <- c(1, 5, 50, 100, 200)
  moved <- moved[moved <= n]
  start[moved] <- (start[moved] %% k) + 1
  list(x = x, labels = labels, start = start)
}

backend_r_models <- c(full = "VVV", diag = "VVI", spherical = "VII", tied = "EEE")

# mclust::me() dispatches by evaluating a call to meVVV() etc. in the caller's frame, so it
# fails unless mclust is attached; call the model's own function instead.
backend_r_mclust <- function(x, start, model) {
  me_model <- getExportedValue("mclust", paste0("me", model))
  me_model(data = x, z = mclust::unmap(start),
           control = mclust::emControl(tol = c(1e-12, 1e-12), itmax = c(1000, 1000)))
}

backend_r_onehot <- function(labels, k = max(labels)) {
  z <- matrix(0, length(labels), k)
  z[cbind(seq_along(labels), labels)] <- 1
  z
}

# --- E-step --------------------------------------------------------------------------------

test_that("r_estep gives mclust's log-densities and a valid posterior", {
  skip_if_not_installed("mclust")
  s <- backend_r_sim(d = 3)
  for (cv in names(backend_r_models)) {
    params <- r_mstep(s$x, rep(1, nrow(s$x)), backend_r_onehot(s$start), cv, 0)
    e <- r_estep(s$x, params, cv)
    mp <- list(pro = params$proportions, mean = t(params$means),
               variance = list(modelName = "VVV", d = 3, G = 3,
                               sigma = params$covariances,
                               cholsigma = array(apply(params$covariances, 3, chol),
                                                 dim(params$covariances))))
    # (mclust::cdens() needs mclust attached, like me(); call cdensVVV() directly)
    comp <- mclust::cdensVVV(data = s$x, parameters = mp, logarithm = TRUE)
    comp <- sweep(unclass(comp), 2, log(params$proportions), "+")
    expect_equal(e$logdens, comp, tolerance = 1e-10, ignore_attr = TRUE)
    expect_equal(e$loglik_i, log(rowSums(exp(comp))), tolerance = 1e-10)
    expect_equal(rowSums(e$z), rep(1, nrow(s$x)), tolerance = 1e-14)
    expect_true(all(e$z >= 0))
  }
})

test_that("r_estep's log-sum-exp survives points far from every component", {
  params <- list(proportions = c(0.5, 0.5), means = matrix(c(0, 1), 2, 1),
                 covariances = array(1e-4, c(1, 1, 2)))
  e <- r_estep(matrix(c(1e3, -1e3)), params, "full")
  expect_true(all(is.finite(e$loglik_i)))
  expect_equal(e$z[1, ], c(0, 1))
  expect_equal(e$z[2, ], c(1, 0))
  # by hand: the nearer component dominates completely
  expect_equal(e$loglik_i[1],
               log(0.5) + dnorm(1e3, 1, 1e-2, log = TRUE), tolerance = 1e-12)
})

# --- M-step by hand ------------------------------------------------------------------------

test_that("r_mstep matches the weighted formulas written out", {
  set.seed(3)
  n <- 40
  x <- matrix(rnorm(n * 2), n, 2)
  w <- runif(n, 0.5, 2)
  z <- matrix(runif(n * 2), n, 2)
  z <- z / rowSums(z)
  r <- w * z
  S0 <- colSums(r)
  mu <- t(sapply(1:2, function(j) colSums(r[, j] * x) / S0[j]))
  W <- lapply(1:2, function(j) {
    xc <- t(t(x) - mu[j, ])
    Reduce(`+`, lapply(seq_len(n), function(i) r[i, j] * tcrossprod(xc[i, ])))
  })
  reg <- 0.01
  full <- r_mstep(x, w, z, "full", reg)
  expect_equal(full$proportions, S0 / sum(S0))
  expect_equal(full$means, mu)
  for (j in 1:2) expect_equal(full$covariances[, , j], W[[j]] / S0[j] + diag(reg, 2))
  dg <- r_mstep(x, w, z, "diag", reg)
  for (j in 1:2) expect_equal(dg$covariances[, , j], diag(diag(W[[j]]) / S0[j] + reg))
  sp <- r_mstep(x, w, z, "spherical", reg)
  for (j in 1:2) {
    expect_equal(sp$covariances[, , j], diag(sum(diag(W[[j]])) / (2 * S0[j]) + reg, 2))
  }
  td <- r_mstep(x, w, z, "tied", reg)
  for (j in 1:2) expect_equal(td$covariances[, , j], (W[[1]] + W[[2]]) / sum(S0) + diag(reg, 2))
})

# --- full EM against mclust ------------------------------------------------------------------

for (d in c(2, 3)) {
  for (cv in names(backend_r_models)) {
    test_that(sprintf("r_em (%s, d = %d) agrees with mclust::me", cv, d), {
      skip_if_not_installed("mclust")
      s <- backend_r_sim(d = d)
      n <- nrow(s$x)
      ours <- r_em(s$x, rep(1, n), list(z = backend_r_onehot(s$start)), cv,
                   max_iter = 1000, tol = 1e-12, reg_covar = 0)
      ref <- backend_r_mclust(s$x, s$start, backend_r_models[[cv]])
      expect_true(ours$converged)
      expect_equal(ours$loglik, ref$loglik, tolerance = 1e-8)
      expect_equal(ours$parameters$proportions, ref$parameters$pro,
                   tolerance = 1e-6, ignore_attr = TRUE)
      expect_equal(ours$parameters$means, t(ref$parameters$mean),
                   tolerance = 1e-6, ignore_attr = TRUE)
      expect_equal(ours$parameters$covariances, ref$parameters$variance$sigma,
                   tolerance = 1e-6, ignore_attr = TRUE)
      # loglik is that of the returned parameters, and the trace ends with it
      expect_equal(ours$loglik, sum(r_estep(s$x, ours$parameters, cv)$loglik_i))
      expect_equal(ours$loglik, ours$loglik_trace[ours$iterations])
      expect_length(ours$loglik_trace, ours$iterations)
      # mclust counts the M-step from the start z as an iteration; we do not
      expect_equal(ours$iterations, attr(ref, "info")[["iterations"]] - 1)
    })
  }
}

test_that("r_em agrees with mclust in one dimension (V and E)", {
  skip_if_not_installed("mclust")
  set.seed(7)
  x <- c(rnorm(120, 0, 1), rnorm(80, 5, 2), rnorm(100, 12, 0.5))
  start <- rep(1:3, c(120, 80, 100))
  start[c(3, 130, 250)] <- c(2, 3, 1)
  xm <- matrix(x, ncol = 1)
  n <- length(x)
  refV <- backend_r_mclust(x, start, "V")
  for (cv in c("full", "diag", "spherical")) {
    ours <- r_em(xm, rep(1, n), list(z = backend_r_onehot(start)), cv, 1000, 1e-12, 0)
    expect_equal(ours$loglik, refV$loglik, tolerance = 1e-8)
    expect_equal(ours$parameters$proportions, refV$parameters$pro,
                 tolerance = 1e-6, ignore_attr = TRUE)
    expect_equal(as.vector(ours$parameters$means), as.vector(refV$parameters$mean),
                 tolerance = 1e-6)
    expect_equal(as.vector(ours$parameters$covariances),
                 refV$parameters$variance$sigmasq, tolerance = 1e-6)
  }
  refE <- backend_r_mclust(x, start, "E")
  ours <- r_em(xm, rep(1, n), list(z = backend_r_onehot(start)), "tied", 1000, 1e-12, 0)
  expect_equal(ours$loglik, refE$loglik, tolerance = 1e-8)
  expect_equal(ours$parameters$proportions, refE$parameters$pro,
               tolerance = 1e-6, ignore_attr = TRUE)
  expect_equal(as.vector(ours$parameters$means), as.vector(refE$parameters$mean),
               tolerance = 1e-6)
  expect_equal(as.vector(ours$parameters$covariances),
               rep(refE$parameters$variance$sigmasq, 3), tolerance = 1e-6)
})

# --- weights -----------------------------------------------------------------------------

test_that("integer weights equal replicated rows", {
  s <- backend_r_sim(d = 2, n = 150, seed = 11)
  set.seed(12)
  wt <- sample(0:3, nrow(s$x), replace = TRUE)
  wt[1:3] <- 1                           # keep the moved start rows' labels in play
  rep_idx <- rep(seq_len(nrow(s$x)), wt)
  for (cv in names(backend_r_models)) {
    a <- r_em(s$x, wt, list(z = backend_r_onehot(s$start)), cv, 50, 0, 0)
    b <- r_em(s$x[rep_idx, ], rep(1, length(rep_idx)),
              list(z = backend_r_onehot(s$start[rep_idx])), cv, 50, 0, 0)
    expect_equal(a$loglik_trace, b$loglik_trace, tolerance = 1e-10)
    expect_equal(a$parameters, b$parameters, tolerance = 1e-8)
    # and fractional weights scale out: w and 2.5 * w give the same parameters
    c2 <- r_em(s$x, 2.5 * wt, list(z = backend_r_onehot(s$start)), cv, 50, 0, 0)
    expect_equal(c2$parameters, a$parameters, tolerance = 1e-8)
    expect_equal(c2$loglik, 2.5 * a$loglik, tolerance = 1e-10)
  }
})

# --- loop contract -------------------------------------------------------------------------

test_that("the loglik trace is non-decreasing for every model", {
  s <- backend_r_sim(d = 3, seed = 5)
  set.seed(6)
  rand_start <- sample(1:3, nrow(s$x), replace = TRUE)   # a poor start: many iterations
  for (cv in names(backend_r_models)) {
    fit <- r_em(s$x, rep(1, nrow(s$x)), list(z = backend_r_onehot(rand_start)), cv,
                max_iter = 300, tol = 0, reg_covar = 1e-6)
    tr <- fit$loglik_trace
    expect_length(tr, 300)
    expect_true(all(diff(tr) >= -1e-9 * abs(tr[-1])))
  }
})

test_that("tol = 0 runs exactly max_iter steps; max_iter = 0 evaluates the start", {
  s <- backend_r_sim(d = 2)
  n <- nrow(s$x)
  z0 <- backend_r_onehot(s$start)
  fit <- r_em(s$x, rep(1, n), list(z = z0), "full", 7, 0, 0)
  expect_identical(fit$iterations, 7L)
  expect_false(fit$converged)
  expect_length(fit$loglik_trace, 7)

  fit0 <- r_em(s$x, rep(1, n), list(z = z0), "full", 0, 1e-8, 0)
  p0 <- r_mstep(s$x, rep(1, n), z0, "full", 0)
  expect_identical(fit0$iterations, 0L)
  expect_false(fit0$converged)
  expect_identical(fit0$loglik_trace, numeric(0))
  expect_equal(fit0$parameters, p0)
  expect_equal(fit0$loglik, sum(r_estep(s$x, p0, "full")$loglik_i))

  # a params start is the same as the z start it came from
  fitp <- r_em(s$x, rep(1, n), p0, "full", 7, 0, 0)
  fitp$timings <- fit$timings <- NULL          # seconds differ between runs
  expect_equal(fitp, fit)
})

test_that("convergence stops at the first step within tol", {
  s <- backend_r_sim(d = 2)
  n <- nrow(s$x)
  fit <- r_em(s$x, rep(1, n), list(z = backend_r_onehot(s$start)), "diag", 1000, 1e-6, 0)
  tr <- fit$loglik_trace
  expect_true(fit$converged)
  t <- fit$iterations
  expect_lte(abs(tr[t] - tr[t - 1]), 1e-6 * (1 + abs(tr[t])))
  if (t > 2) expect_true(all(abs(diff(tr[1:(t - 1)])) > 1e-6 * (1 + abs(tr[2:(t - 1)]))))
})

# --- errors ------------------------------------------------------------------------------

test_that("a component with no responsibility is reported as collapsed", {
  s <- backend_r_sim(d = 2)
  n <- nrow(s$x)
  z <- backend_r_onehot(s$start, k = 4)            # label 4 never used
  expect_error(r_mstep(s$x, rep(1, n), z, "full", 0), "component 4 collapsed")
  expect_error(r_em(s$x, rep(1, n), list(z = z), "tied", 10, 0, 1e-6),
               "try reg_covar > 0 or fewer components")
  # a component whose rows all have weight zero collapses too
  w <- ifelse(s$start == 2, 0, 1)
  expect_error(r_mstep(s$x, w, backend_r_onehot(s$start), "diag", 0),
               "component 2 collapsed")
})

test_that("singular covariances are reported with a reg_covar hint", {
  s <- backend_r_sim(d = 2)
  n <- nrow(s$x)
  x0 <- cbind(s$x, 0)                                # a constant (zero) column
  z <- backend_r_onehot(s$start)
  expect_error(r_mstep(x0, rep(1, n), z, "full", 0),
               "covariance of component 1 is singular.*set reg_covar > 0")
  expect_error(r_mstep(x0, rep(1, n), z, "diag", 0),
               "covariance of component 1 is singular.*set reg_covar > 0")
  expect_error(r_em(x0, rep(1, n), list(z = z), "tied", 10, 0, 0),
               "the tied covariance is singular.*set reg_covar > 0")
  # spherical: a component holding a single point has zero variance
  lab <- s$start
  lab[lab == 3] <- 2
  lab[10] <- 3
  expect_error(r_mstep(s$x, rep(1, n), backend_r_onehot(lab), "spherical", 0),
               "covariance of component 3 is singular.*set reg_covar > 0")
  # reg_covar > 0 cures all of these
  for (cv in c("full", "diag", "tied")) {
    expect_no_error(r_mstep(x0, rep(1, n), z, cv, 1e-6))
  }
  expect_no_error(r_mstep(s$x, rep(1, n), backend_r_onehot(lab), "spherical", 1e-6))
})

test_that("a non-finite log-likelihood stops with a reg_covar hint", {
  params <- list(proportions = c(0.5, 0.5), means = matrix(c(0, 1), 2, 1),
                 covariances = array(1, c(1, 1, 2)))
  expect_error(r_em(matrix(c(0, 1, Inf)), rep(1, 3), params, "full", 5, 0, 0),
               "not finite.*reg_covar")
})
