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
  info <- cpp_models(k, d)
  model <- model_name(check_covariance(covariance, d), d)
  (k - 1) + k * d + info$n_cov_params[match(model, info$name)]
}
