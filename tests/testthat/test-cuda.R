# Tests of the CUDA backend. The no-device paths always run (on a machine with
# a usable GPU the ones that need its absence skip); the agreement tests need a
# usable GPU and skip without one.

local_edition(3)

# --- fixtures (local to this file) -------------------------------------------------------

cuda_sim <- function(n = 3000, d = 3, k = 3, seed = 1) {
  old <- if (exists(".Random.seed", globalenv())) get(".Random.seed", globalenv()) else NULL
  on.exit(if (is.null(old)) rm(".Random.seed", envir = globalenv())
          else assign(".Random.seed", old, globalenv()))
  set.seed(seed)
  means <- matrix(rnorm(k * d, sd = 4), k, d)
  lab <- sample(k, n, replace = TRUE, prob = seq_len(k) + 1)
  mix <- matrix(0.3, d, d)
  diag(mix) <- 1
  x <- means[lab, , drop = FALSE] + (matrix(rnorm(n * d), n, d) %*% mix) * c(1, 1.5, 0.7)[(lab - 1) %% 3 + 1]
  list(x = x, labels = lab)
}

cuda_models <- c("full", "diag", "spherical", "tied")

skip_if_no_cuda <- function() {
  skip_if_not(fastgmm:::cuda_usable(), paste("no usable CUDA device:", fastgmm:::cuda_status()))
}

# Fits with tol = 0 (a fixed number of iterations) from the same labels.
cuda_pair <- function(x, k, covariance, labels, variant, precision = "double", max_iter = 12,
                      weights = NULL) {
  cpu <- gmm(x, k, covariance = covariance, init = labels, max_iter = max_iter, tol = 0,
             weights = weights, backend = "cpu", threads = 1,
             control = gmm_control(precision = precision))
  gpu <- gmm(x, k, covariance = covariance, init = labels, max_iter = max_iter, tol = 0,
             weights = weights, backend = "cuda", threads = 1,
             control = gmm_control(precision = precision, cuda_variant = variant))
  list(cpu = cpu, gpu = gpu)
}

# Runs `code` with the CUDA plugin taken from `path` (FASTGMM_CUDA_PLUGIN).
with_plugin <- function(path, code) {
  old <- Sys.getenv("FASTGMM_CUDA_PLUGIN", NA)
  Sys.setenv(FASTGMM_CUDA_PLUGIN = path)
  on.exit(if (is.na(old)) Sys.unsetenv("FASTGMM_CUDA_PLUGIN") else
    Sys.setenv(FASTGMM_CUDA_PLUGIN = old))
  force(code)
}

# Output of R code run in a fresh R process with this session's library paths.
fresh_r <- function(code) {
  out <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c("--vanilla", "-e", shQuote(code)),
                                  stdout = TRUE, stderr = TRUE,
                                  env = paste0("R_LIBS=", paste(.libPaths(), collapse = ":"))))
  out
}

# --- always: the table of backends, the plugin and the no-device paths -------------------

test_that("gmm_backends() lists the r, cpu and cuda backends", {
  b <- gmm_backends()
  expect_s3_class(b, "data.frame")
  expect_identical(b$backend, c("r", "cpu", "cuda"))
  expect_named(b, c("backend", "built", "available", "device", "memory_gb", "threads",
                    "compute_capability", "note"))
  expect_type(b$built, "logical")
  expect_type(b$available, "logical")
  expect_type(b$memory_gb, "double")
  expect_true(all(b$built[1:2]) && all(b$available[1:2]))
  expect_identical(b$available[3], fastgmm:::cuda_usable())
  expect_true(b$built[3] || !b$available[3])
  expect_identical(b$built[3], file.exists(fastgmm:::cuda_plugin_path()))
  if (!b$available[3]) {
    expect_true(is.na(b$device[3]) || nzchar(b$device[3]))
    expect_identical(b$note[3], fastgmm:::cuda_status())
    expect_true(nzchar(b$note[3]))
  } else {
    expect_true(nzchar(b$device[3]))
    expect_gt(b$memory_gb[3], 0)
    expect_match(b$compute_capability[3], "^[0-9]+\\.[0-9]+$")
  }
})

test_that("the CUDA plugin sits beside the package's library, or is reported missing", {
  path <- fastgmm:::cuda_plugin_path()
  if (!nzchar(Sys.getenv("FASTGMM_CUDA_PLUGIN")))
    expect_identical(normalizePath(dirname(path)),
                     normalizePath(dirname(getLoadedDLLs()[["fastgmm"]][["path"]])))
  info <- fastgmm:::cuda_info()
  expect_identical(info$plugin, path)
  expect_identical(info$built, file.exists(path))
  if (!info$built) {
    expect_false(info$loaded)
    expect_match(fastgmm:::cuda_status(), "no CUDA backend")
  }
  if (info$built && !info$loaded) expect_match(fastgmm:::cuda_status(), "cannot be loaded|another version")
  if (info$loaded) {
    expect_identical(info$variants, fastgmm:::cuda_variant_names)
    if (!info$available) expect_match(info$reason, "driver|device|kernels|runtime")
  }
})

test_that("gmm_backends() says why a plugin cannot be used (missing, not a library, wrong library)", {
  missing <- file.path(tempdir(), "no-such-dir", "fastgmm_cuda.so")
  with_plugin(missing, {
    b <- gmm_backends()
    expect_false(b$built[3])
    expect_false(b$available[3])
    expect_match(b$note[3], "no CUDA backend")
    expect_error(gmm(faithful, 2, backend = "cuda", threads = 1, seed = 1), "no CUDA backend")
  })
  junk <- tempfile(fileext = ".so")
  writeLines("not a shared library", junk)
  with_plugin(junk, {
    b <- gmm_backends()
    expect_true(b$built[3])
    expect_false(b$available[3])
    expect_match(b$note[3], "cannot be loaded: ", fixed = TRUE)
    expect_match(b$note[3], junk, fixed = TRUE)
    expect_error(gmm(faithful, 2, backend = "cuda", threads = 1, seed = 1), "cannot be loaded")
    # backend = "auto" falls back to the CPU, above the size threshold too
    old <- options(fastgmm.cuda_auto_threshold = 0)
    on.exit(options(old))
    expect_identical(gmm(faithful, 2, threads = 1, seed = 1)$backend, "cpu")
  })
  # a shared library that is not a plugin: the package's own
  own <- getLoadedDLLs()[["fastgmm"]][["path"]]
  with_plugin(own, {
    b <- gmm_backends()
    expect_true(b$built[3])
    expect_false(b$available[3])
    expect_match(b$note[3], "is not a fastgmm CUDA plugin")
  })
  unlink(junk)
})

test_that("the package links no CUDA library and loads none until the backend is probed", {
  skip_if_not(file.exists("/proc/self/maps"), "no /proc/self/maps on this system")
  dll <- getLoadedDLLs()[["fastgmm"]][["path"]]
  ldd <- Sys.which("ldd")
  if (nzchar(ldd)) {
    deps <- suppressWarnings(system2(ldd, dll, stdout = TRUE, stderr = TRUE))
    expect_false(any(grepl("cublas|cudart|libcuda", deps)), info = paste(deps, collapse = "\n"))
  }
  out <- fresh_r(paste(
    "library(fastgmm); fit <- gmm(faithful, 2, threads = 1, seed = 1)",
    "m1 <- readLines('/proc/self/maps')",
    "cat('before', any(grepl('cublas|cudart|fastgmm_cuda', m1)), '\\n')",
    "b <- gmm_backends()",
    "m2 <- readLines('/proc/self/maps')",
    "cat('after', any(grepl('fastgmm_cuda', m2)), fastgmm:::cuda_info()$loaded, '\\n')",
    sep = "; "))
  expect_true(any(out == "before FALSE "), info = paste(out, collapse = "\n"))
  # once probed, the plugin is mapped exactly when it could be loaded
  loaded <- fastgmm:::cuda_info()$loaded
  if (!nzchar(Sys.getenv("FASTGMM_CUDA_PLUGIN")))
    expect_true(any(out == sprintf("after %s %s ", loaded, loaded)), info = paste(out, collapse = "\n"))
})

test_that("backend = \"cuda\" errors clearly without a usable GPU", {
  skip_if(fastgmm:::cuda_usable())
  s <- cuda_sim(300, 2, 2)
  expect_error(gmm(s$x, 2, backend = "cuda", threads = 1, seed = 1),
               "needs fastgmm built with CUDA and a usable GPU")
  expect_error(gmm(s$x, 2, backend = "cuda", threads = 1, seed = 1),
               fastgmm:::cuda_status(), fixed = TRUE)
  f <- tempfile(fileext = ".bin")
  gmm_write(s$x, f)
  expect_error(gmm(gmm_file(f, 2), 2, backend = "cuda", threads = 1, seed = 1),
               "needs fastgmm built with CUDA and a usable GPU")
  unlink(f)
})

test_that("the CUDA entry points give R errors, not crashes, without a usable GPU", {
  skip_if(fastgmm:::cuda_usable())
  s <- cuda_sim(300, 2, 2)
  plugin <- fastgmm:::cuda_plugin_path()
  expect_error(fastgmm:::cpp_fit_cuda(s$x, NULL, 2L, "VVV", 0L, NULL, NULL, 1L, 5L, 0, c(1e-6, 1e-6),
                                      1L, 1, 4L, FALSE, FALSE, 0L, plugin, 0L, 0, FALSE, list()),
               "CUDA")
  expect_error(fastgmm:::cpp_cuda_time_variants(s$x, 2L, "VVV", FALSE, 1L, 1L, plugin, 0L, 0, 1e6,
                                                rep(TRUE, 5L)),
               "CUDA")
  # and the package still works afterwards
  expect_s3_class(gmm(s$x, 2, backend = "cpu", threads = 1, seed = 1), "gmm")
})

test_that("backend = \"auto\" gives the CPU result without a usable GPU", {
  skip_if(fastgmm:::cuda_usable())
  s <- cuda_sim(600, 2, 3)
  for (cv in cuda_models) {
    fa <- gmm(s$x, 3, covariance = cv, backend = "auto", threads = 1, seed = 3)
    fc <- gmm(s$x, 3, covariance = cv, backend = "cpu", threads = 1, seed = 3)
    expect_identical(fa$backend, "cpu")
    expect_identical(fa$loglik, fc$loglik)
    expect_identical(fa$parameters, fc$parameters)
  }
})

test_that("cuda_variant is checked and recorded", {
  s <- cuda_sim(200, 2, 2)
  expect_error(gmm(s$x, 2, control = gmm_control(cuda_variant = "fastest"), threads = 1, seed = 1),
               "`cuda_variant` must be one of")
  fc <- gmm(s$x, 2, backend = "cpu", threads = 1, seed = 1)
  expect_true(is.na(fc$control$cuda_variant))
})

test_that("CUDA variant cache keys separate devices, shapes and precisions", {
  k1 <- fastgmm:::cuda_variant_key(1e6, 10, 10, "full", "double", "NVIDIA H100 80GB HBM3")
  expect_match(k1, "^cuda-NVIDIA_H100_80GB_HBM3-full-double-")
  expect_false(k1 == fastgmm:::cuda_variant_key(1e6, 10, 10, "full", "single", "NVIDIA H100 80GB HBM3"))
  expect_false(k1 == fastgmm:::cuda_variant_key(1e6, 10, 10, "full", "double", "NVIDIA H200"))
  expect_false(k1 == fastgmm:::cuda_variant_key(1e6, 40, 10, "full", "double", "NVIDIA H100 80GB HBM3"))
})

test_that("untimed CUDA fits use per-cell kernels, cuBLAS for wide ellipsoidal models", {
  expect_identical(fastgmm:::default_cuda_variant(10, 10, "VVV"), "cell")
  expect_identical(fastgmm:::default_cuda_variant(32, 4, "EEE"), "cell")
  expect_identical(fastgmm:::default_cuda_variant(33, 4, "EEE"), "cublas")
  expect_identical(fastgmm:::default_cuda_variant(128, 8, "VVV"), "cublas")
  expect_identical(fastgmm:::default_cuda_variant(128, 8, "VVI"), "cell")
  expect_identical(fastgmm:::default_cuda_variant(200, 8, "EII"), "cell")
  expect_identical(fastgmm:::default_cuda_variant(1, 3, "V"), "cell")
  expect_false("component" %in% fastgmm:::cuda_auto_variants)
  expect_true(all(fastgmm:::cuda_auto_variants %in% fastgmm:::cuda_variant_names))
})

# --- with a GPU: agreement with the CPU backend ---------------------------------------------

test_that("every CUDA kernel variant agrees with the CPU backend (double, all models)", {
  skip_if_no_cuda()
  shapes <- list(list(n = 4000, d = 3, k = 3), list(n = 1500, d = 1, k = 2),
                 list(n = 3000, d = 60, k = 2))  # d = 60: rows not staged in shared memory
  for (sh in shapes) {
    s <- cuda_sim(sh$n, sh$d, sh$k, seed = 2)
    for (cv in cuda_models) for (v in fastgmm:::cuda_variant_names) {
      p <- cuda_pair(s$x, sh$k, cv, s$labels, v)
      info <- sprintf("d = %d, %s, variant %s", sh$d, cv, v)
      expect_identical(p$gpu$backend, "cuda", info = info)
      expect_identical(p$gpu$control$cuda_variant, v, info = info)
      expect_identical(p$gpu$iterations, p$cpu$iterations, info = info)
      expect_equal(p$gpu$loglik_trace, p$cpu$loglik_trace, tolerance = 1e-10, info = info)
      expect_equal(p$gpu$loglik, p$cpu$loglik, tolerance = 1e-10, info = info)
      expect_equal(p$gpu$parameters, p$cpu$parameters, tolerance = 1e-8, info = info)
      expect_identical(p$gpu$classification, p$cpu$classification, info = info)
    }
  }
})

test_that("every CUDA kernel variant agrees with the CPU backend (single, all models)", {
  skip_if_no_cuda()
  s <- cuda_sim(5000, 4, 3, seed = 4)
  for (cv in cuda_models) for (v in fastgmm:::cuda_variant_names) {
    p <- cuda_pair(s$x, 3, cv, s$labels, v, precision = "single")
    info <- sprintf("%s, variant %s", cv, v)
    expect_equal(p$gpu$loglik_trace, p$cpu$loglik_trace, tolerance = 1e-5, info = info)
    expect_equal(p$gpu$parameters, p$cpu$parameters, tolerance = 1e-3, info = info)
  }
})

test_that("CUDA fits agree with weights, many blocks and data streamed from the host", {
  skip_if_no_cuda()
  s <- cuda_sim(5000, 3, 3, seed = 5)
  w <- rep(c(0, 0.5, 1, 2), length.out = nrow(s$x))
  for (cv in cuda_models) {
    ref <- gmm(s$x, 3, covariance = cv, init = s$labels, max_iter = 10, tol = 0, weights = w,
               backend = "cpu", threads = 1)
    for (opts in list(list(), list(fastgmm.cuda_block_rows = 777),
                      list(fastgmm.cuda_block_rows = 1024, fastgmm.cuda_stream = TRUE))) {
      old <- options(opts)
      for (v in fastgmm:::cuda_variant_names) {
        g <- gmm(s$x, 3, covariance = cv, init = s$labels, max_iter = 10, tol = 0, weights = w,
                 backend = "cuda", threads = 1, control = gmm_control(cuda_variant = v))
        expect_equal(g$loglik_trace, ref$loglik_trace, tolerance = 1e-10,
                     info = paste(cv, v, names(opts), collapse = " "))
      }
      options(old)
    }
  }
})

test_that("CUDA fits are deterministic and restarts match the CPU", {
  skip_if_no_cuda()
  s <- cuda_sim(20000, 5, 4, seed = 6)
  for (v in fastgmm:::cuda_variant_names) {
    a <- gmm(s$x, 4, init = "kmeans++", n_init = 3, seed = 11, backend = "cuda", threads = 1,
             control = gmm_control(cuda_variant = v))
    b <- gmm(s$x, 4, init = "kmeans++", n_init = 3, seed = 11, backend = "cuda", threads = 1,
             control = gmm_control(cuda_variant = v))
    expect_identical(a$loglik_trace, b$loglik_trace)
    expect_identical(a$parameters, b$parameters)
    cpu <- gmm(s$x, 4, init = "kmeans++", n_init = 3, seed = 11, backend = "cpu", threads = 1)
    # (the stopping rule may stop one iteration apart on rounding)
    expect_equal(a$loglik, cpu$loglik, tolerance = 1e-6)
  }
})

test_that("cuda_variant = \"auto\" times the variants once and caches the winner", {
  skip_if_no_cuda()
  old <- options(fastgmm.cache_dir = tempfile("fastgmm-cache-"))
  on.exit(options(old))
  s <- cuda_sim(150000, 4, 3, seed = 7)
  f <- gmm(s$x, 3, covariance = "diag", max_iter = 3, tol = 0, backend = "cuda", threads = 1,
           seed = 1)
  expect_true(f$control$cuda_variant %in% fastgmm:::cuda_variant_names)
  tab <- fastgmm:::read_variant_cache()
  expect_true(any(grepl("^cuda-", tab$key)))
  expect_identical(tab$variant[grepl("^cuda-", tab$key)], f$control$cuda_variant)
  secs <- fastgmm:::cuda_time_variants(s$x[1:20000, ], 3, "diag", "double", 1L, reps = 1L)
  expect_named(secs, fastgmm:::cuda_variant_names)
  expect_true(all(is.na(secs) | secs > 0))
})

test_that("backend = \"auto\" uses the GPU above the size threshold", {
  skip_if_no_cuda()
  s <- cuda_sim(2000, 3, 3, seed = 8)
  old <- options(fastgmm.cuda_auto_threshold = 0)
  on.exit(options(old))
  expect_identical(gmm(s$x, 3, threads = 1, seed = 1,
                       control = gmm_control(cuda_variant = "cublas"))$backend, "cuda")
  options(fastgmm.cuda_auto_threshold = Inf)
  expect_identical(gmm(s$x, 3, threads = 1, seed = 1)$backend, "cpu")
})

test_that("GPU out of memory and model errors become R errors", {
  skip_if_no_cuda()
  s <- cuda_sim(2000, 2, 3, seed = 9)
  old <- options(fastgmm.cuda_block_rows = 2^30)
  expect_error(gmm(s$x, 60, covariance = "diag", backend = "cuda", threads = 1, seed = 1,
                   control = gmm_control(cuda_variant = "cell"), init = "random_from_data"),
               "out of GPU memory")
  options(old)
  # the device is still usable afterwards
  expect_s3_class(gmm(s$x, 3, backend = "cuda", threads = 1, seed = 1,
                      control = gmm_control(cuda_variant = "cublas")), "gmm")
  # a collapsing component: the same user-facing message as on the CPU
  x <- rbind(s$x, matrix(100, 3, 2))
  msg_cpu <- tryCatch(gmm(x, 4, init = c(rep(1:3, length.out = 2000), 4, 4, 4), reg_covar = 0,
                          backend = "cpu", threads = 1), error = conditionMessage)
  msg_gpu <- tryCatch(gmm(x, 4, init = c(rep(1:3, length.out = 2000), 4, 4, 4), reg_covar = 0,
                          backend = "cuda", threads = 1, control = gmm_control(cuda_variant = "cublas")),
                      error = conditionMessage)
  expect_identical(msg_gpu, msg_cpu)
})

test_that("CUDA fits read files and chunk functions through the same source as the CPU", {
  skip_if_no_cuda()
  s <- cuda_sim(5000, 3, 3, seed = 10)
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f))
  gmm_write(s$x, f)
  chunks <- gmm_chunks(function(i) if (i <= 5) s$x[(i - 1) * 1000 + 1:1000, , drop = FALSE], 3)
  for (cv in cuda_models) {
    mem <- gmm(s$x, 3, covariance = cv, init = s$labels, max_iter = 8, tol = 0, backend = "cuda",
               threads = 1, control = gmm_control(cuda_variant = "cublas"))
    cpu <- gmm(gmm_file(f, 3), 3, covariance = cv, init = s$labels, max_iter = 8, tol = 0,
               backend = "cpu", threads = 1)
    for (src in list(gmm_file(f, 3), chunks)) {
      for (opts in list(list(), list(fastgmm.cuda_stream = TRUE, fastgmm.cuda_block_rows = 1024))) {
        old <- options(opts)
        g <- gmm(src, 3, covariance = cv, init = s$labels, max_iter = 8, tol = 0, backend = "cuda",
                 threads = 2, control = gmm_control(cuda_variant = "cublas"))
        options(old)
        info <- paste(cv, class(src)[1], names(opts), collapse = " ")
        expect_identical(g$backend, "cuda", info = info)
        expect_equal(g$loglik_trace, cpu$loglik_trace, tolerance = 1e-10, info = info)
        if (!length(opts)) expect_identical(g$loglik_trace, mem$loglik_trace, info = info)
        expect_true(is.finite(g$icl), info = info)
      }
    }
  }
})

test_that("CUDA fits of clusters 1e2 to 1e8 sd apart agree with the CPU (anchored statistics)", {
  skip_if_no_cuda()
  for (sep in c(1e2, 1e4, 1e6, 1e8)) {
    x <- with_seed(1, rbind(matrix(rnorm(600), 300), matrix(rnorm(400, sd = 0.5), 200) + sep,
                            matrix(rnorm(500, sd = 2), 250) - sep / 3))
    lab <- rep(1:3, c(300, 200, 250))
    for (cv in cuda_models) {
      a <- gmm(x, 3, covariance = cv, init = lab, reg_covar = 0, tol = 0, max_iter = 20,
               backend = "cpu", threads = 1)
      for (v in fastgmm:::cuda_variant_names) {
        g <- gmm(x, 3, covariance = cv, init = lab, reg_covar = 0, tol = 0, max_iter = 20,
                 backend = "cuda", threads = 1, control = gmm_control(cuda_variant = v))
        info <- sprintf("sep %g, %s, %s", sep, cv, v)
        expect_equal(g$loglik_trace, a$loglik_trace, tolerance = 1e-10, info = info)
        expect_lt(max(abs(g$parameters$means - a$parameters$means)) /
                    max(abs(a$parameters$means)), 1e-10)
      }
      # single precision: as the CPU, float where it can hold the data, else double with a warning
      cs <- tryCatch(gmm(x, 3, covariance = cv, init = lab, reg_covar = 0, tol = 0, max_iter = 20,
                         backend = "cpu", threads = 1,
                         control = gmm_control(precision = "single")), warning = function(w) w)
      gs <- tryCatch(gmm(x, 3, covariance = cv, init = lab, reg_covar = 0, tol = 0, max_iter = 20,
                         backend = "cuda", threads = 1,
                         control = gmm_control(precision = "single", cuda_variant = "cublas")),
                     warning = function(w) w)
      expect_identical(inherits(gs, "warning"), inherits(cs, "warning"), info = paste(sep, cv))
    }
  }
})
