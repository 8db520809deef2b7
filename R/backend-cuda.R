# The CUDA backend: device discovery, gmm_backends(), fitting on the GPU and
# its kernel-variant selector (which shares the CPU selector's cache, its file
# and its policy: see variant_cache_dir() in backend.R).

# Statistics kernels, in the order of their codes in the plugin (src/cuda/plugin.cu).
cuda_variant_names <- c("cell", "cell_all", "component", "component_split", "cublas")
# The variants cuda_variant = "auto" times: "component" (one thread block per
# component over all rows) was 4 to 270 times slower than the fastest variant on
# every shape measured on an H100 (bench/README.md, "GPU speed, milliseconds per
# EM iteration"), so it runs only when asked for.
cuda_auto_variants <- setdiff(cuda_variant_names, "component")

cuda_state <- new.env(parent = emptyenv())

# The CUDA backend is a separate shared library, fastgmm_cuda.so, installed
# beside fastgmm.so when configure found nvcc. It is loaded (dlopen) the first
# time the backend is probed or used, never when the package loads, so that
# the package works where the CUDA toolkit or driver is missing. The
# environment variable FASTGMM_CUDA_PLUGIN points to another copy (for tests).
cuda_plugin_path <- function() {
  p <- Sys.getenv("FASTGMM_CUDA_PLUGIN", "")
  if (nzchar(p)) return(p)
  dll <- getLoadedDLLs()[["fastgmm"]][["path"]]
  file.path(dirname(dll), paste0("fastgmm_cuda", .Platform$dynlib.ext))
}

# What the plugin reports (queried once per session and plugin path;
# refresh = TRUE asks the devices again).
cuda_info <- function(refresh = FALSE) {
  path <- cuda_plugin_path()
  if (refresh || is.null(cuda_state$info[[path]])) {
    if (is.null(cuda_state$info)) cuda_state$info <- list()
    cuda_state$info[[path]] <- cpp_cuda_info(path)
  }
  cuda_state$info[[path]]
}

# The device to use: getOption("fastgmm.cuda_device"), default 0.
cuda_device <- function() {
  dev <- getOption("fastgmm.cuda_device", 0L)
  if (!is.numeric(dev) || length(dev) != 1L || is.na(dev) || dev != round(dev) || dev < 0)
    stop("option `fastgmm.cuda_device` must be a whole number >= 0", call. = FALSE)
  as.integer(dev)
}

cuda_usable <- function() {
  info <- cuda_info()
  isTRUE(info$loaded) && isTRUE(info$available) && cuda_device() %in% info$devices$index
}

# Why the CUDA backend can or cannot be used, in words: the plugin was not
# built, cannot be loaded (the loader's message), no driver, no device, ...
cuda_status <- function() {
  info <- cuda_info()
  if (!isTRUE(info$loaded) || !isTRUE(info$available)) return(info$reason)
  dev <- cuda_device()
  devs <- info$devices
  if (!dev %in% devs$index)
    return(sprintf("option fastgmm.cuda_device = %d, but the CUDA devices are %s", dev,
                   paste(devs$index, collapse = ", ")))
  i <- match(dev, devs$index)
  sprintf("CUDA device %d: %s (%.1f GB, compute capability %s)", dev, devs$name[i],
          devs$memory_gb[i], devs$compute_capability[i])
}

# backend = "auto" uses the GPU when n * d * k is at least this.
cuda_auto_threshold <- function() {
  v <- getOption("fastgmm.cuda_auto_threshold", 2e7)
  if (!is.numeric(v) || length(v) != 1L || is.na(v))
    stop("option `fastgmm.cuda_auto_threshold` must be a single number", call. = FALSE)
  v
}

#' Backends of gmm() on this machine
#'
#' Lists the backends [gmm()] can use (`"r"`, `"cpu"`, `"cuda"`): whether this
#' installation was built with each, whether it can run here, and on what
#' hardware. The CUDA backend is a plugin (`fastgmm_cuda.so`, installed beside
#' the package's own library) built when `configure` found the CUDA toolkit
#' (`nvcc`) at install time, unless `FASTGMM_CUDA=no` was set. The package
#' never links CUDA itself: the plugin is loaded the first time the CUDA
#' backend is asked for or probed (by this function, `backend = "cuda"`, or
#' `backend = "auto"` on a problem large enough for the GPU), and it is
#' available when it loads (the CUDA libraries it was built with are found)
#' and an NVIDIA driver and a supported GPU are present. The device used is
#' `getOption("fastgmm.cuda_device", 0)`.
#'
#' @return A data frame with one row per backend and columns `backend`,
#'   `built`, `available` (logical), `device` (CPU model or GPU name),
#'   `memory_gb` (main memory for `"r"` and `"cpu"`, GPU memory for `"cuda"`),
#'   `threads` (CPU threads `gmm()` uses by default), `compute_capability` (of
#'   the GPU) and `note` (for `"cpu"`, the instruction-set level of its
#'   kernels, see [gmm_cpu_levels()]; for `"cuda"`, why it is not available
#'   (the plugin was not built, cannot be loaded, no driver, no device), or
#'   the driver and runtime versions).
#' @seealso [gmm()] and its `backend` argument.
#' @examples
#' gmm_backends()
#' @export
gmm_backends <- function() {
  info <- cuda_info()
  cpu <- cpu_description()
  threads <- check_threads(NULL)
  dev <- cuda_device()
  i <- match(dev, info$devices$index)
  have_dev <- !is.na(i)
  version <- function(v) if (v > 0) sprintf("%d.%d", v %/% 1000, (v %% 1000) %/% 10) else "none"
  note <- if (cuda_usable()) {
    sprintf("driver supports CUDA %s; runtime %s", version(info$driver_version),
            version(info$runtime_version))
  } else {
    cuda_status()
  }
  data.frame(
    backend = c("r", "cpu", "cuda"),
    built = c(TRUE, TRUE, isTRUE(info$built)),
    available = c(TRUE, TRUE, cuda_usable()),
    device = c(cpu$name, cpu$name, if (have_dev) info$devices$name[i] else NA_character_),
    memory_gb = c(cpu$memory_gb, cpu$memory_gb, if (have_dev) info$devices$memory_gb[i] else NA_real_),
    threads = c(1L, threads, NA_integer_),
    compute_capability = c(NA_character_, NA_character_,
                           if (have_dev) info$devices$compute_capability[i] else NA_character_),
    note = c("", sprintf("kernels: %s", cpu_level_active()), note),
    stringsAsFactors = FALSE
  )
}

# CPU model (cpu_model() in backend.R) and main memory, where the system says
# (Linux); NA otherwise.
cpu_description <- function() {
  mem <- NA_real_
  if (file.exists("/proc/meminfo")) {
    lines <- tryCatch(readLines("/proc/meminfo", warn = FALSE), error = function(e) character())
    m <- grep("^MemTotal:", lines, value = TRUE)
    if (length(m)) mem <- as.numeric(gsub("[^0-9]", "", m[1L])) / 2^20
  }
  list(name = cpu_model(), memory_gb = mem)
}

# -- fitting ------------------------------------------------------------------------

# Internal options, for tests: fastgmm.cuda_block_rows (rows per device block)
# and fastgmm.cuda_stream (TRUE: keep no copy of the data on the device; the
# source is read on every pass). Any source works: the rows reach the device
# through the same block source as on the CPU.
fit_cuda <- function(src, weights, k, covariance, model, start, n_init, max_iter, tol, reg,
                     threads, seed, precision, cuda_variant, verbose, control, progress = NULL) {
  device <- cuda_device()
  if (cuda_variant == "auto")
    cuda_variant <- choose_cuda_variant(src, k, covariance, model, precision, threads, device)
  res <- cpp_fit_cuda(src$data, weights, k, model, start$code, start$params, start$labels,
                      n_init, max_iter, tol, reg, threads, seed,
                      match(cuda_variant, cuda_variant_names) - 1L, precision == "single",
                      verbose, score = if (src$in_memory) 0L else 1L, plugin = cuda_plugin_path(),
                      device = device, block_rows = cuda_block_rows(),
                      stream = isTRUE(getOption("fastgmm.cuda_stream", FALSE)),
                      control = control_for_cpp(control, "em"), progress = progress)
  res$cuda_variant <- cuda_variant
  res
}

cuda_block_rows <- function() as.double(getOption("fastgmm.cuda_block_rows", 0))

# -- kernel variants ------------------------------------------------------------------

# Rows below which the variants are not timed, and the most rows they are timed on.
cuda_timing_rows <- 100000L
cuda_timing_max_rows <- 2^20

# Bucketed like the CPU variants (powers of two of d and k), plus the device and
# a power-of-four bucket of the rows timed.
cuda_variant_key <- function(n, d, k, covariance, precision, device_name) {
  nb <- 4^round(log(min(n, cuda_timing_max_rows), 4))
  paste("cuda", gsub("[^A-Za-z0-9]+", "_", device_name),
        variant_key(d, k, covariance, precision), paste0("n", nb), sep = "-")
}

choose_cuda_variant <- function(src, k, covariance, model, precision, threads, device) {
  n <- src$n
  d <- src$d
  if (n < cuda_timing_rows) return(default_cuda_variant(d, k, model))
  info <- cuda_info()
  key <- cuda_variant_key(n, d, k, covariance, precision,
                          info$devices$name[match(device, info$devices$index)])
  if (!is.null(v <- variant_memo[[key]])) return(v)
  if (!is.null(v <- cached_variant(key, cuda_variant_names))) return(remember_variant(key, v, FALSE))
  secs <- cpp_cuda_time_variants(src$data, k, model, precision == "single", threads, 3L,
                                 cuda_plugin_path(), device, cuda_block_rows(),
                                 cuda_timing_max_rows, cuda_variant_names %in% cuda_auto_variants)
  remember_variant(key, cuda_variant_names[which.min(secs)])
}

# Without timings (fewer rows than cuda_timing_rows): one thread block per
# statistic ("cell"), except for ellipsoidal models beyond d = 32, whose
# (d + 1)(d + 2) / 2 statistics per component favour cuBLAS products. On an H100
# at 5e4 rows "cell" was the fastest or within 25% of it up to d = 32 (full) and
# d = 50 (diagonal), where "cublas" was up to 7 times slower; at d = 128 (full)
# "cublas" was the fastest and "cell" 11% behind (bench/README.md).
default_cuda_variant <- function(d, k, model) {
  if (model_family(model) == "ellipsoidal" && d > 32) "cublas" else "cell"
}

# Seconds per E-step pass of each CUDA kernel variant (NA: could not run), on
# at most cuda_timing_max_rows rows of x (any data gmm() takes). A variant far
# behind the best so far is timed by one pass (see cpp_cuda_time_variants).
cuda_time_variants <- function(x, k, covariance, precision, threads, device = cuda_device(),
                               reps = 3L) {
  src <- as_source(x)
  covariance <- check_covariance(covariance)
  secs <- cpp_cuda_time_variants(src$data, k, model_name(covariance, src$d), precision == "single",
                                 threads, reps, cuda_plugin_path(), device, cuda_block_rows(),
                                 cuda_timing_max_rows, rep(TRUE, length(cuda_variant_names)))
  stats::setNames(secs, cuda_variant_names)
}
