# The CPU kernels' instruction-set level (src/core/kernels/dispatch.h).

#' Instruction-set levels of the CPU kernels
#'
#' @md
#' @description
#' fastgmm compiles its hot CPU kernels (the fused E-step and statistics
#' pass) for several instruction sets in one library: `"generic"` (the
#' baseline of the platform: SSE2 on x86-64), and on x86-64 also `"avx2"`
#' (AVX2 and FMA) and `"avx512"` (AVX-512 F, DQ, BW and VL). The best level
#' this CPU supports is used unless one is forced with
#' `options(fastgmm.cpu_level = "avx2")` (or the environment variable
#' `FASTGMM_CPU_LEVEL`, read when the option is not set); `"auto"` (the
#' default) means the best. A level that was not compiled or that the CPU
#' lacks is refused with an error when a fit or prediction starts. All
#' levels give the same results up to floating-point rounding.
#'
#' A package installed with `FASTGMM_NATIVE=yes` (compiled with
#' `-march=native` for the machine it was built on) has one level,
#' `"native"`; so do builds off x86-64 (`"generic"`).
#'
#' @return A data frame with one row per level known to this build and
#'   columns `level`, `compiled` (built into this installation), `supported`
#'   (this CPU can run it) and `active` (the level now in use: exactly one
#'   row is `TRUE`).
#' @seealso [gmm_backends()], whose `note` for the `"cpu"` backend names the
#'   level in use.
#' @examples
#' gmm_cpu_levels()
#' @export
gmm_cpu_levels <- function() {
  try(cpu_level_sync(), silent = TRUE)  # a bad setting is an error where it is used, not here
  cpp_cpu_levels()
}

cpu_level_state <- new.env(parent = emptyenv())

# Applies getOption("fastgmm.cpu_level") (else $FASTGMM_CPU_LEVEL, else "auto") to
# the C++ kernels when it changed; called before every pass over the data (from
# check_threads(), which every verb that runs one calls).
cpu_level_sync <- function() {
  want <- getOption("fastgmm.cpu_level")
  what <- "option `fastgmm.cpu_level`"
  if (is.null(want)) {
    want <- Sys.getenv("FASTGMM_CPU_LEVEL", "")
    what <- "environment variable FASTGMM_CPU_LEVEL"
    if (!nzchar(want)) want <- "auto"
  }
  if (!is.character(want) || length(want) != 1L || is.na(want))
    stop(what, " must be a single string such as \"auto\", \"generic\", \"avx2\" or \"avx512\"",
         call. = FALSE)
  if (identical(cpu_level_state$set, want)) return(invisible(want))
  tryCatch(cpp_set_cpu_level(want), error = function(e)
    stop(what, ": ", conditionMessage(e), "; see gmm_cpu_levels()", call. = FALSE))
  cpu_level_state$set <- want
  invisible(want)
}

cpu_level_active <- function() {
  lv <- gmm_cpu_levels()
  lv$level[lv$active]
}
