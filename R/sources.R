# Data sources: data that need not fit in memory. gmm(), gmm_select() and
# predict() accept them wherever they accept a matrix; the C++ core reads them
# block by block (src/core/source/), one streamed pass per EM iteration.

#' Data larger than memory: binary files and chunk functions
#'
#' `gmm_write()` writes a numeric matrix or data frame to a binary file of
#' rows (little-endian doubles or floats, row-major, no header); with
#' `append = TRUE` it adds rows to such a file, so a large CSV file can be
#' converted chunk by chunk. `gmm_file()` describes such a file (its number
#' of rows comes from its size). `gmm_chunks()` wraps a function that returns
#' the data chunk by chunk: `fun(i)` returns the `i`-th chunk (a numeric
#' matrix or data frame with `ncol` columns) and `NULL` after the last; it is
#' called from `i = 1` again on every pass over the data, and must return the
#' same rows every time (the idiom of `biglm::bigglm()`: read a CSV file with
#' `data.table::fread(skip = , nrows = )`, query a database, ...).
#'
#' Fitting from a file keeps only a few blocks of rows in memory (a few tens
#' of megabytes whatever the size of the file); the next block is read while
#' the current one is computed. A fit from a file holding the same numbers as
#' an in-memory matrix is identical to the in-memory fit. The per-row results
#' (`classification`, `uncertainty`) of a fit to a file or chunk source are
#' not kept in the fit: use `predict(fit, source)`, with `file =` to stream
#' them to a file when they are large too. A value that is not finite met
#' during a pass stops it with an error naming the row.
#'
#' A `bigmemory::big.matrix` can be passed directly to `gmm()`; it is read
#' through its `[` method, 65536 rows at a time.
#'
#' @param x A numeric matrix or a data frame of numeric columns (no `NA`,
#'   `NaN` or infinite values).
#' @param path File name.
#' @param type `"double"` (8 bytes per value) or `"float"` (4 bytes, single
#'   precision: about 7 significant digits, values up to about 3.4e38).
#' @param append Add the rows to an existing file (with the same number of
#'   columns and type) instead of replacing it.
#' @param ncol Number of columns of the data.
#' @param fun A function of one argument, the chunk number `i` (1, 2, ...),
#'   returning a numeric matrix or data frame with `ncol` columns, or `NULL`
#'   when there are no more chunks.
#' @return `gmm_write()` returns the `gmm_file()` of the file, invisibly.
#'   `gmm_file()` and `gmm_chunks()` return data sources (lists of class
#'   `"gmm_file"` or `"gmm_chunks"` and `"gmm_source"`) with elements `nrow`
#'   (for a chunk source, `NA` until the first pass counts the rows) and
#'   `ncol`.
#' @seealso [gmm()], [predict.gmm()].
#' @examples
#' x <- as.matrix(faithful)
#' path <- tempfile(fileext = ".bin")
#' src <- gmm_write(x, path)
#' src
#' fit_file <- gmm(src, 2, seed = 1, threads = 1)
#' fit_mem <- gmm(x, 2, seed = 1, threads = 1)
#' all.equal(fit_file$parameters, fit_mem$parameters)
#' head(predict(fit_file, src, threads = 1))
#'
#' # the same data from a function, 100 rows at a time
#' chunks <- gmm_chunks(function(i) {
#'   rows <- (100 * (i - 1) + 1):min(100 * i, nrow(x))
#'   if (rows[1] > nrow(x)) NULL else x[rows, , drop = FALSE]
#' }, ncol = 2)
#' gmm(chunks, 2, seed = 1, threads = 1)$loglik
#' unlink(path)
#' @name gmm_sources
NULL

#' @rdname gmm_sources
#' @export
gmm_write <- function(x, path, type = c("double", "float"), append = FALSE) {
  type <- match_choice(type, c("double", "float"), "type")
  append <- check_flag(append, "append")
  path <- check_path(path)
  x <- as_data_matrix(x)
  if (type == "float" && max(abs(range(x))) > 3.4e38)
    stop("`x` has values beyond the range of single precision; use type = \"double\"",
         call. = FALSE)
  size <- if (type == "double") 8L else 4L
  if (append && file.exists(path)) {
    bytes <- file.size(path)
    if (bytes %% (size * ncol(x)) != 0)
      stop(sprintf("`path` (%s) has %.0f bytes, not a whole number of rows of %d %ss; ",
                   path, bytes, ncol(x), type), "was it written with another ncol or type?",
           call. = FALSE)
    target <- path
  } else {
    append <- FALSE
    target <- paste0(path, ".part")  # renamed when complete: never a half-written file
  }
  con <- file(target, if (append) "ab" else "wb")
  ok <- FALSE
  on.exit({
    close(con)
    if (!ok && !append) unlink(target)
  })
  n <- nrow(x)
  step <- max(1L, as.integer(2^20 %/% ncol(x)))
  for (i in seq(1L, n, by = step)) {
    rows <- i:min(n, i + step - 1L)
    writeBin(as.vector(t(x[rows, , drop = FALSE])), con, size = size, endian = "little")
  }
  ok <- TRUE
  close(con)
  on.exit()
  if (!append && !file.rename(target, path)) {
    unlink(target)
    stop(sprintf("cannot write `path` (%s)", path), call. = FALSE)
  }
  invisible(gmm_file(path, ncol(x), type))
}

#' @rdname gmm_sources
#' @export
gmm_file <- function(path, ncol, type = c("double", "float")) {
  path <- check_path(path)
  ncol <- check_count(ncol, "ncol")
  type <- match_choice(type, c("double", "float"), "type")
  if (!file.exists(path)) stop(sprintf("`path` (%s) does not exist", path), call. = FALSE)
  if (dir.exists(path)) stop(sprintf("`path` (%s) is a directory", path), call. = FALSE)
  bytes <- file.size(path)
  size <- if (type == "double") 8 else 4
  if (is.na(bytes) || bytes == 0) stop(sprintf("`path` (%s) is empty", path), call. = FALSE)
  if (bytes %% (size * ncol) != 0)
    stop(sprintf(paste0("`path` (%s) has %.0f bytes, not a whole number of rows of %d %ss ",
                        "(%d bytes each): it is truncated, or has another ncol or type"),
                 path, bytes, ncol, type, size * ncol), call. = FALSE)
  structure(list(path = normalizePath(path), ncol = ncol, type = type, nrow = bytes / (size * ncol)),
            class = c("gmm_file", "gmm_source"))
}

#' @rdname gmm_sources
#' @export
gmm_chunks <- function(fun, ncol) {
  if (!is.function(fun)) stop("`fun` must be a function of the chunk number", call. = FALSE)
  ncol <- check_count(ncol, "ncol")
  force(fun)
  state <- new.env(parent = emptyenv())
  state$nrow <- NA_real_
  read <- function(i) {
    ch <- fun(i)
    if (is.null(ch)) return(NULL)
    chunk_matrix(ch, i, ncol)
  }
  structure(list(read = read, ncol = ncol, state = state), class = c("gmm_chunks", "gmm_source"))
}

#' @export
`$.gmm_chunks` <- function(x, name) {
  if (identical(name, "nrow")) return(.subset2(x, "state")$nrow)
  .subset2(x, name)
}

#' @export
print.gmm_source <- function(x, ...) {
  what <- if (inherits(x, "gmm_file")) sprintf("binary file %s (%ss, row-major)", x$path, x$type)
          else "chunk function"
  rows <- if (is.na(x$nrow)) "rows not counted yet" else sprintf("%.0f rows", x$nrow)
  cat(sprintf("fastgmm data source: %s\n  %s, %d column%s\n", what, rows, x$ncol,
              if (x$ncol == 1L) "" else "s"))
  invisible(x)
}

check_path <- function(path) {
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path))
    stop("`path` must be a single file name", call. = FALSE)
  path.expand(path)
}

# A chunk as a double matrix with ncol columns (the C++ reader checks the values).
chunk_matrix <- function(ch, i, ncol) {
  if (is.data.frame(ch)) ch <- as.matrix(ch)
  if (is.vector(ch) && !is.list(ch) && ncol == 1L) ch <- matrix(ch, ncol = 1L)
  if (!is.matrix(ch) || !(is.numeric(ch) || is.logical(ch)))
    stop(sprintf("chunk %d is not a numeric matrix or data frame", i), call. = FALSE)
  if (ncol(ch) != ncol)
    stop(sprintf("chunk %d has %d columns, not ncol = %d", i, ncol(ch), ncol), call. = FALSE)
  if (storage.mode(ch) != "double") storage.mode(ch) <- "double"
  ch
}

# Counts (once) the rows of a chunk source, checking every chunk.
chunks_count <- function(src) {
  st <- .subset2(src, "state")
  if (!is.na(st$nrow)) return(st$nrow)
  read <- .subset2(src, "read")
  n <- 0
  i <- 1L
  repeat {
    ch <- read(i)
    if (is.null(ch)) break
    bad <- cpp_check_finite(ch)
    if (bad > 0L)
      stop(sprintf("chunk %d contains %s values", i, if (bad == 1L) "NA or NaN" else "infinite"),
           call. = FALSE)
    n <- n + nrow(ch)
    i <- i + 1L
  }
  if (n == 0) stop("the chunk function returned no rows", call. = FALSE)
  st$nrow <- n
  n
}

# A chunk source over a bigmemory::big.matrix, read through its `[` method.
big_matrix_source <- function(x) {
  if (!requireNamespace("bigmemory", quietly = TRUE))
    stop("`x` is a big.matrix but the bigmemory package is not installed", call. = FALSE)
  n <- nrow(x)
  step <- 65536
  src <- gmm_chunks(function(i) {
    r0 <- (i - 1) * step + 1
    if (r0 > n) return(NULL)
    x[r0:min(n, r0 + step - 1), , drop = FALSE]
  }, ncol(x))
  st <- .subset2(src, "state")
  st$nrow <- n
  src
}

# What the verbs work on: list(data = the matrix or source passed to C++, n,
# d, names (column names or NULL), in_memory).
as_source <- function(x, arg = "x") {
  if (inherits(x, "big.matrix")) x <- big_matrix_source(x)
  if (inherits(x, "gmm_chunks")) {
    n <- chunks_count(x)
    reader <- structure(list(read = .subset2(x, "read"), ncol = x$ncol, nrow = n),
                        class = "gmm_chunk_reader")
    return(list(data = reader,
                n = n, d = x$ncol, names = NULL, in_memory = FALSE, source = x))
  }
  if (inherits(x, "gmm_file")) {
    src <- gmm_file(x$path, x$ncol, x$type)  # re-checks the file as it is now
    return(list(data = src, n = src$nrow, d = src$ncol, names = NULL, in_memory = FALSE,
                source = src))
  }
  if (inherits(x, "gmm_cluster")) return(cluster_as_source(x))
  m <- as_data_matrix(x, arg)
  list(data = m, n = nrow(m), d = ncol(m), names = colnames(m), in_memory = TRUE, source = m)
}
