# Tests of the broom-style tidiers (tidy, glance, augment) for fits and selections.

local_edition(3)

test_that("tidy gives one row per component with proportions, means and variances", {
  fit <- gmm(faithful, 3, threads = 1, seed = 1)
  td <- tidy(fit)
  expect_s3_class(td, "data.frame")
  expect_identical(nrow(td), 3L)
  expect_identical(names(td), c("component", "size", "proportion", "mean.eruptions", "mean.waiting",
                                "var.eruptions", "var.waiting"))
  expect_identical(td$component, 1:3)
  expect_equal(sum(td$proportion), 1)
  expect_identical(td$size, tabulate(fit$classification, 3))
  expect_equal(td$mean.waiting, unname(fit$parameters$means[, "waiting"]))
  expect_equal(td$var.eruptions, unname(fit$parameters$covariances[1, 1, ]))
  fit1 <- gmm(faithful$waiting, 2, threads = 1, seed = 1)
  expect_identical(names(tidy(fit1)), c("component", "size", "proportion", "mean.x", "var.x"))
})

test_that("glance gives one row whose criteria agree with the fit", {
  fit <- gmm(faithful, 2, threads = 1, seed = 1)
  g <- glance(fit, threads = 1)
  expect_identical(nrow(g), 1L)
  expect_identical(names(g), c("k", "model", "logLik", "AIC", "BIC", "ICL", "df", "nobs",
                               "iterations", "converged"))
  expect_identical(g$BIC, BIC(fit))
  expect_identical(g$AIC, AIC(fit))
  expect_identical(g$logLik, as.numeric(logLik(fit)))
  expect_identical(g$nobs, nobs(fit))
  expect_identical(g$df, fit$df)
  expect_identical(g$k, 2L)
  expect_identical(g$model, "VVV")
  expect_identical(g$converged, fit$converged)
  z <- predict(fit, type = "posterior", threads = 1)
  expect_equal(g$ICL, BIC(fit) - 2 * sum(ifelse(z > 0, z * log(z), 0)), tolerance = 1e-12)
  # the ICL is the one gmm_select() computes
  sel <- gmm_select(faithful, k = 2, covariance = "full", threads = 1, seed = 1)
  expect_equal(glance(sel$best, threads = 1)$ICL, sel$table$icl, tolerance = 1e-12)
})

test_that("augment adds the class, the uncertainty and the posteriors to the data", {
  fit <- gmm(faithful, 2, threads = 1, seed = 1)
  a <- augment(fit, threads = 1)
  expect_identical(nrow(a), 272L)
  expect_identical(names(a), c("eruptions", "waiting", ".class", ".uncertainty", ".posterior_C1",
                               ".posterior_C2"))
  expect_s3_class(a$.class, "factor")
  expect_identical(levels(a$.class), c("1", "2"))
  expect_identical(as.integer(a$.class), fit$classification)
  expect_equal(a$.uncertainty, fit$uncertainty, tolerance = 1e-12)
  expect_equal(a$.posterior_C1 + a$.posterior_C2, rep(1, 272), tolerance = 1e-12)
  # the user's data frame, with its other columns
  df <- cbind(faithful, id = seq_len(272), label = "a")
  a2 <- augment(fit, data = df, threads = 1)
  expect_identical(a2$id, 1:272)
  expect_identical(a2$label, rep("a", 272))
  expect_identical(a2$.class, a$.class)
  expect_error(augment(fit, data = df[1:10, ]), "`data` has 10 rows")
  # new data
  new <- data.frame(eruptions = c(2, 4.5), waiting = c(55, 80))
  a3 <- augment(fit, newdata = new, threads = 1)
  expect_identical(nrow(a3), 2L)
  expect_identical(as.integer(a3$.class), predict(fit, new, threads = 1))
  expect_error(augment(fit, newdata = new[, 1, drop = FALSE]), "`newdata`")
})

test_that("the tidiers work for selections", {
  sel <- gmm_select(faithful, k = 1:3, covariance = c("full", "tied"), threads = 1, seed = 1)
  td <- tidy(sel)
  expect_identical(nrow(td), 6L)
  expect_equal(as.data.frame(td), sel$table)
  g <- glance(sel, threads = 1)
  expect_identical(nrow(g), 1L)
  expect_identical(g$BIC, BIC(sel$best))
  expect_identical(g$criterion, "bic")
  expect_identical(g$fits, 6L)
  expect_identical(g$failed, 0L)
  expect_identical(augment(sel, threads = 1)$.class, augment(sel$best, threads = 1)$.class)
})

test_that("with broom loaded, broom's generics reach these methods and give tibbles", {
  skip_if_not_installed("broom")
  # broom registers tidy() and glance() methods for the class "gmm" of the gmm package; fits
  # are of class c("fastgmm", "gmm"), so these methods still win
  loadNamespace("broom")
  fit <- gmm(faithful, 2, threads = 1, seed = 1)
  expect_identical(class(fit), c("fastgmm", "gmm"))
  td <- broom::tidy(fit)
  expect_s3_class(td, "tbl_df")
  expect_identical(dim(td), c(2L, 7L))
  g <- broom::glance(fit)
  expect_s3_class(g, "tbl_df")
  expect_false(anyNA(unlist(g)))
  expect_identical(g$BIC, BIC(fit))
  a <- broom::augment(fit)
  expect_s3_class(a, "tbl_df")
  expect_identical(nrow(a), 272L)
  expect_identical(generics::tidy, broom::tidy)
})
