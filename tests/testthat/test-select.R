# Tests of gmm_select(): the grid, the criteria, failures, reproducibility and the methods.

local_edition(3)

# --- local helpers -------------------------------------------------------------------------

# Calls fun() with the internal function `name` of fastgmm replaced by `value`, then puts the
# original back.
sel_with_replaced <- function(name, value, fun) {
  ns <- asNamespace("fastgmm")
  old <- get(name, envir = ns)
  utils::assignInNamespace(name, value, ns = "fastgmm")
  on.exit(utils::assignInNamespace(name, old, ns = "fastgmm"))
  fun()
}

sel_in_png <- function(fun) {
  f <- tempfile(fileext = ".png")
  grDevices::png(f, width = 480, height = 480)
  dev <- grDevices::dev.cur()
  on.exit(unlink(f))
  tryCatch(fun(), finally = grDevices::dev.off(dev))
  file.size(f)
}

sel_blobs <- function() data_blobs(n = 300, d = 2, k = 3, sep = 6, seed = 1)

table_columns <- c("k", "covariance", "loglik", "df", "bic", "icl", "iterations", "converged",
                   "seconds", "error")

# --- selection -----------------------------------------------------------------------------

test_that("the selection finds the number of well-separated clusters", {
  s <- sel_blobs()
  sel <- without_nonconvergence(gmm_select(s$x, k = 1:5, threads = 1, seed = 1))
  expect_s3_class(sel, "gmm_select")
  expect_s3_class(sel$best, "gmm")
  expect_identical(sel$best$k, 3L)
  # the clusters are one correlated shape scaled by unequal spreads: equal shape and
  # orientation, varying volume, the VEE model
  expect_identical(sel$best$covariance, "VEE")
  expect_identical(sel$criterion, "bic")
  tab <- table(sel$best$classification, s$labels)
  expect_gt(sum(apply(tab, 1, max)) / 300, 0.95)
  # the grid's fits skip the per-row classification; the best's is that of the fit itself
  post <- predict(sel$best, s$x, type = "posterior")
  expect_identical(sel$best$classification, max.col(post, ties.method = "first"))
  expect_equal(sel$best$uncertainty, 1 - apply(post, 1, max), tolerance = 1e-12)
  refit <- eval(sel$best$call)
  expect_identical(sel$best$classification, refit$classification)
  expect_equal(sel$best$uncertainty, refit$uncertainty, tolerance = 1e-12)
  expect_true(is.finite(sel$best$timings[["score"]]))

  sel_icl <- without_nonconvergence(
    gmm_select(s$x, k = 1:5, criterion = "icl", threads = 1, seed = 1))
  expect_identical(sel_icl$best$k, 3L)
  expect_identical(sel_icl$criterion, "icl")
})

test_that("the table has one row per fit with the documented columns", {
  s <- sel_blobs()
  sel <- gmm_select(s$x, k = c(3, 1, 2, 2), covariance = c("diag", "VVV"), threads = 1, seed = 1)
  tab <- sel$table
  expect_s3_class(tab, "data.frame")
  expect_identical(names(tab), table_columns)
  expect_identical(nrow(tab), 6L)
  expect_identical(tab$k, rep(1:3, each = 2))
  expect_identical(tab$covariance, rep(c("VVI", "VVV"), 3))
  expect_type(tab$loglik, "double")
  expect_type(tab$iterations, "integer")
  expect_type(tab$converged, "logical")
  expect_type(tab$error, "character")
  expect_true(all(is.na(tab$error)))
  expect_true(all(tab$seconds >= 0))
  expect_identical(tab$df, c(4, 5, 9, 11, 14, 17))
  # every model at a k starts from the same partition, gmm_start()'s
  for (i in seq_len(nrow(tab))) {
    f <- gmm(s$x, tab$k[i], tab$covariance[i], threads = 1, tol = 1e-5,  # gmm_select()'s tol
             init = gmm_start(s$x, tab$k[i], seed = sel_start_seed(sel$seed, tab$k[i]), threads = 2))
    expect_identical(tab$loglik[i], f$loglik)
    expect_identical(tab$bic[i], f$bic)
  }
  expect_identical(sel$init, "shared")
  # with weights, and models that share a partition's statistics (EEE, VVV) or not (VII):
  # each fit is the one gmm() makes from the same start
  w <- rep(c(0.5, 1, 2), length.out = nrow(s$x))
  selw <- gmm_select(s$x, k = 2:3, covariance = c("EEE", "VII", "VVV"), weights = w,
                     threads = 2, seed = 3)
  for (i in seq_len(nrow(selw$table))) {
    kk <- selw$table$k[i]
    f <- gmm(s$x, kk, selw$table$covariance[i], weights = w, threads = 1, tol = 1e-5,
             init = gmm_start(s$x, kk, seed = sel_start_seed(selw$seed, kk), weights = w,
                              threads = 1))
    expect_identical(selw$table$loglik[i], f$loglik)
  }
  # the best fit's call refits it, with the selection's tol (gmm()'s default is smaller)
  expect_identical(sel$best$call$tol, 1e-5)
  expect_identical(eval(sel$best$call)$parameters, sel$best$parameters)
  expect_identical(gmm_select(s$x, k = 2, covariance = "VVV", tol = 1e-7, threads = 1,
                              seed = 1)$best$call$tol, 1e-7)
  expect_error(gmm_select(s$x, k = 2, tol = -1), "`tol` must be a single finite number >= 0")
  # with a start method, each fit starts itself, with its own seed
  sel2 <- gmm_select(s$x, k = 2:3, covariance = c("VVI", "EEE"), init = "kmeans++", threads = 1,
                     seed = 1)
  expect_identical(sel2$init, "kmeans++")
  for (i in seq_len(nrow(sel2$table))) {
    f <- gmm(s$x, sel2$table$k[i], sel2$table$covariance[i], threads = 1, tol = 1e-5,
             seed = sel_fit_seed(sel2$seed, sel2$table$k[i], sel2$table$covariance[i]))
    expect_identical(sel2$table$loglik[i], f$loglik)
  }
  expect_identical(eval(sel2$best$call)$parameters, sel2$best$parameters)
})

test_that("shared starts: the best of n_init partitions per k, independent of the grid", {
  s <- sel_blobs()
  a <- gmm_select(s$x, k = 2:3, covariance = c("VVV", "EII"), n_init = 2, threads = 1, seed = 5)
  b <- gmm_select(s$x, k = 3, covariance = "EII", n_init = 2, threads = 2, seed = 5)
  expect_identical(a$table$loglik[a$table$k == 3 & a$table$covariance == "EII"], b$table$loglik)
  for (i in seq_len(nrow(a$table))) {
    lls <- vapply(1:2, function(r) gmm(s$x, a$table$k[i], a$table$covariance[i], threads = 1,
                                       tol = 1e-5,
                                       init = gmm_start(s$x, a$table$k[i], start = r,
                                                        seed = sel_start_seed(a$seed, a$table$k[i])))$loglik, 0)
    expect_identical(a$table$loglik[i], max(lls))
  }
  expect_identical(eval(a$best$call)$parameters, a$best$parameters)
  # the starts are those of k-means on standardised columns: rescaling a column changes nothing
  y <- s$x
  y[, 2] <- 1000 * y[, 2]
  expect_identical(gmm_start(y, 3, seed = 1, threads = 1), gmm_start(s$x, 3, seed = 1, threads = 1))
  # a data source gets the same starts, read block by block
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  src <- gmm_write(s$x, f)
  expect_identical(gmm_start(src, 3, seed = 2, threads = 2), gmm_start(s$x, 3, seed = 2, threads = 1))
  ch <- gmm_chunks(function(i) if (i > 3) NULL else s$x[(i - 1) * 100 + 1:100, ], 2)
  expect_identical(gmm_start(ch, 3, seed = 2, threads = 2), gmm_start(s$x, 3, seed = 2, threads = 1))
})

test_that("BIC(best) is the smallest BIC of the table, as stats::BIC computes it", {
  s <- sel_blobs()
  sel <- without_nonconvergence(gmm_select(s$x, k = 1:4, threads = 1, seed = 3))
  expect_identical(BIC(sel$best), min(sel$table$bic))
  expect_equal(sel$table$bic, -2 * sel$table$loglik + sel$table$df * log(300))
  b <- which.min(sel$table$bic)
  expect_identical(sel$best$k, sel$table$k[b])
  expect_identical(sel$best$covariance, sel$table$covariance[b])
  expect_identical(sel$best$loglik, sel$table$loglik[b])
})

test_that("ICL is BIC plus twice the entropy of the posterior probabilities", {
  s <- sel_blobs()
  sel <- without_nonconvergence(gmm_select(s$x, k = 1:4, covariance = c("full", "spherical"),
                                           criterion = "icl", threads = 1, seed = 2))
  tab <- sel$table
  expect_identical(tab$icl[tab$k == 1], tab$bic[tab$k == 1])
  expect_true(all(tab$icl >= tab$bic))
  b <- which.min(tab$icl)
  z <- predict(sel$best, type = "posterior", threads = 1)
  entropy <- -sum(ifelse(z > 0, z * log(z), 0))
  expect_equal(tab$icl[b], BIC(sel$best) + 2 * entropy, tolerance = 1e-12)

  # with weights, each row's entropy counts with its weight
  # (the weights rescaled as gmm() does, to sum to the number of rows with positive weight)
  w <- rep(c(1, 2, 0.5), 100)
  selw <- gmm_select(s$x, k = 2, covariance = "full", weights = w, threads = 1, seed = 2)
  expect_equal(selw$best$weights, w * 300 / sum(w))
  z <- predict(selw$best, type = "posterior", threads = 1)
  entropy <- -sum(selw$best$weights * rowSums(ifelse(z > 0, z * log(z), 0)))
  expect_equal(selw$table$icl, selw$table$bic + 2 * entropy, tolerance = 1e-12)
})

test_that("ties go to the first fit in table order", {
  s <- sel_blobs()
  # with one component, the full and tied models are the same model
  a <- gmm_select(s$x, k = 1, covariance = c("tied", "full"), reg_covar = 0, threads = 1, seed = 1)
  skip_if(a$table$bic[1] != a$table$bic[2], "the one-component fits differ in the last bit")
  expect_identical(a$best$covariance, "EEE")
  b <- gmm_select(s$x, k = 1, covariance = c("full", "tied"), reg_covar = 0, threads = 1, seed = 1)
  expect_identical(b$best$covariance, "VVV")
})

test_that("ties go to the first fit in table order (every criterion equal)", {
  s <- sel_blobs()
  real_finish <- getFromNamespace("gmm_finish", "fastgmm")
  flat <- function(...) {
    f <- real_finish(...)
    f$bic <- 100
    f
  }
  sel <- sel_with_replaced("gmm_finish", flat, function()
    gmm_select(s$x, k = 3:1, covariance = c("spherical", "diag"), threads = 1, seed = 1))
  expect_identical(sel$best$k, 1L)
  expect_identical(sel$best$covariance, "VII")
  in_png <- sel_in_png(function() plot(sel))
  expect_gt(in_png, 0)
})

test_that("in one dimension the models reduce to E and V, each fitted once", {
  x <- data_1d(n = 300)
  sel <- gmm_select(x, k = 1:3, threads = 1, seed = 1)
  expect_identical(unique(sel$table$covariance), c("E", "V"))
  expect_identical(nrow(sel$table), 6L)
  expect_identical(sel$best$k, 2L)
  sel2 <- gmm_select(x, k = 2, covariance = c("spherical", "diag", "tied"), threads = 1, seed = 1)
  expect_identical(sel2$table$covariance, c("V", "E"))
})

# --- failures ------------------------------------------------------------------------------

test_that("a fit that fails is recorded with its reason and the others still count", {
  pts <- matrix(c(0, 0, 1, 0, 0, 1, 5, 5, 6, 5, 5, 6), ncol = 2, byrow = TRUE)
  x <- pts[rep(1:6, each = 5), ]
  sel <- gmm_select(x, k = c(2, 7), covariance = c("full", "diag"), threads = 1, seed = 1)
  tab <- sel$table
  bad <- tab$k == 7
  expect_true(all(is.na(tab$error[!bad])))
  expect_match(tab$error[bad], "larger than the number of distinct rows", fixed = TRUE)
  for (v in c("loglik", "bic", "icl", "iterations", "converged"))
    expect_true(all(is.na(tab[[v]][bad])), info = v)
  expect_false(anyNA(tab$bic[!bad]))
  expect_identical(sel$best$k, 2L)

  # a constant column with reg_covar = 0: every covariance model but the spherical one is
  # singular
  s <- sel_blobs()
  x2 <- cbind(s$x, 1)
  sel2 <- gmm_select(x2, k = 1:2, reg_covar = 0, threads = 1, seed = 1)
  tab2 <- sel2$table
  sph <- tab2$covariance %in% c("EII", "VII")
  expect_true(all(is.na(tab2$error[sph])))
  expect_match(tab2$error[!sph], "singular|positive definite")
  expect_true(all(is.na(tab2$bic[!sph])))
  expect_identical(sel2$best$covariance, "VII")
  expect_output(print(sel2), "24 failed")
  expect_output(print(summary(sel2)), "Failed fits:")
  expect_gt(sel_in_png(function() plot(sel2)), 0)
})

test_that("the selection errors only when every fit fails", {
  s <- sel_blobs()
  x2 <- cbind(s$x, 1)
  expect_error(gmm_select(x2, k = 1:2, covariance = c("full", "diag", "tied"), reg_covar = 0,
                          threads = 1, seed = 1),
               "all 6 fits failed; the first (k = 1, covariance = \"VVV\")", fixed = TRUE)
  expect_error(gmm_select(s$x, k = 1:2, max_iter = -1, threads = 1),
               "all 28 fits failed.*`max_iter` must be a whole number")
})

test_that("an interrupt stops the whole grid", {
  s <- sel_blobs()
  calls <- 0
  interrupting <- function(...) {
    calls <<- calls + 1
    signalCondition(structure(class = c("interrupt", "condition"),
                              list(message = "interrupted", call = NULL)))
    0
  }
  res <- sel_with_replaced("sel_row", interrupting, function()
    tryCatch(gmm_select(s$x, k = 1:3, threads = 1, seed = 1), interrupt = function(cnd) "stopped"))
  expect_identical(res, "stopped")
  expect_identical(calls, 1)
})

test_that("arguments are checked", {
  s <- sel_blobs()
  expect_error(gmm_select(s$x, k = 0), "`k` must be a vector of whole numbers >= 1")
  expect_error(gmm_select(s$x, k = c(1, NA)), "`k` must be")
  expect_error(gmm_select(s$x, k = 1.5), "`k` must be")
  expect_error(gmm_select(s$x, covariance = "bad"), "`covariance` must be")
  expect_error(gmm_select(s$x, criterion = "aic"), "`criterion` must be one of \"bic\", \"icl\"")
  expect_error(gmm_select(s$x, verbose = NA), "`verbose` must be TRUE or FALSE")
  expect_error(gmm_select(s$x, n_init = 0), "`n_init` must be")
  expect_error(gmm_select(s$x, backend = "gpu"), "`backend` must be one of")
  expect_error(gmm_select(s$x, seed = "a"), "`seed` must be NULL")
  expect_error(gmm_select(s$x[0, ]), "`x` has no rows")
  expect_error(gmm_select(s$x, kk = 2, k = 2, covariance = "full", threads = 1, seed = 1),
               "all 1 fits failed.*unused argument")
})

# --- reproducibility -----------------------------------------------------------------------

test_that("the same seed gives the same table whatever the thread count", {
  s <- data_blobs(n = 400, d = 3, k = 3, seed = 4)
  a <- gmm_select(s$x, k = 1:4, threads = 1, seed = 11, n_init = 2, init = "random")
  b <- gmm_select(s$x, k = 1:4, threads = 2, seed = 11, n_init = 2, init = "random")
  drop_secs <- function(t) t[setdiff(names(t), "seconds")]
  expect_identical(drop_secs(a$table), drop_secs(b$table))
  expect_identical(a$best$parameters, b$best$parameters)

  # each fit depends on (seed, k, covariance) only, not on the rest of the grid
  c1 <- gmm_select(s$x, k = 3, covariance = "diag", threads = 1, seed = 11, n_init = 2,
                   init = "random")
  row <- a$table$k == 3 & a$table$covariance == "VVI"
  expect_identical(drop_secs(c1$table), `rownames<-`(drop_secs(a$table[row, ]), NULL))

  # a different seed gives different random starts
  d <- gmm_select(s$x, k = 1:4, threads = 1, seed = 12, n_init = 2, init = "random")
  expect_false(identical(a$table$loglik, d$table$loglik))
})

test_that("the models at one k run at once, each fit as gmm() makes it", {
  s <- data_blobs(n = 300, d = 3, k = 3, seed = 2)
  drop_secs <- function(t) t[setdiff(names(t), "seconds")]
  for (args in list(list(), list(method = "stepwise"),
                   list(control = gmm_control(precision = "single")))) {
    run <- function(threads) do.call(gmm_select, c(list(s$x, k = 1:3, threads = threads,
                                                        seed = 4), args))
    a <- run(1)
    b <- run(2)
    # one fit after the other (the path for large data) gives the same numbers
    c1 <- sel_with_replaced("sel_batch_cells", 0, function() run(2))
    info <- paste(names(args), collapse = "")
    expect_identical(drop_secs(a$table), drop_secs(b$table), info = info)
    expect_identical(drop_secs(a$table), drop_secs(c1$table), info = info)
    expect_identical(a$best$parameters, c1$best$parameters, info = info)
    expect_identical(eval(b$best$call)$parameters, b$best$parameters, info = info)
    for (i in c(4, 9, 10, 14, 28, 37)) {
      kk <- a$table$k[i]
      cov <- a$table$covariance[i]
      f <- do.call(gmm, c(list(s$x, kk, cov, threads = 2, tol = 1e-5,
                               seed = sel_fit_seed(a$seed, kk, cov),
                               init = gmm_start(s$x, kk, seed = sel_start_seed(a$seed, kk))),
                          args))
      expect_identical(a$table$loglik[i], f$loglik, info = paste(info, kk, cov))
    }
  }
  # shared starts from a given seed leave R's random stream alone
  set.seed(3)
  gmm_select(s$x, k = 1:2, covariance = c("VVV", "EVE"), threads = 2, seed = 1)
  after <- runif(1)
  set.seed(3)
  expect_identical(after, runif(1))
})

test_that("with seed = NULL one number is drawn from R's stream", {
  s <- sel_blobs()
  set.seed(5)
  a <- gmm_select(s$x, k = 1:3, covariance = "diag", threads = 1, init = "random")
  after_a <- runif(1)
  set.seed(5)
  runif(1)
  expected_next <- runif(1)
  expect_identical(after_a, expected_next)
  set.seed(5)
  b <- gmm_select(s$x, k = 1:3, covariance = "diag", threads = 1, init = "random")
  expect_identical(a$table[-9], b$table[-9])
  expect_identical(a$seed, b$seed)
  # so do shared starts
  set.seed(5)
  gmm_select(s$x, k = 1:3, covariance = c("diag", "VVE"), threads = 2)
  expect_identical(runif(1), expected_next)
})

test_that("the best fit's call refits it with gmm()", {
  s <- sel_blobs()
  x <- s$x
  sel <- gmm_select(x, k = 2:3, covariance = c("diag", "full"), threads = 1, seed = 8,
                    max_iter = 50)
  cl <- sel$best$call
  expect_identical(cl[[1]], quote(gmm))
  refit <- eval(cl)
  expect_identical(refit$loglik, sel$best$loglik)
  expect_identical(refit$parameters, sel$best$parameters)
})

# --- methods -------------------------------------------------------------------------------

test_that("print and summary describe the selection", {
  s <- sel_blobs()
  sel <- without_nonconvergence(gmm_select(s$x, k = 1:4, threads = 1, seed = 1))
  expect_output(print(sel), "selection by BIC")
  expect_output(print(sel), "Best: k = 3, VEE (ellipsoidal, equal shape and orientation): BIC =",
                fixed = TRUE)
  expect_output(print(sel), paste("56 fits: k = 1..4; covariance: EII, VII, EEI, VEI, EVI, VVI,",
                                  "EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV"), fixed = TRUE)
  out <- utils::capture.output(vis <- withVisible(print(sel)))
  expect_false(vis$visible)
  expect_identical(vis$value, sel)
  sm <- summary(sel, n = 3)
  expect_s3_class(sm, "summary.gmm_select")
  expect_identical(nrow(sm$top), 3L)
  expect_identical(sm$top$k[1], 3L)
  expect_identical(sm$top$delta_bic[1], 0)
  expect_true(all(diff(sm$top$bic) >= 0))
  expect_identical(dim(sm$matrix), c(4L, 14L))
  expect_identical(nrow(sm$failed), 0L)
  expect_output(print(sm), "Best 3 fits:")
  expect_output(print(sm), "Call: gmm_select(", fixed = TRUE)
  expect_error(summary(sel, n = 0), "`n` must be")
})

test_that("fits that do not converge give one warning for the whole selection", {
  s <- sel_blobs()
  expect_warning(sel <- gmm_select(s$x, k = 2:3, covariance = c("full", "diag"), max_iter = 1,
                                   threads = 1, seed = 1),
                 "4 of 4 fits did not converge in `max_iter` iterations: k = 2 \\(VVV\\)",
                 class = "fastgmm_not_converged")
  expect_identical(sel$table$converged, rep(FALSE, 4))
  # tol = 0 asks for a fixed number of iterations: no warning
  expect_silent(gmm_select(s$x, k = 2:3, covariance = "full", max_iter = 2, tol = 0, threads = 1,
                           seed = 1))
})

test_that("plot draws the criterion curves", {
  s <- sel_blobs()
  sel <- without_nonconvergence(gmm_select(s$x, k = 1:4, covariance = c("full", "diag", "spherical"),
                                           threads = 1, seed = 1))
  expect_gt(sel_in_png(function() expect_invisible(plot(sel))), 0)
  expect_gt(sel_in_png(function() plot(sel, criterion = "icl", legend = NULL, main = "ICL")), 0)
  expect_gt(sel_in_png(function() plot(sel, type = "overlay", legend = NULL)), 0)
  expect_gt(sel_in_png(function() plot(sel, type = "overlay", legend = "topleft", lwd = 3)), 0)
  expect_error(sel_in_png(function() plot(sel, type = "bars")), "`type` must be one of")
  expect_error(sel_in_png(function() plot(sel, criterion = "aic")), "`criterion` must be one of")
  x <- data_1d(n = 200)
  sel1 <- gmm_select(x, k = 1:3, threads = 1, seed = 1)
  expect_gt(sel_in_png(function() plot(sel1)), 0)
})
