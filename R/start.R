# gmm_start(): the starting partition that gmm_select() gives every covariance model at one k,
# as Mclust() starts all its models from one hierarchical clustering.

#' Starting labels for a mixture: k-means++ on standardised columns
#'
#' The partition from which [gmm_select()] (with its default `init =
#' "shared"`) starts every covariance model with `k` components, as
#' `mclust::Mclust()` starts all its models from one hierarchical clustering
#' of the scaled data: the columns of `x` are divided by their standard
#' deviations (weighted, as [gmm()]'s relative `reg_covar` computes them),
#' k-means++ (greedy seeding, then Lloyd steps, as `init = "kmeans++"` in
#' [gmm()]) runs `tries` times, and the partition with the smallest
#' within-cluster sum of squares is kept, its rows assigned to the nearest
#' centre. Standardising makes the start independent of the units of the
#' columns (k-means on raw columns is led by those with the largest
#' spread); keeping the best of several k-means runs makes it stable.
#'
#' The result is a vector of labels to pass as `init` to [gmm()], which then
#' starts with an M-step from them (as `mclust::me()` does).
#'
#' @param x A numeric matrix, data frame of numeric columns, numeric vector
#'   or data source ([gmm_file()], [gmm_chunks()], a `bigmemory::big.matrix`),
#'   as in [gmm()]. A source is read block by block (the labels, one integer
#'   per row, are held in memory).
#' @param k Number of components.
#' @param start Which start: [gmm_select()] with `n_init = m` uses the
#'   partitions `start = 1, ..., m` (each from its own random streams).
#' @param seed `NULL` (one number is drawn from R's random stream) or a
#'   whole number, as in [gmm()].
#' @param tries Number of k-means++ runs, the best of which is kept.
#' @param weights Optional observation weights, as in [gmm()].
#' @param threads Number of CPU threads; the result does not depend on it.
#' @return An integer vector of labels `1..k`, one per row of `x`.
#' @seealso [gmm_select()], [gmm()]
#' @examples
#' lab <- gmm_start(faithful, 3, seed = 1, threads = 1)
#' table(lab)
#' fit <- gmm(faithful, 3, covariance = "EEE", init = lab, threads = 1)
#' @export
gmm_start <- function(x, k, start = 1, seed = NULL, tries = 5, weights = NULL, threads = NULL) {
  src <- as_source(x)
  k <- check_count(k, "k")
  start <- check_count(start, "start")
  tries <- check_count(tries, "tries")
  weights <- normalise_weights(check_weights(weights, src$n))
  threads <- check_threads(threads)
  seed <- resolve_seed(seed)
  start_labels(src, k, seed, start, weights, threads, tries)
}

# The columns of a source divided by their (weighted) standard deviations: the coordinates of
# the shared starts (computed once per selection). In memory, a scaled copy; otherwise a chunk
# source that reads the rows block by block and scales them on the way.
start_scaled <- function(src, weights) {
  sd <- sqrt(column_scale(src, weights))
  if (src$in_memory) return(src$data / rep(sd, each = src$n))
  if (inherits(src$data, "gmm_chunk_reader")) {
    read <- src$data$read
    fun <- function(i) {
      ch <- read(i)
      if (is.null(ch)) NULL else ch / rep(sd, each = nrow(ch))
    }
  } else {
    n <- src$n
    step <- 65536
    data <- src$data
    fun <- function(i) {
      r0 <- (i - 1) * step
      if (r0 >= n) return(NULL)
      idx <- seq(r0, min(n, r0 + step) - 1)
      cpp_gather_rows(data, idx) / rep(sd, each = length(idx))
    }
  }
  chunks <- gmm_chunks(fun, src$d)
  st <- .subset2(chunks, "state")
  st$nrow <- src$n                       # known: no counting pass
  as_source(chunks)$data
}

# The labels of start `r` (1, 2, ...): k-means++ `tries` times on the standardised columns
# `xs` (start_scaled()), each run from its own stream (restart index (r - 1) * tries + t - 1
# of `seed`); the run whose partition has the smallest within-cluster sum of squares (the
# common variance of the EII M-step that ends the k-means start, times n d) wins; rows go to
# the nearest centre.
start_labels <- function(src, k, seed, r, weights, threads, tries = 5L, xs = NULL) {
  n <- src$n
  d <- src$d
  if (k == 1L) return(rep(1L, n))
  if (k > n) stop(sprintf("`k` (%d) is larger than the number of rows of `x` (%.0f)", k, n),
                  call. = FALSE)
  if (!cpp_distinct_rows(src$data, weights, k))
    stop(sprintf("`k` (%d) is larger than the number of distinct rows of `x`%s", k,
                 if (is.null(weights)) "" else " with positive weight"), call. = FALSE)
  if (is.null(xs)) xs <- start_scaled(src, weights)
  # The best of `tries` k-means++ runs (the smallest first variance); they run concurrently.
  res <- cpp_init_best(xs, weights, k, "EII", 0L, seed, (r - 1L) * tries, tries, rep(0, d),
                       threads, control_for_cpp(gmm_control(), "em"))
  if (is.null(res$params)) stop(res$error, call. = FALSE)
  best <- res$params
  centres <- list(proportions = rep(1 / k, k), means = best$means,
                  covariances = array(diag(d), c(d, d, k)))
  cpp_score(xs, centres, "EII", 8L, threads)$classification
}
