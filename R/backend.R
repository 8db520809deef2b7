# Backends ("r", "cpu", "cuda") and the CPU kernel-variant selector.

backend_names <- c("auto", "cpu", "cuda", "r")

resolve_backend <- function(backend, n, d, k) {
  backend <- match_choice(backend, backend_names, "backend")
  if (backend == "cuda" && !cuda_usable())
    stop("`backend = \"cuda\"` needs fastgmm built with CUDA and a usable GPU: ", cuda_status(),
         "; see gmm_backends()", call. = FALSE)
  # (the size test first: small problems never load the CUDA plugin)
  if (backend == "auto")
    backend <- if (as.double(n) * d * k >= cuda_auto_threshold() && cuda_usable()) "cuda" else "cpu"
  backend
}

# The plain R reference: same starts as the C++ core, EM in R, for the closed-form models.
fit_r <- function(x, weights, k, covariance, start, n_init, max_iter, tol, reg_covar, threads, seed,
                  control = gmm_control()) {
  model <- covariance
  covariance <- switch(covariance, VVV = "full", VVI = "diag", VII = "spherical", EEE = "tied",
                       EII = "EII", EEI = "EEI", E = "tied", V = "full",
                       stop(sprintf(paste0("`backend = \"r\"` implements the models EII, VII, EEI, ",
                                           "VVI, EEE and VVV (and E, V in one dimension); use ",
                                           "backend = \"cpu\" for %s"), covariance), call. = FALSE))
  w <- if (is.null(weights)) rep(1, nrow(x)) else weights
  best <- NULL
  failures <- 0L
  failure <- ""
  timings <- c(init = 0, estep = 0, mstep = 0)
  for (r in seq_len(n_init)) {
    t0 <- as.numeric(Sys.time())
    st <- switch(start$kind,
      method = cpp_init(x, weights, k, model_name(model, ncol(x)), start$code, seed, r - 1L,
                        rep(reg_covar, ncol(x)), threads, control_for_cpp(control, "em")),
      parameters = start$params,
      labels = list(z = diag(k)[start$labels, , drop = FALSE]))
    timings[["init"]] <- timings[["init"]] + (as.numeric(Sys.time()) - t0)
    res <- tryCatch(r_em(x, w, st, covariance, max_iter, tol, reg_covar), error = function(e) e)
    if (!inherits(res, "error")) timings <- timings + res$timings
    if (inherits(res, "error")) {
      failures <- failures + 1L
      failure <- conditionMessage(res)
      next
    }
    if (is.null(best) || res$loglik > best$loglik) best <- res
  }
  if (is.null(best)) stop(failure, call. = FALSE)
  best$parameters <- model_decomposition(best$parameters, model)   # as the C++ core reports it
  best$failed_restarts <- failures
  best$failure <- failure
  best$timings <- timings
  best
}

# -- CPU kernel variants ----------------------------------------------------------

variant_names <- c("gemm", "direct")
variant_memo <- new.env(parent = emptyenv())

# Problem shapes are bucketed by powers of two of d and k. The choice never
# depends on the thread count (variants are timed on one thread), so that
# results do not either.
variant_key <- function(d, k, covariance, precision) {
  b <- function(v) 2^round(log2(v))
  paste(covariance, precision, paste0("d", b(d)), paste0("k", b(k)), sep = "-")
}

variant_cache_file <- function() {
  dir <- getOption("fastgmm.cache_dir", tools::R_user_dir("fastgmm", "cache"))
  file.path(dir, "cpu-variants.csv")
}

read_variant_cache <- function() {
  f <- variant_cache_file()
  if (!isTRUE(getOption("fastgmm.cache", TRUE)) || !file.exists(f)) return(NULL)
  tryCatch(utils::read.csv(f, stringsAsFactors = FALSE), error = function(e) NULL)
}

write_variant_cache <- function(key, variant) {
  if (!isTRUE(getOption("fastgmm.cache", TRUE))) return(invisible())
  f <- variant_cache_file()
  tab <- read_variant_cache()
  row <- data.frame(key = key, variant = variant, stringsAsFactors = FALSE)
  tab <- if (is.null(tab)) row else rbind(tab[tab$key != key, c("key", "variant"), drop = FALSE], row)
  try({
    dir.create(dirname(f), recursive = TRUE, showWarnings = FALSE)
    utils::write.csv(tab, f, row.names = FALSE)
  }, silent = TRUE)
  invisible()
}

# Rows below which the variants are not timed: the heuristic is good enough.
variant_timing_rows <- 20000L

choose_variant <- function(src, k, covariance, precision) {
  n <- src$n
  d <- src$d
  if (n < variant_timing_rows) return(default_variant(d, k, covariance))
  key <- variant_key(d, k, covariance, precision)
  if (!is.null(v <- variant_memo[[key]])) return(v)
  tab <- read_variant_cache()
  v <- if (!is.null(tab) && key %in% tab$key) tab$variant[match(key, tab$key)] else NA
  if (is.na(v) || !v %in% variant_names) {
    secs <- cpp_time_variants(src$data, k, model_name(covariance, d), precision == "single", 3L)
    v <- variant_names[which.min(secs)]
    write_variant_cache(key, v)
  }
  assign(key, v, envir = variant_memo)
  v
}

# From bench/results/variant_grid.csv: the register-blocked direct form wins
# for small d and k, the product form otherwise.
default_variant <- function(d, k, covariance) {
  if (d <= 10L && (k <= 10L || model_family(covariance) %in% c("spherical", "univariate"))) "direct"
  else "gemm"
}

#' Time the CPU kernel variants on a problem shape
#'
#' Runs each CPU kernel variant on the first 32768 rows of `x`, on one
#' thread, and reports seconds per E-step pass (median of `reps`), the
#' measurement behind `variant = "auto"` in [gmm()].
#'
#' @inheritParams gmm
#' @param threads Ignored (variants are always timed on one thread, so that
#'   the choice, and with it the result of a fit, never depends on the thread
#'   count).
#' @param reps Number of timed passes per variant.
#' @return A data frame with columns `variant` and `seconds`.
#' @examples
#' gmm_time_variants(matrix(rnorm(20000), ncol = 2), 3)
#' @export
gmm_time_variants <- function(x, k, covariance = "full", precision = "double", threads = NULL,
                              reps = 3) {
  src <- as_source(x)
  if (isTRUE(src$cluster))
    stop("`x` is a cluster source: time the variants on a shard's rows (gmm() does it on its worker)",
         call. = FALSE)
  covariance <- check_covariance(covariance, src$d)
  k <- check_count(k, "k")
  if (k > min(src$n, 32768)) stop("`k` is larger than the number of rows timed", call. = FALSE)
  precision <- match_choice(precision, c("double", "single"), "precision")
  reps <- check_count(reps, "reps")
  cpu_level_sync()
  secs <- cpp_time_variants(src$data, k, model_name(covariance, src$d), precision == "single", reps)
  data.frame(variant = variant_names, seconds = secs, stringsAsFactors = FALSE)
}

# cuda_usable(), cuda_status() and cuda_auto_threshold() are in backend-cuda.R.
