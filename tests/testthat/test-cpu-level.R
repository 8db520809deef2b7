# The CPU kernels' instruction-set levels (gmm_cpu_levels(), option fastgmm.cpu_level).

# Runs expr with option fastgmm.cpu_level = level and FASTGMM_CPU_LEVEL unset.
with_cpu_level <- function(level, expr) {
  old <- options(fastgmm.cpu_level = level)
  env <- Sys.getenv("FASTGMM_CPU_LEVEL", NA)
  Sys.unsetenv("FASTGMM_CPU_LEVEL")
  on.exit({
    options(old)
    if (!is.na(env)) Sys.setenv(FASTGMM_CPU_LEVEL = env)
  })
  expr
}

usable_levels <- function() {
  lv <- with_cpu_level(NULL, gmm_cpu_levels())
  lv$level[lv$compiled & lv$supported]
}

rel_diff <- function(a, b) max(abs(a - b)) / max(abs(b))

test_that("gmm_cpu_levels() lists the levels and exactly one is in use", {
  lv <- with_cpu_level(NULL, gmm_cpu_levels())
  expect_s3_class(lv, "data.frame")
  expect_named(lv, c("level", "compiled", "supported", "active"))
  expect_type(lv$level, "character")
  expect_identical(sum(lv$active), 1L)
  expect_true(all(lv$compiled[lv$active] & lv$supported[lv$active]))
  expect_match(gmm_backends()$note[2], paste0("kernels: ", lv$level[lv$active]), fixed = TRUE)
})

test_that("by default the best level this CPU supports is used", {
  lv <- with_cpu_level(NULL, gmm_cpu_levels())
  usable <- lv$compiled & lv$supported
  expect_identical(lv$level[lv$active], lv$level[max(which(usable))])
  skip_if(any(lv$level == "native"), "a FASTGMM_NATIVE=yes build has one level")
  skip_if_not(Sys.info()[["machine"]] %in% c("x86_64", "amd64"), "not x86-64")
  # A portable x86-64 build has all three levels.
  expect_identical(lv$level, c("generic", "avx2", "avx512"))
  expect_true(all(lv$compiled))
  skip_if_not(file.exists("/proc/cpuinfo"))
  flags <- grep("^flags", readLines("/proc/cpuinfo", warn = FALSE), value = TRUE)[1]
  flags <- strsplit(trimws(sub("^[^:]*:", "", flags)), " +")[[1]]
  best <- if (all(c("avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl") %in% flags))
    "avx512" else if (all(c("avx2", "fma") %in% flags)) "avx2" else "generic"
  expect_identical(lv$level[lv$active], best)
})

test_that("a level can be forced, and one that is unknown or not usable is refused", {
  for (l in usable_levels()) {
    lv <- with_cpu_level(l, gmm_cpu_levels())
    expect_identical(lv$level[lv$active], l)
  }
  s <- data_blobs(n = 200, d = 2, k = 2)
  expect_error(with_cpu_level("avx9000", gmm(s$x, 2, seed = 1, threads = 1)),
               "fastgmm.cpu_level.*unknown CPU level \"avx9000\"")
  expect_error(with_cpu_level(c("avx2", "generic"), gmm(s$x, 2, seed = 1, threads = 1)),
               "must be a single string")
  lv <- with_cpu_level(NULL, gmm_cpu_levels())
  bad <- lv$level[!(lv$compiled & lv$supported)]
  for (l in bad)
    expect_error(with_cpu_level(l, gmm(s$x, 2, seed = 1, threads = 1)),
                 if (lv$compiled[lv$level == l]) "not supported by this CPU" else "not compiled")
  # The environment variable is read when the option is not set.
  old <- Sys.getenv("FASTGMM_CPU_LEVEL", NA)
  Sys.setenv(FASTGMM_CPU_LEVEL = "generic-ish")
  on.exit(if (is.na(old)) Sys.unsetenv("FASTGMM_CPU_LEVEL") else Sys.setenv(FASTGMM_CPU_LEVEL = old))
  withCallingHandlers(
    expect_error(gmm(s$x, 2, seed = 1, threads = 1), "FASTGMM_CPU_LEVEL.*unknown CPU level"),
    warning = function(w) NULL)
  Sys.unsetenv("FASTGMM_CPU_LEVEL")
  # Back to the best level once nothing is set.
  lv <- with_cpu_level(NULL, gmm_cpu_levels())
  expect_identical(lv$level[lv$active], lv$level[max(which(lv$compiled & lv$supported))])
})

test_that("every level gives the same fit up to rounding", {
  levels <- usable_levels()
  skip_if(length(levels) < 2L, "one level on this CPU")
  s <- data_blobs(n = 3000, d = 5, k = 3, seed = 4)
  cases <- expand.grid(covariance = c("VVV", "VVI"), variant = c("gemm", "direct"),
                       precision = c("double", "single"), offset = c(0, 1000),
                       stringsAsFactors = FALSE)
  for (i in seq_len(nrow(cases))) {
    cs <- cases[i, ]
    fits <- lapply(levels, function(l) with_cpu_level(l, gmm(
      s$x + cs$offset, 3, covariance = cs$covariance, seed = 7, threads = 2, tol = 0,
      max_iter = 15, control = gmm_control(precision = cs$precision, variant = cs$variant,
                                           accelerate = FALSE))))
    # Double: only the order of additions and FMA contraction differ (measured:
    # 1e-14 or less). Single precision: float rounding in the kernels, in a
    # different order per vector width (measured: log-likelihood 2e-8,
    # parameters 5e-6 relative).
    tol <- if (cs$precision == "double") 1e-10 else 1e-4
    tol_ll <- if (cs$precision == "double") 1e-10 else 1e-6
    ref <- fits[[1]]
    for (f in fits[-1]) {
      what <- sprintf("%s %s %s offset %g", cs$covariance, cs$variant, cs$precision, cs$offset)
      expect_lt(rel_diff(f$loglik, ref$loglik), tol_ll, label = paste("loglik,", what))
      expect_lt(rel_diff(f$parameters$means, ref$parameters$means), tol, label = paste("means,", what))
      expect_lt(rel_diff(f$parameters$covariances, ref$parameters$covariances), tol,
                label = paste("covariances,", what))
      expect_lt(rel_diff(f$parameters$proportions, ref$parameters$proportions), tol,
                label = paste("proportions,", what))
      expect_identical(f$classification, ref$classification)
    }
  }
})

test_that("every level gives the same fit beyond the quadratic features (d = 40, own products)", {
  levels <- usable_levels()
  skip_if(length(levels) < 2L, "one level on this CPU")
  s <- sim_mixture(n = 800, d = 40, k = 2, seed = 24)
  for (cov in c("VVV", "EEE", "VEV")) for (prec in c("double", "single")) {
    fits <- lapply(levels, function(l) with_cpu_level(l, gmm(
      s$x, 2, covariance = cov, seed = 2, threads = 2, tol = 0, max_iter = 6,
      control = gmm_control(precision = prec, variant = "gemm", accelerate = FALSE))))
    tol_ll <- if (prec == "double") 1e-10 else 1e-6
    tol <- if (prec == "double") 1e-10 else 1e-4
    for (f in fits[-1]) {
      what <- paste(cov, prec)
      expect_lt(rel_diff(f$loglik, fits[[1]]$loglik), tol_ll, label = paste("loglik,", what))
      expect_lt(rel_diff(f$parameters$covariances, fits[[1]]$parameters$covariances), tol,
                label = paste("covariances,", what))
    }
  }
})
