#!/usr/bin/env Rscript
# Checks the covariance-model M-steps of src/core/models against mclust.
#   Rscript tools/mstep_check.R            (from anywhere; exit status 1 on failure)
# Needs mclust, Rcpp, RcppEigen. Compiles tools/mstep_check.cpp together with every
# src/core/models/*.cpp (one translation unit) through Rcpp::sourceCpp, then:
#   1. n_cov_params == mclust::nVarParams for d = 1..6, G = 1..9;
#   2. single M-steps against mclust::mstep on real and simulated data, hard and soft z
#      (sigma, and scale/shape/orientation wherever mclust reports them);
#   3. observation weights against mclust on replicated rows;
#   4. full EM trajectories (tiny EM in R around our M-step) against mclust::me;
#   5. degenerate input: ModelError naming the right component, never NaN.
# Relative differences: sigma, per component, max|ours - mclust| / max|mclust|; scale and
# shape entrywise relative; orientation max abs difference after aligning column signs.

suppressPackageStartupMessages({
  library(mclust)
  library(Rcpp)
})

args <- commandArgs(FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
tools_dir <- if (length(file_arg)) dirname(normalizePath(file_arg)) else normalizePath("tools")
root <- dirname(tools_dir)
core <- file.path(root, "src", "core")

build <- function() {
  models <- sort(list.files(file.path(core, "models"), pattern = "\\.cpp$", full.names = TRUE))
  src <- c("// [[Rcpp::plugins(cpp17)]]", "// [[Rcpp::depends(RcppEigen)]]",
           "#include <RcppEigen.h>", sprintf('#include "%s"', models),
           readLines(file.path(tools_dir, "mstep_check.cpp")))
  f <- file.path(tempdir(), "mstep_check_unity.cpp")
  writeLines(src, f)
  old <- Sys.getenv("PKG_CPPFLAGS")
  Sys.setenv(PKG_CPPFLAGS = paste0("-I", core, " -Wno-ignored-attributes -DEIGEN_MAX_ALIGN_BYTES=64"))
  on.exit(Sys.setenv(PKG_CPPFLAGS = old))
  sourceCpp(f, env = globalenv())
}
cat("compiling ...\n")
t0 <- proc.time()[["elapsed"]]
build()
cat(sprintf("compiled in %.0f s\n", proc.time()[["elapsed"]] - t0))

models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE",
            "EEV", "VEV", "EVV", "VVV")
info <- mc_models()
failures <- character()
fail <- function(...) {
  msg <- paste0(...)
  failures <<- c(failures, msg)
  cat("FAIL:", msg, "\n")
}
if (!identical(info$name, models)) fail("registry order: ", paste(info$name, collapse = " "))
iterative <- setNames(info$iterative, info$name)
expect_iter <- c("VEI", "VEE", "EVE", "VVE", "VEV")
if (!setequal(info$name[info$iterative], expect_iter)) fail("iterative flags")
expect_shape <- c(EII = "Spherical", VII = "Spherical", EEI = "Diag", VEI = "Diag", EVI = "Diag",
                  VVI = "Diag", EEE = "Tied")
for (m in models) {
  es <- if (m %in% names(expect_shape)) expect_shape[[m]] else "Full"
  sk <- c(Spherical = "Trace", Diag = "Diag", Tied = "Full", Full = "Full")[[es]]
  if (info$eshape[info$name == m] != es || info$scatter[info$name == m] != sk)
    fail(m, ": eshape/scatter ", info$eshape[info$name == m], "/", info$scatter[info$name == m])
}

# ---------------------------------------------------------------- results table
tab <- data.frame(model = models, np_ok = TRUE, cases = 0L, sigma = 0, scale = 0, shape = 0,
                  orient = 0, inner_mismatch = 0L, mclust_fail = 0L, em_runs = 0L,
                  em_loglik = 0, em_iter_mismatch = 0L, stringsAsFactors = FALSE)
upd <- function(m, col, v) {
  i <- match(m, tab$model)
  tab[i, col] <<- max(tab[i, col], v, na.rm = TRUE)
}
inc <- function(m, col) {
  i <- match(m, tab$model)
  tab[i, col] <<- tab[i, col] + 1L
}
tol_for <- function(m) if (iterative[[m]]) 1e-6 else 1e-8

# ---------------------------------------------------------------- 1. parameter counts
for (m in models) for (d in 1:6) for (G in 1:9) {
  a <- mc_nparams(m, G, d)
  b <- nVarParams(m, d, G)
  if (!isTRUE(all.equal(a, b))) {
    tab$np_ok[tab$model == m] <- FALSE
    fail(sprintf("nVarParams %s d=%d G=%d: ours %g mclust %g", m, d, G, a, b))
  }
}

# ---------------------------------------------------------------- helpers
ldmvn <- function(x, mu, S) {
  R <- chol(S)
  q <- backsolve(R, t(x) - mu, transpose = TRUE)
  -0.5 * colSums(q^2) - sum(log(diag(R))) - 0.5 * ncol(x) * log(2 * pi)
}
estep_r <- function(x, pro, mu, sigma) {  # mu d x G, sigma list
  G <- length(pro)
  lp <- sapply(seq_len(G), function(k) log(pro[k]) + ldmvn(x, mu[, k], sigma[[k]]))
  lp <- matrix(lp, nrow(x), G)
  mx <- apply(lp, 1, max)
  lse <- mx + log(rowSums(exp(lp - mx)))
  list(z = exp(lp - lse), loglik = sum(lse))
}
wmeans <- function(x, z) sweep(crossprod(x, z), 2, colSums(z), "/")
# A soft z: E-step of the VVV fit to the hard z with covariances inflated by `inflate`.
soft_z <- function(x, zh, inflate = 2) {
  G <- ncol(zh)
  if (G == 1) return(zh)
  mu <- wmeans(x, zh)
  sig <- lapply(seq_len(G), function(k) {
    xc <- sweep(x, 2, mu[, k])
    inflate * crossprod(xc * sqrt(zh[, k])) / sum(zh[, k])
  })
  estep_r(x, colMeans(zh), mu, sig)$z
}
hard_z <- function(labels) unmap(as.integer(factor(labels)))
rot <- function(d) qr.Q(qr(matrix(rnorm(d * d), d)))
# k clusters in d dimensions: "sph" nearly spherical, "elong" condition number up to 1e4,
# "mixed" alternating.
simulate <- function(k, d, type, n_per = 80, seed = 1) {
  set.seed(seed)
  x <- NULL
  lab <- NULL
  for (j in seq_len(k)) {
    t <- if (type == "mixed") c("sph", "elong")[1 + j %% 2] else type
    ev <- if (t == "sph") 1 + 0.02 * runif(d) else 10^(2 - 4 * (seq_len(d) - 1) / max(d - 1, 1))
    ev <- ev * exp(rnorm(1, sd = 0.5))
    Q <- rot(d)
    S <- Q %*% diag(ev, d) %*% t(Q)
    S <- (S + t(S)) / 2
    ctr <- rnorm(d, sd = 12)
    x <- rbind(x, sweep(matrix(rnorm(n_per * d), n_per) %*% chol(S), 2, ctr, "+"))
    lab <- c(lab, rep(j, n_per))
  }
  list(x = x, lab = lab)
}

# mclust's M-step, or NULL where it cannot compute one.
mclust_mstep <- function(m, x, z, control = NULL) {
  ms <- tryCatch(suppressWarnings(
    if (is.null(control)) mstep(modelName = m, data = x, z = z, warn = FALSE)
    else mstep(modelName = m, data = x, z = z, warn = FALSE, control = control)),
    error = function(e) NULL)
  if (is.null(ms)) return(NULL)
  v <- ms$parameters$variance
  if (is.null(v$sigma) || anyNA(v$sigma)) return(NULL)
  list(v = v, inner = if (!is.null(attr(ms, "info"))) abs(attr(ms, "info")[[1]]) else NA)
}
# Our parameters in mclust's layout.
as_mclust <- function(o, d, G) {
  sigma <- array(unlist(o$sigma), c(d, d, G))
  shape <- o$shape
  if (length(shape)) shape <- if (nrow(shape) == 1) drop(shape) else t(shape)
  orient <- o$orientation
  if (length(orient)) orient <- if (length(orient) == 1) orient[[1]] else array(unlist(orient), c(d, d, G))
  list(sigma = sigma, scale = o$scale, shape = shape, orientation = orient)
}
relmat <- function(a, b) {
  b <- array(b, dim(a))
  max(sapply(seq_len(dim(a)[3]), function(j) max(abs(a[, , j] - b[, , j])) / max(abs(b[, , j]))))
}
relvec <- function(a, b) max(abs(as.numeric(a) - as.numeric(b)) / abs(as.numeric(b)))
orient_diff <- function(A, B) {  # up to column signs
  A <- array(A, c(nrow(B), ncol(B), max(1, length(B) / (nrow(B) * ncol(B)))))
  B <- array(B, dim(A))
  max(sapply(seq_len(dim(A)[3]), function(j) {
    s <- sign(colSums(A[, , j] * B[, , j]))
    s[s == 0] <- 1
    max(abs(sweep(A[, , j, drop = TRUE], 2, s, "*") - B[, , j]))
  }))
}

# Compares our M-step with mclust's on (x, z) for model m; `label` names the case.
# ctl = c(itmax, tol): inner control, passed to mclust as emControl()$itmax[2] / $tol[2].
compare_mstep <- function(m, x, z, label, w = NULL, ctl = NULL) {
  x <- as.matrix(x)
  d <- ncol(x)
  G <- ncol(z)
  if (!is.null(ctl)) label <- sprintf("%s, itmax %g tol %g", label, ctl[1], ctl[2])
  ours <- if (is.null(ctl)) mc_mstep(x, z, m, w = w) else mc_mstep(x, z, m, max_iter = ctl[1], tol = ctl[2], w = w)
  control <- if (is.null(ctl)) NULL else emControl(itmax = c(.Machine$integer.max, ctl[1]), tol = c(1e-5, ctl[2]))
  # EVE and VVE with one component are the unconstrained estimate, as mclust fits k = 1
  # (mvn()); mclust's mstep() iterates towards it and stops short: compare sigma with VVV's.
  k1 <- m %in% c("EVE", "VVE") && G == 1L
  rm <- if (k1) "VVV" else m
  if (is.null(w)) {
    ref <- mclust_mstep(rm, x, z, control)
  } else {  # integer weights: mclust on replicated rows
    idx <- rep(seq_len(nrow(x)), w)
    ref <- mclust_mstep(rm, x[idx, , drop = FALSE], z[idx, , drop = FALSE], control)
  }
  if (is.null(ref)) {
    inc(m, "mclust_fail")
    cat(sprintf("  note: mclust cannot compute %s on %s; ours: %s\n", m, label,
                if (is.null(ours$error)) "computed" else ours$error))
    return(invisible())
  }
  if (!is.null(ours$error)) return(fail(m, " on ", label, ": ours threw '", ours$error, "', mclust did not"))
  inc(m, "cases")
  o <- as_mclust(ours, d, G)
  v <- ref$v
  tol <- tol_for(m)
  chk <- function(col, val, tl = tol) {
    upd(m, col, val)
    if (!is.finite(val) || val > tl) fail(sprintf("%s on %s: %s differs by %.3g (tol %.0e)", m, label, col, val, tl))
  }
  chk("sigma", relmat(o$sigma, v$sigma))
  if (k1) return(invisible())
  has <- function(nm) !is.null(v[[nm]])
  for (nm in c("scale", "shape", "orientation"))
    if (has(nm) != (length(o[[nm]]) > 0)) fail(m, " on ", label, ": ", nm, " present in ",
                                               if (has(nm)) "mclust only" else "ours only")
  if (has("scale") && length(o$scale)) chk("scale", relvec(o$scale, v$scale))
  if (has("shape") && length(o$shape)) {
    chk("shape", relvec(o$shape, v$shape))
    pr <- if (is.matrix(o$shape)) apply(o$shape, 2, prod) else prod(o$shape)
    if (any(abs(pr - 1) > 1e-13)) fail(m, " on ", label, ": shape product ", format(max(abs(pr - 1))))
  }
  if (has("orientation") && length(o$orientation)) {
    chk("orient", orient_diff(o$orientation, v$orientation))
    oo <- array(o$orientation, c(d, d, length(o$orientation) / d^2))
    for (j in seq_len(dim(oo)[3]))
      if (max(abs(crossprod(oo[, , j]) - diag(d))) > 1e-12) fail(m, " on ", label, ": orientation not orthogonal")
  }
  for (S in ours$sigma) if (!isSymmetric(S, tol = 0)) fail(m, " on ", label, ": sigma not symmetric")
  if (iterative[[m]] && is.finite(ref$inner) && ours$inner != ref$inner) {
    inc(m, "inner_mismatch")
    cat(sprintf("  note: %s on %s: inner iterations ours %d, mclust %d\n", m, label, ours$inner, ref$inner))
  }
}

# ---------------------------------------------------------------- 2. data sets
cases <- list()
add_case <- function(name, x, lab) {
  x <- as.matrix(x)
  zh <- hard_z(lab)
  cases[[paste(name, "hard")]] <<- list(x = x, z = zh)
  if (ncol(zh) > 1) cases[[paste(name, "soft")]] <<- list(x = x, z = soft_z(x, zh))
}
set.seed(42)
add_case("faithful", faithful, kmeans(faithful, 2, nstart = 5)$cluster)
add_case("iris", iris[, 1:4], iris$Species)
add_case("diabetes", diabetes[, -1], diabetes$class)
add_case("banknote", banknote[, -1], banknote$Status)
set.seed(7)
add_case("banknote G3", banknote[, -1], kmeans(scale(banknote[, -1]), 3, nstart = 5)$cluster)
sims <- list(c(1, 2, "elong"), c(1, 5, "sph"), c(2, 3, "sph"), c(2, 6, "elong"),
             c(3, 2, "elong"), c(3, 4, "sph"), c(3, 5, "mixed"), c(5, 3, "elong"),
             c(5, 5, "mixed"), c(5, 6, "sph"), c(2, 4, "mixed"), c(2, 18, "mixed"))
for (i in seq_along(sims)) {
  s <- sims[[i]]
  sm <- simulate(as.integer(s[1]), as.integer(s[2]), s[3], seed = 100 + i)
  add_case(sprintf("sim k=%s d=%s %s", s[1], s[2], s[3]), sm$x, sm$lab)
}
cat(sprintf("M-step comparisons on %d cases x %d models ...\n", length(cases), length(models)))
for (nm in names(cases)) for (m in models) compare_mstep(m, cases[[nm]]$x, cases[[nm]]$z, nm)

# one dimension: EII / VII against mclust's E / V
x1 <- faithful$eruptions
z1 <- soft_z(matrix(x1), hard_z(kmeans(x1, 2, nstart = 5)$cluster))
for (pair in list(c("EII", "E"), c("VII", "V"))) {
  o <- mc_mstep(matrix(x1), z1, pair[1])
  r <- suppressWarnings(mstep(modelName = pair[2], data = x1, z = z1))$parameters$variance
  dv <- relvec(sapply(o$sigma, c), r$sigmasq)
  upd(pair[1], "sigma", dv)
  if (dv > 1e-8) fail(pair[1], " in 1-D vs ", pair[2], ": ", dv)
}

# inner control overrides (few iterations: the result depends on the start and the limit)
for (nm in c("iris soft", "banknote soft", "sim k=3 d=5 mixed soft", "sim k=1 d=2 elong hard"))
  for (m in expect_iter) for (cc in list(c(1, 1e-3), c(3, 1e-3), c(40, 1e-12)))
    compare_mstep(m, cases[[nm]]$x, cases[[nm]]$z, nm, ctl = cc)

# d = 1: every model is "E" (= EII) or "V" (= VII) and must not fail
{
  x1m <- matrix(x1)
  ref <- list(E = mc_mstep(x1m, z1, "EII")$sigma, V = mc_mstep(x1m, z1, "VII")$sigma)
  for (m in models) {
    o <- mc_mstep(x1m, z1, m)
    if (!is.null(o$error)) { fail(m, " with d = 1: ", o$error); next }
    dv <- relvec(unlist(o$sigma), unlist(ref[[substr(m, 1, 1)]]))
    if (dv > tol_for(m)) fail(m, " with d = 1 differs from ", if (substr(m, 1, 1) == "E") "EII" else "VII", " by ", dv)
  }
}

# ---------------------------------------------------------------- 3. observation weights
set.seed(3)
wt <- sample(1:3, nrow(iris), replace = TRUE)
for (m in models) compare_mstep(m, iris[, 1:4], cases[["iris soft"]]$z, "iris soft, integer weights", w = wt)

# ---------------------------------------------------------------- 4. EM trajectories
em_ours <- function(x, z, m, tol = 1e-5, itmax = .Machine$integer.max, inner_itmax = 0L, warm = TRUE) {
  prev <- NULL
  hold <- .Machine$double.xmax / 2
  iter <- 0L
  repeat {
    iter <- iter + 1L
    ms <- mc_mstep(x, z, m, prev = prev, max_iter = inner_itmax)
    if (!is.null(ms$error)) return(list(error = ms$error, iterations = iter))
    e <- estep_r(x, colSums(z) / nrow(x), wmeans(x, z), ms$sigma)
    z <- e$z
    err <- abs(hold - e$loglik) / (1 + abs(e$loglik))
    hold <- e$loglik
    if (!(err > tol && iter < itmax)) break
    if (warm) prev <- ms
  }
  list(loglik = hold, iterations = iter)
}
em_check <- function(m, nm, inner_itmax = 0L) {
  x <- cases[[nm]]$x
  z <- cases[[nm]]$z
  label <- if (inner_itmax > 0) sprintf("%s, inner itmax %d", nm, inner_itmax) else nm
  control <- if (inner_itmax > 0) emControl(itmax = c(.Machine$integer.max, inner_itmax)) else emControl()
  ref <- tryCatch(suppressWarnings(me(modelName = m, data = x, z = z, warn = FALSE, control = control)),
                  error = function(e) NULL)
  ours <- em_ours(x, z, m, inner_itmax = inner_itmax)
  if (is.null(ref) || !is.finite(ref$loglik)) {
    cat(sprintf("  note: mclust::me fails for %s on %s; ours: %s\n", m, label,
                if (is.null(ours$error)) sprintf("loglik %.6f", ours$loglik) else ours$error))
    return(invisible())
  }
  if (!is.null(ours$error))
    return(fail(m, " EM on ", label, ": ours threw '", ours$error, "' at iteration ", ours$iterations))
  inc(m, "em_runs")
  dl <- abs(ours$loglik - ref$loglik) / abs(ref$loglik)
  upd(m, "em_loglik", dl)
  if (dl > tol_for(m)) fail(sprintf("%s EM on %s: loglik %.10f vs mclust %.10f (rel %.2g)", m, label, ours$loglik, ref$loglik, dl))
  its <- abs(attr(ref, "info")[[1]])
  if (ours$iterations != its) {
    inc(m, "em_iter_mismatch")
    cat(sprintf("  note: %s EM on %s: %d iterations, mclust %d\n", m, label, ours$iterations, its))
  }
}
em_cases <- c("iris hard", "faithful hard", "diabetes hard", "banknote hard",
              "sim k=3 d=2 elong hard", "sim k=5 d=3 elong soft", "sim k=2 d=4 mixed soft")
cat(sprintf("EM trajectories on %d starts x %d models ...\n", length(em_cases), length(models)))
for (nm in em_cases) for (m in models) em_check(m, nm)
# few inner iterations: the EM path then depends on warm starts exactly as in mclust
for (nm in em_cases[1:4]) for (m in expect_iter) for (it in 1:2) em_check(m, nm, it)
# power of that check: without warm starts the EM path leaves mclust's (except VEE, which
# mclust restarts from lambda = 1 at every M-step)
for (m in setdiff(expect_iter, "VEE")) {
  ref <- suppressWarnings(me(modelName = m, data = cases[["iris hard"]]$x, z = cases[["iris hard"]]$z,
                             warn = FALSE, control = emControl(itmax = c(.Machine$integer.max, 1L))))
  cold <- em_ours(cases[["iris hard"]]$x, cases[["iris hard"]]$z, m, inner_itmax = 1L, warm = FALSE)
  dl <- abs(cold$loglik - ref$loglik) / abs(ref$loglik)
  cat(sprintf("  %s, inner itmax 1, iris: cold-start EM differs from mclust by %.1e (warm: see table)\n", m, dl))
  if (!(dl > 1e-6)) fail(m, ": warm-start check has no power (cold start also matches)")
}
# one dimension
for (pair in list(c("EII", "E"), c("VII", "V"))) {
  ref <- me(modelName = pair[2], data = x1, z = z1, warn = FALSE)
  ours <- em_ours(matrix(x1), z1, pair[1])
  dl <- abs(ours$loglik - ref$loglik) / abs(ref$loglik)
  upd(pair[1], "em_loglik", dl)
  inc(pair[1], "em_runs")
  if (dl > 1e-8) fail(pair[1], " 1-D EM vs ", pair[2], ": ", dl)
}

# ---------------------------------------------------------------- 5. degenerate input
cat("degenerate input ...\n")
n_degenerate <- 0L
messages <- character()
expect_error <- function(label, x, z, m, pattern) {
  n_degenerate <<- n_degenerate + 1L
  o <- mc_mstep(as.matrix(x), z, m)
  if (!is.null(o$error)) messages[[o$error]] <<- label
  if (is.null(pattern)) {
    if (!is.null(o$error)) fail(m, " on ", label, ": unexpected error '", o$error, "'")
    else if (!all(is.finite(unlist(o[c("sigma", "scale", "shape", "orientation")]))))
      fail(m, " on ", label, ": non-finite output")
  } else if (is.null(o$error)) {
    fail(m, " on ", label, ": no error (expected /", pattern, "/)")
  } else if (!grepl(pattern, o$error)) {
    fail(m, " on ", label, ": error '", o$error, "' does not match /", pattern, "/")
  }
}
per_comp_full <- c("VEE", "EVE", "VVE", "EVV", "VVV")
xi <- as.matrix(iris[, 1:4])
zi <- hard_z(iris$Species)
# (a) a column constant within component 2
xa <- cbind(xi, extra = rnorm(150))
xa[iris$Species == "versicolor", 5] <- 7
for (m in models)
  expect_error("column constant in component 2", xa, zi, m,
               if (m %in% c("EVI", "VVI", per_comp_full)) "component 2 is singular" else NULL)
# (b) component 3 holds 2 points in 4 dimensions (rank deficient)
lab <- as.integer(iris$Species)
keep <- c(which(lab != 3), which(lab == 3)[c(1, 3)])
xb <- xi[keep, ]
zb <- hard_z(lab[keep])
for (m in models)
  expect_error("component 3 of rank 1", xb, zb, m, if (m %in% per_comp_full) "component 3 is singular" else NULL)
# (c) an empty component
zc <- cbind(zi, 0)
for (m in models) expect_error("empty component 4", xi, zc, m, "component 4 collapsed")
# (d) a column constant everywhere
xd <- cbind(xi, 3)
for (m in models)
  expect_error("constant column", xd, zi, m,
               if (m %in% c("EII", "VII")) NULL
               else if (m %in% c("EEI", "VEI", "EEE", "EEV", "VEV")) "common covariance is singular"
               else "component 1 is singular")
# (e) component 2 sits on one point
xe <- xi
xe[lab == 2, ] <- matrix(xi[which(lab == 2)[1], ], sum(lab == 2), 4, byrow = TRUE)
for (m in models)
  expect_error("component 2 on one point", xe, zi, m,
               if (m %in% c("EII", "EEI", "EEE", "EEV")) NULL else "component 2 is singular")

cat(sprintf("  %d model x input checks; e.g.\n", n_degenerate))
for (msg in names(messages)) cat(sprintf("    %s: %s\n", messages[[msg]], msg))

# ---------------------------------------------------------------- report
fmt <- tab
for (col in c("sigma", "scale", "shape", "orient", "em_loglik"))
  fmt[[col]] <- ifelse(fmt[[col]] == 0, "0", formatC(fmt[[col]], format = "e", digits = 1))
fmt$tol <- ifelse(iterative[fmt$model], "1e-6", "1e-8")
cat("\nMax relative differences to mclust", as.character(packageVersion("mclust")),
    "(M-step cases; EM loglik of full runs):\n")
print(fmt, row.names = FALSE)
if (length(failures)) {
  cat(sprintf("\n%d FAILURE(S)\n", length(failures)))
  quit(status = 1)
}
cat("\nall checks passed\n")
