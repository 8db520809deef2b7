# Input checks shared by the verbs. Each names the argument it checks.

# One of `choices` (unique partial matches accepted); the full default vector
# means its first element. Errors name the argument.
match_choice <- function(value, choices, arg) {
  if (identical(value, choices)) return(choices[1L])
  if (is.character(value) && length(value) == 1L && !is.na(value) && nzchar(value)) {
    i <- pmatch(value, choices)
    if (!is.na(i)) return(choices[i])
  }
  stop(sprintf("`%s` must be one of %s", arg, paste0("\"", choices, "\"", collapse = ", ")),
       call. = FALSE)
}

# A numeric matrix from a matrix, data frame or vector; never modifies `x`.
as_data_matrix <- function(x, arg = "x") {
  if (is.data.frame(x)) {
    ok <- vapply(x, function(col) is.numeric(col) || is.logical(col), logical(1))
    if (!all(ok))
      stop(sprintf("`%s` has non-numeric column(s): %s", arg,
                   paste(names(x)[!ok], collapse = ", ")), call. = FALSE)
    x <- as.matrix(x)
  } else if (is.vector(x) && !is.list(x)) {
    x <- matrix(x, ncol = 1L, dimnames = list(NULL, NULL))
  }
  if (!is.matrix(x) || !(is.numeric(x) || is.logical(x)))
    stop(sprintf("`%s` must be a numeric matrix, a data frame of numeric columns or a numeric vector",
                 arg), call. = FALSE)
  if (storage.mode(x) != "double") storage.mode(x) <- "double"
  if (nrow(x) < 1L || ncol(x) < 1L) stop(sprintf("`%s` has no rows or no columns", arg), call. = FALSE)
  # gmm_select() checks its data once for all its fits.
  bad <- if (isTRUE(spread_memo$active) && identical(spread_memo$checked, x)) 0L else cpp_check_finite(x)
  if (bad == 1L) stop(sprintf("`%s` contains NA or NaN values; remove or impute them first", arg),
                      call. = FALSE)
  if (bad == 2L) stop(sprintf("`%s` contains infinite values", arg), call. = FALSE)
  x
}

check_count <- function(v, arg, min = 1) {
  if (!is.numeric(v) || length(v) != 1L || is.na(v) || v != round(v) || v < min || v > .Machine$integer.max)
    stop(sprintf("`%s` must be a whole number >= %d", arg, min), call. = FALSE)
  as.integer(v)
}

check_number <- function(v, arg, min = 0) {
  if (!is.numeric(v) || length(v) != 1L || is.na(v) || !is.finite(v) || v < min)
    stop(sprintf("`%s` must be a single finite number >= %s", arg, format(min)), call. = FALSE)
  as.double(v)
}

check_flag <- function(v, arg) {
  if (!is.logical(v) || length(v) != 1L || is.na(v))
    stop(sprintf("`%s` must be TRUE or FALSE", arg), call. = FALSE)
  v
}

check_weights <- function(weights, n) {
  if (is.null(weights)) return(NULL)
  if (!is.numeric(weights) || length(weights) != n)
    stop(sprintf("`weights` must be a numeric vector with one value per observation (%d)", n),
         call. = FALSE)
  if (anyNA(weights) || any(!is.finite(weights)))
    stop("`weights` must not contain NA, NaN or infinite values", call. = FALSE)
  if (any(weights < 0)) stop("`weights` must be non-negative", call. = FALSE)
  if (sum(weights) <= 0) stop("`weights` must not all be zero", call. = FALSE)
  as.double(weights)
}

# Threads: the argument, else getOption("fastgmm.threads"), else RcppParallel's
# default; more than the machine's logical CPUs are capped to them, with a warning.
check_threads <- function(threads) {
  cpu_level_sync()  # every verb that makes a pass over data comes here first
  given <- !is.null(threads)
  if (!given) threads <- getOption("fastgmm.threads", RcppParallel::defaultNumThreads())
  threads <- check_count(threads, if (given) "threads" else "getOption(\"fastgmm.threads\")")
  cores <- max_threads()
  if (threads > cores) {
    warning(sprintf("%s = %d is more than the %d logical CPUs of this machine; using %d",
                    if (given) "`threads`" else "option fastgmm.threads", threads, cores, cores),
            call. = FALSE)
    threads <- cores
  }
  threads
}

# The machine's logical CPUs, counted once per session: parallel::detectCores() starts a shell
# on Linux (about 9 ms, most of the time of a gmm() call on small data).
max_threads <- function() {
  n <- threads_memo$cores
  if (is.null(n)) {
    n <- suppressWarnings(parallel::detectCores(logical = TRUE))
    if (is.na(n) || n < 1L) n <- RcppParallel::defaultNumThreads()
    n <- max(1L, as.integer(n))
    threads_memo$cores <- n
  }
  n
}
threads_memo <- new.env(parent = emptyenv())

# The seed for the C++ generator: the given one, or one draw from R's stream.
resolve_seed <- function(seed) {
  if (is.null(seed)) return(floor(stats::runif(1L) * 2^31))
  if (!is.numeric(seed) || length(seed) != 1L || is.na(seed) || seed != round(seed) || abs(seed) > 2^52)
    stop("`seed` must be NULL or a single whole number", call. = FALSE)
  as.double(seed %% 2^52)
}

