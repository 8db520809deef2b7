# The covariance models: mclust's fourteen (Banfield & Raftery 1993; Celeux & Govaert 1995),
# named by volume, shape and orientation ("E"qual, "V"ariable, "I"dentity), with
# scikit-learn's names as aliases. The C++ registry (src/core/models/) holds their M-steps
# and parameter counts; this file holds their names and what R needs to know of them.

model_names <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV",
                 "VEV", "EVV", "VVV")
model_aliases <- c(full = "VVV", diag = "VVI", spherical = "VII", tied = "EEE")

model_descriptions <- c(
  EII = "spherical, equal volume", VII = "spherical, varying volume",
  EEI = "diagonal, equal volume and shape", VEI = "diagonal, varying volume, equal shape",
  EVI = "diagonal, equal volume, varying shape", VVI = "diagonal, varying volume and shape",
  EEE = "ellipsoidal, equal volume, shape and orientation",
  VEE = "ellipsoidal, equal shape and orientation",
  EVE = "ellipsoidal, equal volume and orientation",
  VVE = "ellipsoidal, equal orientation", EEV = "ellipsoidal, equal volume and shape",
  VEV = "ellipsoidal, equal shape", EVV = "ellipsoidal, equal volume",
  VVV = "ellipsoidal, varying volume, shape and orientation",
  E = "univariate, equal variance", V = "univariate, varying variance")

# The model's family: how its covariance matrices look.
model_family <- function(model) {
  if (model %in% c("E", "V")) return("univariate")
  switch(substr(model, 3L, 3L), I = if (substr(model, 2L, 2L) == "I") "spherical" else "diagonal",
         "ellipsoidal")
}

# TRUE for the models whose components share one covariance matrix.
model_common <- function(model) model %in% c("E", "EII", "EEI", "EEE")

# The canonical name of a model given by the user (mclust's name; in one dimension "E" or
# "V"), or an error naming the argument.
check_covariance <- function(covariance, d = 2L, arg = "covariance") {
  ok <- is.character(covariance) && length(covariance) == 1L && !is.na(covariance)
  if (ok) {
    m <- if (covariance %in% names(model_aliases)) model_aliases[[covariance]] else covariance
    if (d == 1L && m %in% c(model_names, "E", "V")) return(substr(m, 1L, 1L))
    if (m %in% model_names) return(m)
    if (m %in% c("E", "V") && d > 1L)
      stop(sprintf("`%s` = \"%s\" is a one-dimensional model, but the data have %d columns",
                   arg, m, d), call. = FALSE)
  }
  stop(sprintf(paste0("`%s` must be one of mclust's models %s, or \"full\", \"diag\", ",
                      "\"spherical\", \"tied\" (scikit-learn's names for VVV, VVI, VII, EEE)"),
               arg, paste0("\"", model_names, "\"", collapse = ", ")), call. = FALSE)
}

# The name the C++ core knows a model by (in one dimension E is EII and V is VII).
model_name <- function(covariance, d) {
  if (covariance == "E") return("EII")
  if (covariance == "V") return("VII")
  covariance
}

# Number of free parameters (mclust's nMclustParams, without noise or priors).
gmm_df <- function(k, d, covariance) {
  key <- paste(k, d)
  info <- model_counts_memo[[key]]
  if (is.null(info)) {
    info <- cpp_models(k, d)
    info <- stats::setNames(info$n_cov_params, info$name)
    model_counts_memo[[key]] <- info
  }
  (k - 1) + k * d + info[[model_name(check_covariance(covariance, d), d)]]
}

# Memoised: the registry's counts per (k, d) (gmm_select() asks for the same few many times).
model_counts_memo <- new.env(parent = emptyenv())

# mclust's plotting conventions for the models (mclust.options("bicPlotSymbols") and
# "bicPlotColors"), so that selection plots look like mclust's.
model_symbols <- c(EII = 17, VII = 2, EEI = 16, EVI = 10, VEI = 13, VVI = 1, EEE = 15, VEE = 8,
                   EVE = 5, VVE = 9, EEV = 12, VEV = 7, EVV = 14, VVV = 0, E = 17, V = 2)
model_colours <- c(EII = "gray", VII = "black", EEI = "#218B21", EVI = "#41884F", VEI = "#508476",
                   VVI = "#58819C", EEE = "#597DC3", VEE = "#5178EA", EVE = "#716EE7",
                   VVE = "#9B60B8", EEV = "#B2508B", VEV = "#C03F60", EVV = "#C82A36",
                   VVV = "#CC0000", E = "gray", V = "black")

# Which parts of mclust's decomposition sigma_j = scale_j D_j diag(shape_j) D_j' a model has
# (EEE and VVV are not decomposed, as in mclust), and whether each is common ("E") or varies
# ("V") between components. Spherical models have only a scale (their variance).
model_parts <- function(model) {
  if (model %in% c("E", "V")) return(list(scale = model, shape = NA, orientation = NA))
  if (model %in% c("EEE", "VVV")) return(list(scale = NA, shape = NA, orientation = NA))
  l <- strsplit(model, "")[[1L]]
  list(scale = l[1L], shape = if (l[2L] == "I") NA else l[2L],
       orientation = if (l[3L] == "I") NA else l[3L])
}

# The parameters of a fit with mclust's decomposition (`scale`, `shape`, `orientation`, in the
# core's layout: scale of length 1 or k, shape 1 x d or k x d with rows of product 1,
# orientation d x d x 1 or d x d x k) added where the model has it and the backend did not
# report it (the R backend; fits made before the decomposition was reported). Computed from the
# covariance matrices: the eigen-decomposition, values decreasing, each axis' largest entry
# positive; for the models with a common orientation the axes of the first component.
model_decomposition <- function(p, model) {
  parts <- model_parts(model)
  if (all(is.na(unlist(parts))) || !is.null(p$scale)) return(p)
  s <- p$covariances
  d <- dim(s)[1L]
  k <- dim(s)[3L]
  one <- function(v, part) if (identical(part, "E")) v[1L] else v
  if (model_family(model) %in% c("spherical", "univariate")) {
    p$scale <- one(s[1L, 1L, ], parts$scale)
    return(p)
  }
  if (model_family(model) == "diagonal") {
    v <- matrix(vapply(seq_len(k), function(j) diag(matrix(s[, , j], d, d)), numeric(d)), k, d,
                byrow = TRUE)
  } else {
    axes <- function(S) {
      e <- eigen(S, symmetric = TRUE)
      V <- e$vectors
      flip <- V[cbind(max.col(t(abs(V)), ties.method = "first"), seq_len(d))] < 0
      V[, flip] <- -V[, flip]
      V
    }
    D <- lapply(seq_len(k), function(j) axes(matrix(s[, , j], d, d)))
    if (parts$orientation == "E") D <- rep(D[1L], k)
    v <- t(vapply(seq_len(k), function(j) diag(crossprod(D[[j]], s[, , j] %*% D[[j]])), numeric(d)))
    if (d == 1L) v <- matrix(v, k, 1L)
    p$orientation <- array(unlist(if (parts$orientation == "E") D[1L] else D),
                           c(d, d, if (parts$orientation == "E") 1L else k))
  }
  sc <- exp(rowMeans(log(v)))
  p$scale <- one(sc, parts$scale)
  p$shape <- v / sc
  if (parts$shape == "E") p$shape <- p$shape[1L, , drop = FALSE]
  p
}

# --- orientation as rotation angles (coef()) ----------------------------------------------

# The d (d - 1) / 2 Givens angles of an orthogonal matrix Q (its last column's sign flipped
# first when det(Q) < 0: the signs of the axes do not change a covariance matrix). Q is reduced
# to the identity by rotations in the planes (a, b), a < b, column a by column a, b from d down
# to a + 1, each zeroing Q[b, a] against Q[a, a]; angle[a, b] is that rotation's angle, in
# (-pi, pi]. model_rotation() builds Q back from the angles. In two dimensions the one angle is
# the direction of the first axis, atan2(Q[2, 1], Q[1, 1]).
model_angles <- function(Q) {
  d <- nrow(Q)
  if (det(Q) < 0) Q[, d] <- -Q[, d]
  out <- numeric(0)
  for (a in seq_len(d - 1L)) for (b in d:(a + 1L)) {
    th <- atan2(Q[b, a], Q[a, a])
    cs <- cos(th)
    sn <- sin(th)
    ra <- Q[a, ]
    rb <- Q[b, ]
    Q[a, ] <- cs * ra + sn * rb
    Q[b, ] <- -sn * ra + cs * rb
    out[sprintf("%d, %d", a, b)] <- th
  }
  out
}

model_rotation <- function(angles, d) {
  Q <- diag(d)
  pairs <- list()
  for (a in seq_len(d - 1L)) for (b in d:(a + 1L)) pairs[[length(pairs) + 1L]] <- c(a, b)
  for (i in rev(seq_along(pairs))) {
    a <- pairs[[i]][1L]
    b <- pairs[[i]][2L]
    cs <- cos(angles[[i]])
    sn <- sin(angles[[i]])
    ra <- Q[a, ]
    rb <- Q[b, ]
    Q[a, ] <- cs * ra - sn * rb
    Q[b, ] <- sn * ra + cs * rb
  }
  Q
}
