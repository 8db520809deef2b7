# More than one machine: data kept in shards on the workers of an R `parallel` cluster (or
# a snow MPI cluster), fitted by the core's EM driver with one round trip per pass: the main
# process sends the parameters, every worker returns the anchored statistics of each of its
# shards, summed in shard order in C++ (src/rcpp_cluster.cpp).
#
# Main side: gmm_cluster() objects, the round trips (cl_exchange), the glue that the C++ fit
# calls (cluster_fit). Worker side: a registry of resident shards per object (cl_store) and
# the operations on them (cl_worker). Internal helpers are prefixed `cl_`.

#' Data spread over the workers of a cluster
#'
#' `gmm_cluster()` describes data held in shards by the workers of a
#' `parallel` cluster (PSOCK workers on this or other hosts from
#' [parallel::makePSOCKcluster()] or `parallelly::makeClusterPSOCK()`, or an
#' MPI cluster from `snow`/`Rmpi`). Each shard is loaded once, on its worker,
#' and stays there for every pass of every fit until the object is released;
#' [gmm()], [gmm_select()] and [predict.gmm()] take the object like any other
#' data source. Each EM iteration, the main process sends the parameters and
#' receives, from each worker, one small message with the anchored
#' statistics of each of its shards (a few kilobytes: `k` times `1 + d + d(d+1)/2`
#' numbers per shard for full covariances); they are summed in shard order.
#'
#' @section Shards:
#' `shards` is a list with one element per shard:
#' * a function, called once on its worker (with the shard's number as its
#'   argument when it takes one) that returns the shard's rows: a numeric
#'   matrix, a data frame of numeric columns, a numeric vector (one
#'   dimension), a [gmm_file()] (a file on the worker's disk), or
#'   `list(x = <any of those>, weights = <one weight per row>)`. Read a
#'   Parquet or CSV part, query a database, simulate: the data never pass
#'   through the main process. The function travels like any function sent
#'   to a cluster: what it uses from the global environment must be exported
#'   to the workers ([parallel::clusterExport()]) or come from a package;
#' * a file name (a binary file as [gmm_write()] writes it, on the worker's
#'   own disk, with `ncol` columns of `type`) or a [gmm_file()] object (its
#'   path is opened by the worker); the file is read on every pass, so a
#'   shard may be larger than the worker's memory;
#' * a numeric matrix or data frame, sent to the worker.
#'
#' Shards go to the workers in order, round robin (shard `i` to worker
#' `(i - 1) %% length(cl) + 1`), several per worker when there are more
#' shards than workers; `workers` gives another assignment. Instead of a
#' list, `shards` may be one numeric matrix or data frame: it is split into
#' `length(cl)` contiguous shards of (nearly) equal size, one per worker
#' (handy for tests, and for process-level parallelism). All shards must have
#' the same number of columns; empty shards (no rows) are allowed. Every value
#' is checked (finite) when the object is made, before any fit.
#'
#' @section Weights:
#' Observation weights belong to the shards, not to the fit: `weights` is a
#' numeric vector with one value per row of all shards (in shard order; it is
#' split like the rows and each part is sent to its worker once), or a list
#' with one vector (or `NULL`, unit weights) per shard; a function shard may
#' also return its own weights. [gmm()]'s `weights` argument must then be
#' `NULL`.
#'
#' @section Answers:
#' The rows of all shards, in shard order, are the data. A fit gives the same
#' answer as the in-memory fit of those rows from the same start up to
#' rounding (the statistics are summed in another order; agreement is
#' typically within 1e-12 relative), and the same answer on every run with
#' the same shards. The starts are the in-memory ones too: `init = "random"`
#' draws its uniforms per global row, `"kmeans++"` and `"random_from_data"`
#' draw the same global row numbers and gather only those rows from the
#' workers (at most 65536 rows and 16 MB for k-means++; with weights, the
#' weights of the candidate rows are asked for in batches first), and starting
#' labels (one per row of all shards) are split by shard and sent with the
#' passes of the start. `variant = "auto"` is timed on the first shard with
#' at least 20000 rows (on its worker), else chosen by the default rule.
#' `method = "stepwise"` in [gmm()] works too, with one round trip per
#' mini-batch (only the workers holding its rows compute, each the
#' statistics of just those rows): its mini-batches are made of the same
#' segments of global rows as in memory (a segment that straddles two shards
#' is computed in two pieces), so it gives the in-memory stepwise fit with
#' the same seed, identical whatever the workers and threads.
#'
#' @section Threads and workers:
#' `threads` in [gmm()], [gmm_select()] and [predict.gmm()] is the number of
#' threads of each worker (default: the worker's `getOption("fastgmm.threads")`
#' or RcppParallel's default there, capped at the worker's cores). Start one
#' worker per machine (or per NUMA node) and let its threads use the cores;
#' with a shard per worker a fit runs as fast as the slowest worker, so give
#' them equal shares of rows. The package must be installed on every worker
#' with the same version as the main process (checked when the object is
#' made; a worker looks for it in its own library paths, then in the library
#' the main process loaded it from, which makes local clusters work without
#' setup). For PSOCK workers (started by `parallel` or `parallelly`) on
#' Unix-alikes, Nagle's algorithm is turned off on the connections between
#' the main process and the workers (TCP_NODELAY, as `parallelly` does for its
#' own workers): R writes a message 4 kB at a time, and otherwise each message
#' longer than that waits about 40 ms for a delayed acknowledgement.
#'
#' @section Faults:
#' A worker that errors during a fit stops the fit with an error naming the
#' worker and the shard; its shards are still usable. A worker that dies (its
#' process killed, its host lost) stops the fit with an error naming it and
#' its shards, which are lost: the object can then only be released, and a
#' new `gmm_cluster()` made with the workers that remain (for example
#' `cl[-2]`). Nothing else is lost: every other worker's answer is read, so
#' the cluster stays usable. An interrupt (Ctrl-C) waits for the workers'
#' answers of the pass under way.
#'
#' @section Releasing:
#' `gmm_cluster_release()` removes the shards from the workers. An object
#' that is garbage-collected without it is released at the next operation on
#' the same cluster (never during another exchange with the workers), and
#' stopping the cluster releases everything.
#'
#' @section Per-row results:
#' A fit to a cluster source keeps no per-row `classification` or
#' `uncertainty`. [predict.gmm()] on a cluster source leaves its per-row
#' results on the workers, next to their shards, and returns a
#' `"gmm_cluster_predictions"` object for them: `gmm_cluster_gather()` brings
#' them to the main process, `gmm_cluster_apply()` runs a function on them
#' where they are, `gmm_cluster_release()` frees them. `predict(..., gather
#' = TRUE)` returns them directly, as for in-memory data; with `file` (one
#' path per shard) each worker writes its shard's results to its own disk.
#'
#' @param cl A cluster from [parallel::makeCluster()] and friends (an object of
#'   class `"cluster"`).
#' @param shards A list of shards (functions, file names, [gmm_file()]
#'   objects, matrices or data frames), or one matrix or data frame to split;
#'   see Shards.
#' @param weights Optional observation weights; see Weights.
#' @param workers Optional worker (index into `cl`) for each shard.
#' @param ncol,type The number of columns and the type (`"double"` or
#'   `"float"`) of shards given as file names.
#' @param x A `"gmm_cluster"` object, or for `gmm_cluster_release()`,
#'   `gmm_cluster_gather()` and `gmm_cluster_apply()` also the
#'   `"gmm_cluster_predictions"` from [predict.gmm()].
#' @param fun A function of the shard (a numeric matrix, a [gmm_file()], or
#'   the shard's predictions), its number, and `...`, run on its worker.
#' @param ... Further arguments to `fun`.
#' @return `gmm_cluster()`: an object of class `"gmm_cluster"` (a data
#'   source) with elements `nrow`, `ncol`, `names` (column names, when all
#'   shards have the same), `layout` (a data frame with one row per shard:
#'   `shard`, `worker`, `rows`, `offset`, the global index of its first row
#'   minus one), `workers` (per worker used: `worker`, `host`, `pid`),
#'   `weighted`. Printing it shows the traffic of the EM round trips so far
#'   (one per pass, or per mini-batch of stepwise EM).
#'   `gmm_cluster_release()`: `x`, invisibly. `gmm_cluster_gather()`: the rows
#'   of all shards in shard order (a matrix, or for predictions what
#'   [predict.gmm()] returns). `gmm_cluster_apply()`: a list with `fun`'s
#'   value for each shard, in shard order.
#' @seealso [gmm()], [gmm_sources] for files and chunk functions,
#'   [gmm_shard_stats()] for the statistics of one shard (elsewhere: Spark).
#' @examples
#' \donttest{
#' cl <- parallel::makePSOCKcluster(2)
#' x <- as.matrix(faithful)
#' data <- gmm_cluster(cl, x)            # two contiguous shards, one per worker
#' data
#' fit <- gmm(data, 2, seed = 1, threads = 1)
#' fit_mem <- gmm(x, 2, seed = 1, threads = 1)
#' all.equal(fit$parameters, fit_mem$parameters)
#' # shards made on the workers themselves
#' sim <- gmm_cluster(cl, list(function() matrix(rnorm(2000), ncol = 2),
#'                             function() matrix(rnorm(2000, 5), ncol = 2)))
#' gmm(sim, 2, seed = 1, threads = 1)$parameters$means
#' pred <- predict(fit, data, threads = 1)   # left on the workers
#' gmm_cluster_apply(pred, function(p, i) table(p))
#' head(gmm_cluster_gather(pred))
#' gmm_cluster_release(pred)
#' gmm_cluster_release(sim)
#' gmm_cluster_release(data)
#' parallel::stopCluster(cl)
#' }
#' @export
gmm_cluster <- function(cl, shards, weights = NULL, workers = NULL, ncol = NULL,
                        type = c("double", "float")) {
  if (!inherits(cl, "cluster") || length(cl) < 1L)
    stop("`cl` must be a cluster from parallel::makeCluster() (or snow, parallelly)",
         call. = FALSE)
  type <- match_choice(type, c("double", "float"), "type")
  if (!is.null(ncol)) ncol <- check_count(ncol, "ncol")
  split_matrix <- !is.list(shards) || is.data.frame(shards)
  if (split_matrix) {
    x <- as_data_matrix(shards, "shards")
    idx <- parallel::splitIndices(nrow(x), length(cl))
    if (!is.null(weights)) {
      weights <- check_weights(weights, nrow(x))
      weights <- lapply(idx, function(i) weights[i])
    }
    specs <- lapply(seq_along(idx), function(s)
      list(index = s, kind = "matrix", data = x[idx[[s]], , drop = FALSE],
           weights = weights[[s]]))
    weights <- NULL
  } else {
    if (length(shards) < 1L) stop("`shards` is an empty list", call. = FALSE)
    specs <- lapply(seq_along(shards), function(s) cl_spec(shards[[s]], s, ncol, type))
    if (is.list(weights)) {
      if (length(weights) != length(shards))
        stop(sprintf("`weights` as a list must have one element per shard (%d)", length(shards)),
             call. = FALSE)
      for (s in seq_along(specs)) specs[[s]]$weights <- weights[[s]]
      weights <- NULL
    } else if (!is.null(weights) && !is.numeric(weights)) {
      stop("`weights` must be NULL, a numeric vector or a list with one vector per shard",
           call. = FALSE)
    }
  }
  nshard <- length(specs)
  if (is.null(workers)) {
    workers <- (seq_len(nshard) - 1L) %% length(cl) + 1L
  } else {
    if (!is.numeric(workers) || length(workers) != nshard || anyNA(workers) ||
        any(workers != round(workers)) || any(workers < 1) || any(workers > length(cl)))
      stop(sprintf("`workers` must give a worker (1 to %d) for each of the %d shards",
                   length(cl), nshard), call. = FALSE)
    workers <- as.integer(workers)
  }
  used <- sort(unique(workers))
  cl_flush_releases(cl)
  info <- cl_check_workers(cl, used)

  id <- cl_new_id()
  state <- new.env(parent = emptyenv())
  state$cl <- cl
  state$id <- id
  state$used <- used
  state$released <- FALSE
  state$lost <- NULL
  state$traffic <- c(passes = 0, sent = 0, received = 0, seconds = 0)
  obj <- structure(list(cl = cl, id = id, layout = data.frame(shard = seq_len(nshard),
                                                             worker = workers),
                        state = state), class = c("gmm_cluster", "gmm_source"))
  done <- FALSE
  on.exit(if (!done) cl_release_quietly(obj))

  # Load: every worker loads its shards (in shard order) and reports their shapes.
  args <- lapply(used, function(w) list(id = id, specs = specs[workers == w]))
  loaded <- cl_shard_values_from(obj, used, cl_exchange(cl, used, "load", args), "while loading")
  rows <- vapply(loaded, function(r) r$nrow, numeric(1))
  cols <- vapply(loaded, function(r) r$ncol, numeric(1))
  d <- if (is.null(ncol)) cols[1L] else ncol
  bad <- which(cols != d)
  if (length(bad))
    stop(sprintf("shard %d (worker %d) has %d column%s but %s %d", bad[1L], workers[bad[1L]],
                 cols[bad[1L]], if (cols[bad[1L]] == 1) "" else "s",
                 if (is.null(ncol)) "shard 1 has" else "`ncol` is", d), call. = FALSE)
  n <- sum(rows)
  if (n < 1) stop("the shards have no rows", call. = FALSE)
  offsets <- cumsum(c(0, rows))[seq_len(nshard)]
  shard_w <- vector("list", nshard)
  if (!is.null(weights)) {
    if (length(weights) != n)
      stop(sprintf("`weights` must have one value per row of all shards (%.0f), not %d", n,
                   length(weights)), call. = FALSE)
    if (any(vapply(loaded, function(r) isTRUE(r$weighted), logical(1))))
      stop("weights are given both by `weights` and by a shard", call. = FALSE)
    shard_w <- lapply(seq_len(nshard), function(s) weights[offsets[s] + seq_len(rows[s])])
  }
  # Finish: global row offsets, weights, and one pass for the column sums (checks every value).
  args <- lapply(used, function(w) {
    mine <- which(workers == w)
    list(id = id, shards = mine,
         per_shard = lapply(mine, function(s) list(offset = offsets[s], weights = shard_w[[s]])))
  })
  sums <- cl_shard_values_from(obj, used, cl_exchange(cl, used, "finish", args), "while checking")
  wsum <- sum(vapply(sums, function(r) r$wsum, numeric(1)))
  if (!(wsum > 0)) stop("the weights of the shards are all zero", call. = FALSE)
  tot <- Reduce(`+`, lapply(sums, function(r) r$sums))
  nm <- lapply(loaded, function(r) r$names)
  names <- if (!is.null(nm[[1L]]) && all(vapply(nm, identical, logical(1), nm[[1L]]))) nm[[1L]]
  obj$layout$rows <- rows
  obj$layout$offset <- offsets
  obj$layout$positive <- vapply(sums, function(r) r$npos, numeric(1))
  obj$layout$weighted <- vapply(sums, function(r) isTRUE(r$weighted), logical(1))
  obj$workers <- info
  obj$nrow <- n
  obj$ncol <- as.integer(d)
  obj$names <- names
  obj$weighted <- any(obj$layout$weighted)
  obj$origin <- tot / wsum
  obj$nobs <- sum(obj$layout$positive)
  obj$wsum <- wsum
  reg.finalizer(state, cl_finalize)
  done <- TRUE
  obj
}

#' @rdname gmm_cluster
#' @export
gmm_cluster_release <- function(x) {
  if (!inherits(x, c("gmm_cluster", "gmm_cluster_predictions")))
    stop("`x` must be a gmm_cluster() object or cluster predictions", call. = FALSE)
  if (!x$state$released) {
    cl_flush_releases(x$cl)
    cl_release_quietly(x)
  }
  invisible(x)
}

#' @rdname gmm_cluster
#' @export
gmm_cluster_gather <- function(x) {
  cl_check_usable(x)
  vals <- cl_shard_values(x, "gather", list(), "while gathering")
  if (inherits(x, "gmm_cluster_predictions")) return(cl_combine_predictions(vals, x$type, x$k))
  out <- do.call(rbind, vals)
  colnames(out) <- x$names
  out
}

#' @rdname gmm_cluster
#' @export
gmm_cluster_apply <- function(x, fun, ...) {
  cl_check_usable(x)
  if (!is.function(fun)) stop("`fun` must be a function", call. = FALSE)
  cl_shard_values(x, "apply", list(fun = fun, dots = list(...)), "in `fun`")
}

#' @export
print.gmm_cluster <- function(x, ...) {
  nsh <- nrow(x$layout)
  cat(sprintf("fastgmm data source: %d shard%s on %d worker%s of a cluster%s\n", nsh,
              if (nsh == 1L) "" else "s", length(unique(x$layout$worker)),
              if (length(unique(x$layout$worker)) == 1L) "" else "s",
              if (x$state$released) " (released)" else if (!is.null(x$state$lost)) " (lost)" else ""))
  cat(sprintf("  %.0f rows, %d column%s%s\n", x$nrow, x$ncol, if (x$ncol == 1L) "" else "s",
              if (isTRUE(x$weighted)) ", weighted" else ""))
  tr <- x$state$traffic
  if (tr[["passes"]] > 0)
    cat(sprintf("  %.0f EM round trips so far: %.1f kB sent, %.1f kB received, %.2f ms each\n",
                tr[["passes"]], tr[["sent"]] / tr[["passes"]] / 1e3,
                tr[["received"]] / tr[["passes"]] / 1e3, 1e3 * tr[["seconds"]] / tr[["passes"]]))
  invisible(x)
}

#' @export
print.gmm_cluster_predictions <- function(x, ...) {
  cat(sprintf("fastgmm predictions (%s) of %.0f rows, left on %d worker%s of a cluster%s\n",
              x$type, x$nrow, length(unique(x$layout$worker)),
              if (length(unique(x$layout$worker)) == 1L) "" else "s",
              if (x$state$released) " (released)" else ""))
  cat("  gmm_cluster_gather() brings them here; gmm_cluster_release() frees them\n")
  invisible(x)
}

#' Anchored sufficient statistics of one shard, and the M-step from their sum
#'
#' The map and reduce steps of a fit on several machines, as the workers of
#' [gmm_cluster()] run them, for use elsewhere (for example inside
#' `sparklyr::spark_apply()`; see the vignette "Big data: files and
#' clusters"). `gmm_shard_stats()` computes, for each component j with
#' anchor \eqn{a_j} (near its mean), \eqn{s0_j = \sum_i r_{ij}},
#' \eqn{s1_j = \sum_i r_{ij} (x_i - a_j)} and the second moments \eqn{s2_j =
#' \sum_i r_{ij} (x_i - a_j)(x_i - a_j)'} (packed upper triangle, diagonal or
#' trace, as the covariance model needs) and the log-likelihood, where
#' \eqn{r_{ij}} are the weighted posterior probabilities under `parameters`.
#' The anchors are returned in data coordinates, so the statistics of shards
#' computed anywhere add up: `gmm_mstep()` sums a list of them (in list
#' order) and makes the M-step.
#'
#' @param x A numeric matrix (rows are observations) or data frame, or a
#'   [gmm_file()].
#' @param parameters `list(proportions, means (k x d), covariances (d x d x
#'   k))`, e.g. `fit$parameters`.
#' @param covariance The covariance model, as in [gmm()].
#' @param weights Optional observation weights, one per row.
#' @param origin The point the computation is made about (default: the
#'   column means of `x`). Pass the same (e.g. the mean of all the data) to
#'   every shard to reproduce the in-memory fit's arithmetic.
#' @param threads Number of threads.
#' @param stats A list of the values of `gmm_shard_stats()` for the same
#'   parameters.
#' @param reg_covar Added to the diagonal of every covariance as it is (as
#'   `gmm_control(reg_covar_type = "absolute")` reads it in [gmm()]): one number,
#'   not scaled by the columns' variances.
#' @return `gmm_shard_stats()`: a list with `kind`, `anchor` (d x k), `s0`,
#'   `s1` (d x k), `s2`, `loglik`. `gmm_mstep()`: the new parameters
#'   (`proportions`, `means`, `covariances`) and `loglik`, the log-likelihood
#'   of the parameters the statistics were computed under.
#' @examples
#' x <- as.matrix(faithful)
#' p <- gmm(x, 2, seed = 1, threads = 1, max_iter = 2)$parameters
#' parts <- list(x[1:100, ], x[101:272, ])
#' st <- lapply(parts, gmm_shard_stats, parameters = p, covariance = "full", threads = 1)
#' gmm_mstep(st, "full")$loglik
#' @export
gmm_shard_stats <- function(x, parameters, covariance = "full", weights = NULL, origin = NULL,
                            threads = 1) {
  covariance <- check_covariance(covariance)
  if (!inherits(x, "gmm_file")) x <- as_data_matrix(x)
  dims <- cpp_source_dims(x)
  weights <- check_weights(weights, dims[1L])
  if (!is.list(parameters) || is.null(parameters$proportions))
    stop("`parameters` must be a list(proportions, means, covariances)", call. = FALSE)
  p <- check_start_params(parameters[c("means", "covariances", "proportions")],
                          length(parameters$proportions), as.integer(dims[2L]), covariance)
  if (is.null(origin)) origin <- cpp_shard_sums(x, weights, 1L)$sums / max(1, dims[1L])
  if (!is.numeric(origin) || length(origin) != dims[2L] || any(!is.finite(origin)))
    stop(sprintf("`origin` must be %d finite numbers", dims[2L]), call. = FALSE)
  threads <- check_threads(threads)
  res <- cpp_shard_pass(x, weights, p, model_name(covariance, dims[2L]), as.double(origin),
                        threads, 0L, FALSE)
  res[c("kind", "anchor", "s0", "s1", "s2", "loglik")]
}

#' @rdname gmm_shard_stats
#' @export
gmm_mstep <- function(stats, covariance = "full", reg_covar = 1e-6) {
  covariance <- check_covariance(covariance)
  reg_covar <- check_number(reg_covar, "reg_covar")
  if (!is.list(stats) || length(stats) < 1L || !is.list(stats[[1L]]) || is.null(stats[[1L]]$anchor))
    stop("`stats` must be a list of values of gmm_shard_stats()", call. = FALSE)
  d <- nrow(stats[[1L]]$anchor)
  cpp_mstep_stats(stats, model_name(covariance, d), rep(reg_covar, d))
}

# --- main side: fits, predictions --------------------------------------------------------

# as_source() for a cluster source.
cluster_as_source <- function(x) {
  cl_check_usable(x)
  list(data = x, n = x$nrow, d = x$ncol, names = x$names, in_memory = FALSE, source = x,
       cluster = TRUE)
}

# `threads` of each worker: NULL (the worker's default) or a whole number.
cluster_threads <- function(threads) {
  if (is.null(threads)) return(NULL)
  check_count(threads, "threads")
}

cluster_backend <- function(backend) {
  backend <- match_choice(backend, backend_names, "backend")
  if (backend %in% c("cuda", "r"))
    stop(sprintf("`backend = \"%s\"` does not run on cluster sources; the workers use the CPU",
                 backend), call. = FALSE)
  "cpu"
}

# The fit of gmm() on a cluster source: the C++ restart loop and EM driver, with passes
# that are round trips (see cluster_ops()), then one scoring round trip for the ICL.
cluster_fit <- function(x, weights, k, covariance, model, start, n_init, max_iter, tol, reg,
                        threads, seed, precision, variant, verbose, progress,
                        control = gmm_control(), method = "em") {
  if (!is.null(weights))
    stop("a cluster source carries its own weights: give them to gmm_cluster(), not gmm()",
         call. = FALSE)
  ops <- cluster_ops(x, model, threads, match(variant, variant_names) - 1L,
                     precision == "single", start$labels)
  res <- cpp_fit_cluster(ops, x$nrow, x$ncol, x$origin, isTRUE(x$weighted), k, model,
                         start$code, start$params, n_init, max_iter, tol, reg, seed, verbose,
                         control_for_cpp(control, method), progress)
  t0 <- proc.time()[["elapsed"]]
  sc <- cl_score(x, res$parameters, model, threads, what = 0L)
  res$entropy <- sc$entropy
  res$score_loglik <- sc$loglik
  res$score_seconds <- proc.time()[["elapsed"]] - t0
  res$nobs <- x$nobs
  res$variant <- variant
  if (isTRUE(x$weighted)) {
    # weights are relative (see ?gmm): as if rescaled to sum to the rows with positive weight
    f <- x$nobs / x$wsum
    res$loglik <- res$loglik * f
    res$loglik_trace <- res$loglik_trace * f
    res$entropy <- res$entropy * f
  }
  res
}

# Rows idx (1-based, global, increasing) of a cluster source: list(x, w).
cl_gather_rows <- function(x, idx) {
  lay <- x$layout
  i0 <- idx - 1
  s <- findInterval(i0, lay$offset)
  per <- lapply(seq_len(nrow(lay)), function(i) i0[s == i] - lay$offset[i])
  vals <- cl_shard_values(x, "rows", list(), "while gathering rows", per_shard = per,
                          shards = sort(unique(s)))
  list(x = do.call(rbind, lapply(vals, function(v) v$x)),
       w = unlist(lapply(vals, function(v) v$w), use.names = FALSE))
}

# The R functions cpp_fit_cluster() calls for its passes (row indices 0-based, global).
cluster_ops <- function(x, model, threads, variant, single, labels) {
  lay <- x$layout
  list(
    pass = function(params) cl_pass(x, params, model, threads, variant, single),
    pass_units = function(params, unit_size, per_shard)
      cl_pass(x, params, model, threads, variant, single, unit_size, per_shard),
    shard_offsets = as.double(lay$offset), shard_rows = as.double(lay$rows),
    assign = function(kind, centres, seed, k, anchors, scatter) {
      per <- if (kind == 1L) lapply(seq_len(nrow(lay)), function(s)
        labels[lay$offset[s] + seq_len(lay$rows[s])])
      vals <- cl_shard_values(x, "assign",
                              list(kind = kind, centres = centres, seed = seed, k = k,
                                   anchors = anchors, scatter = scatter, origin = x$origin,
                                   threads = threads), "in a pass of the start", per_shard = per)
      list(stats = lapply(vals, function(v) v$stats),
           value = sum(vapply(vals, function(v) v$value, numeric(1))))
    },
    weights = function(idx) cl_weights(x, idx),
    positive_count = function() sum(lay$positive),
    positive_rows = function(ranks) {
      s <- findInterval(ranks, cumsum(c(0, lay$positive))[seq_len(nrow(lay))])
      local <- ranks - cumsum(c(0, lay$positive))[s]
      out <- numeric(length(ranks))
      per <- lapply(seq_len(nrow(lay)), function(i) local[s == i])
      vals <- cl_shard_values(x, "positive", list(), "while sampling rows", per_shard = per,
                              shards = sort(unique(s)))
      for (i in names(vals)) out[s == as.integer(i)] <- lay$offset[as.integer(i)] + vals[[i]]
      out
    },
    rows = function(idx) {
      s <- findInterval(idx, lay$offset)
      per <- lapply(seq_len(nrow(lay)), function(i) idx[s == i] - lay$offset[i])
      vals <- cl_shard_values(x, "rows", list(), "while gathering rows", per_shard = per,
                              shards = sort(unique(s)))
      list(x = do.call(rbind, lapply(vals, function(v) v$x)),
           w = unlist(lapply(vals, function(v) v$w), use.names = FALSE))
    })
}

# One EM pass: list(stats = per shard, fallback, offset); counts the traffic. With
# unit_size and per_shard (one element per shard: NULL, or list(phase, units), see
# ClusterEngine in src/rcpp_cluster.cpp), a stepwise pass over some units: only the
# shards with units, each returning the statistics of its units.
cl_pass <- function(x, params, model, threads, variant, single, unit_size = NULL,
                    per_shard = NULL) {
  t0 <- proc.time()[["elapsed"]]
  common <- list(params = params[c("proportions", "means", "covariances")], model = model,
                 origin = x$origin, threads = threads, variant = variant, single = single)
  if (is.null(per_shard)) {
    op <- "pass"
    used <- x$state$used
    args <- lapply(used, function(w) c(list(id = x$id), common))
    what <- "during an EM pass"
  } else {
    op <- "pass_units"
    lay <- x$layout
    shards <- which(!vapply(per_shard, is.null, logical(1)))
    used <- sort(unique(lay$worker[shards]))
    args <- lapply(used, function(w) {
      mine <- shards[lay$worker[shards] == w]
      c(list(id = x$id, shards = mine, per_shard = per_shard[mine], unit_size = unit_size),
        common)
    })
    what <- "during a stepwise EM pass"
  }
  answers <- cl_exchange(x$cl, used, op, args)
  vals <- cl_shard_values_from(x, used, answers, what)
  tr <- x$state$traffic
  x$state$traffic <- tr + c(1, attr(answers, "bytes"), proc.time()[["elapsed"]] - t0)
  list(stats = lapply(vals, function(v) v[c("kind", "anchor", "s0", "s1", "s2", "loglik")]),
       fallback = any(vapply(vals, function(v) isTRUE(v$fallback), logical(1))),
       offset = max(vapply(vals, function(v) v$offset, numeric(1))))
}

# Weights of global rows idx (0-based): ones for shards without weights, asked otherwise.
cl_weights <- function(x, idx) {
  lay <- x$layout
  s <- findInterval(idx, lay$offset)
  out <- rep(1, length(idx))
  ask <- sort(unique(s[s %in% which(lay$weighted)]))
  if (length(ask)) {
    per <- lapply(seq_len(nrow(lay)), function(i) idx[s == i] - lay$offset[i])
    vals <- cl_shard_values(x, "weights", list(), "while sampling rows", per_shard = per,
                            shards = ask)
    for (i in names(vals)) out[s == as.integer(i)] <- vals[[i]]
  }
  out
}

# Sums of a scoring pass (loglik, entropy), with the shards' weights.
cl_score <- function(x, params, model, threads, what) {
  vals <- cl_shard_values(x, "score", list(params = params[c("proportions", "means", "covariances")],
                                           model = model, what = what, threads = threads,
                                           weighted = TRUE), "while scoring")
  list(loglik = sum(vapply(vals, function(v) v$loglik, numeric(1))),
       entropy = sum(vapply(vals, function(v) v$entropy, numeric(1))))
}

# The variant for "auto": timed by the worker of the first shard with enough rows.
# The worker follows this session's cache policy (variant_cache_dir()): it keeps
# the winner in its persistent cache only when this session would.
cl_choose_variant <- function(x, k, covariance, precision) {
  big <- which(x$layout$rows >= variant_timing_rows)
  if (!length(big)) return(default_variant(x$ncol, k, covariance))
  vals <- cl_shard_values(x, "variant", list(k = k, covariance = covariance, precision = precision,
                                             cache = !is.null(variant_cache_dir()),
                                             cache_dir = getOption("fastgmm.cache_dir")),
                          "while timing the kernel variants", shards = big[1L])
  vals[[1L]]
}

# predict() on a cluster source.
cluster_predict <- function(object, x, type, threads, file, ...) {
  dots <- list(...)
  gather <- if (is.null(dots$gather)) FALSE else check_flag(dots$gather, "gather")
  threads <- cluster_threads(threads)
  what <- switch(type, class = 8L, posterior = 2L, density = 4L, logdensity = 4L)
  model <- model_name(object$covariance, object$d)
  params <- object$parameters[c("proportions", "means", "covariances")]
  params <- lapply(params, unname)
  nsh <- nrow(x$layout)
  args <- list(params = params, model = model, what = what, threads = threads, type = type,
               weighted = FALSE)
  if (!is.null(file)) {
    if (!is.character(file) || length(file) != nsh || anyNA(file) || any(!nzchar(file)))
      stop(sprintf("`file` for a cluster source must give one file name per shard (%d), each written by its worker",
                   nsh), call. = FALSE)
    if (type == "density")
      stop("`file` is written for type = \"logdensity\", \"posterior\" or \"class\"", call. = FALSE)
    cl_shard_values(x, "score", c(args, list(keep = "file")), "while predicting",
                    per_shard = as.list(path.expand(file)))
    return(invisible(file))
  }
  if (gather) {
    vals <- cl_shard_values(x, "score", c(args, list(keep = "return")), "while predicting")
    return(cl_combine_predictions(lapply(vals, function(v) v$rows), type, object$k))
  }
  id <- cl_new_id()
  state <- new.env(parent = emptyenv())
  state$cl <- x$cl
  state$id <- id
  state$used <- x$state$used
  state$released <- FALSE
  state$lost <- NULL
  pred <- structure(list(cl = x$cl, id = id, layout = x$layout[c("shard", "worker", "rows", "offset")],
                         type = type, k = object$k, nrow = x$nrow, state = state),
                    class = "gmm_cluster_predictions")
  done <- FALSE
  on.exit(if (!done) cl_release_quietly(pred))
  cl_shard_values(x, "score", c(args, list(keep = "store", new_id = id)), "while predicting")
  reg.finalizer(state, cl_finalize)
  done <- TRUE
  pred
}

cl_combine_predictions <- function(vals, type, k) {
  switch(type,
         class = as.integer(unlist(vals, use.names = FALSE)),
         posterior = {
           post <- do.call(rbind, vals)
           dimnames(post) <- list(NULL, paste0("C", seq_len(k)))
           post
         },
         unlist(vals, use.names = FALSE))
}

# --- main side: round trips ---------------------------------------------------------------

# Runs `op` on the workers holding `shards` (default all) of x and returns the value for
# each shard, as a list in shard order named by shard number. common: arguments for every
# worker; per_shard: optional list (one element per shard of x) of shard-specific values.
# Errors name the worker and the shard.
cl_shard_values <- function(x, op, common, what, per_shard = NULL, shards = NULL) {
  cl_check_usable(x)
  lay <- x$layout
  if (is.null(shards)) shards <- lay$shard
  used <- sort(unique(lay$worker[shards]))
  args <- lapply(used, function(w) {
    mine <- shards[lay$worker[shards] == w]
    a <- c(list(id = x$id, shards = mine), common)
    if (!is.null(per_shard)) a$per_shard <- per_shard[mine]
    a
  })
  answers <- cl_exchange(x$cl, used, op, args)
  cl_shard_values_from(x, used, answers, what)
}

# The per-shard values from the answers of workers `used`, in shard order; stops (naming
# the worker and shard) at the first failure, after marking dead workers' shards lost.
cl_shard_values_from <- function(x, used, answers, what) {
  lay <- x$layout
  out <- list()
  fail <- NULL
  for (i in seq_along(used)) {
    a <- answers[[i]]
    if (isTRUE(a$ok)) {
      out[as.character(a$shards)] <- a$values
    } else if (is.null(fail)) {
      fail <- c(a, list(worker = used[i]))
    }
    if (isTRUE(a$dead)) {
      x$state$dead <- union(x$state$dead, used[i])
      if (is.null(x$state$lost)) x$state$lost <- sprintf("worker %d stopped responding", used[i])
    }
  }
  if (!is.null(fail)) cl_fail(x, fail, what)
  out[order(as.integer(names(out)))]
}

cl_fail <- function(x, fail, what) {
  lay <- x$layout
  w <- fail$worker
  mine <- lay$shard[lay$worker == w]
  if (isTRUE(fail$dead)) {
    stop(sprintf(paste0("worker %d (holding shard%s %s) stopped responding %s: %s. ",
                        "Its shards are lost; release this object and make a new gmm_cluster() ",
                        "with the workers that remain (e.g. cl[-%d])"),
                 w, if (length(mine) == 1L) "" else "s", paste(mine, collapse = ", "), what,
                 fail$message, w), call. = FALSE)
  }
  where <- if (!is.null(fail$shard) && !is.na(fail$shard)) sprintf("worker %d, shard %d", w, fail$shard)
           else sprintf("worker %d (shard%s %s)", w, if (length(mine) == 1L) "" else "s",
                        paste(mine, collapse = ", "))
  stop(sprintf("%s, %s: %s", where, what, fail$message), call. = FALSE)
}

cl_check_usable <- function(x) {
  if (x$state$released)
    stop("this gmm_cluster() object has been released; make a new one", call. = FALSE)
  if (!is.null(x$state$lost))
    stop(sprintf("this gmm_cluster() object lost its shards (%s); release it and make a new one",
                 x$state$lost), call. = FALSE)
  invisible(TRUE)
}

# The worker-side entry point of every message: a small closure, so that each message
# carries only a reference to the package's namespace (the workers run their own copy,
# of the version checked by gmm_cluster()).
cl_stub <- function(op, args) cl_worker(op, args)

# sendCall()/recvResult() of the package that made the node: parallel's for its socket
# nodes, snow's for snow's MPI nodes. (Not exported by either; the same ones that
# clusterCall() uses. Looked up at run time, as the future package does.)
cl_comm <- function(name, node) {
  pkg <- if (inherits(node, c("MPInode", "spawnedMPInode")) && isNamespaceLoaded("snow")) "snow"
         else "parallel"
  utils::getFromNamespace(name, pkg)
}

# Sends one call to a node. To a socket node, small messages are serialized first and
# written at once, the bytes parallel's sendCall() would write: written piece by piece, they
# meet Nagle's algorithm and the receiver's delayed acknowledgement, which cost 40 ms or more
# per message on Linux unless the master set options(socketOptions = "no-delay") before
# making the cluster. Large messages (the shards of gmm_cluster(cl, x)) are streamed.
cl_send <- function(node, fun, args, stream = FALSE) {
  if (!stream && inherits(node, c("SOCKnode", "SOCK0node"))) {
    msg <- list(type = "EXEC", data = list(fun = fun, args = args, return = TRUE, tag = NULL),
                tag = NULL)
    bytes <- serialize(msg, NULL, xdr = !inherits(node, "SOCK0node"))
    writeBin(bytes, node$con)
    return(length(bytes))
  }
  cl_comm("sendCall", node)(node, fun, args)
  NA_real_
}

cl_failure <- function(dead, message)
  list(ok = FALSE, dead = dead, message = message, shard = NA)

# Sends op to each of `workers` (args[[i]] to workers[i]) and reads every answer, even
# after one failed, so that no answer stays in a connection; an interrupt also waits for
# the answers under way. A worker that cannot be written to or read from is `dead`.
# Attribute "bytes": the bytes sent and the bytes of the serialized answers received (NA
# when not known).
cl_exchange <- function(cl, workers, op, args, fun = cl_stub) {
  n <- length(workers)
  out <- vector("list", n)
  pending <- integer()
  sent <- received <- 0
  on.exit(for (i in pending) try(cl_comm("recvResult", cl[[workers[i]]])(cl[[workers[i]]]),
                                  silent = TRUE))
  for (i in seq_len(n)) {
    node <- cl[[workers[i]]]
    err <- tryCatch(suppressWarnings(cl_send(node, fun, list(op, args[[i]]), stream = op == "load")),
                    error = function(e) e)
    if (is.numeric(err)) {
      pending <- c(pending, i)
      sent <- sent + err
    } else {
      out[[i]] <- cl_failure(TRUE, conditionMessage(err))
    }
  }
  while (length(pending)) {
    i <- pending[1L]
    node <- cl[[workers[i]]]
    r <- tryCatch(suppressWarnings(cl_comm("recvResult", node)(node)),
                  error = function(e) cl_failure(TRUE, paste0(conditionMessage(e),
                                                              " (the worker process may have died)")))
    pending <- pending[-1L]
    if (inherits(r, "try-error")) r <- cl_failure(FALSE, trimws(as.character(r)))
    if (is.raw(r)) {
      received <- received + length(r)
      r <- unserialize(r)
    } else {
      received <- NA
    }
    out[[i]] <- r
  }
  attr(out, "bytes") <- c(sent = sent, received = received)
  out
}

# Checks that each worker `used` loads fastgmm of this version; returns their host and pid.
cl_check_workers <- function(cl, used) {
  hello <- function(op, lib) {
    ok <- suppressWarnings(requireNamespace("fastgmm", quietly = TRUE)) ||
      suppressWarnings(requireNamespace("fastgmm", lib.loc = lib, quietly = TRUE))
    if (!ok) return(list(loaded = FALSE, libs = .libPaths()))
    ns <- asNamespace("fastgmm")
    nodelay <- get0("cl_w_nodelay", envir = ns, inherits = FALSE)
    list(loaded = TRUE, version = getNamespaceVersion("fastgmm")[[1L]],
         protocol = get0("cluster_protocol", envir = ns, inherits = FALSE),
         host = Sys.info()[["nodename"]], pid = Sys.getpid(),
         ports = if (is.function(nodelay)) tryCatch(nodelay(), error = function(e) NULL))
  }
  environment(hello) <- globalenv()  # the worker may not have fastgmm at all
  lib <- dirname(getNamespaceInfo("fastgmm", "path"))
  answers <- cl_exchange(cl, used, "hello", rep(list(lib), length(used)), fun = hello)
  me <- getNamespaceVersion("fastgmm")[[1L]]
  info <- data.frame(worker = used, host = NA_character_, pid = NA_integer_,
                     stringsAsFactors = FALSE)
  for (i in seq_along(used)) {
    a <- answers[[i]]
    problem <- cl_worker_problem(a, used[i], me)
    if (!is.null(problem)) stop(problem, call. = FALSE)
    info$host[i] <- a$host
    info$pid[i] <- as.integer(a$pid)
    # The same on this side of the connection (see cl_w_nodelay()).
    if (length(a$ports) == 2L && all(a$ports >= 0))
      try(cpp_tcp_nodelay(a$ports[[1L]], a$ports[[2L]]), silent = TRUE)
  }
  info
}

# On a PSOCK worker: turns off Nagle's algorithm on its connection to the main process
# (the one to the port given as PORT= on its command line; parallelly's workers do this
# themselves), so that answers longer than 4 kB do not wait 40 ms for a delayed
# acknowledgement. Returns c(the main process's port, this side's port), or NULL.
cl_w_nodelay <- function() {
  a <- grep("^PORT=[0-9]+$", commandArgs(TRUE), value = TRUE)
  if (length(a) != 1L) return(NULL)
  port <- as.integer(sub("^PORT=", "", a))
  r <- cpp_tcp_nodelay(-1L, port)
  if (r[1L] < 1L) return(NULL)
  c(port, r[2L])
}

# What is wrong with worker w's answer to the version check (NULL when nothing).
cl_worker_problem <- function(a, w, me, protocol = cluster_protocol) {
  if (!is.null(a$ok) && !isTRUE(a$ok))
    return(sprintf("worker %d did not answer: %s (is its process running?)", w, a$message))
  if (!isTRUE(a$loaded))
    return(sprintf(paste0("worker %d cannot load fastgmm (its library paths: %s); install ",
                          "fastgmm %s there"), w, paste(a$libs, collapse = ", "), me))
  if (!identical(a$version, me) || !identical(a$protocol, protocol))
    return(sprintf(paste0("worker %d has fastgmm %s (cluster protocol %s), this session %s ",
                          "(protocol %s): install the same version on every worker"), w,
                   a$version, if (is.null(a$protocol)) "none" else format(a$protocol), me,
                   format(protocol)))
  NULL
}

# Version of the messages between the main process and the workers (2: stepwise passes).
cluster_protocol <- 2L

cl_main <- new.env(parent = emptyenv())   # main side: id counter, pending releases
cl_main$count <- 0
cl_main$pending <- list()

cl_new_id <- function() {
  cl_main$count <- cl_main$count + 1
  sprintf("%s-%d-%.0f", Sys.info()[["nodename"]], Sys.getpid(), cl_main$count)
}

# Finalizer of an object's state: queues its release for the next operation on its cluster
# (it must not talk to the workers: a collection may happen in the middle of an exchange).
cl_finalize <- function(state) {
  if (isTRUE(state$released) || !is.null(state$lost)) return(invisible())
  cl_main$pending[[length(cl_main$pending) + 1L]] <- list(cl = state$cl, id = state$id,
                                                          used = state$used)
  invisible()
}

cl_flush_releases <- function(cl) {
  if (!length(cl_main$pending)) return(invisible())
  mine <- vapply(cl_main$pending, function(p) identical(p$cl, cl), logical(1))
  todo <- cl_main$pending[mine]
  cl_main$pending <- cl_main$pending[!mine]
  for (p in todo)
    try(cl_exchange(cl, p$used, "release", rep(list(list(ids = p$id)), length(p$used))),
        silent = TRUE)
  invisible()
}

# Releases an object's shards (or predictions) on its workers, ignoring dead workers.
cl_release_quietly <- function(x) {
  st <- x$state
  if (st$released) return(invisible())
  st$released <- TRUE
  alive <- setdiff(st$used, st$dead)
  if (length(alive))
    try(cl_exchange(x$cl, alive, "release", rep(list(list(ids = x$id)), length(alive))),
        silent = TRUE)
  invisible()
}

# A shard of gmm_cluster()'s list as what the worker loads.
cl_spec <- function(s, i, ncol, type) {
  if (is.function(s)) return(list(index = i, kind = "function", data = s))
  if (inherits(s, "gmm_file"))
    return(list(index = i, kind = "file", data = s$path, ncol = s$ncol, type = s$type))
  if (is.character(s) && length(s) == 1L && !is.na(s) && nzchar(s)) {
    if (is.null(ncol))
      stop(sprintf("shard %d is a file name: give its number of columns with `ncol`", i),
           call. = FALSE)
    return(list(index = i, kind = "file", data = path.expand(s), ncol = ncol, type = type))
  }
  if (is.matrix(s) || is.data.frame(s) || (is.numeric(s) && is.null(dim(s))))
    return(list(index = i, kind = "matrix", data = cl_shard_matrix(s, sprintf("shard %d", i))))
  stop(sprintf("shard %d must be a function, a file name, a gmm_file(), a matrix or a data frame",
               i), call. = FALSE)
}

# A shard's rows as a double matrix (zero rows allowed), checked.
cl_shard_matrix <- function(x, what) {
  if (is.data.frame(x)) {
    ok <- vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))
    if (!all(ok))
      stop(sprintf("%s has non-numeric column(s): %s", what, paste(names(x)[!ok], collapse = ", ")),
           call. = FALSE)
    x <- as.matrix(x)
  } else if (is.vector(x) && !is.list(x) && (is.numeric(x) || is.logical(x))) {
    x <- matrix(x, ncol = 1L)
  }
  if (!is.matrix(x) || !(is.numeric(x) || is.logical(x)))
    stop(sprintf("%s is not a numeric matrix, data frame or vector", what), call. = FALSE)
  if (storage.mode(x) != "double") storage.mode(x) <- "double"
  if (ncol(x) < 1L) stop(sprintf("%s has no columns", what), call. = FALSE)
  bad <- cpp_check_finite(x)
  if (bad == 1L) stop(sprintf("%s contains NA or NaN values", what), call. = FALSE)
  if (bad == 2L) stop(sprintf("%s contains infinite values", what), call. = FALSE)
  x
}

# --- worker side ----------------------------------------------------------------------------

cl_store <- new.env(parent = emptyenv())   # worker side: resident shards by object id

# Runs a message's operation; answers list(ok = TRUE, shards, values) or a failure naming
# the shard. Small answers go back serialized (one raw vector): the connection then
# writes them at once rather than element by element (see cl_send()).
cl_worker <- function(op, args) {
  res <- cl_worker_answer(op, args)
  if (op %in% c("load", "gather", "apply")) res else serialize(res, NULL)
}

cl_worker_answer <- function(op, args) {
  if (op == "release") {
    for (id in args$ids) if (exists(id, envir = cl_store, inherits = FALSE)) rm(list = id, envir = cl_store)
    return(list(ok = TRUE, shards = integer(), values = list()))
  }
  cl_fault(op)
  if (op == "load") return(cl_w_load(args))
  entry <- cl_store[[args$id]]
  if (is.null(entry))
    return(list(ok = FALSE, shard = NA, message = paste0(
      "it does not hold the shards of this object (released, or the worker was restarted)")))
  shards <- if (is.null(args$shards)) as.integer(names(entry$shards)) else args$shards
  keys <- as.character(shards)
  values <- vector("list", length(keys))
  for (i in seq_along(keys)) {
    sh <- entry$shards[[keys[i]]]
    if (is.null(sh))
      return(list(ok = FALSE, shard = shards[i], message = "the worker does not hold this shard"))
    extra <- if (is.null(args$per_shard)) NULL else args$per_shard[[i]]
    v <- tryCatch(list(value = cl_w_op(op, sh, args, extra)), error = function(e) e)
    if (inherits(v, "error"))
      return(list(ok = FALSE, shard = shards[i], message = conditionMessage(v)))
    values[i] <- list(v$value)
  }
  list(ok = TRUE, shards = shards, values = values)
}

# Test hook: getOption("fastgmm.cluster_fault") = list(op, at, action) on a worker makes its
# `at`-th message `op` fail ("error") or kill the worker's process ("die").
cl_fault <- function(op) {
  f <- getOption("fastgmm.cluster_fault")
  if (is.null(f) || !identical(f$op, op)) return(invisible())
  if (!identical(cl_store$.fault, f)) {  # counted from when the option was set
    assign(".fault", f, envir = cl_store)
    assign(".fault_count", 0, envir = cl_store)
  }
  n <- cl_store$.fault_count + 1
  assign(".fault_count", n, envir = cl_store)
  if (n != f$at) return(invisible())
  if (identical(f$action, "die")) tools::pskill(Sys.getpid(), tools::SIGKILL)
  stop("injected fault", call. = FALSE)
}

cl_w_threads <- function(threads) {
  cores <- cl_store$.cores   # detectCores() starts a shell on Linux: once per worker
  if (is.null(cores)) assign(".cores", cores <- max_threads(), envir = cl_store)
  if (is.null(threads)) threads <- getOption("fastgmm.threads", RcppParallel::defaultNumThreads())
  max(1L, min(as.integer(threads), cores))
}

cl_w_load <- function(args) {
  shards <- list()
  for (spec in args$specs) {
    sh <- tryCatch(cl_w_load_shard(spec), error = function(e) e)
    if (inherits(sh, "error"))
      return(list(ok = FALSE, shard = spec$index, message = conditionMessage(sh)))
    shards[[as.character(spec$index)]] <- sh
  }
  assign(args$id, list(shards = shards), envir = cl_store)
  list(ok = TRUE, shards = vapply(args$specs, function(s) s$index, numeric(1)),
       values = lapply(shards, function(sh) list(nrow = sh$n, ncol = sh$d, names = sh$names,
                                                 weighted = !is.null(sh$w))))
}

cl_w_load_shard <- function(spec) {
  x <- spec$data
  w <- spec$weights
  if (spec$kind == "function") {
    x <- if (length(formals(x))) x(spec$index) else x()
    if (is.list(x) && !is.data.frame(x) && !inherits(x, "gmm_file")) {
      if (!"x" %in% names(x)) stop("the function returned a list without an element `x`")
      w <- x$weights
      x <- x$x
    }
  } else if (spec$kind == "file") {
    x <- gmm_file(spec$data, spec$ncol, spec$type)
  }
  if (inherits(x, "gmm_file")) {
    x <- gmm_file(x$path, x$ncol, x$type)  # checked on this worker's disk
    n <- x$nrow
    d <- x$ncol
    names <- NULL
  } else {
    x <- cl_shard_matrix(x, if (spec$kind == "function") "the function's value" else "the shard")
    n <- nrow(x)
    d <- ncol(x)
    names <- colnames(x)
  }
  list(index = spec$index, x = x, w = w, n = n, d = d, names = names, offset = 0)
}

cl_w_op <- function(op, sh, args, extra) {
  threads <- cl_w_threads(args$threads)
  switch(op,
    finish = {
      entry <- cl_store[[args$id]]
      key <- as.character(sh$index)
      sh$offset <- extra$offset
      if (!is.null(extra$weights)) sh$w <- extra$weights
      if (!is.null(sh$w)) {
        w <- sh$w
        if (!is.numeric(w) || length(w) != sh$n)
          stop(sprintf("its weights must be %.0f numbers (one per row), not %d", sh$n, length(w)))
        if (anyNA(w) || any(!is.finite(w))) stop("its weights contain NA, NaN or infinite values")
        if (any(w < 0)) stop("its weights are not all non-negative")
        sh$w <- as.double(w)
      }
      s <- cpp_shard_sums(sh$x, sh$w, threads)
      entry$shards[[key]] <- sh
      assign(args$id, entry, envir = cl_store)
      list(sums = s$sums, wsum = s$wsum, npos = s$npos, weighted = !is.null(sh$w))
    },
    pass = cpp_shard_pass(sh$x, sh$w, args$params, args$model, args$origin, threads,
                          args$variant, args$single),
    pass_units = cpp_shard_pass_units(sh$x, sh$w, args$params, args$model, args$origin, threads,
                                      args$variant, args$single, args$unit_size, extra$phase,
                                      extra$units),
    assign = {
      r <- cpp_shard_assign(sh$x, sh$w, args$origin, args$kind, args$centres,
                            if (args$kind == 1L) as.integer(extra), args$seed, args$k, sh$offset,
                            args$anchors, args$scatter, threads)
      list(stats = r[c("kind", "anchor", "s0", "s1", "s2", "loglik")], value = r$value)
    },
    weights = sh$w[extra + 1],
    positive = if (is.null(sh$w)) extra else which(sh$w > 0)[extra + 1] - 1,
    rows = list(x = cpp_source_rows(sh$x, extra), w = if (is.null(sh$w)) rep(1, length(extra))
                                                      else sh$w[extra + 1]),
    score = cl_w_score(sh, args, extra, threads),
    variant = {
      old <- options(fastgmm.cache = args$cache, fastgmm.cache_dir = args$cache_dir)
      on.exit(options(old))
      choose_variant(list(n = sh$n, d = sh$d, data = sh$x), args$k, args$covariance,
                     args$precision)
    },
    gather = if (inherits(sh$x, "gmm_file")) cpp_source_rows(sh$x, seq_len(sh$n) - 1) else sh$x,
    apply = do.call(args$fun, c(list(sh$x, sh$index), args$dots)),
    stop("internal error: unknown operation ", op))
}

# Scoring a shard: sums (with its weights when asked), and per-row results returned,
# written to a file (extra: its path) or kept on the worker (under args$new_id).
cl_w_score <- function(sh, args, extra, threads) {
  if (is.null(args$keep)) {
    r <- cpp_score(sh$x, args$params, args$model, 0L, threads, "", if (isTRUE(args$weighted)) sh$w)
    return(list(loglik = r$loglik, entropy = r$entropy))
  }
  if (args$keep == "file") {
    cpp_score(sh$x, args$params, args$model, args$what, threads, extra)
    return(extra)
  }
  r <- cpp_score(sh$x, args$params, args$model, args$what, threads)
  rows <- switch(args$type, class = r$classification, posterior = r$posterior,
                 density = exp(r$rowll), logdensity = r$rowll)
  if (args$keep == "return") return(list(rows = rows))
  entry <- cl_store[[args$new_id]]
  if (is.null(entry)) entry <- list(shards = list())
  entry$shards[[as.character(sh$index)]] <- list(index = sh$index, x = rows, n = sh$n)
  assign(args$new_id, entry, envir = cl_store)
  TRUE
}
