# Base-graphics plots of "gmm" fits and "gmm_select" selections. Internal helpers are
# prefixed `gp_`. Classes are marked by colour and symbol together; large data are drawn
# with transparency (and thinned, evenly, beyond a limit that the subtitle reports).

# --- styles --------------------------------------------------------------------------------

gp_symbols <- c(16, 17, 15, 18, 1, 2, 0, 5, 6, 4, 3, 8)

# Colour and symbol of each class.
gp_class_style <- function(k) {
  list(col = gm_colours(k), pch = rep_len(gp_symbols, k), lty = rep_len(1:6, k))
}

# Point size and opacity for n points in a panel of `area` (1 = a whole plot).
gp_point_style <- function(n, area = 1) {
  m <- n / area
  list(cex = if (m <= 1000) 0.9 else if (m <= 10000) 0.6 else 0.45,
       alpha = min(1, max(0.06, sqrt(1500 / m))))
}

# At most `max` rows, evenly spaced (no random numbers: the caller's stream is not touched),
# in an order that interleaves the rows so no group of rows is drawn entirely on top.
gp_rows <- function(n, max) {
  idx <- if (n > max) unique(round(seq(1, n, length.out = max))) else seq_len(n)
  idx[order((seq_along(idx) * 0.6180339887498949) %% 1)]
}

gp_alpha <- function(col, alpha) grDevices::adjustcolor(col, alpha.f = alpha)

# The corner of the plot region with the fewest of the points xy (for a legend).
gp_free_corner <- function(x, y, usr = graphics::par("usr"), frac = 0.3) {
  fx <- (x - usr[1L]) / (usr[2L] - usr[1L])
  fy <- (y - usr[3L]) / (usr[4L] - usr[3L])
  counts <- c(topleft = sum(fx < frac & fy > 1 - frac), topright = sum(fx > 1 - frac & fy > 1 - frac),
              bottomleft = sum(fx < frac & fy < frac), bottomright = sum(fx > 1 - frac & fy < frac))
  names(counts)[which.min(counts)]
}

gp_check_dimens <- function(dimens, d) {
  if (is.null(dimens)) return(seq_len(min(d, 6L)))
  if (!is.numeric(dimens) || length(dimens) < 1L || anyNA(dimens) ||
      any(dimens != round(dimens)) || any(dimens < 1) || any(dimens > d) || anyDuplicated(dimens))
    stop(sprintf("`dimens` must be different column numbers between 1 and %d", d), call. = FALSE)
  as.integer(dimens)
}

gp_thin_note <- function(shown, n) {
  if (shown < n) sprintf("%s of %s points drawn", format(shown, big.mark = ","),
                         format(n, big.mark = ",")) else NULL
}

# Uncertainty classes: the breaks, labels, colours and size factors.
gp_uncertainty_bins <- function() {
  list(breaks = c(-Inf, 0.01, 0.1, 0.25, Inf),
       labels = c("< 0.01", "0.01 - 0.1", "0.1 - 0.25", "> 0.25"),
       col = c("grey75", "#E6A100", "#D55E00", "#7A0019"),
       size = c(1, 1.3, 1.6, 2))
}

# The colours of the uncertainty bands: the confident points faint, the uncertain opaque.
gp_band_colours <- function(b, ps) {
  alpha <- c(ps$alpha, min(1, 2 * ps$alpha), 1, 1)
  vapply(1:4, function(i) gp_alpha(b$col[i], alpha[i]), "")
}

# --- plot.gmm ------------------------------------------------------------------------------

#' Plot a fitted Gaussian mixture
#'
#' Base-graphics plots of a fit, in the spirit of mclust's.
#' `"classification"` (the default): the training data with each class
#' marked by its colour and its symbol, the component means and the 95%
#' ellipses of the component covariances (projected onto the dimensions
#' shown). `"uncertainty"`: the data coloured and sized by their
#' classification uncertainty (one minus the largest posterior probability),
#' in four bands, with the class as the symbol; the most uncertain points are
#' drawn last. `"density"`: contours of the fitted (marginal) mixture density
#' at the levels that enclose 50%, 90% and 99% of the training data, over
#' the data. `"loglik"`: the log-likelihood after each EM iteration.
#'
#' With more than two dimensions the plots are scatterplot matrices of the
#' dimensions in `dimens` (by default the first six): the panels below the
#' diagonal show the data as above, those above the diagonal the fitted
#' components (ellipses and means), and the diagonal the fitted component
#' densities of each dimension. Two dimensions give one scatterplot; one
#' dimension (or one chosen with `dimens`) gives, for `"classification"`, a
#' histogram with each bar split by class and the weighted component
#' densities; for `"density"`, a histogram with the mixture and component
#' densities; for `"uncertainty"`, the uncertainty against the data.
#'
#' Large data stay readable: points get smaller and transparent as `n`
#' grows, and beyond 100000 points in a scatterplot (20000 per panel of a
#' matrix) an evenly spaced subset is drawn, as the subtitle then says. No
#' random numbers are drawn.
#'
#' @param x A `"gmm"` object from [gmm()].
#' @param what Which plot: `"classification"`, `"uncertainty"`, `"density"`
#'   or `"loglik"`.
#' @param dimens The dimensions (column numbers) to show: one, two, or more
#'   for a scatterplot matrix; default all, up to the first six. Ignored for
#'   `"loglik"`.
#' @param ... Graphical parameters passed to the main plotting call of a
#'   single panel (for example `main`, `xlab`, `col`, `cex`); for a matrix,
#'   `main` is its title.
#' @return `x`, invisibly.
#' @seealso [gmm()]; `autoplot()` (with ggplot2 installed) for the same
#'   plots as ggplot2 objects.
#' @examples
#' fit <- gmm(faithful, 2, threads = 1, seed = 1)
#' plot(fit)
#' plot(fit, "uncertainty")
#' plot(fit, "density")
#' plot(fit, "loglik")
#' # more dimensions: a scatterplot matrix
#' fit3 <- gmm(iris[, 1:4], 3, threads = 1, seed = 1)
#' plot(fit3)
#' plot(fit3, dimens = c(3, 4))
#' # one dimension
#' fit1 <- gmm(faithful$waiting, 2, threads = 1, seed = 1)
#' plot(fit1)
#' plot(fit1, "density")
#' @export
plot.gmm <- function(x, what = c("classification", "uncertainty", "density", "loglik"),
                     dimens = NULL, ...) {
  gm_check_fit(x, "x")
  what <- match_choice(what, c("classification", "uncertainty", "density", "loglik"), "what")
  dimens <- gp_check_dimens(dimens, x$d)
  dots <- list(...)
  if (what == "loglik") {
    gp_loglik(x, dots)
  } else if (length(dimens) >= 3L) {
    gp_matrix(x, what, dimens, dots)
  } else if (length(dimens) == 2L) {
    switch(what,
           classification = gp_classification_2d(x, dimens, dots),
           uncertainty = gp_uncertainty_2d(x, dimens, dots),
           density = gp_density_2d(x, dimens, dots))
  } else {
    switch(what,
           classification = gp_classification_1d(x, dimens, dots),
           uncertainty = gp_uncertainty_1d(x, dimens, dots),
           density = gp_density_1d(x, dimens, dots))
  }
  invisible(x)
}

gp_loglik <- function(x, dots) {
  tr <- x$loglik_trace
  if (length(tr) == 0L) tr <- x$loglik
  it <- seq_along(tr)
  sub <- gm_convergence_text(x)
  gm_draw(graphics::plot, list(x = it, y = tr, type = "o", pch = 20, cex = 0.8,
                               xlab = "iteration", ylab = "log-likelihood",
                               main = "EM log-likelihood", sub = sub), dots)
}

# --- 2-D panels ----------------------------------------------------------------------------

# The limits of a panel: the data and the ellipses.
gp_limits <- function(data, ell) {
  pts <- rbind(data, do.call(rbind, ell))
  list(x = range(pts[, 1L]), y = range(pts[, 2L]))
}

gp_ellipses <- function(m, level = 0.95) {
  lapply(seq_along(m$proportions), function(j) gm_ellipse(m$means[j, ], m$covariances[, , j], level))
}

# The fitted components: ellipses and means (with a white halo, visible over dense points).
gp_draw_components <- function(m, st, ell = gp_ellipses(m), lwd = 2, mean_cex = 1.6) {
  for (j in seq_along(ell)) {
    graphics::lines(ell[[j]], col = "white", lwd = lwd + 2)
    graphics::lines(ell[[j]], col = st$col[j], lwd = lwd, lty = st$lty[j])
  }
  if (mean_cex > 0) {
    graphics::points(m$means, pch = 3, cex = mean_cex, lwd = 2 * lwd, col = "white")
    graphics::points(m$means, pch = 3, cex = mean_cex, lwd = lwd, col = "black")
  }
}

gp_class_legend <- function(pos, x, st, counts = NULL, ...) {
  labs <- gm_component_names(x)
  if (!is.null(counts)) labs <- sprintf("%s (%s)", labs, format(counts, big.mark = ","))
  graphics::legend(pos, legend = labs, col = st$col, pch = st$pch, bty = "o", bg = gp_alpha("white", 0.8),
                   box.col = NA, cex = 0.8, inset = 0.01, ...)
}

# Points of the classification (classes by colour and symbol).
gp_class_points <- function(xy, cls, st, ps, dots = list()) {
  col <- gp_alpha(st$col, ps$alpha)[cls]
  pch <- st$pch[cls]
  if (!is.null(dots$col)) col <- dots$col
  if (!is.null(dots$pch)) pch <- dots$pch
  graphics::points(xy[, 1L], xy[, 2L], col = col, pch = pch, cex = if (is.null(dots$cex)) ps$cex else dots$cex)
}

# A plot's default title, with the fit's model and number of components.
gp_title <- function(x, what) sprintf("%s: %s, k = %d", what, x$covariance, x$k)

gp_classification_2d <- function(x, dimens, dots) {
  data <- gm_training_data(x)
  n <- nrow(data)
  st <- gp_class_style(x$k)
  m <- gm_marginal(x, dimens)
  labs <- gm_dim_names(x)[dimens]
  idx <- gp_rows(n, 100000L)
  xy <- data[idx, dimens, drop = FALSE]
  ell <- gp_ellipses(m)
  lim <- gp_limits(xy, ell)
  gm_draw(graphics::plot, list(x = lim$x, y = lim$y, type = "n", xlab = labs[1L], ylab = labs[2L],
                               main = gp_title(x, "Classification"), sub = gp_thin_note(length(idx), n)), dots)
  gp_class_points(xy, x$classification[idx], st, gp_point_style(length(idx)), dots)
  gp_draw_components(m, st, ell)
  gp_class_legend(gp_free_corner(xy[, 1L], xy[, 2L]), x, st, tabulate(x$classification, x$k))
}

gp_uncertainty_2d <- function(x, dimens, dots) {
  data <- gm_training_data(x)
  n <- nrow(data)
  st <- gp_class_style(x$k)
  b <- gp_uncertainty_bins()
  labs <- gm_dim_names(x)[dimens]
  idx <- gp_rows(n, 100000L)
  u <- x$uncertainty[idx]
  band <- findInterval(u, b$breaks, left.open = FALSE)
  band <- pmin(pmax(band, 1L), 4L)
  idx <- idx[order(band)]               # the uncertain points last, on top
  band <- sort(band)
  xy <- data[idx, dimens, drop = FALSE]
  m <- gm_marginal(x, dimens)
  ell <- gp_ellipses(m)
  lim <- gp_limits(xy, ell)
  ps <- gp_point_style(length(idx))
  gm_draw(graphics::plot, list(x = lim$x, y = lim$y, type = "n", xlab = labs[1L], ylab = labs[2L],
                               main = gp_title(x, "Classification uncertainty"),
                               sub = gp_thin_note(length(idx), n)), dots)
  # confident points faint, uncertain ones opaque and larger
  col <- if (is.null(dots$col)) gp_band_colours(b, ps)[band] else dots$col
  graphics::points(xy[, 1L], xy[, 2L], col = col, pch = st$pch[x$classification[idx]],
                   cex = if (is.null(dots$cex)) ps$cex * b$size[band] else dots$cex)
  for (j in seq_along(ell)) graphics::lines(ell[[j]], col = "grey40", lwd = 1, lty = 2)
  counts <- tabulate(band, 4L)
  graphics::legend(gp_free_corner(xy[, 1L], xy[, 2L]), title = "uncertainty",
                   legend = sprintf("%s (%s)", b$labels, format(counts, big.mark = ",")),
                   col = b$col, pch = 16, pt.cex = b$size, bty = "o", bg = gp_alpha("white", 0.8),
                   box.col = NA, cex = 0.8, inset = 0.01)
}

# Levels of the density that enclose the shares `probs` of the training data.
gp_density_levels <- function(fd, probs) {
  lev <- stats::quantile(fd, 1 - probs, names = FALSE)
  keep <- !duplicated(lev) & lev > 0
  list(levels = lev[keep], labels = paste0(100 * probs[keep], "%"))
}

gp_density_grid <- function(m, lim, ngrid = 120L) {
  gx <- seq(lim$x[1L], lim$x[2L], length.out = ngrid)
  gy <- seq(lim$y[1L], lim$y[2L], length.out = ngrid)
  z <- matrix(exp(gm_mix_logdens(as.matrix(expand.grid(gx, gy)), m)), ngrid)
  list(x = gx, y = gy, z = z)
}

gp_density_2d <- function(x, dimens, dots) {
  m <- gm_marginal(x, dimens)
  st <- gp_class_style(x$k)
  labs <- gm_dim_names(x)[dimens]
  data <- gm_plot_data(x)
  ell <- gp_ellipses(m, 0.999)
  idx <- if (is.null(data)) integer() else gp_rows(nrow(data), 100000L)
  xy <- if (is.null(data)) NULL else data[idx, dimens, drop = FALSE]
  lim <- gp_limits(if (is.null(xy)) matrix(numeric(), 0, 2) else xy, ell)
  g <- gp_density_grid(m, lim)
  probs <- c(0.5, 0.9, 0.99)
  if (!is.null(xy)) {
    lv <- gp_density_levels(exp(gm_mix_logdens(data[gp_rows(nrow(data), 100000L), dimens, drop = FALSE], m)), probs)
  } else {
    lv <- list(levels = pretty(range(g$z), 5L), labels = NULL)
    lv$levels <- lv$levels[lv$levels > 0]
    lv$labels <- format(lv$levels)
  }
  cols <- grDevices::hcl.colors(length(lv$levels) + 1L, "Blues 3")[seq_along(lv$levels)]
  cols <- rev(cols)
  gm_draw(graphics::plot, list(x = lim$x, y = lim$y, type = "n", xlab = labs[1L], ylab = labs[2L],
                               main = gp_title(x, "Fitted mixture density"),
                               sub = if (!is.null(xy)) gp_thin_note(length(idx), nrow(data))), dots)
  if (!is.null(xy)) {
    ps <- gp_point_style(length(idx))
    graphics::points(xy, pch = 16, cex = ps$cex * 0.7, col = gp_alpha("grey50", ps$alpha * 0.6))
  }
  graphics::contour(g$x, g$y, g$z, levels = lv$levels, drawlabels = FALSE, add = TRUE,
                    col = cols, lwd = 2)
  graphics::points(m$means, pch = st$pch, col = st$col, cex = 1.5, lwd = 2)
  graphics::legend(gp_free_corner(if (is.null(xy)) numeric() else xy[, 1L],
                                  if (is.null(xy)) numeric() else xy[, 2L]),
                   title = if (!is.null(xy)) "contour encloses" else "density",
                   legend = if (!is.null(xy)) paste(lv$labels, "of the data") else lv$labels,
                   col = cols, lwd = 2, bty = "o", bg = gp_alpha("white", 0.8), box.col = NA,
                   cex = 0.8, inset = 0.01)
}

# --- 1-D panels ----------------------------------------------------------------------------

# Component densities (weighted) on a grid over the range of one dimension.
gp_components_1d <- function(m, rng, npts = 512L) {
  sds <- sqrt(m$covariances[1L, 1L, ])
  grid <- seq(rng[1L], rng[2L], length.out = npts)
  comp <- vapply(seq_along(m$proportions), function(j)
    m$proportions[j] * stats::dnorm(grid, m$means[j, 1L], sds[j]), numeric(npts))
  list(x = grid, comp = matrix(comp, npts), sds = sds)
}

gp_range_1d <- function(m, v = NULL) {
  sds <- sqrt(m$covariances[1L, 1L, ])
  range(m$means[, 1L] - 3 * sds, m$means[, 1L] + 3 * sds, v)
}

gp_breaks <- function(v, rng) {
  nb <- max(10L, min(80L, grDevices::nclass.FD(v)))
  pretty(rng, nb)
}

gp_classification_1d <- function(x, dimens, dots) {
  data <- gm_training_data(x)
  v <- data[, dimens]
  k <- x$k
  st <- gp_class_style(k)
  m <- gm_marginal(x, dimens)
  rng <- gp_range_1d(m, v)
  br <- gp_breaks(v, rng)
  bin <- findInterval(v, br, rightmost.closed = TRUE, all.inside = TRUE)
  counts <- matrix(tabulate(bin + (x$classification - 1L) * (length(br) - 1L),
                            (length(br) - 1L) * k), length(br) - 1L, k)
  width <- diff(br)
  dens <- counts / (length(v) * width)                  # each class's share of the density
  g <- gp_components_1d(m, range(br))
  top <- max(rowSums(dens), g$comp) * 1.08
  gm_draw(graphics::plot, list(x = range(br), y = c(0, top), type = "n", xlab = gm_dim_names(x)[dimens],
                               ylab = "density", main = gp_title(x, "Classification")), dots)
  base <- rep(0, length(width))
  for (j in seq_len(k)) {
    graphics::rect(br[-length(br)], base, br[-1L], base + dens[, j], col = gp_alpha(st$col[j], 0.45),
                   border = NA)
    base <- base + dens[, j]
  }
  graphics::rect(br[-length(br)], 0, br[-1L], base, col = NA, border = "grey55", lwd = 0.5)
  gp_component_curves(g, m, st)
  mids <- (br[-1L] + br[-length(br)]) / 2
  graphics::legend(gp_free_corner(c(mids, g$x), c(base, rowSums(g$comp))),
                   legend = sprintf("%s (%s)", gm_component_names(x),
                                    format(tabulate(x$classification, k), big.mark = ",")),
                   col = st$col, pch = st$pch, lty = st$lty, lwd = 2, bty = "o",
                   bg = gp_alpha("white", 0.8), box.col = NA, cex = 0.8, inset = 0.01)
}

# The weighted component densities, each marked with its class symbol at its peak.
gp_component_curves <- function(g, m, st) {
  k <- ncol(g$comp)
  for (j in seq_len(k)) graphics::lines(g$x, g$comp[, j], col = st$col[j], lwd = 2, lty = st$lty[j])
  peak <- m$proportions / (sqrt(2 * pi) * g$sds)
  graphics::points(m$means[, 1L], peak, pch = st$pch, col = st$col, cex = 1.5)
}

gp_uncertainty_1d <- function(x, dimens, dots) {
  data <- gm_training_data(x)
  n <- nrow(data)
  st <- gp_class_style(x$k)
  b <- gp_uncertainty_bins()
  idx <- gp_rows(n, 100000L)
  u <- x$uncertainty[idx]
  ps <- gp_point_style(length(idx))
  umax <- if (x$k > 1L) 1 - 1 / x$k else 1
  gm_draw(graphics::plot, list(x = data[idx, dimens], y = u, type = "n", ylim = c(0, umax),
                               xlab = gm_dim_names(x)[dimens], ylab = "uncertainty",
                               main = gp_title(x, "Classification uncertainty"),
                               sub = gp_thin_note(length(idx), n)), dots)
  graphics::abline(h = b$breaks[2:4], col = "grey85", lty = 3)
  graphics::abline(v = x$parameters$means[, dimens], col = st$col, lty = 2)
  cls <- x$classification[idx]
  gp_class_points(cbind(data[idx, dimens], u), cls, st,
                  list(cex = ps$cex, alpha = max(ps$alpha, 0.3)), dots)
  gp_class_legend(gp_free_corner(data[idx, dimens], u), x, st, tabulate(x$classification, x$k))
}

gp_density_1d <- function(x, dimens, dots) {
  m <- gm_marginal(x, dimens)
  k <- x$k
  st <- gp_class_style(k)
  data <- gm_plot_data(x)
  v <- if (is.null(data)) NULL else data[, dimens]
  rng <- gp_range_1d(m, v)
  g <- gp_components_1d(m, rng)
  dens <- rowSums(g$comp)
  if (!is.null(v)) {
    h <- graphics::hist(v, breaks = gp_breaks(v, rng), plot = FALSE)
    gm_draw(graphics::plot, list(x = h, freq = FALSE, col = "grey90", border = "grey65",
                                 xlim = rng, ylim = c(0, max(h$density, dens) * 1.05),
                                 xlab = gm_dim_names(x)[dimens], ylab = "density",
                                 main = gp_title(x, "Fitted mixture density")), dots)
  } else {
    gm_draw(graphics::plot, list(x = g$x, y = dens, type = "n", xlab = gm_dim_names(x)[dimens],
                                 ylab = "density", main = gp_title(x, "Fitted mixture density")), dots)
  }
  gp_component_curves(g, m, st)
  graphics::lines(g$x, dens, lwd = 2.5)
  graphics::legend(gp_free_corner(g$x, dens), legend = c("mixture", gm_component_names(x)),
                   col = c("black", st$col), lty = c(1, st$lty), lwd = c(2.5, rep(2, k)),
                   pch = c(NA, st$pch),
                   bty = "o", bg = gp_alpha("white", 0.8), box.col = NA, cex = 0.8, inset = 0.01)
}

# --- scatterplot matrix --------------------------------------------------------------------

gp_matrix <- function(x, what, dimens, dots) {
  p <- length(dimens)
  k <- x$k
  st <- gp_class_style(k)
  labs <- gm_dim_names(x)[dimens]
  data <- if (what == "density") gm_plot_data(x) else gm_training_data(x)
  n <- if (is.null(data)) 0L else nrow(data)
  idx <- if (n) gp_rows(n, 20000L) else integer()
  ps <- gp_point_style(length(idx), area = 1 / p)
  ps$cex <- 0.8 * ps$cex
  b <- gp_uncertainty_bins()
  band <- if (what == "uncertainty") pmin(pmax(findInterval(x$uncertainty[idx], b$breaks), 1L), 4L)
  if (what == "uncertainty") {
    o <- order(band)
    idx <- idx[o]
    band <- band[o]
  }
  m_all <- gm_marginal(x, dimens)
  lims <- lapply(seq_len(p), function(i) {
    sds <- sqrt(m_all$covariances[i, i, ])
    range(m_all$means[, i] - 2.5 * sds, m_all$means[, i] + 2.5 * sds,
          if (n) data[idx, dimens[i]])
  })

  op <- graphics::par(mfrow = c(p, p), mar = rep(0.25, 4), oma = c(3.5, 3.5, 4.5, 1.5),
                      mgp = c(2, 0.5, 0), tcl = -0.25, cex.axis = 0.75)
  on.exit(graphics::par(op))
  for (i in seq_len(p)) for (j in seq_len(p)) {
    graphics::plot.new()
    if (i == j) {
      g <- gp_components_1d(gm_marginal(x, dimens[i]), lims[[i]], 200L)
      graphics::plot.window(lims[[i]], c(0, max(g$comp) * 1.35))
      for (c in seq_len(k)) graphics::lines(g$x, g$comp[, c], col = st$col[c], lwd = 1.5, lty = st$lty[c])
      graphics::text(mean(lims[[i]]), max(g$comp) * 1.22, labs[i], cex = 1.1, font = 2)
    } else {
      graphics::plot.window(lims[[j]], lims[[i]])
      m <- gm_marginal(x, dimens[c(j, i)])
      if (i < j) {                          # above the diagonal: the fitted components
        gp_draw_components(m, st, lwd = 1.5, mean_cex = 0)
        graphics::points(m$means, pch = st$pch, col = st$col, cex = 1.3)
      } else if (n) {                       # below: the data
        xy <- data[idx, dimens[c(j, i)], drop = FALSE]
        if (what == "classification") {
          gp_class_points(xy, x$classification[idx], st, ps)
          gp_draw_components(m, st, lwd = 1.2, mean_cex = 1)
        } else if (what == "uncertainty") {
          graphics::points(xy, col = gp_band_colours(b, ps)[band], pch = st$pch[x$classification[idx]], cex = ps$cex * b$size[band])
        } else {
          graphics::points(xy, pch = 16, cex = ps$cex * 0.7, col = gp_alpha("grey50", ps$alpha * 0.6))
          gd <- gp_density_grid(m, list(x = lims[[j]], y = lims[[i]]), 60L)
          lv <- gp_density_levels(exp(gm_mix_logdens(xy, m)), c(0.5, 0.9, 0.99))
          cols <- rev(grDevices::hcl.colors(length(lv$levels) + 1L, "Blues 3")[seq_along(lv$levels)])
          graphics::contour(gd$x, gd$y, gd$z, levels = lv$levels, drawlabels = FALSE, add = TRUE,
                            col = cols, lwd = 1.5)
        }
      }
    }
    graphics::box(col = "grey50")
    if (i == p) graphics::axis(1L, col = "grey50")
    if (j == 1L && i > 1L) graphics::axis(2L, col = "grey50", las = 1)
    if (j == 1L && i == 1L) graphics::axis(2L, col = "grey50", las = 1, labels = FALSE, tick = FALSE)
  }
  title <- if (!is.null(dots$main)) dots$main else gp_title(x, switch(what,
    classification = "Classification", uncertainty = "Classification uncertainty",
    density = "Fitted mixture density"))
  graphics::mtext(title, side = 3L, line = 2.8, outer = TRUE, font = 2, cex = 1.2)
  note <- c(if (p < x$d) sprintf("dimensions %s of %d (choose with `dimens`)",
                                 paste(dimens, collapse = ", "), x$d),
            gp_thin_note(length(idx), n))
  if (length(note)) graphics::mtext(paste(note, collapse = "; "), side = 1L, line = 2.2, outer = TRUE,
                                    cex = 0.8, col = "grey30")
  # legend across the top
  graphics::par(fig = c(0, 1, 0, 1), oma = c(0, 0, 0, 0), mar = c(0, 0, 0, 0), new = TRUE)
  graphics::plot.new()
  if (what == "density") {
    graphics::legend("top", legend = c("contours enclose", "50%", "90%", "99% of the data"),
                     col = c(NA, rev(grDevices::hcl.colors(4L, "Blues 3")[1:3])), lwd = c(NA, 2, 2, 2),
                     horiz = TRUE, bty = "n", cex = 0.85, inset = c(0, 0.045))
  } else if (what == "uncertainty") {
    graphics::legend("top", legend = c("uncertainty:", b$labels), col = c(NA, b$col), pch = 16,
                     pt.cex = c(0, b$size), horiz = TRUE, bty = "n", cex = 0.85, inset = c(0, 0.045))
  } else {
    graphics::legend("top", legend = gm_component_names(x), col = st$col, pch = st$pch, lty = st$lty,
                     horiz = TRUE, bty = "n", cex = 0.85, inset = c(0, 0.045))
  }
}

# --- plot.gmm_select -----------------------------------------------------------------------

#' Plot the selection criterion against the number of components
#'
#' Draws the criterion (BIC or ICL, smaller is better) against `k` for every
#' covariance model. By default each model gets its own panel with its own
#' y-range, so every curve is readable however far apart the models are;
#' the panel titles give each model's best value and its distance to the
#' overall best, which is marked with a large filled circle and named in the
#' legend below the panels. `type = "overlay"` draws all models in one panel
#' (the y-range then covers the best value of every model; steeper parts of
#' the worse curves may leave the panel). Failed fits leave gaps.
#'
#' @param x A `"gmm_select"` object from [gmm_select()].
#' @param criterion `"bic"` or `"icl"`; default the one used for the
#'   selection. (The best fit marked is the minimum of the criterion shown.)
#' @param type `"panels"` (one panel per covariance model) or `"overlay"`.
#' @param legend For `type = "overlay"`: where to put the legend (a keyword
#'   for [graphics::legend()]; default the corner with the least data), or
#'   `NULL` for none.
#' @param ... Graphical parameters passed to the plotting calls (for example
#'   `lwd`, `cex`); `main` is the overall title.
#' @return `x`, invisibly.
#' @seealso [gmm_select()]
#' @examples
#' sel <- gmm_select(faithful, k = 1:4, threads = 1, seed = 1)
#' plot(sel)
#' plot(sel, type = "overlay")
#' plot(sel, criterion = "icl")
#' @export
plot.gmm_select <- function(x, criterion = x$criterion, type = c("panels", "overlay"),
                            legend = NA, ...) {
  sel_check_object(x, "x")
  criterion <- match_choice(criterion, c("bic", "icl"), "criterion")
  type <- match_choice(type, c("panels", "overlay"), "type")
  m <- sel_matrix(x$table, criterion)
  if (all(is.na(m))) stop("nothing to plot: every fit failed", call. = FALSE)
  ks <- as.numeric(rownames(m))
  covs <- colnames(m)
  st <- sel_styles(covs)
  d <- x$best$d
  dots <- list(...)
  crit <- toupper(criterion)
  b <- which(m == min(m, na.rm = TRUE), arr.ind = TRUE)
  b <- b[order(b[, 1L], b[, 2L]), , drop = FALSE][1L, ]          # ties: the first
  best_val <- m[b[1L], b[2L]]
  best_text <- sprintf("best: k = %g, %s, %s = %s", ks[b[1L]], sel_model_name(covs[b[2L]], d), crit,
                       format(signif(best_val, 6)))
  main <- if (is.null(dots$main)) sprintf("Model selection by %s (smaller is better)", crit) else dots$main
  dots$main <- NULL
  if (type == "overlay") {
    mins <- apply(m, 2L, min, na.rm = TRUE)
    mins <- mins[is.finite(mins)]
    top <- max(mins)
    spread <- max(top - best_val, 0.02 * abs(best_val), 1)
    ylim <- c(best_val - 0.08 * spread, top + 0.6 * spread)
    ylim[2L] <- min(ylim[2L], max(m, na.rm = TRUE) + 0.04 * spread)
    gm_draw(graphics::matplot, list(x = ks, y = m, type = "b", lty = st$lty, col = st$col, pch = st$pch,
                                    lwd = 1.5, ylim = ylim, xlab = "number of components k",
                                    ylab = crit, main = main, xaxt = "n"), dots)
    graphics::axis(1L, at = ks)
    graphics::points(ks[b[1L]], best_val, pch = 21, cex = 3, lwd = 2.5, col = "black")
    graphics::mtext(best_text, side = 3L, line = 0.3, cex = 0.85)
    if (!is.null(legend)) {
      if (identical(legend, NA)) {
        inside <- !is.na(m) & m >= ylim[1L] & m <= ylim[2L]
        legend <- gp_free_corner(rep(ks, ncol(m))[inside], m[inside], frac = 0.35)
      }
      many <- length(covs) > 4L         # then the names only, in columns, as mclust's legend
      graphics::legend(legend, legend = c(if (many) covs else vapply(covs, sel_model_name, "", d = d),
                                          "best fit"),
                       col = c(st$col, "black"), pch = c(st$pch, 21), pt.cex = c(rep(1, length(covs)), 2),
                       lty = c(st$lty, NA), lwd = 1.5, bty = "o", bg = gp_alpha("white", 0.85),
                       box.col = NA, title = "covariance", cex = 0.8, inset = 0.01,
                       ncol = if (many) 3L else 1L)
    }
    return(invisible(x))
  }

  nc <- length(covs)
  layout <- if (nc <= 1L) c(1L, 1L) else if (nc == 2L) c(1L, 2L) else if (nc <= 4L) c(2L, 2L) else
    if (nc <= 6L) c(2L, 3L) else if (nc <= 9L) c(3L, 3L) else if (nc <= 12L) c(3L, 4L) else
    c(ceiling(nc / 4), 4L)
  # With many panels each title names the model only (the legend below gives the descriptions
  # of the best model); with a few, the description too.
  panel_name <- function(cv) if (nc > 4L) cv else sel_model_name(cv, d)
  op <- graphics::par(mfrow = layout, mar = c(3.2, 5.2, 2.6, 0.8), oma = c(2.6, 0, 2.4, 0),
                      mgp = c(2.1, 0.6, 0), las = 1, cex.axis = 0.8)
  on.exit(graphics::par(op))
  for (i in seq_len(nc)) {
    y <- m[, i]
    ok <- !is.na(y)
    if (!any(ok)) {
      graphics::plot.new()
      graphics::title(main = panel_name(covs[i]), cex.main = 0.95)
      graphics::text(0.5, 0.5, "every fit failed", col = "grey40")
      next
    }
    j <- which(ok)[which.min(y[ok])]
    is_best <- i == b[2L]
    ylim <- sel_panel_range(y)
    gm_draw(graphics::plot, list(x = ks, y = y, type = "b", col = st$col[i], pch = st$pch[i], lwd = 1.5,
                                 lty = st$lty[i],
                                 ylim = ylim, xlab = "k", ylab = "", xaxt = "n", main = ""), dots)
    graphics::axis(1L, at = ks)
    above <- ok & y > ylim[2L]
    if (any(above)) {                       # values off the panel: an arrow at the top edge
      usr <- graphics::par("usr")
      graphics::arrows(ks[above], usr[4L] - 0.09 * (usr[4L] - usr[3L]), ks[above], usr[4L],
                       length = 0.06, col = st$col[i], lwd = 1.5)
    }
    delta <- y[j] - best_val
    title <- if (is_best) sprintf("%s: best, k = %g", panel_name(covs[i]), ks[j]) else
      sprintf("%s: k = %g, %s %s", panel_name(covs[i]), ks[j], crit,
              paste0("+", format(signif(delta, 3), big.mark = ",", scientific = FALSE)))
    graphics::title(main = title, cex.main = 0.95, font.main = if (is_best) 2 else 1,
                    col.main = if (is_best) "black" else "grey25")
    if (is_best) {
      graphics::points(ks[j], y[j], pch = 21, cex = 3, lwd = 2.5, col = "black")
      graphics::box(lwd = 2.5)
    } else {
      graphics::points(ks[j], y[j], pch = 1, cex = 2, lwd = 1, col = "grey40")
    }
  }
  graphics::mtext(main, side = 3L, outer = TRUE, line = 0.8, font = 2, cex = 1.1)
  graphics::par(fig = c(0, 1, 0, 1), oma = c(0, 0, 0, 0), mar = c(0, 0, 0, 0), new = TRUE)
  graphics::plot.new()
  graphics::legend("bottom", legend = c(best_text, sprintf(
                     "smallest %s of a model (in the panel title: how much larger than the best)", crit)),
                   pch = c(21, 1), pt.cex = c(2, 1.4), pt.lwd = c(2.5, 1), col = c("black", "grey40"),
                   bty = "n", cex = 0.8, horiz = FALSE)
}

# Colour, symbol and line type of each model in selection plots: mclust's colours and symbols
# (the same model looks the same in both packages); solid lines for the models with equal
# volumes, dashed for varying volumes. Unknown names (none today) get a palette.
sel_styles <- function(covs) {
  known <- covs %in% names(model_colours)
  col <- ifelse(known, model_colours[covs], grDevices::hcl.colors(max(length(covs), 2L), "Dark 3")[seq_along(covs)])
  pch <- ifelse(known, model_symbols[covs], 16)
  lty <- ifelse(substr(covs, 1L, 1L) == "V", 2L, 1L)
  list(col = unname(col), pch = unname(pch), lty = unname(lty))
}

# The y-range of a selection panel: from the smallest value up to twice the distance from it to
# the upper quartile, so that one very poor fit (often k = 1) does not flatten the rest; values
# above are marked by arrows.
sel_panel_range <- function(y) {
  y <- y[!is.na(y)]
  lo <- min(y)
  hi <- max(y)
  q <- stats::quantile(y, 0.75, names = FALSE)
  if (length(y) >= 4L && q > lo) hi <- min(hi, lo + 2 * (q - lo))
  pad <- max(hi - lo, 1e-8 * abs(lo), 1e-8) * 0.08
  c(lo - pad, hi + pad)
}
