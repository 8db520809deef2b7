# gmm_cluster(): data in shards on the workers of a local PSOCK cluster give the in-memory
# fits; shards from functions and files; weights; predictions left on the workers; faults
# (a worker that errors, a worker that dies) name the worker and the shard; stepwise EM.

local_edition(3)

cl_data <- function(n = 2400, d = 3, k = 3, seed = 41) sim_mixture(n = n, d = d, k = k, seed = seed)

test_that("fits on 1 and 2 workers and 3 shards agree with the in-memory fit, for every start and model", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  s <- cl_data()
  x <- s$x
  one <- gmm_cluster(cl[1], x)
  two <- gmm_cluster(cl, x)
  three <- gmm_cluster(cl, list(x[1:700, ], x[701:1500, ], x[1501:2400, ]))
  expect_identical(three$layout$worker, c(1L, 2L, 1L))
  expect_identical(three$layout$offset, c(0, 700, 1500))
  expect_identical(two$nrow, 2400)
  expect_identical(two$ncol, 3L)
  start <- list(means = x[c(1, 2, 3), ], covariances = array(diag(3), c(3, 3, 3)))
  inits <- list("kmeans++", "random", "random_from_data", s$labels, start)
  for (cov in models) for (i in seq_along(inits)) {
    ref <- gmm(x, 3, covariance = cov, init = inits[[i]], seed = 5, threads = 1, max_iter = 25, tol = 0)
    # every start and model on 3 shards, some on 1 and 2 workers
    srcs <- if (cov == "full" && i <= 2) list(one, two, three) else list(three)
    for (src in srcs) {
      fit <- gmm(src, 3, covariance = cov, init = inits[[i]], seed = 5, threads = 1, max_iter = 25, tol = 0)
      expect_fits_agree(fit, ref)
      expect_equal(fit$icl, ref$icl, tolerance = 1e-10)
      expect_null(fit$classification)
    }
  }
  # identical run to run, and the same with 2 threads per worker
  a <- gmm(three, 3, seed = 9, threads = 1)
  b <- gmm(three, 3, seed = 9, threads = 2)
  expect_identical(a$parameters, b$parameters)
  expect_identical(a$loglik_trace, b$loglik_trace)
  expect_identical(a$n, 2400)
  expect_true(inherits(a$data, "gmm_cluster"))
  for (o in list(one, two, three)) gmm_cluster_release(o)
  expect_length(cluster_held(cl), 0)
})

test_that("shards from functions and files on the workers, with empty shards and names", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  s <- cl_data(n = 1500)
  colnames(s$x) <- c("a", "b", "c")
  f <- tempfile(fileext = ".bin")
  g <- tempfile(fileext = ".bin")
  on.exit(unlink(c(f, g)), add = TRUE)
  gmm_write(s$x[501:1000, ], f)
  fs <- gmm_write(s$x[1001:1500, ], g, type = "double")
  part <- s$x[1:500, ]
  src <- gmm_cluster(cl, list(function() part, matrix(0, 0, 3), f, fs), ncol = 3)
  expect_identical(src$layout$rows, c(500, 0, 500, 500))
  expect_null(src$names)   # file shards have no column names
  ref <- gmm(s$x, 3, seed = 2, threads = 1)
  expect_fits_agree(gmm(src, 3, seed = 2, threads = 1), ref)
  # a function of the shard number, simulating on the worker; names kept
  sim <- gmm_cluster(cl, rep(list(function(i) {
    set.seed(i)
    data.frame(u = rnorm(300, 3 * i), v = rnorm(300))
  }), 3))
  expect_identical(sim$names, c("u", "v"))
  expect_identical(sim$nrow, 900)
  x <- gmm_cluster_gather(sim)
  expect_identical(colnames(x), c("u", "v"))
  expect_fits_agree(gmm(sim, 2, seed = 1, threads = 1), gmm(x, 2, seed = 1, threads = 1))
  expect_identical(gmm_cluster_apply(sim, function(x, i, m) nrow(x) * m, m = 2L),
                   list(`1` = 600L, `2` = 600L, `3` = 600L))
  gmm_cluster_release(src)
  gmm_cluster_release(sim)
  expect_error(gmm(sim, 2), "released")
  expect_length(cluster_held(cl), 0)
})

test_that("weights belong to the shards and give the weighted in-memory fit", {
  cl <- cluster_start()
  old <- options(fastgmm.cache = FALSE)   # shards of 35000 rows: variants are timed, not cached
  on.exit({
    cluster_stop(cl)
    options(old)
  })
  s <- cl_data(n = 1200)
  x <- s$x
  w <- with_seed(3, runif(1200))
  w[1:40] <- 0
  ref <- lapply(c("kmeans++", "random", "random_from_data"), function(init)
    gmm(x, 3, init = init, weights = w, seed = 4, threads = 1, max_iter = 20, tol = 0))
  srcs <- list(
    gmm_cluster(cl, x, weights = w),
    gmm_cluster(cl, list(x[1:500, ], x[501:1200, ]), weights = list(w[1:500], w[501:1200])),
    gmm_cluster(cl, list(function() list(x = x[1:500, ], weights = w[1:500]),
                         function() list(x = x[501:1200, ], weights = w[501:1200]))),
    gmm_cluster(cl, list(x[1:300, ], x[301:1200, ]), weights = w))
  for (j in seq_along(srcs)) {
    src <- srcs[[j]]
    expect_true(src$weighted)
    for (i in if (j == 1) 1:3 else 1) {
      fit <- gmm(src, 3, init = c("kmeans++", "random", "random_from_data")[i], seed = 4,
                 threads = 1, max_iter = 20, tol = 0)
      expect_fits_agree(fit, ref[[i]])
      expect_identical(fit$nobs, 1160)
      expect_equal(fit$bic, ref[[i]]$bic, tolerance = 1e-10)
    }
    gmm_cluster_release(src)
  }
  # the in-memory sample needs weights looked up (n above the k-means++ sample) and, with
  # almost all weights zero, the ranks of the rows with positive weight
  big <- with_seed(5, matrix(rnorm(140000), ncol = 2) + c(0, 6)[rep(1:2, 35000)])
  wb <- rep(1, 70000)
  wb[seq(1, 70000, by = 25)] <- 0   # more rows with positive weight than the sample
  wz <- numeric(70000)
  wz[with_seed(6, sample(70000, 50))] <- 1
  for (ww in list(wb, wz)) {
    src <- gmm_cluster(cl, big, weights = ww)
    for (init in c("kmeans++", "random_from_data"))
      expect_fits_agree(gmm(src, 2, init = init, seed = 1, threads = 1, max_iter = 5, tol = 0),
                        gmm(big, 2, init = init, weights = ww, seed = 1, threads = 1, max_iter = 5,
                            tol = 0))
    gmm_cluster_release(src)
  }
  src <- gmm_cluster(cl, x)
  expect_error(gmm(src, 3, weights = w), "own weights")
  gmm_cluster_release(src)
})

test_that("bad shards are clear errors before the first iteration", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  x <- cl_data(n = 300)$x
  bad <- x
  bad[7, 2] <- NA
  f <- tempfile(fileext = ".bin")
  on.exit(unlink(f), add = TRUE)
  xf <- x
  xf[5, 1] <- Inf
  writeBin(as.vector(t(xf)), f, size = 8, endian = "little")
  expect_error(gmm_cluster(cl, list(x, x[, 1:2])),
               "shard 2 \\(worker 2\\) has 2 columns but shard 1 has 3")
  expect_error(gmm_cluster(cl, list(x, function() bad)),
               "worker 2, shard 2, while loading: the function's value contains NA or NaN")
  expect_error(gmm_cluster(cl, list(x, f), ncol = 3),
               "worker 2, shard 2, while checking: row 5 of .* has a non-finite value")
  expect_error(gmm_cluster(cl, list(x, function() stop("no such table"))),
               "worker 2, shard 2, while loading: no such table")
  expect_error(gmm_cluster(cl, list(x, tempfile())), "`ncol`")
  expect_error(gmm_cluster(cl, list(x, file.path(tempdir(), "nothere.bin")), ncol = 3),
               "worker 2, shard 2, while loading: .*does not exist")
  expect_error(gmm_cluster(cl, list(x, x, list(1))), "shard 3 must be")
  expect_error(gmm_cluster(cl, list(x, x), weights = list(rep(1, 300), rep(-1, 300))),
               "worker 2, shard 2, while checking: its weights are not all non-negative")
  expect_error(gmm_cluster(cl, list(x, x), weights = rep(1, 10)), "one value per row of all shards")
  expect_error(gmm_cluster(cl, bad), "NA or NaN")
  expect_error(gmm_cluster(list(), x), "`cl` must be a cluster")
  expect_error(gmm_cluster(cl, list(x, x), workers = c(1, 3)), "`workers`")
  # nothing was left on the workers by the failures
  expect_length(cluster_held(cl), 0)
  src <- gmm_cluster(cl, x)
  expect_error(gmm(src, 2, backend = "r"), "cluster sources")
  expect_error(gmm(src, 2, backend = "cuda"), "cluster sources")
  expect_error(gmm_time_variants(src, 2), "cluster source")
  gmm_cluster_release(src)
})

test_that("predict leaves results on the workers unless asked to gather them", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  x <- cl_data(n = 900)$x
  src <- gmm_cluster(cl, list(x[1:400, ], x[401:900, ]))
  fit <- gmm(src, 3, seed = 1, threads = 1)
  ref <- gmm(x, 3, seed = 1, threads = 1)
  for (type in c("class", "posterior", "density", "logdensity")) {
    got <- predict(fit, src, type = type, gather = TRUE, threads = 1)
    expect_equal(got, predict(ref, x, type = type, threads = 1), tolerance = 1e-10)
  }
  expect_identical(predict(fit, gather = TRUE, threads = 1), predict(fit, x, threads = 1))
  p <- predict(fit, type = "posterior", threads = 1)
  expect_s3_class(p, "gmm_cluster_predictions")
  expect_output(print(p), "left on 2 workers")
  sums <- gmm_cluster_apply(p, function(p, i) colSums(p))
  expect_equal(unname(Reduce(`+`, sums)),
               unname(colSums(predict(fit, x, type = "posterior", threads = 1))))
  expect_identical(gmm_cluster_gather(p), predict(fit, x, type = "posterior", threads = 1))
  expect_length(cluster_held(cl), 2 * 2)
  gmm_cluster_release(p)
  expect_error(gmm_cluster_gather(p), "released")
  files <- c(tempfile(), tempfile())
  on.exit(unlink(files), add = TRUE)
  expect_identical(predict(fit, src, file = files, threads = 1), files)
  cls <- unlist(lapply(files, function(f) readBin(f, "double", 1000)))
  expect_identical(as.integer(cls), predict(fit, x, threads = 1))
  expect_error(predict(fit, src, file = files[1]), "one file name per shard")
  # a fit from a cluster source predicts on in-memory data as usual
  expect_identical(predict(fit, x[1:5, ], threads = 1), predict(ref, x[1:5, ], threads = 1))
  # objects that are garbage-collected are released at the next operation on the cluster
  rm(p)
  local(predict(fit, threads = 1))
  gc()
  gmm_cluster_release(gmm_cluster(cl, x[1:10, ]))
  expect_length(cluster_held(cl), 2)
  gmm_cluster_release(src)
  expect_length(cluster_held(cl), 0)
})

test_that("gmm_select takes a cluster source", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  x <- cl_data(n = 600)$x
  src <- gmm_cluster(cl, x)
  on.exit(gmm_cluster_release(src), add = TRUE)
  a <- gmm_select(src, k = 1:3, covariance = c("full", "diag"), init = "kmeans++", seed = 3,
                  threads = 1)
  b <- gmm_select(x, k = 1:3, covariance = c("full", "diag"), init = "kmeans++", seed = 3,
                  threads = 1)
  expect_equal(a$table$bic, b$table$bic, tolerance = 1e-10)
  expect_equal(a$table$icl, b$table$icl, tolerance = 1e-10)
  expect_identical(a$best$k, b$best$k)
  # shared starts: rows stay on the workers, every model at a k starts from one k-means++ seed
  sh <- gmm_select(src, k = 1:3, covariance = c("full", "diag"), seed = 3, threads = 1)
  expect_true(all(is.na(sh$table$error)))
  expect_identical(sh$best$k, 3L)
})

test_that("a worker that errors or dies mid-fit stops the fit naming it; the cluster stays usable", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  x <- cl_data(n = 600)$x
  src <- gmm_cluster(cl, list(x[1:200, ], x[201:400, ], x[401:600, ]), workers = c(1, 2, 2))
  ref <- gmm(src, 3, init = "random", seed = 1, threads = 1, tol = 0, max_iter = 6)
  # an error in the third pass on worker 2 (its first shard)
  parallel::clusterCall(cl[2], function() invisible(options(
    fastgmm.cluster_fault = list(op = "pass", at = 3, action = "error"))))
  expect_error(gmm(src, 3, init = "random", seed = 1, threads = 1, tol = 0, max_iter = 6),
               "worker 2 \\(shards 2, 3\\), during an EM pass: injected fault")
  parallel::clusterCall(cl[2], function() invisible(options(fastgmm.cluster_fault = NULL)))
  # the same object still works, with the same answer
  again <- gmm(src, 3, init = "random", seed = 1, threads = 1, tol = 0, max_iter = 6)
  expect_identical(again$parameters, ref$parameters)
  # worker 2 dies in its fourth pass
  parallel::clusterCall(cl[2], function() invisible(options(
    fastgmm.cluster_fault = list(op = "pass", at = 4, action = "die"))))
  expect_error(gmm(src, 3, init = "random", seed = 1, threads = 1, tol = 0, max_iter = 6),
               "worker 2 \\(holding shards 2, 3\\) stopped responding during an EM pass")
  expect_error(gmm(src, 3, threads = 1), "lost its shards")
  expect_silent(gmm_cluster_release(src))
  # worker 1 is untouched and usable
  src1 <- gmm_cluster(cl[1], x)
  expect_fits_agree(gmm(src1, 3, init = "random", seed = 1, threads = 1, tol = 0, max_iter = 6), ref)
  expect_error(gmm_cluster(cl, x), "worker 2 did not answer")
  gmm_cluster_release(src1)
})

test_that("stepwise EM on a cluster source is the in-memory stepwise fit, whatever the workers and threads", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  x <- cl_data(n = 3000)$x
  ctl <- gmm_control(stepwise_batch = 640, stepwise_passes = 2, polish = 2)  # units of 16 rows
  fit <- function(src, threads = 1, cov = "full", w = NULL)
    gmm(src, 3, covariance = cov, weights = w, seed = 4, method = "stepwise", threads = threads,
        control = ctl, tol = 0, max_iter = 10)
  ref <- fit(x)
  # shard boundaries off the units' (units straddle shards), a one-row and an empty shard
  parts <- list(x[1:707, ], x[708, , drop = FALSE], matrix(0, 0, 3), x[709:2100, ], x[2101:3000, ])
  one <- gmm_cluster(cl[1], parts)
  two <- gmm_cluster(cl, parts)   # round robin: worker 2 holds shards 2 and 4
  halves <- gmm_cluster(cl, x)    # another layout: 1500 rows per shard
  on.exit(for (o in list(one, two, halves)) gmm_cluster_release(o), add = TRUE, after = FALSE)
  a <- fit(one)
  expect_fits_agree(a, ref)
  expect_identical(a$iterations, 2L + 1L + 2L)  # passes counted as in memory
  expect_identical(a$control$method, "stepwise")
  for (b in list(fit(two), fit(two, threads = 2), fit(one, threads = 2))) {
    expect_identical(b$parameters, a$parameters)
    expect_identical(b$loglik_trace, a$loglik_trace)
  }
  expect_fits_agree(fit(halves, threads = 2), ref)
  expect_fits_agree(fit(halves, cov = "VEI"), fit(x, cov = "VEI"))
  # weights of the shards
  w <- rep(c(0.5, 2, 0, 1), length.out = nrow(x))
  wsrc <- gmm_cluster(cl, parts, weights = w)
  on.exit(gmm_cluster_release(wsrc), add = TRUE, after = FALSE)
  expect_fits_agree(fit(wsrc, cov = "diag"), fit(x, cov = "diag", w = w))
  # a worker that errors in a stepwise pass is named as in a batch pass; the object stays usable
  parallel::clusterCall(cl[2], function() invisible(options(
    fastgmm.cluster_fault = list(op = "pass_units", at = 3, action = "error"))))
  expect_error(fit(two), "worker 2 \\(shards 2, 4\\), during a stepwise EM pass: injected fault")
  parallel::clusterCall(cl[2], function() invisible(options(fastgmm.cluster_fault = NULL)))
  expect_identical(fit(two)$parameters, a$parameters)
})

test_that("a worker process killed between fits is named at the next pass", {
  cl <- cluster_start()
  on.exit(cluster_stop(cl))
  x <- cl_data(n = 400)$x
  src <- gmm_cluster(cl, x)
  tools::pskill(src$workers$pid[2], tools::SIGKILL)
  Sys.sleep(0.2)
  expect_error(gmm(src, 2, seed = 1, threads = 1),
               "worker 2 \\(holding shard 2\\) stopped responding")
  expect_silent(gmm_cluster_release(src))
  src1 <- gmm_cluster(cl[1], x)
  expect_identical(src1$nrow, 400)
  gmm_cluster_release(src1)
})

test_that("the package version on the workers is checked", {
  me <- getNamespaceVersion("fastgmm")[[1]]
  ok <- list(loaded = TRUE, version = me, protocol = fastgmm:::cluster_protocol, host = "h", pid = 1L)
  expect_null(fastgmm:::cl_worker_problem(ok, 2, me))
  expect_match(fastgmm:::cl_worker_problem(modifyList(ok, list(version = "0.0.1")), 2, me),
               "worker 2 has fastgmm 0.0.1 .* this session")
  expect_match(fastgmm:::cl_worker_problem(modifyList(ok, list(protocol = NULL)), 2, me),
               "protocol none")
  expect_match(fastgmm:::cl_worker_problem(list(loaded = FALSE, libs = "/x"), 3, me),
               "worker 3 cannot load fastgmm \\(its library paths: /x\\)")
})

test_that("gmm_shard_stats and gmm_mstep make the map and reduce of one EM iteration", {
  x <- cl_data(n = 500)$x
  f0 <- gmm(x, 3, init = "random", seed = 1, threads = 1, max_iter = 3, tol = 0)
  f1 <- gmm(x, 3, init = f0$parameters, threads = 1, max_iter = 1, tol = 0,
            control = gmm_control(reg_covar_type = "absolute"))
  st <- lapply(list(x[1:200, ], x[201:500, ]), gmm_shard_stats, parameters = f0$parameters,
               covariance = "full", threads = 1)
  expect_named(st[[1]], c("kind", "anchor", "s0", "s1", "s2", "loglik"))
  m <- gmm_mstep(st, "full")
  expect_equal(m$loglik, f0$loglik, tolerance = 1e-10)
  expect_equal(unname(m$means), unname(f1$parameters$means), tolerance = 1e-10)
  expect_equal(unname(m$covariances), unname(f1$parameters$covariances), tolerance = 1e-10)
  expect_error(gmm_mstep(list(1)), "gmm_shard_stats")
})

test_that("an MPI cluster (snow + Rmpi) gives the same fit", {
  skip_if_not(identical(Sys.getenv("FASTGMM_TEST_MPI"), "true"), "FASTGMM_TEST_MPI is not true")
  skip_if_not(nzchar(system.file(package = "Rmpi")) && nzchar(system.file(package = "snow")),
              "Rmpi or snow not installed")
  script <- tempfile(fileext = ".R")
  on.exit(unlink(script))
  writeLines(c(
    "library(fastgmm)",
    "cl <- snow::makeMPIcluster(2)",
    "res <- tryCatch({",
    "  x <- matrix(rnorm(1500, sd = 0.5), ncol = 3) + c(0, 4, 8)[rep(1:3, 167)[1:500]]",
    "  src <- gmm_cluster(cl, x)",
    "  a <- gmm(src, 3, seed = 2, threads = 1)",
    "  b <- gmm(x, 3, seed = 2, threads = 1)",
    "  ok <- isTRUE(all.equal(a$parameters, b$parameters, tolerance = 1e-10)) &&",
    "    identical(predict(a, src, gather = TRUE, threads = 1), predict(b, x, threads = 1))",
    "  gmm_cluster_release(src)",
    "  if (ok) 'MPI-OK' else 'MPI-DIFFERENT'",
    "}, error = function(e) paste('MPI-ERROR', conditionMessage(e)))",
    "cat(res, '\\n')",
    "for (n in cl) snow:::stopNode(n)",  # snow::stopCluster() hangs in MPI_Comm_disconnect here
    "Sys.sleep(0.5)",
    "Rmpi::mpi.quit()"), script)
  env <- c(paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep)),
           "OMPI_MCA_rmaps_base_oversubscribe=1", "OMPI_ALLOW_RUN_AS_ROOT=1",
           "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
  out <- system2(file.path(R.home("bin"), "Rscript"), script, stdout = TRUE, stderr = TRUE,
                 env = env, timeout = 120)
  expect_true(any(grepl("MPI-OK", out)), info = paste(out, collapse = "\n"))
})
