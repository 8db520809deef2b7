# Data sources: binary files, chunk functions and big.matrix objects give the same fits as
# in-memory matrices; bad files and chunks give clear errors naming the row.

local_edition(3)

src_data <- function(n = 3000, d = 3, k = 3, seed = 31) sim_mixture(n = n, d = d, k = k, seed = seed)

chunked <- function(x, size) {
  gmm_chunks(function(i) {
    r0 <- (i - 1) * size + 1
    if (r0 > nrow(x)) NULL else x[r0:min(nrow(x), r0 + size - 1), , drop = FALSE]
  }, ncol(x))
}

test_that("gmm_write and gmm_file round-trip, in double and float, with append", {
  s <- src_data()
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  src <- gmm_write(s$x, f)
  expect_s3_class(src, "gmm_file")
  expect_identical(src$nrow, 3000)
  expect_identical(src$ncol, 3L)
  expect_identical(file.size(f), 3000 * 3 * 8)
  expect_identical(readBin(f, "double", 6, endian = "little"), as.vector(t(s$x[1:2, ])))
  # appending two halves gives the same file
  g <- tempfile(fileext = ".bin")
  on.exit(unlink(g), add = TRUE)
  gmm_write(s$x[1:1000, ], g)
  gmm_write(as.data.frame(s$x[1001:3000, ]), g, append = TRUE)
  expect_identical(unname(tools::md5sum(g)), unname(tools::md5sum(f)))
  # float files
  h <- tempfile(fileext = ".bin")
  on.exit(unlink(h), add = TRUE)
  fs <- gmm_write(s$x, h, type = "float")
  expect_identical(file.size(h), 3000 * 3 * 4)
  xf <- matrix(readBin(h, "double", 9000, size = 4, endian = "little"), ncol = 3, byrow = TRUE)
  a <- gmm(fs, 3, seed = 1, threads = 2)
  b <- gmm(xf, 3, seed = 1, threads = 1)
  expect_identical(unname(a$parameters), unname(b$parameters))
  expect_error(gmm_write(cbind(s$x, s$x, 1), f, append = TRUE), "not a whole number of rows")
  expect_error(gmm_write(s$x * 1e39, h, type = "float"), "single precision")
  expect_false(file.exists(paste0(f, ".part")))
})

test_that("a fit from a file is identical to the in-memory fit, for every model and start", {
  s <- src_data()
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  src <- gmm_write(s$x, f)
  w <- with_seed(3, runif(nrow(s$x)))
  w[1:50] <- 0
  starts <- list("kmeans++", "random", "random_from_data", s$labels,
                 list(means = s$x[c(1, 2, 3), ], covariances = array(diag(3), c(3, 3, 3))))
  for (cov in models) for (init in starts) {
    a <- gmm(src, 3, covariance = cov, init = init, seed = 4, threads = 2, max_iter = 20, tol = 0)
    b <- gmm(s$x, 3, covariance = cov, init = init, seed = 4, threads = 1, max_iter = 20, tol = 0)
    expect_identical(unname(a$parameters), unname(b$parameters))
    expect_identical(a$loglik_trace, b$loglik_trace)
    expect_identical(a$icl, b$icl)
  }
  a <- gmm(src, 3, weights = w, seed = 5, threads = 2)
  b <- gmm(s$x, 3, weights = w, seed = 5, threads = 2)
  expect_identical(unname(a$parameters), unname(b$parameters))
  # per-row results of a file fit are not held; predict() gives them
  expect_null(a$classification)
  expect_identical(predict(a, src, threads = 2), b$classification)
  expect_identical(predict(a, threads = 1), b$classification)
})

test_that("chunk functions and big.matrix objects give the in-memory fit, whatever the chunking", {
  s <- src_data(n = 5000)
  ref <- gmm(s$x, 3, seed = 2, threads = 1, max_iter = 15)
  for (size in c(1, 333, 5000, 7000)) {
    src <- chunked(s$x, size)
    a <- gmm(src, 3, seed = 2, threads = 2, max_iter = 15)
    expect_identical(unname(a$parameters), unname(ref$parameters))
    expect_identical(src$nrow, 5000)
  }
  expect_identical(predict(ref, chunked(s$x, 700), type = "posterior", threads = 2),
                   predict(ref, s$x, type = "posterior", threads = 1))
  # data frames as chunks
  df_src <- gmm_chunks(function(i) if (i > 2) NULL else as.data.frame(s$x[(2500 * (i - 1) + 1):(2500 * i), ]), 3)
  expect_identical(unname(gmm(df_src, 3, seed = 2, threads = 1, max_iter = 15)$parameters),
                   unname(ref$parameters))
  skip_if_not_installed("bigmemory")
  bm <- bigmemory::as.big.matrix(s$x)
  b <- gmm(bm, 3, seed = 2, threads = 2, max_iter = 15)
  expect_identical(unname(b$parameters), unname(ref$parameters))
  expect_identical(predict(ref, bm, threads = 1), predict(ref, s$x, threads = 1))
})

test_that("gmm_select works on a file source as on the matrix", {
  s <- src_data(n = 1500, d = 2)
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  src <- gmm_write(s$x, f)
  # the shared starts (read from the file block by block) and each model's own starts
  for (init in c("shared", "kmeans++")) {
    a <- gmm_select(src, k = 1:3, covariance = c("full", "diag"), init = init, seed = 1, threads = 2)
    b <- gmm_select(s$x, k = 1:3, covariance = c("full", "diag"), init = init, seed = 1, threads = 1)
    expect_identical(a$table[, c("loglik", "bic", "icl")], b$table[, c("loglik", "bic", "icl")])
    expect_identical(a$best$k, b$best$k)
    expect_identical(unname(a$best$parameters), unname(b$best$parameters))
  }
})

test_that("missing, empty, truncated and misshapen files give clear errors", {
  f <- tempfile(fileext = ".bin")
  expect_error(gmm_file(f, 2), "does not exist")
  file.create(f)
  on.exit(unlink(f))
  expect_error(gmm_file(f, 2), "is empty")
  writeBin(as.double(1:7), f, endian = "little")
  expect_error(gmm_file(f, 2), "not a whole number of rows of 2 doubles")
  expect_error(gmm_file(f, 0), "`ncol` must be a whole number >= 1")
  expect_error(gmm_file(f, 2, type = "int"), "`type` must be one of")
  expect_error(gmm_file(tempdir(), 2), "is a directory")
  # a file cut short after gmm_file() described it is checked again when used
  s <- src_data(n = 2000)
  src <- gmm_write(s$x, f)
  writeBin(as.vector(t(s$x[1:10, ]))[1:25], f, endian = "little")
  expect_error(gmm(src, 2, threads = 1), "not a whole number of rows of 3 doubles")
  expect_error(predict(gmm(s$x, 2, seed = 1, threads = 1), src), "not a whole number")
})

test_that("non-finite values met mid-pass stop the fit with an error naming the row", {
  s <- src_data(n = 4000)
  x <- s$x
  x[3217, 2] <- NaN
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  writeBin(as.vector(t(x)), f, endian = "little")
  src <- gmm_file(f, 3)
  expect_error(gmm(src, 3, threads = 2, seed = 1), "row 3217 .*NaN.* column 2")
  expect_error(predict(gmm(s$x, 3, seed = 1, threads = 1), src, threads = 1), "row 3217")
  x[3217, 2] <- Inf
  ch <- chunked(x, 1000)
  expect_error(gmm(ch, 3, threads = 2, seed = 1), "chunk 4 contains infinite values")
  # a chunk function whose data change after the first pass
  calls <- 0
  y <- s$x
  bad <- gmm_chunks(function(i) {
    calls <<- calls + 1
    if (i > 4) return(NULL)
    v <- y[(1000 * (i - 1) + 1):(1000 * i), ]
    if (calls > 12 && i == 2) v[5, 1] <- NA
    v
  }, 3)
  expect_error(gmm(bad, 3, threads = 1, seed = 1, init = "random"), "row 1005 .*chunk 2")
  short <- gmm_chunks(function(i) if (i > 3) NULL else s$x[1:10, ], 3)
  expect_error(gmm(short, 2, threads = 1), NA)
  calls <- 0
  shrinking <- gmm_chunks(function(i) {
    calls <<- calls + 1
    if (i > (if (calls > 6) 2 else 3)) NULL else s$x[(100 * (i - 1) + 1):(100 * i), ]
  }, 3)
  expect_error(gmm(shrinking, 2, threads = 1, seed = 1), "returned NULL after 200 rows")
  wide <- gmm_chunks(function(i) if (i > 1) NULL else cbind(s$x, 1), 3)
  expect_error(gmm(wide, 2), "chunk 1 has 4 columns, not ncol = 3")
  failing <- gmm_chunks(function(i) stop("database is down"), 3)
  expect_error(gmm(failing, 2), "database is down")
  expect_error(gmm_chunks(1, 3), "`fun` must be a function")
})

test_that("predict streams results to a file, written only when complete", {
  s <- src_data(n = 2500)
  fit <- gmm(s$x, 3, seed = 1, threads = 1)
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  out <- predict(fit, s$x, type = "posterior", file = f, threads = 2)
  expect_s3_class(out, "gmm_file")
  expect_identical(out$ncol, 3L)
  post <- matrix(readBin(f, "double", 2500 * 3, endian = "little"), ncol = 3, byrow = TRUE)
  expect_identical(post, unname(predict(fit, s$x, type = "posterior", threads = 1)))
  predict(fit, s$x, type = "class", file = f, threads = 1)
  expect_identical(readBin(f, "double", 2500, endian = "little"), as.double(fit$classification))
  predict(fit, s$x, type = "logdensity", file = f, threads = 1)
  expect_identical(readBin(f, "double", 2500, endian = "little"),
                   predict(fit, s$x, type = "logdensity", threads = 1))
  # a failing pass leaves neither the file nor a partial one
  g <- tempfile(fileext = ".bin")
  x <- s$x
  x[2400, 1] <- NaN
  h <- tempfile(fileext = ".bin")
  on.exit(unlink(h), add = TRUE)
  writeBin(as.vector(t(x)), h, endian = "little")
  expect_error(predict(fit, gmm_file(h, 3), type = "posterior", file = g), "row 2400")
  expect_false(file.exists(g))
  expect_false(file.exists(paste0(g, ".part")))
  expect_error(predict(fit, s$x, type = "density", file = g), "`file` is written for")
})

test_that("checks read no copy of the data: distinct rows with weights, k against n", {
  x <- cbind(rep(1:2, 500), 0)
  expect_error(gmm(x, 3), "larger than the number of distinct rows")
  w <- rep(c(1, 0), c(999, 1))
  x[1000, ] <- c(7, 7)
  expect_error(gmm(x, 3, weights = w), "distinct rows of `x` with positive weight")
  expect_s3_class(gmm(x, 3, init = c(rep(1:2, 499), 3, 3), reg_covar = 1e-3, threads = 1), "gmm")
})
