#' fastgmm: fast Gaussian mixture models by EM
#'
#' Fits Gaussian mixture models with a C++ core that makes one fused pass of
#' block sufficient statistics per EM iteration, on all CPU cores and, when
#' built with CUDA, on a GPU. Start with [gmm()].
#'
#' Options: `fastgmm.threads` (default number of threads), `fastgmm.cache`
#' (`TRUE` to keep the kernel-variant timings on disk, `FALSE` to keep them in
#' memory only; unset: on disk in interactive sessions only) and
#' `fastgmm.cache_dir` (where they are kept; default
#' `tools::R_user_dir("fastgmm", "cache")`). See \sQuote{The variant cache}
#' in [gmm_time_variants()].
#'
#' @keywords internal
#' @useDynLib fastgmm, .registration = TRUE
#' @importFrom Rcpp evalCpp
#' @importFrom RcppParallel defaultNumThreads
"_PACKAGE"
