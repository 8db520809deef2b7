# Readers of the benchmark data and start files written by bench/gen_data.py
# (formats in bench/data.h). Sourced by the R benchmark scripts.

read_data <- function(path) {
  con <- file(path, "rb")
  on.exit(close(con))
  hdr <- readBin(con, "integer", n = 2L, size = 8L, endian = "little")
  n <- hdr[1]; d <- hdr[2]
  x <- readBin(con, "double", n = n * d, size = 8L, endian = "little")
  if (length(x) != n * d) stop("short read from ", path)
  dim(x) <- c(n, d)           # the file is column-major n x d: R's own layout
  x
}

read_init <- function(path) {
  con <- file(path, "rb")
  on.exit(close(con))
  hdr <- readBin(con, "integer", n = 3L, size = 8L, endian = "little")
  k <- hdr[1]; d <- hdr[2]; covtype <- hdr[3]
  w <- readBin(con, "double", n = k, size = 8L, endian = "little")
  m <- matrix(readBin(con, "double", n = d * k, size = 8L, endian = "little"), d, k)
  if (covtype == 0L) {
    covs <- array(readBin(con, "double", n = d * d * k, size = 8L, endian = "little"),
                  c(d, d, k))
  } else {
    covs <- matrix(readBin(con, "double", n = d * k, size = 8L, endian = "little"), d, k)
  }
  list(k = k, d = d, covtype = if (covtype == 0L) "full" else "diag",
       weights = w, means = m, covs = covs)
}
