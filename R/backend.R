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

# The per-session cache of the timings' winners (key -> variant), always used;
# the persistent cache file below only when the policy allows it.
variant_memo <- new.env(parent = emptyenv())
host_info <- new.env(parent = emptyenv())

# The instruction-set level of the CPU kernels in use ("generic", "avx2",
# "avx512", or "native" in a FASTGMM_NATIVE=yes build), part of the cache keys.
cpu_kernel_level <- function() cpu_level_active()

# The CPU model, as the operating system names it ("model name" in
# /proc/cpuinfo on Linux, sysctl on macOS), read once per session.
cpu_model <- function() {
  if (!is.null(m <- host_info$cpu_model)) return(m)
  m <- tryCatch({
    sys <- Sys.info()[["sysname"]]
    if (file.exists("/proc/cpuinfo")) {
      info <- readLines("/proc/cpuinfo", warn = FALSE)
      line <- grep("^(model name|Hardware|cpu model|Model)\\s*:", info, value = TRUE)[1]
      if (is.na(line)) NA_character_ else sub("^[^:]*:\\s*", "", line)
    } else if (identical(sys, "Darwin")) {
      suppressWarnings(system2("sysctl", c("-n", "machdep.cpu.brand_string"), stdout = TRUE,
                               stderr = FALSE))[1]
    } else if (identical(sys, "Windows")) {
      Sys.getenv("PROCESSOR_IDENTIFIER", NA_character_)
    } else NA_character_
  }, error = function(e) NA_character_, warning = function(w) NA_character_)
  if (length(m) != 1L || is.na(m) || !nzchar(trimws(m))) m <- paste("unknown", Sys.info()[["machine"]])
  m <- trimws(m)
  host_info$cpu_model <- m
  m
}

# The CPU model as a key field: letters and digits, runs of others as "_".
cpu_model_tag <- function() gsub("^_|_$", "", gsub("[^A-Za-z0-9]+", "_", cpu_model()))

# Problem shapes are bucketed by powers of two of d and k. The choice never
# depends on the thread count (variants are timed on one thread), so that
# results do not either.
variant_key <- function(d, k, covariance, precision) {
  b <- function(v) 2^round(log2(v))
  paste(covariance, precision, paste0("d", b(d)), paste0("k", b(k)), sep = "-")
}

# The cache key of a CPU problem shape: the CPU model and the kernels' level too,
# so that a cache file shared between machines (a home directory on a network
# file system) or kept across an upgrade of the CPU never hands one CPU's
# winner to another.
cpu_variant_key <- function(d, k, covariance, precision) {
  paste("cpu", cpu_model_tag(), cpu_kernel_level(), variant_key(d, k, covariance, precision),
        sep = "-")
}

# -- the persistent cache: when it is used ----------------------------------------
#
# Option fastgmm.cache: FALSE never, TRUE always (to fastgmm.cache_dir, default
# tools::R_user_dir("fastgmm", "cache")), unset: only when fastgmm.cache_dir is
# set or the session is interactive. The default directory is never used while
# R CMD check or testthat runs, nor while knitr renders a document, so that
# checks, tests, examples and vignettes write nothing outside tempdir(). The
# answer is the directory, or NULL for the in-memory cache alone.

is_checking <- function() {
  nzchar(Sys.getenv("_R_CHECK_PACKAGE_NAME_")) || identical(Sys.getenv("TESTTHAT"), "true")
}

variant_cache_dir <- function(cache = getOption("fastgmm.cache"),
                              dir = getOption("fastgmm.cache_dir"),
                              interactive = base::interactive(),
                              checking = is_checking(),
                              knitting = isTRUE(getOption("knitr.in.progress"))) {
  if (!is.null(cache) && !isTRUE(cache)) return(NULL)           # FALSE (or anything but TRUE)
  if (!is.null(dir)) {
    if (!is.character(dir) || length(dir) != 1L || is.na(dir) || !nzchar(dir))
      stop("option `fastgmm.cache_dir` must be a single directory path", call. = FALSE)
    return(path.expand(dir))
  }
  if (checking) return(NULL)
  if (isTRUE(cache) || (interactive && !knitting)) return(tools::R_user_dir("fastgmm", "cache"))
  NULL
}

variant_cache_file <- function(dir = variant_cache_dir()) {
  if (is.null(dir)) NULL else file.path(dir, "cpu-variants.csv")
}

read_variant_cache <- function(f = variant_cache_file()) {
  if (is.null(f) || !file.exists(f)) return(NULL)
  tab <- tryCatch(utils::read.csv(f, stringsAsFactors = FALSE, colClasses = "character"),
                  error = function(e) NULL, warning = function(w) NULL)
  if (!is.data.frame(tab) || !all(c("key", "variant") %in% names(tab))) return(NULL)
  tab[c("key", "variant")]
}

# Adds (or replaces) one row. The file is written whole to a temporary file in
# the same directory, then renamed over the old one, so that a reader (another
# R session) sees either the old or the new file, never a partial one. Failures
# (a read-only directory) are silent: the in-memory cache still has the winner.
write_variant_cache <- function(key, variant, f = variant_cache_file()) {
  if (is.null(f)) return(invisible(FALSE))
  tab <- read_variant_cache(f)
  row <- data.frame(key = key, variant = variant, stringsAsFactors = FALSE)
  tab <- if (is.null(tab)) row else rbind(tab[tab$key != key, , drop = FALSE], row)
  dir <- dirname(f)
  ok <- tryCatch({
    if (!dir.exists(dir)) dir.create(dir, recursive = TRUE, showWarnings = FALSE)
    tmp <- tempfile(".cpu-variants-", tmpdir = dir, fileext = ".tmp")
    on.exit(if (file.exists(tmp)) unlink(tmp), add = TRUE)
    utils::write.csv(tab, tmp, row.names = FALSE)
    suppressWarnings(file.rename(tmp, f))
  }, error = function(e) FALSE, warning = function(w) FALSE)
  invisible(isTRUE(ok))
}

# The winner for a key: this session's memo, then the cache file (when the
# policy allows one), else NULL.
cached_variant <- function(key, choices) {
  v <- variant_memo[[key]]
  if (is.null(v)) {
    tab <- read_variant_cache()
    if (!is.null(tab) && key %in% tab$key) v <- tab$variant[match(key, tab$key)]
  }
  if (length(v) == 1L && !is.na(v) && v %in% choices) v else NULL
}

remember_variant <- function(key, variant, persist = TRUE) {
  assign(key, variant, envir = variant_memo)
  if (persist) write_variant_cache(key, variant)
  invisible(variant)
}

# Rows below which the variants are not timed: the heuristic is good enough.
variant_timing_rows <- 20000L

choose_variant <- function(src, k, covariance, precision) {
  n <- src$n
  d <- src$d
  if (n < variant_timing_rows) return(default_variant(d, k, covariance))
  key <- cpu_variant_key(d, k, covariance, precision)
  if (!is.null(v <- variant_memo[[key]])) return(v)
  if (!is.null(v <- cached_variant(key, variant_names))) return(remember_variant(key, v, FALSE))
  secs <- cpp_time_variants(src$data, k, model_name(covariance, d), precision == "single", 3L)
  remember_variant(key, variant_names[which.min(secs)])
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
#' @param precision `"double"` or `"single"`, as in [gmm_control()].
#' @param threads Ignored (variants are always timed on one thread, so that
#'   the choice, and with it the result of a fit, never depends on the thread
#'   count).
#' @param reps Number of timed passes per variant.
#' @return A data frame with columns `variant` and `seconds`.
#'
#' @section The variant cache:
#' With `variant = "auto"` (see [gmm_control()]) a fit of at least 20000 rows
#' (100000 rows for `backend = "cuda"`) times the variants the first time it
#' meets a problem shape (the covariance model, the precision, and d and k
#' rounded to powers of two) and remembers the fastest. The winner is always
#' kept for the rest of the R session, in memory. It is also kept on disk,
#' in the file `cpu-variants.csv` (shared by the CPU and CUDA selectors), as
#' follows:
#'
#' * `options(fastgmm.cache = FALSE)`: never; nothing is read or written.
#' * `options(fastgmm.cache_dir = dir)`: in `dir` (unless `fastgmm.cache` is
#'   `FALSE`).
#' * `options(fastgmm.cache = TRUE)`: in `fastgmm.cache_dir`, by default
#'   `tools::R_user_dir("fastgmm", "cache")`.
#' * Neither option set (the default): in `tools::R_user_dir("fastgmm",
#'   "cache")` in an interactive session only. A non-interactive session
#'   (`Rscript`, a batch job, a document being knitted) keeps the timings in
#'   memory and writes nothing.
#'
#' The default directory is never used while `R CMD check` or testthat runs
#' (even with `fastgmm.cache = TRUE`), so that checks, tests, examples and
#' vignettes write nothing outside [tempdir()]. The file is replaced
#' atomically (written in full to a temporary file in the same directory,
#' then renamed), so concurrent sessions never read a partial file. Its keys
#' include the CPU model (and the device name for CUDA) and the instruction
#' set of the CPU kernels, so one file can be shared by different machines.
#' Delete the file to time the variants afresh; the choice changes the speed
#' of a fit, never its result beyond floating-point rounding.
#'
#' The workers of a [gmm_cluster()] source follow the calling session's
#' policy.
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
