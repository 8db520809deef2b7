# Tests of progress reporting: the bar over gmm_select()'s grid and gmm(verbose = TRUE).

local_edition(3)

# Runs fun() with cli options set (and puts the old ones back).
progress_with_options <- function(opts, fun) {
  old <- options(opts)
  on.exit(options(old))
  fun()
}

progress_messages <- function(fun) {
  msgs <- character()
  withCallingHandlers(fun(), message = function(m) {
    msgs <<- c(msgs, conditionMessage(m))
    invokeRestart("muffleMessage")
  })
  msgs
}

test_that("gmm_select is quiet in non-interactive runs unless verbose", {
  skip_if(interactive())
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 1)
  progress_with_options(list(cli.dynamic = FALSE, cli.progress_show_after = 0), function() {
    expect_silent(gmm_select(s$x, k = 1:2, covariance = c("full", "diag"), threads = 1,
                             seed = 1))
  })
})

test_that("gmm_select(verbose = TRUE) reports each fit and the bar without error", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 1)
  msgs <- progress_with_options(list(cli.dynamic = FALSE, cli.progress_show_after = 0),
    function() progress_messages(function()
      gmm_select(s$x, k = 1:3, covariance = c("full", "diag"), threads = 1, seed = 1,
                 verbose = TRUE)))
  text <- paste(msgs, collapse = "")
  for (k in 1:3) for (cov in c("VVV", "VVI"))
    expect_match(text, sprintf("k = %d, %s: BIC = ", k, cov), fixed = TRUE)
  # a failed fit is reported with its reason
  msgs <- progress_with_options(list(cli.dynamic = FALSE, cli.progress_show_after = 0),
    function() progress_messages(function()
      gmm_select(s$x, k = c(1, 500), covariance = "diag", threads = 1, seed = 1,
                 verbose = TRUE)))
  expect_match(paste(msgs, collapse = ""), "k = 500, VVI: failed: `k` (500) is larger",
               fixed = TRUE)
})

test_that("the progress bar also works on a dynamic terminal", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 1)
  out <- progress_with_options(list(cli.dynamic = TRUE, cli.progress_show_after = 0), function()
    utils::capture.output(invisible(gmm_select(s$x, k = 1:2, covariance = "full", threads = 1,
                                               seed = 1, verbose = TRUE)), type = "message"))
  expect_gt(length(out), 0)
  fit <- NULL
  out <- progress_with_options(list(cli.dynamic = TRUE, cli.progress_show_after = 0), function()
    utils::capture.output(fit <<- gmm(s$x, 2, threads = 1, seed = 1, n_init = 2, verbose = TRUE),
                          type = "message"))
  expect_s3_class(fit, "gmm")
})

test_that("gmm(verbose = TRUE) reports every EM iteration", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 1)
  fit <- NULL
  msgs <- progress_with_options(list(cli.dynamic = FALSE), function()
    progress_messages(function()
      fit <<- gmm(s$x, 2, threads = 1, seed = 1, max_iter = 7, tol = 0, verbose = TRUE)))
  expect_length(msgs, 7)
  expect_match(msgs[1], "^iteration 1  log-likelihood -?[0-9.]+\n$")
  expect_match(msgs[7], "^iteration 7  log-likelihood -?[0-9.]+  change ")
  expect_equal(as.numeric(sub(".*log-likelihood (\\S+).*\n", "\\1", msgs)), fit$loglik_trace,
               tolerance = 1e-9)

  msgs <- progress_with_options(list(cli.dynamic = FALSE), function()
    progress_messages(function()
      gmm(s$x, 2, threads = 1, seed = 1, max_iter = 3, tol = 0, n_init = 2, init = "random",
          verbose = TRUE)))
  expect_length(msgs, 6)
  expect_match(msgs[4], "^start 2/2, iteration 1  log-likelihood")
  # nothing without verbose
  expect_silent(gmm(s$x, 2, threads = 1, seed = 1, max_iter = 3))
})

test_that("an error raised while reporting progress stops the fit", {
  s <- data_blobs(n = 200, d = 2, k = 2, seed = 1)
  ns <- asNamespace("fastgmm")
  old <- get("gm_progress_fit", envir = ns)
  calls <- 0
  utils::assignInNamespace("gm_progress_fit", function(...) function(...) {
    calls <<- calls + 1
    if (calls == 3) stop("stop at iteration 3")
  }, ns = "fastgmm")
  on.exit(utils::assignInNamespace("gm_progress_fit", old, ns = "fastgmm"))
  expect_error(gmm(s$x, 2, threads = 1, seed = 1, max_iter = 20, tol = 0, verbose = TRUE),
               "stop at iteration 3")
  expect_identical(calls, 3)
})
