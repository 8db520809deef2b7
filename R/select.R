# Model selection over a grid of component counts and covariance models: gmm_select() and
# its print / summary / plot methods. Internal helpers are prefixed `sel_`.

#' Choose the number of components and the covariance model
#'
#' Fits [gmm()] for every combination of a number of components in `k` and a
#' covariance model in `covariance`, and keeps the fit with the smallest BIC
#' (or ICL). The default grid is `mclust::Mclust()`'s: its fourteen
#' covariance models times `k = 1:9`.
#'
#' @section Starts:
#' Like `Mclust()`, which starts every model from one hierarchical clustering
#' of the (SVD-scaled) data, `gmm_select()` by default (`init = "shared"`)
#' starts every covariance model with `k` components from the same
#' partition: the best of five k-means++ runs on the standardised columns
#' ([gmm_start()]; the same for every model, computed once per `k`). The
#' models at one `k` are then compared from the same start, the start does
#' not depend on the units of the columns, and the initialisation is paid
#' once per `k` instead of once per fit. With `n_init = m`, `m` such
#' partitions are made per `k` and each model keeps its best fit of the `m`.
#' Any of [gmm()]'s start methods (`"kmeans++"`, `"random"`,
#' `"random_from_data"`) instead starts each fit on its own, with its own
#' seed. Data sources ([gmm_file()], [gmm_chunks()]) get the same shared
#' starts as the data in memory (read block by block; their labels, one
#' integer per row, are held in memory), so a selection from a file equals
#' the one from the matrix.
#'
#' EM finds a local maximum of the likelihood, so a selection can differ from
#' `Mclust()`'s where the two starts lead to different maxima. On the data
#' sets below, with the defaults (`seed = 1`; `tol = 1e-5`, as `Mclust()`;
#' BIC as here, smaller is better), `gmm_select()` chose `Mclust()`'s model
#' or one with a smaller BIC it found:
#'
#' | data | `Mclust()` | BIC | `gmm_select()` | BIC |
#' | --- | --- | --- | --- | --- |
#' | `faithful` | EEE, 3 | 2314.316 | EEE, 3 | 2314.311 |
#' | `iris[, 1:4]` | VEV, 2 | 561.729 | VEV, 2 | 561.729 |
#' | `mclust::diabetes[, -1]` | VVV, 3 | 4751.316 | VVV, 3 | 4751.309 |
#' | `mclust::banknote[, -1]` | VVE, 3 | 1607.574 | EEE, 4 | 1607.293 |
#'
#' On `banknote` fastgmm's EEE fit with 4 components has a log-likelihood of
#' -676.49, mclust's (from its hierarchical start) -689.03 (BIC 1632.39); its
#' VVE fit with 3 components is mclust's (BIC 1607.573). Starting each fit
#' from k-means++ on the raw columns (`init = "kmeans++"`) found mclust's
#' VVV maximum on `diabetes` (whose columns have very different spreads) for
#' only some seeds.
#'
#' @section Criteria:
#' Both criteria are "smaller is better". `bic` is the one of [stats::BIC()]:
#' \eqn{-2 \log L + p \log n}{-2 log L + p log n}, with `p` free parameters and `n` observations
#' (with weights, those with positive weight), so that `BIC(x$best)` equals
#' `min(x$table$bic)`. `icl` (the integrated completed likelihood of Biernacki,
#' Celeux and Govaert, 2000) adds twice the entropy of the posterior
#' probabilities \eqn{z_{ij}}: \eqn{BIC - 2 \sum_i \sum_j z_{ij} \log z_{ij}}{BIC - 2 sum_i sum_j z_ij log z_ij}
#' (each row's term multiplied by its weight, rescaled as in [gmm()] to sum
#' to the number of rows with positive weight); it penalises overlapping
#' components and so favours well-separated clusters. mclust reports both
#' with the opposite sign (larger is better: `mclust::mclustBIC()` is
#' \eqn{2 \log L - p \log n}{2 log L - p log n}), and its `mclust::icl()` uses the logarithm of
#' the largest posterior of each row (the hard classification) instead of
#' the entropy.
#'
#' Ties are resolved in favour of the first fit in table order (`k`
#' ascending, then the covariance models in the order given). A fit that
#' fails (for example a component collapsing onto a single point with
#' `reg_covar = 0`, or `k` larger than the number of distinct rows) is kept
#' in the table with its criteria `NA` and the reason in `error`; the
#' selection only errors when every fit fails. Interrupts (Ctrl-C) are not
#' caught: they stop the whole grid.
#'
#' @section Reproducibility:
#' The shared starts for `k` use a seed derived from `seed` and `k` only,
#' and the fit for a pair (`k`, covariance) uses a seed derived from `seed`,
#' `k` and the covariance model only (not from its place in the grid; with
#' shared starts only `method = "stepwise"` draws from it), so the same
#' `seed` gives the same table whatever `threads` is and whichever other
#' values `k` and `covariance` hold. The best fit's
#' `call` refits it with [gmm()] (from a shared start, with `init =
#' gmm_start(...)`). With `seed = NULL` one number is drawn from R's random
#' stream, so [set.seed()] makes the selection reproducible.
#'
#' @details
#' In one dimension the models reduce to mclust's "E" (equal variances) and
#' "V" (varying variances), and each is fitted once. [as_Mclust()] turns the
#' selection into an `"Mclust"` object for mclust's plots and tools.
#'
#' **Parallel strategy.** With shared starts on in-memory data of at most
#' 2e6 values (rows x columns), the models at one `k` are fitted at once by
#' the C++ core, each on one thread, `threads` fits at a time. Each fit is the
#' one [gmm()] makes from the same start, to the last bit, so the table does
#' not depend on `threads`. Small fits gain most: a pass over few rows is too
#' short for threads to share it well, and the M-steps (iterative for some
#' models) of different fits run side by side. On 2 cores, the default grid
#' on 1e4 rows x 10 columns took 0.78--0.80 s this way against 0.99--1.22 s
#' one fit after the other (`bench/select_vs_mclust.R`). On larger data, and
#' with a start method of each fit, the fits run one after the other, each
#' using all `threads` inside its EM iterations (the C++ core splits the rows
#' among threads). Fits in separate R processes (`parallel::mclapply()`, not
#' available on Windows, or a socket cluster: an R process per worker, each
#' loading the package and receiving a copy of the data) did not pay.
#' Measured on the 2-core machine where the package was developed, for the
#' grid `k = 1:9` x 4 models (36 fits, default `tol`, kmeans++ starts per
#' fit, before the shared starts), elapsed seconds for the whole grid,
#' machine otherwise idle:
#'
#' | n, d | sequential, 1 thread | sequential, 2 threads | 2 forked fits at a time | 2-worker socket cluster |
#' | --- | --- | --- | --- | --- |
#' | 200000, 2 | 13.5 | 7.0 | 7.5 | 7.1--7.5 |
#' | 200000, 5 | 10.5 | 5.7 | 5.9 | 6.3--6.4 |
#' | 2000, 2 | 0.19 | 0.19 | 0.37 | 0.44--0.50 |
#' | 2000, 5 | 0.28 | 0.28 | 0.41 | 0.47--0.54 |
#'
#' (An earlier run with `n = 200000`, `d = 3` gave 7.2, 4.5 and 5.0 s for
#' the first three columns.) Threads inside each fit nearly halve the time
#' where the data are large, as much as concurrent fits do, without extra
#' processes or copies of the data, and keep the results independent of the
#' thread count; for small data the whole grid takes a fraction of a second
#' and starting processes costs more than it saves. Besides the fits, the
#' selection makes one scoring pass per fit (the classification, and the
#' entropy for the ICL; about the cost of one EM iteration).
#'
#' **Progress.** A progress bar over the grid ([cli::cli_progress_bar()]) is
#' shown in interactive sessions and, with `verbose = TRUE`, also in batch
#' runs, where each finished fit is also reported on a line of its own. cli's
#' options (`cli.progress_show_after`, `cli.dynamic`, ...) apply.
#'
#' @param x A numeric matrix (rows are observations), a data frame of numeric
#'   columns, or a numeric vector (one dimension), as in [gmm()].
#' @param k The numbers of components to try: whole numbers >= 1 (duplicates
#'   are dropped, the rest sorted).
#' @param covariance The covariance models to try: mclust's names (see
#'   [gmm()]) or scikit-learn's aliases `"full"`, `"diag"`, `"spherical"`,
#'   `"tied"`; default all fourteen.
#' @param criterion `"bic"` (default) or `"icl"`: which criterion picks the
#'   best fit. Both are always computed.
#' @param init `"shared"` (default: one start per `k` for all the models,
#'   see Starts), or one of [gmm()]'s start methods `"kmeans++"`, `"random"`,
#'   `"random_from_data"`, `"subsample"` for a start of each fit on its own.
#'   On a [gmm_cluster()] source the rows stay on the workers, and `"shared"`
#'   means that every model at a `k` starts from the same k-means++ seed.
#' @param n_init Number of starts of each fit: shared partitions per `k`, or
#'   [gmm()]'s `n_init`.
#' @param seed `NULL` or a whole number; see Reproducibility.
#' @param backend,threads As in [gmm()], used for every fit.
#' @param verbose `TRUE` to show progress also in non-interactive sessions and
#'   to report each fit as it finishes.
#' @param tol Convergence tolerance of every fit, as in [gmm()]. The default,
#'   `1e-5`, is `Mclust()`'s (`mclust::emControl()`): the selection compares
#'   criteria whose differences the last digits do not change, and slowly
#'   converging fits stop sooner than with `gmm()`'s `1e-6` (a third to half
#'   fewer passes over the whole grid, `bench/README.md`). The best fit's
#'   `call` carries it; refit with a smaller `tol` (or
#'   `gmm(x, k, covariance, init = sel$best, tol = 1e-8)`) for a tighter fit.
#' @param ... Further arguments to [gmm()] for every fit, e.g. `max_iter`,
#'   `reg_covar`, `weights`, `control`, `method`.
#' @return An object of class `"gmm_select"`: a list with
#'   \describe{
#'   \item{`best`}{the `"gmm"` fit with the smallest criterion;}
#'   \item{`table`}{a data frame with one row per fit, in grid order (`k`
#'     ascending, then covariance models): `k`, `covariance`, `loglik`, `df`,
#'     `bic`, `icl`, `iterations`, `converged`, `seconds` (elapsed time of the
#'     fit, including the ICL's scoring pass; fits run at once add up to more
#'     than the selection's time) and `error` (`NA`, or the
#'     message of a fit that failed, whose `loglik`, `bic`, `icl`,
#'     `iterations` and `converged` are then `NA`);}
#'   \item{`criterion`}{`"bic"` or `"icl"`;}
#'   \item{`seed`}{the seed the starts' and fits' seeds were derived from;}
#'   \item{`init`}{how the fits started: `"shared"`, or a start method;}
#'   \item{`seconds`}{the elapsed time of the whole selection;}
#'   \item{`call`}{the call.}
#'   }
#' @references Biernacki, C., Celeux, G. and Govaert, G. (2000). Assessing a
#'   mixture model for clustering with the integrated completed likelihood.
#'   *IEEE Transactions on Pattern Analysis and Machine Intelligence*, 22(7),
#'   719--725.
#' @seealso [gmm()]; [plot.gmm_select()], [summary.gmm_select()].
#' @examples
#' # Mclust()'s grid: the fourteen models x k = 1:9
#' sel <- gmm_select(faithful, threads = 1, seed = 1)
#' sel
#' sel$best
#' BIC(sel$best) == min(sel$table$bic, na.rm = TRUE)
#' plot(sel)
#' # by ICL, among the diagonal and spherical models only
#' sel2 <- gmm_select(faithful, k = 1:4, covariance = c("diag", "spherical"),
#'                    criterion = "icl", threads = 1, seed = 1)
#' summary(sel2)
#' @export
gmm_select <- function(x, k = 1:9, covariance = c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE",
                                                  "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV"),
                       criterion = c("bic", "icl"), init = "shared", n_init = 1, seed = NULL,
                       backend = "auto", threads = NULL, verbose = FALSE, tol = 1e-5, ...) {
  t_select <- proc.time()[["elapsed"]]
  call <- match.call()
  src <- as_source(x)
  data <- if (src$in_memory) src$data else src$source  # converted once for the whole grid
  d <- src$d
  k <- sel_check_k(k)
  covariance <- sel_check_covariance(covariance, d)
  criterion <- match_choice(criterion, c("bic", "icl"), "criterion")
  init <- match_choice(init, c("shared", names(init_methods)), "init")
  n_init <- check_count(n_init, "n_init")
  tol <- check_number(tol, "tol")
  backend <- match_choice(backend, backend_names, "backend")
  if (backend == "cuda") resolve_backend(backend, src$n, d, max(k))   # errors when unusable
  threads <- if (isTRUE(src$cluster)) cluster_threads(threads) else check_threads(threads)
  verbose <- check_flag(verbose, "verbose")
  dots <- list(...)
  bad <- intersect(names(dots), c("x", "k", "covariance", "n_init", "tol", "seed", "backend",
                                  "threads", "verbose"))
  if (length(bad))
    stop(sprintf("`%s` is an argument of gmm_select() itself", bad[1L]), call. = FALSE)
  seed <- resolve_seed(seed)
  spread_memo$active <- TRUE   # the relative reg_covar's column scales, once for the grid
  spread_memo$checked <- data  # checked for non-finite values by as_source()
  on.exit(spread_memo_clear(), add = TRUE)
  sel_state$grid <- TRUE       # the fits score for the ICL only; the best is classified below
  on.exit(sel_state$grid <- FALSE, add = TRUE)
  shared <- init == "shared"
  if (shared) {
    weights <- if (is.null(dots$weights)) NULL else normalise_weights(check_weights(dots$weights, src$n))
    starts <- new.env(parent = emptyenv())
  }

  grid <- expand.grid(covariance = covariance, k = k, stringsAsFactors = FALSE)[, c("k", "covariance")]
  nfit <- nrow(grid)
  rows <- vector("list", nfit)
  best <- NULL
  best_value <- Inf

  show <- verbose || interactive()
  if (show) sel_progress_start(nfit, environment())
  for (kk in k) {
    at <- which(grid$k == kk)
    # The models at one k from shared starts on small in-memory data run at once
    # (sel_fits_at_k()).
    batch <- if (shared && src$in_memory && src$n * d <= sel_batch_cells &&
                 resolve_backend(backend, src$n, d, kk) == "cpu") {
      if (show) sel_progress_k_start(kk, length(at), environment())
      sel_fits_at_k(data, src, kk, grid$covariance[at], n_init, tol, seed, weights, backend,
                    threads, starts, ...)
    }
    for (j in seq_along(at)) {
      i <- at[j]
      cov <- grid$covariance[i]
      if (is.null(batch)) {
        if (show) sel_progress_fit_start(kk, cov, d, environment())
        t0 <- proc.time()[["elapsed"]]
        # Only errors are caught: an interrupt stops the whole grid. Fits that do not converge
        # are counted and reported in one warning at the end.
        res <- sel_caught(if (shared) {
          sel_fit_shared(data, src, kk, cov, n_init, tol, seed, weights, backend, threads, starts,
                         ...)
        } else {
          gmm(data, kk, covariance = cov, init = init, n_init = n_init, tol = tol,
              backend = backend, threads = threads, seed = sel_fit_seed(seed, kk, cov),
              verbose = FALSE, ...)
        })
        secs <- proc.time()[["elapsed"]] - t0
      } else {
        res <- batch$res[[j]]
        secs <- batch$secs[[j]]
      }
      rows[[i]] <- sel_row(kk, cov, d, res, secs)
      if (!inherits(res, "error")) {
        value <- if (criterion == "bic") res$fit$bic else res$icl
        if (!is.na(value) && value < best_value) {   # strict: ties keep the first
          best_value <- value
          best <- res$fit
        }
      }
      if (show) sel_progress_fit_done(rows[[i]], criterion, verbose, environment())
    }
  }
  if (show) sel_progress_done(environment())
  table <- sel_table(rows)
  # (stepwise EM stops after its polish iterations by design, as in gmm())
  if (any(nc <- table$converged %in% FALSE) && tol != 0 && !identical(dots$method, "stepwise")) {
    which_nc <- paste0("k = ", table$k[nc], " (", table$covariance[nc], ")")
    if (length(which_nc) > 5L) which_nc <- c(which_nc[1:5], "...")
    msg <- sprintf("%d of %d fits did not converge in `max_iter` iterations: %s; see the `converged` column of `$table`",
                   sum(nc), nfit, paste(which_nc, collapse = ", "))
    warning(structure(class = c("fastgmm_not_converged", "warning", "condition"),
                      list(message = msg, call = NULL)))
  }

  if (is.null(best)) {
    failed <- which(!is.na(table$error))
    if (length(failed) == nfit) {
      first <- table[failed[1L], ]
      stop(sprintf("all %d fits failed; the first (k = %d, covariance = \"%s\"): %s", nfit,
                   first$k, first$covariance, first$error), call. = FALSE)
    }
    stop(sprintf("no fit has a finite %s", toupper(criterion)), call. = FALSE)
  }
  best$call <- sel_best_call(call, best, if (shared) attr(best, "start"), tol)
  attr(best, "start") <- NULL
  if (src$in_memory) {
    sel_state$grid <- FALSE
    best <- sel_classify(best, data, threads)
    best$data <- x
  }
  structure(list(best = best, table = table, criterion = criterion, seed = seed,
                 init = init, seconds = proc.time()[["elapsed"]] - t_select,
                 call = call),
            class = "gmm_select")
}

# --- internal helpers ----------------------------------------------------------------------

# While gmm_select() runs its grid, gmm() computes no per-row classification (one n-vector of
# each kind per fit, of which only the best's is kept): sel_classify() adds the best's.
sel_state <- new.env(parent = emptyenv())
sel_state$grid <- FALSE

sel_classify <- function(fit, data, threads) {
  if (!is.null(fit$classification)) return(fit)
  t0 <- as.numeric(Sys.time())
  params <- lapply(fit$parameters[c("proportions", "means", "covariances")], unname)
  sc <- cpp_score(data, params, model_name(fit$covariance, fit$d), 8L, threads)
  fit$classification <- sc$classification
  fit$uncertainty <- sc$uncertainty
  fit$timings[["score"]] <- fit$timings[["score"]] + (as.numeric(Sys.time()) - t0)
  fit
}

sel_check_k <- function(k) {
  if (!is.numeric(k) || length(k) < 1L || anyNA(k) || any(!is.finite(k)) || any(k != round(k)) ||
      any(k < 1) || any(k > .Machine$integer.max))
    stop("`k` must be a vector of whole numbers >= 1", call. = FALSE)
  sort(unique(as.integer(k)))
}

sel_check_covariance <- function(covariance, d) {
  if (!is.character(covariance) || length(covariance) < 1L || anyNA(covariance))
    stop("`covariance` must be a vector of covariance model names", call. = FALSE)
  # In one dimension the models reduce to "E" and "V": each is fitted once.
  unique(vapply(covariance, check_covariance, "", d = d, USE.NAMES = FALSE))
}

# A seed for the fit (k, covariance) from the selection's seed: depends on nothing else, so
# a fit does not change with the grid around it. Fits are 2^22 apart so that the restarts of
# one fit (seed + 0, 1, ...) never reuse another fit's; all arithmetic stays exact in double.
sel_fit_seed <- function(seed, k, covariance) {
  m <- 2^40 - 87
  code <- match(covariance, c(model_names, "E", "V")) - 1L
  off <- ((16 * k + code) %% 2^24) * 2^22
  ((seed %% m) * 1021 + off) %% m
}

# The seed of the shared starts at k: between the seeds of the fits (2^21 after that of EII).
sel_start_seed <- function(seed, k) (sel_fit_seed(seed, k, "EII") + 2^21) %% (2^40 - 87)

# A fit of the grid, as the table wants it: list(fit, icl), or the error it stopped with. Only
# errors are caught (an interrupt stops the whole grid); warnings that a fit did not converge
# are muffled (gmm_select() gives one for the grid).
sel_caught <- function(expr) {
  tryCatch(withCallingHandlers({
    fit <- expr
    list(fit = fit, icl = fit$icl)
  }, fastgmm_not_converged = function(w) invokeRestart("muffleWarning")), error = function(e) e)
}

# The shared starts at k (computed once per k, kept in `starts`): a list of n_init label
# vectors, or the error that computing them gave.
sel_shared_labels <- function(src, k, n_init, seed, weights, threads, starts) {
  key <- as.character(k)
  if (is.null(starts[[key]])) {
    st_seed <- sel_start_seed(seed, k)
    if (is.null(starts$scaled)) starts$scaled <- start_scaled(src, weights)
    starts[[key]] <- tryCatch(lapply(seq_len(n_init), function(r)
      start_labels(src, k, st_seed, r, weights, threads, xs = starts$scaled)),
      error = function(e) e)
  }
  starts[[key]]
}

# One fit of the grid from the shared starts of its k: the best of `n_init` fits, one from
# each start. (The arguments' names start with a dot so that none of them takes an argument
# meant for gmm() in `...`, such as `weights`.)
sel_fit_shared <- function(.data, .src, .k, .covariance, .n_init, .tol, .seed, .weights,
                           .backend, .threads, .starts, ...) {
  if (isTRUE(.src$cluster)) {
    # Rows stay on the workers: each model at this k starts from the same k-means++ seed.
    fit <- gmm(.data, .k, covariance = .covariance, init = "kmeans++", n_init = .n_init,
               tol = .tol, seed = sel_start_seed(.seed, .k), backend = .backend, threads = .threads,
               verbose = FALSE, ...)
    return(fit)
  }
  labels <- sel_shared_labels(.src, .k, .n_init, .seed, .weights, .threads, .starts)
  if (inherits(labels, "error")) stop(labels)
  best <- NULL
  for (r in seq_len(.n_init)) {
    fit <- gmm(.data, .k, covariance = .covariance, init = labels[[r]], tol = .tol,
               backend = .backend, threads = .threads,
               seed = sel_fit_seed(.seed, .k, .covariance), verbose = FALSE, ...)
    if (is.null(best) || fit$loglik > best$loglik) {
      best <- fit
      attr(best, "start") <- list(seed = sel_start_seed(.seed, .k), start = r)
    }
  }
  best
}

# Data of at most this many values (16 MB in double) have their fits at one k run at once,
# each on one thread. Above, each fit runs on all threads, one after the other: a pass is then
# long enough for its threads to share it well, and concurrent fits would wait for the
# longest at every k. Measured on 2 cores (bench/README.md, select_vs_mclust): 1e4 x 10 rows,
# 0.78-0.80 s at once against 0.99-1.22 s one after the other; 1e5 x 10, 5.39-5.46 against
# 5.67-6.03 s; 1e6 x 10, 45.4 against 43.2 s.
sel_batch_cells <- 2e6

# The fits of the models `.covs` at one k from its shared starts, each as sel_fit_shared()
# makes it (the same numbers: each is gmm()'s fit from the same labels), but run at once by
# cpp_fit_models(): concurrently, one thread each, instead of one after the other on all
# threads. Small fits gain most: a thread per fit needs no synchronisation within a pass, and
# the M-steps of different fits run side by side. Returns list(res, secs), one element of each
# per model: the result (sel_caught()'s) and the seconds it took (the first model's include
# the shared starts).
sel_fits_at_k <- function(.data, .src, .k, .covs, .n_init, .tol, .seed, .weights, .backend,
                          .threads, .starts, ...) {
  now <- function() as.numeric(Sys.time())
  m <- length(.covs)
  secs <- numeric(m)
  t0 <- now()
  labels <- sel_shared_labels(.src, .k, .n_init, .seed, .weights, .threads, .starts)
  secs[1L] <- now() - t0
  if (inherits(labels, "error"))
    return(list(res = rep(list(labels), m), secs = as.list(secs)))
  # Each model's checked arguments for each start (errors are the model's result).
  plans <- lapply(seq_len(m), function(j) {
    t1 <- now()
    pl <- tryCatch(lapply(seq_len(.n_init), function(r)
      gmm_plan(.data, .k, covariance = .covs[j], init = labels[[r]], tol = .tol,
               backend = .backend, threads = .threads, seed = sel_fit_seed(.seed, .k, .covs[j]),
               verbose = FALSE, ...)), error = function(e) e)
    secs[j] <<- secs[j] + now() - t1
    pl
  })
  res <- lapply(plans, function(pl) if (inherits(pl, "error")) pl)
  ok <- which(!vapply(plans, inherits, NA, "error"))
  if (length(ok)) {
    p1 <- plans[[ok[1L]]][[1L]]
    variants <- vapply(ok, function(j) {
      t1 <- now()
      v <- match(plan_variant(plans[[j]][[1L]]), variant_names) - 1L
      secs[j] <<- secs[j] + now() - t1
      v
    }, 1L)
    for (r in seq_len(.n_init)) {
      out <- cpp_fit_models(p1$src$data, p1$weights, p1$k,
                            vapply(ok, function(j) plans[[j]][[r]]$model, ""), variants,
                            vapply(ok, function(j) plans[[j]][[r]]$seed, 0), labels[[r]],
                            p1$max_iter, p1$tol, p1$reg, p1$threads,
                            p1$control$precision == "single",
                            control_for_cpp(p1$control, p1$method),
                            data_origin(p1$src, p1$weights))
      for (a in seq_along(ok)) {
        j <- ok[a]
        if (inherits(res[[j]], "error")) next   # a model fails when any of its starts fails
        t1 <- now()
        o <- out[[a]]
        done <- sel_caught({
          if (!is.null(o$error)) stop(o$error, call. = FALSE)
          o$variant <- variant_names[variants[a] + 1L]
          fit <- gmm_finish(plans[[j]][[r]], o, call("gmm", quote(x), .k, covariance = .covs[j]),
                            as.numeric(Sys.time()) - o$seconds)
          if (!is.null(res[[j]]) && !(fit$loglik > res[[j]]$fit$loglik)) res[[j]]$fit else {
            attr(fit, "start") <- list(seed = sel_start_seed(.seed, .k), start = r)
            fit
          }
        })
        res[[j]] <- done
        secs[j] <- secs[j] + o$seconds + now() - t1
      }
    }
  }
  list(res = res, secs = as.list(secs))
}

# One row of the table, as a list (sel_table() binds them once: a data frame per fit costs
# more than some fits).
sel_row <- function(k, covariance, d, res, secs) {
  failed <- inherits(res, "error")
  fit <- if (failed) NULL else res$fit
  list(k = as.integer(k), covariance = covariance,
       loglik = if (failed) NA_real_ else fit$loglik,
       df = if (failed) gmm_df(k, d, covariance) else fit$df,
       bic = if (failed) NA_real_ else fit$bic,
       icl = if (failed) NA_real_ else res$icl,
       iterations = if (failed) NA_integer_ else as.integer(fit$iterations),
       converged = if (failed) NA else fit$converged,
       seconds = secs,
       error = if (failed) conditionMessage(res) else NA_character_)
}

sel_table <- function(rows) {
  cols <- names(rows[[1L]])
  as.data.frame(lapply(stats::setNames(cols, cols), function(cl) unlist(lapply(rows, `[[`, cl))),
                stringsAsFactors = FALSE)
}

# The call that refits the best model with gmm(): the selection's call with k, covariance and
# seed fixed and the selection's own arguments dropped; a fit from a shared start refits from
# the same partition, init = gmm_start(...).
sel_best_call <- function(call, best, start = NULL, tol = NULL) {
  args <- as.list(call)[-1L]
  if (is.null(names(args))) names(args) <- rep("", length(args))
  if (!is.null(tol) && !"tol" %in% names(args)) args$tol <- tol  # gmm()'s default differs
  drop <- c("", "x", "k", "covariance", "criterion", "verbose", "seed",
            if (!is.null(start)) c("init", "n_init"))
  args <- args[!names(args) %in% drop]
  init <- NULL
  if (!is.null(start)) {
    st <- list(quote(gmm_start), x = call$x, k = best$k, seed = start$seed)
    if (start$start > 1L) st$start <- start$start
    if (!is.null(call$weights)) st$weights <- call$weights
    init <- list(init = as.call(st))
  }
  as.call(c(list(quote(gmm), x = call$x, k = best$k, covariance = best$covariance), init, args,
            list(seed = best$control$seed)))
}

# Label of a covariance model in tables and legends.
sel_model_name <- function(covariance, d) {
  paste0(covariance, " (", model_descriptions[[covariance]], ")")
}

# The criterion as a k x covariance matrix (NA where a fit failed).
sel_matrix <- function(table, criterion) {
  ks <- sort(unique(table$k))
  covs <- unique(table$covariance)
  m <- matrix(NA_real_, length(ks), length(covs), dimnames = list(k = ks, covariance = covs))
  m[cbind(match(table$k, ks), match(table$covariance, covs))] <- table[[criterion]]
  m
}

sel_best_row <- function(object) {
  which.min(object$table[[object$criterion]])
}

# --- print / summary / plot ----------------------------------------------------------------

#' Print or summarise a model selection
#'
#' `print()` shows the criterion for every fit as a `k` x covariance matrix
#' and the best model; `summary()` also lists the best few fits in order, the
#' fits that failed with their reasons, and the total time.
#'
#' @param x A `"gmm_select"` object from [gmm_select()] (or, for its print
#'   method, a `"summary.gmm_select"` object).
#' @param object A `"gmm_select"` object.
#' @param n Number of best fits `summary()` lists.
#' @param digits Number of significant digits.
#' @param ... Unused.
#' @return `print()`: `x`, invisibly. `summary()`: an object of class
#'   `"summary.gmm_select"`, a list with `call`, `criterion`, `best` (the best
#'   row of the table), `top` (the `n` best rows, ordered), `failed` (the rows
#'   of failed fits), `matrix` (the criterion as a `k` x covariance matrix),
#'   `fits`, `seconds` (the selection's elapsed time) and `d`.
#' @seealso [gmm_select()]
#' @examples
#' sel <- gmm_select(faithful, k = 1:3, threads = 1, seed = 1)
#' print(sel)
#' summary(sel, n = 3)
#' @export
print.gmm_select <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  sel_check_object(x, "x")
  tab <- x$table
  crit <- toupper(x$criterion)
  nfail <- sum(!is.na(tab$error))
  cat(sprintf("Gaussian mixture model selection by %s (fastgmm; smaller is better)\n", crit))
  cat(sprintf("  %d fit%s: k = %s; covariance: %s%s\n", nrow(tab), if (nrow(tab) == 1L) "" else "s",
              sel_range_text(unique(tab$k)), paste(unique(tab$covariance), collapse = ", "),
              if (nfail) sprintf("; %d failed", nfail) else ""))
  cat(sprintf("\n%s:\n", crit))
  print(sel_format_matrix(sel_matrix(tab, x$criterion), digits))
  b <- x$best
  cat(sprintf("\nBest: k = %d, %s: %s = %s\n", b$k, sel_model_name(b$covariance, b$d), crit,
              format(signif(tab[[x$criterion]][sel_best_row(x)], digits + 3L))))
  invisible(x)
}

#' @rdname print.gmm_select
#' @export
summary.gmm_select <- function(object, n = 5, ...) {
  sel_check_object(object)
  n <- check_count(n, "n")
  tab <- object$table
  ord <- order(tab[[object$criterion]], seq_len(nrow(tab)), na.last = NA)
  top <- tab[ord[seq_len(min(n, length(ord)))], , drop = FALSE]
  top[[paste0("delta_", object$criterion)]] <- top[[object$criterion]] - top[[object$criterion]][1L]
  structure(list(call = object$call, criterion = object$criterion,
                 best = tab[sel_best_row(object), , drop = FALSE], top = top,
                 failed = tab[!is.na(tab$error), c("k", "covariance", "error"), drop = FALSE],
                 matrix = sel_matrix(tab, object$criterion), fits = nrow(tab),
                 seconds = if (is.null(object$seconds)) sum(tab$seconds) else object$seconds,
                 d = object$best$d),
            class = "summary.gmm_select")
}

#' @rdname print.gmm_select
#' @export
print.summary.gmm_select <- function(x, digits = max(3L, getOption("digits") - 3L), ...) {
  crit <- toupper(x$criterion)
  cat(sprintf("Gaussian mixture model selection by %s (fastgmm; smaller is better)\n", crit))
  if (!is.null(x$call)) cat("Call: ", paste(deparse(x$call), collapse = "\n"), "\n", sep = "")
  cat(sprintf("%d fits in %s s, %d failed\n", x$fits, format(round(x$seconds, 2)), nrow(x$failed)))
  cat(sprintf("\n%s:\n", crit))
  print(sel_format_matrix(x$matrix, digits))
  cat(sprintf("\nBest %d fit%s:\n", nrow(x$top), if (nrow(x$top) == 1L) "" else "s"))
  top <- x$top
  cols <- c("k", "covariance", "loglik", "df", "bic", "icl", paste0("delta_", x$criterion),
            "iterations", "converged")
  top <- top[, cols]
  for (v in c("loglik", "bic", "icl", paste0("delta_", x$criterion)))
    top[[v]] <- format(signif(top[[v]], digits + 3L))
  print(top, row.names = FALSE)
  if (nrow(x$failed)) {
    cat("\nFailed fits:\n")
    cat(paste0("  k = ", x$failed$k, ", ", x$failed$covariance, ": ", x$failed$error), sep = "\n")
  }
  invisible(x)
}

sel_format_matrix <- function(m, digits) {
  out <- matrix(format(signif(m, digits + 3L)), nrow(m), dimnames = dimnames(m))
  out[is.na(m)] <- "failed"
  noquote(out, right = TRUE)
}

sel_range_text <- function(k) {
  if (length(k) > 2L && all(diff(k) == 1L)) paste0(k[1L], "..", k[length(k)])
  else paste(k, collapse = ", ")
}
