# Tests of the plots: plot.gmm (every kind, 1 to 5 dimensions, large data), plot.gmm_select and
# the ggplot2 autoplot methods. Everything is drawn to temporary PNG files.

local_edition(3)

# Calls fun() with a png device open on a temporary file; returns the file's bytes.
plot_png <- function(fun, width = 480, height = 480) {
  f <- tempfile(fileext = ".png")
  grDevices::png(f, width = width, height = height)
  dev <- grDevices::dev.cur()
  on.exit(unlink(f))
  tryCatch(fun(), finally = grDevices::dev.off(dev))
  readBin(f, "raw", file.size(f))
}

plot_whats <- c("classification", "uncertainty", "density", "loglik")

test_that("every plot draws for 1 to 5 dimensions, one component or several", {
  skip_if_not(capabilities("png"), "png device not available")
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  fit2 <- gmm(data_frame_2d(), 3, threads = 1, seed = 1)
  s5 <- data_blobs(n = 300, d = 5, k = 3, seed = 18)
  fit5 <- gmm(s5$x, 3, covariance = "diag", threads = 1, seed = 1)
  fitk1 <- gmm(data_1d(), 1, threads = 1, seed = 1)
  for (what in plot_whats) {
    bytes <- plot_png(function() {
      expect_invisible(plot(fit1, what))
      expect_identical(plot(fit2, what), fit2)
      expect_silent(plot(fit5, what))                           # scatterplot matrix
      expect_silent(plot(fit5, what, dimens = c(5, 1, 3)))
      expect_silent(plot(fit5, what, dimens = c(3, 1)))
      expect_silent(plot(fit5, what, dimens = 2, main = "one margin"))
      expect_silent(plot(fit2, what, col = "black"))            # user graphics arguments win
      expect_silent(plot(fitk1, what))
    })
    expect_gt(length(bytes), 1000)
  }
})

test_that("the default plot is the classification, and plots leave par() and the RNG alone", {
  skip_if_not(capabilities("png"), "png device not available")
  fit2 <- gmm(data_frame_2d(), 3, threads = 1, seed = 1)
  expect_identical(plot_png(function() plot(fit2)),
                   plot_png(function() plot(fit2, "classification")))
  expect_false(identical(plot_png(function() plot(fit2)),
                         plot_png(function() plot(fit2, "loglik"))))
  s5 <- data_blobs(n = 200, d = 4, k = 2, seed = 19)
  fit4 <- gmm(s5$x, 2, threads = 1, seed = 1)
  set.seed(1)
  before <- .Random.seed
  plot_png(function() {
    op <- par(no.readonly = TRUE)
    for (what in plot_whats) plot(fit4, what)
    expect_identical(par(no.readonly = TRUE)[c("mfrow", "mar", "oma")], op[c("mfrow", "mar", "oma")])
  })
  expect_identical(.Random.seed, before)
})

test_that("large data are thinned evenly and drawn quickly", {
  skip_if_not(capabilities("png"), "png device not available")
  rows <- fastgmm:::gp_rows(1e6, 1e5)
  expect_length(rows, 1e5)
  expect_false(anyDuplicated(rows) > 0)
  expect_identical(sort(rows)[c(1, 1e5)], c(1, 1e6))
  expect_true(all(diff(sort(rows)) %in% 9:11))
  expect_identical(sort(fastgmm:::gp_rows(50, 100)), 1:50)
  st_small <- fastgmm:::gp_point_style(300)
  st_big <- fastgmm:::gp_point_style(1e5)
  expect_equal(st_small$alpha, 1)
  expect_lt(st_big$alpha, 0.2)
  expect_lt(st_big$cex, st_small$cex)

  s <- data_blobs(n = 30000, d = 3, k = 3, seed = 20)
  fit <- gmm(s$x, 3, threads = 2, seed = 1)
  secs <- system.time(plot_png(function() {
    for (what in c("classification", "uncertainty")) {
      plot(fit, what)                    # matrix: 20000 of 30000 points per panel
      plot(fit, what, dimens = 1:2)
    }
  }))[["elapsed"]]
  expect_lt(secs, 20)
})

test_that("plot checks `what` and `dimens`", {
  fit2 <- gmm(data_frame_2d(), 3, threads = 1, seed = 1)
  expect_error(plot(fit2, "contour"), "`what`")
  expect_error(plot(fit2, 2), "`what`")
  expect_error(plot(fit2, "classification", dimens = c(1, 3)), "`dimens`")
  expect_error(plot(fit2, "classification", dimens = c(1, 1)), "`dimens`")
  expect_error(plot(fit2, "classification", dimens = 1:3), "`dimens`")
  expect_error(plot(fit2, "density", dimens = "a"), "`dimens`")
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  expect_error(plot(fit1, "density", dimens = 2), "`dimens`")
})

test_that("selection panels get their own range; one poor fit does not flatten the rest", {
  r <- fastgmm:::sel_panel_range(c(5000, 1000, 1010, 1020, 1030, 1040))
  expect_lt(r[2], 1200)
  expect_lt(r[1], 1000)
  r2 <- fastgmm:::sel_panel_range(c(10, 12))
  expect_true(r2[1] < 10 && r2[2] > 12)
  r3 <- fastgmm:::sel_panel_range(7)
  expect_true(r3[1] < 7 && r3[2] > 7)
})

test_that("autoplot gives ggplot objects for fits and selections", {
  skip_if_not_installed("ggplot2")
  skip_if_not(capabilities("png"), "png device not available")
  fit1 <- gmm(data_1d(), 2, threads = 1, seed = 1)
  fit2 <- gmm(data_frame_2d(), 3, threads = 1, seed = 1)
  s4 <- data_blobs(n = 200, d = 4, k = 2, seed = 21)
  fit4 <- gmm(s4$x, 2, threads = 1, seed = 1)
  for (fit in list(fit1, fit2, fit4)) {
    for (what in plot_whats) {
      p <- ggplot2::autoplot(fit, what)
      expect_s3_class(p, "ggplot")
      expect_gt(length(plot_png(function() print(p))), 1000)
    }
  }
  expect_s3_class(ggplot2::autoplot(fit4, dimens = c(4, 2)), "ggplot")
  p <- ggplot2::autoplot(fit4)
  expect_setequal(levels(p$layers[[1]]$data$.xvar), colnames(s4$x))
  sel <- gmm_select(data_frame_2d(), k = 1:3, covariance = c("full", "spherical"), threads = 1,
                    seed = 1)
  ps <- ggplot2::autoplot(sel)
  expect_s3_class(ps, "ggplot")
  expect_gt(length(plot_png(function() print(ps))), 1000)
  expect_s3_class(ggplot2::autoplot(sel, criterion = "icl"), "ggplot")
  bad <- fit2
  bad$parameters$proportions <- 1
  expect_error(ggplot2::autoplot(bad), "not a valid \"gmm\" fit")
})
