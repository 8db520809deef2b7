#' fastgmm: fast Gaussian mixture models by EM
#'
#' Fits Gaussian mixture models with a C++ core that makes one fused pass of
#' block sufficient statistics per EM iteration, on all CPU cores and, when
#' built with CUDA, on a GPU. Start with [gmm()].
#'
#' Options: `fastgmm.threads` (default number of threads), `fastgmm.cache`
#' (`FALSE` to keep the kernel-variant timings in memory only) and
#' `fastgmm.cache_dir` (where they are kept; default
#' `tools::R_user_dir("fastgmm", "cache")`).
#'
#' @keywords internal
#' @useDynLib fastgmm, .registration = TRUE
#' @importFrom Rcpp evalCpp
#' @importFrom RcppParallel defaultNumThreads
"_PACKAGE"
