# Local PSOCK clusters for the cluster tests (at most two workers: CRAN's limit).

# Starts n workers that load the fastgmm under test (the library paths of this process are
# passed on); skips the test when no cluster can be started.
cluster_start <- function(n = 2) {
  cl <- tryCatch(parallel::makePSOCKcluster(n), error = function(e) NULL)
  if (is.null(cl)) skip("cannot start a local PSOCK cluster")
  parallel::clusterCall(cl, function(p) invisible(.libPaths(p)), .libPaths())
  cl
}

# Stops each worker on its own, so that a dead one does not leave the others running.
cluster_stop <- function(cl) {
  for (i in seq_along(cl)) {
    try(parallel::stopCluster(cl[i]), silent = TRUE)
    try(close(cl[[i]]$con), silent = TRUE)   # a dead worker's connection is still open
  }
}

# The ids of the objects a worker holds.
cluster_held <- function(cl) {
  unlist(parallel::clusterCall(cl, function() {
    ls(get("cl_store", envir = asNamespace("fastgmm")))
  }))
}

# Fits agree to `tol` relative (log-likelihood and parameters).
expect_fits_agree <- function(a, b, tol = 1e-10) {
  expect_equal(a$loglik, b$loglik, tolerance = tol)
  expect_equal(a$loglik_trace, b$loglik_trace, tolerance = tol)
  expect_identical(a$iterations, b$iterations)
  expect_equal(unname(a$parameters$proportions), unname(b$parameters$proportions), tolerance = tol)
  expect_equal(unname(a$parameters$means), unname(b$parameters$means), tolerance = tol)
  expect_equal(unname(a$parameters$covariances), unname(b$parameters$covariances), tolerance = tol)
}
