test_that("the variant selector times once per shape and caches the winner", {
  dir <- tempfile("fastgmm-cache")
  old <- options(fastgmm.cache_dir = dir, fastgmm.cache = TRUE)
  on.exit(options(old))
  rm(list = ls(variant_memo), envir = variant_memo)
  s <- sim_mixture(n = 25000, d = 3, k = 3, seed = 21)
  v <- choose_variant(as_source(s$x), 3, "VVV", "double")
  expect_true(v %in% variant_names)
  f <- file.path(dir, "cpu-variants.csv")
  expect_true(file.exists(f))
  tab <- utils::read.csv(f, stringsAsFactors = FALSE)
  key <- variant_key(3, 3, "VVV", "double")
  expect_identical(tab$variant[tab$key == key], v)
  # A second process reads the file; simulate by clearing the memo and pinning the file.
  rm(list = ls(variant_memo), envir = variant_memo)
  other <- setdiff(variant_names, v)[1]
  tab$variant[tab$key == key] <- other
  utils::write.csv(tab, f, row.names = FALSE)
  expect_identical(choose_variant(as_source(s$x), 3, "VVV", "double"), other)
  # Small problems use the heuristic and write nothing new.
  expect_identical(choose_variant(as_source(s$x[1:500, ]), 3, "VVI", "double"), default_variant(3, 3, "VVI"))
  expect_identical(nrow(utils::read.csv(f)), nrow(tab))
})

test_that("with the cache off nothing is written", {
  dir <- tempfile("fastgmm-cache")
  old <- options(fastgmm.cache_dir = dir, fastgmm.cache = FALSE)
  on.exit(options(old))
  rm(list = ls(variant_memo), envir = variant_memo)
  s <- sim_mixture(n = 25000, d = 2, k = 2, seed = 22)
  expect_true(choose_variant(as_source(s$x), 2, "VVI", "double") %in% variant_names)
  expect_false(file.exists(file.path(dir, "cpu-variants.csv")))
})

test_that("a pinned variant is used and recorded, and all variants give the same fit", {
  s <- sim_mixture(n = 3000, d = 4, k = 3, seed = 23)
  fits <- lapply(variant_names, function(v) gmm(s$x, 3, seed = 1, variant = v, threads = 1, tol = 0, max_iter = 10))
  expect_identical(vapply(fits, function(f) f$control$variant, ""), variant_names)
  expect_equal(fits[[1]]$loglik, fits[[2]]$loglik, tolerance = 1e-12)
  t <- gmm_time_variants(s$x, 3, threads = 1, reps = 1)
  expect_identical(t$variant, variant_names)
  expect_true(all(t$seconds > 0))
})

test_that("large dimensions take the general paths of both variants", {
  s <- sim_mixture(n = 600, d = 40, k = 2, seed = 24)
  for (cov in models) {
    a <- gmm(s$x, 2, covariance = cov, seed = 2, variant = "gemm", threads = 2, tol = 0, max_iter = 5)
    b <- gmm(s$x, 2, covariance = cov, seed = 2, variant = "direct", threads = 2, tol = 0, max_iter = 5)
    r <- gmm(s$x, 2, covariance = cov, seed = 2, backend = "r", tol = 0, max_iter = 5)
    expect_equal(a$loglik, b$loglik, tolerance = 1e-10)
    expect_equal(a$loglik, r$loglik, tolerance = 1e-10)
  }
})
