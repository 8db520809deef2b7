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
  key <- cpu_variant_key(3, 3, "VVV", "double")
  expect_identical(tab$variant[tab$key == key], v)
  # written atomically: no temporary file is left beside it
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "cpu-variants.csv")
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

test_that("the cache policy: memory only unless asked, never the default directory under checks", {
  ud <- tools::R_user_dir("fastgmm", "cache")
  p <- function(...) variant_cache_dir(...)
  # neither option set
  expect_null(p(cache = NULL, dir = NULL, interactive = FALSE, checking = FALSE, knitting = FALSE))
  expect_identical(p(cache = NULL, dir = NULL, interactive = TRUE, checking = FALSE, knitting = FALSE), ud)
  expect_null(p(cache = NULL, dir = NULL, interactive = TRUE, checking = FALSE, knitting = TRUE))
  expect_null(p(cache = NULL, dir = NULL, interactive = TRUE, checking = TRUE, knitting = FALSE))
  # fastgmm.cache = TRUE: the default directory, but not under checks
  expect_identical(p(cache = TRUE, dir = NULL, interactive = FALSE, checking = FALSE, knitting = FALSE), ud)
  expect_null(p(cache = TRUE, dir = NULL, interactive = FALSE, checking = TRUE, knitting = FALSE))
  # fastgmm.cache_dir: that directory, in any session
  d <- tempfile("fastgmm-cache")
  expect_identical(p(cache = NULL, dir = d, interactive = FALSE, checking = TRUE, knitting = FALSE), d)
  expect_identical(p(cache = TRUE, dir = d, interactive = FALSE, checking = FALSE, knitting = TRUE), d)
  # fastgmm.cache = FALSE wins
  expect_null(p(cache = FALSE, dir = d, interactive = TRUE, checking = FALSE, knitting = FALSE))
  expect_error(p(cache = NULL, dir = 1, interactive = FALSE, checking = FALSE, knitting = FALSE),
               "fastgmm.cache_dir")
})

test_that("a fit over the timing threshold in a non-interactive session writes no file", {
  home <- tempfile("fastgmm-home")
  dir.create(home)
  old_env <- Sys.getenv(c("R_USER_CACHE_DIR", "TESTTHAT", "_R_CHECK_PACKAGE_NAME_"), unset = NA)
  on.exit({
    for (v in names(old_env))
      if (is.na(old_env[[v]])) Sys.unsetenv(v) else do.call(Sys.setenv, as.list(old_env[v]))
  }, add = TRUE)
  # as an Rscript job outside any check would be: nothing says "checking"
  Sys.setenv(R_USER_CACHE_DIR = home, TESTTHAT = "false")
  Sys.unsetenv("_R_CHECK_PACKAGE_NAME_")
  old <- options(fastgmm.cache = NULL, fastgmm.cache_dir = NULL)
  on.exit(options(old), add = TRUE)
  skip_if(interactive(), "the default policy of an interactive session differs")
  expect_false(is_checking())
  expect_null(variant_cache_dir())
  rm(list = ls(variant_memo), envir = variant_memo)
  s <- sim_mixture(n = 25000, d = 2, k = 2, seed = 25)
  fit <- gmm(s$x, 2, covariance = "VVV", seed = 1, threads = 1, max_iter = 3, tol = 0)
  key <- cpu_variant_key(2, 2, "VVV", "double")
  expect_true(exists(key, envir = variant_memo, inherits = FALSE))   # timed, kept in memory
  expect_identical(list.files(home, recursive = TRUE, all.files = TRUE), character())
})

test_that("with fastgmm.cache_dir set the winner is written there, keyed by CPU model and level", {
  dir <- file.path(tempfile("fastgmm-cache"), "nested")
  old <- options(fastgmm.cache = NULL, fastgmm.cache_dir = dir)
  on.exit(options(old))
  rm(list = ls(variant_memo), envir = variant_memo)
  s <- sim_mixture(n = 25000, d = 2, k = 3, seed = 26)
  fit <- gmm(s$x, 3, covariance = "VVI", seed = 1, threads = 1, max_iter = 3, tol = 0)
  f <- file.path(dir, "cpu-variants.csv")
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "cpu-variants.csv")
  tab <- read_variant_cache(f)
  expect_identical(nrow(tab), 1L)
  expect_identical(tab$variant, fit$control$variant)
  expect_true(grepl(cpu_model_tag(), tab$key, fixed = TRUE))
  expect_true(grepl(paste0("-", cpu_kernel_level(), "-"), tab$key, fixed = TRUE))
  expect_true(nzchar(cpu_model_tag()))
  if (file.exists("/proc/cpuinfo")) {
    name <- grep("^model name", readLines("/proc/cpuinfo"), value = TRUE)
    if (length(name)) expect_identical(cpu_model(), trimws(sub("^[^:]*:", "", name[1])))
  }
  # a second shape adds a row; the rewrite replaces the file whole
  write_variant_cache("cpu-other-key", "gemm", f)
  expect_setequal(read_variant_cache(f)$key, c(tab$key, "cpu-other-key"))
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "cpu-variants.csv")
  # an unwritable place fails quietly (the in-memory cache still has the winner)
  blocker <- tempfile("fastgmm-file")
  writeLines("x", blocker)
  expect_false(write_variant_cache("k", "gemm", file.path(blocker, "sub", "cpu-variants.csv")))
  # a damaged file is ignored, not an error
  writeLines("garbage\"", f)
  rm(list = ls(variant_memo), envir = variant_memo)
  expect_null(read_variant_cache(f))
  expect_null(cached_variant(tab$key, variant_names))
})

test_that("a pinned variant is used and recorded, and all variants give the same fit", {
  s <- sim_mixture(n = 3000, d = 4, k = 3, seed = 23)
  fits <- lapply(variant_names, function(v) gmm(s$x, 3, seed = 1, threads = 1, tol = 0, max_iter = 10,
                                                              control = gmm_control(variant = v)))
  expect_identical(vapply(fits, function(f) f$control$variant, ""), variant_names)
  expect_equal(fits[[1]]$loglik, fits[[2]]$loglik, tolerance = 1e-12)
  t <- gmm_time_variants(s$x, 3, threads = 1, reps = 1)
  expect_identical(t$variant, variant_names)
  expect_true(all(t$seconds > 0))
})

test_that("large dimensions take the general paths of both variants", {
  s <- sim_mixture(n = 600, d = 40, k = 2, seed = 24)
  for (cov in models) {
    a <- gmm(s$x, 2, covariance = cov, seed = 2, threads = 2, tol = 0, max_iter = 5,
             control = gmm_control(variant = "gemm", accelerate = FALSE))
    b <- gmm(s$x, 2, covariance = cov, seed = 2, threads = 2, tol = 0, max_iter = 5,
             control = gmm_control(variant = "direct", accelerate = FALSE))
    r <- gmm(s$x, 2, covariance = cov, seed = 2, backend = "r", tol = 0, max_iter = 5)
    expect_equal(a$loglik, b$loglik, tolerance = 1e-10)
    expect_equal(a$loglik, r$loglik, tolerance = 1e-10)
  }
})
