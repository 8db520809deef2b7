# Fixtures for the fitting tests. Data are simulated with a fixed seed inside
# withr-free local RNG handling so that tests do not disturb each other.

with_seed <- function(seed, expr) {
  old <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv()) else assign(".Random.seed", old, globalenv()))
  set.seed(seed)
  expr
}

# n rows from k well-separated Gaussian clusters in d dimensions, with labels.
sim_mixture <- function(n = 300, d = 2, k = 3, sep = 4, seed = 1) {
  with_seed(seed, {
    means <- matrix(rnorm(k * d, sd = sep), k, d)
    lab <- sample(k, n, replace = TRUE, prob = seq_len(k) + 1)
    x <- means[lab, , drop = FALSE] + matrix(rnorm(n * d), n, d) %*% diag(runif(d, 0.5, 1.5), d)
    list(x = x, labels = lab)
  })
}

# mclust's name of a model given by any of its names (in one dimension "E" or "V").
mclust_name <- function(covariance, d) check_covariance(covariance, d)

# mclust's me() from labels, parameters in fastgmm's layout. mclust::me() dispatches by
# evaluating a call in the caller's frame (it fails unless mclust is attached), so the model's
# own function (meVVV, ...) is called. `inner_tol`: the tolerance of the iterative M-steps
# (mclust's default, which fastgmm's core uses, unless given).
mclust_me <- function(x, labels, covariance, tol = 1e-13, itmax = 5000,
                      inner_tol = sqrt(.Machine$double.eps)) {
  x <- as.matrix(x)
  d <- ncol(x)
  k <- max(labels)
  model <- mclust_name(covariance, d)
  fn <- getExportedValue("mclust", paste0("me", model))
  m <- fn(data = if (d == 1) drop(x) else x, z = mclust::unmap(labels),
          control = mclust::emControl(tol = c(tol, inner_tol), itmax = c(itmax, .Machine$integer.max)))
  v <- m$parameters$variance
  cov <- if (d == 1) array(rep_len(v$sigmasq, k), c(1, 1, k)) else v$sigma
  list(loglik = m$loglik, proportions = unname(m$parameters$pro),
       means = unname(t(matrix(m$parameters$mean, d, k))), covariances = unname(cov),
       variance = v, model = model, iterations = attr(m, "info")[[1L]])
}

expect_params_equal <- function(a, b, tol) {
  expect_equal(unname(a$proportions), unname(b$proportions), tolerance = tol)
  expect_equal(unname(a$means), unname(b$means), tolerance = tol)
  expect_equal(unname(a$covariances), unname(b$covariances), tolerance = tol)
}

# The closed-form models that the R backend also has (VVV, VVI, VII, EEE = scikit-learn's full,
# diag, spherical, tied), for the tests that compare backends; all fourteen: `all_models`.
models <- c("VVV", "VVI", "VII", "EEE")
all_models <- model_names
iterative_models <- c("VEI", "VEE", "EVE", "VVE", "VEV")

# Evaluates expr with the warning of a fit that did not converge muffled (for tests that set a
# tight `tol` on purpose and compare fits at max_iter).
without_nonconvergence <- function(expr) {
  withCallingHandlers(expr, fastgmm_not_converged = function(w) invokeRestart("muffleWarning"))
}
