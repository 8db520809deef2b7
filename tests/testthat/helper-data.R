# Shared fixtures: small simulated data sets. Each function sets its own seed and puts the
# caller's random state back afterwards, so calling a fixture never disturbs a test's stream.
# (Names start with `data_` to stay clear of the other helper files.)

# Runs `expr` with the given seed, then restores `.Random.seed` (or removes it again when it
# did not exist).
data_with_seed <- function(seed, expr) {
  env <- globalenv()
  had <- exists(".Random.seed", envir = env, inherits = FALSE)
  old <- if (had) get(".Random.seed", envir = env, inherits = FALSE)
  on.exit(if (had) assign(".Random.seed", old, envir = env)
          else if (exists(".Random.seed", envir = env, inherits = FALSE))
            rm(".Random.seed", envir = env))
  set.seed(seed)
  expr
}

# Well-separated Gaussian clusters: list(x = n x d matrix with columns x1..xd (a plain
# vector when d = 1 and `vector = TRUE`), labels = true component 1..k, means = k x d,
# proportions). Components have unequal sizes and spreads and correlated coordinates.
data_blobs <- function(n = 300, d = 2, k = 3, sep = 6, seed = 1, vector = FALSE) {
  data_with_seed(seed, {
    means <- matrix(0, k, d)
    for (j in seq_len(k)) means[j, ] <- sep * c(cos(2 * pi * j / k), sin(2 * pi * j / k),
                                                rep(0, max(d - 2, 0)))[seq_len(d)]
    if (d == 1) means[, 1] <- sep * (seq_len(k) - 1)
    proportions <- seq_len(k) + 1
    proportions <- proportions / sum(proportions)
    labels <- sample.int(k, n, replace = TRUE, prob = proportions)
    mix <- matrix(0.4, d, d)
    diag(mix) <- 1
    spread <- seq(0.7, 1.3, length.out = k)
    x <- means[labels, , drop = FALSE] +
      (matrix(stats::rnorm(n * d), n, d) %*% mix) * spread[labels]
    colnames(x) <- paste0("x", seq_len(d))
    if (d == 1 && vector) x <- drop(x)
    list(x = x, labels = labels, means = means, proportions = proportions)
  })
}

# Two-component one-dimensional data, a plain numeric vector.
data_1d <- function(n = 400, seed = 2) {
  data_with_seed(seed, {
    lab <- stats::rbinom(n, 1, 0.4) + 1
    c(-1, 4)[lab] + stats::rnorm(n) * c(1, 0.7)[lab]
  })
}

# A data frame with named numeric columns (three clusters in two dimensions).
data_frame_2d <- function(n = 300, seed = 3) {
  s <- data_blobs(n = n, d = 2, k = 3, seed = seed)
  data.frame(height = s$x[, 1] + 10, weight = s$x[, 2] * 2 + 50)
}
