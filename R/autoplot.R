# ggplot2 versions of the plots (ggplot2 is only suggested: the methods are registered for
# ggplot2::autoplot when ggplot2 is loaded). They use the helpers of plot.R for the data: the
# same thinning, ellipses, density levels and uncertainty bands.

utils::globalVariables(c(".x", ".y", ".class", ".band", ".xvar", ".yvar", ".comp", ".level",
                         ".value", ".iter", ".k", ".model", ".best", ".off", ".xend", "density"))

gg_need <- function() {
  if (!requireNamespace("ggplot2", quietly = TRUE))
    stop("autoplot() needs the ggplot2 package", call. = FALSE)
}

gg_class_scales <- function(x) {
  st <- gp_class_style(x$k)
  comps <- gm_component_names(x)
  list(ggplot2::scale_colour_manual(values = stats::setNames(st$col, comps), name = "class",
                                    drop = FALSE),
       ggplot2::scale_fill_manual(values = stats::setNames(st$col, comps), name = "class",
                                  drop = FALSE),
       ggplot2::scale_shape_manual(values = stats::setNames(st$pch, comps), name = "class",
                                   drop = FALSE),
       ggplot2::scale_linetype_manual(values = stats::setNames(st$lty, comps), name = "class",
                                      drop = FALSE))
}

#' ggplot2 plots of a fitted mixture or a model selection
#'
#' The plots of [plot.gmm()] and [plot.gmm_select()] as ggplot2 objects, to
#' be modified or combined with other ggplot2 layers. Available when the
#' ggplot2 package is installed (call it as `ggplot2::autoplot()`, or
#' `autoplot()` with ggplot2 attached).
#'
#' For a fit with more than two dimensions in `dimens`, the plot has one
#' facet per pair of dimensions (the lower triangle of a scatterplot
#' matrix). Large data are thinned evenly as in [plot.gmm()] (the caption
#' says so) and drawn with transparency.
#'
#' @param object A `"gmm"` fit from [gmm()] or a `"gmm_select"` selection
#'   from [gmm_select()].
#' @param what,dimens As in [plot.gmm()].
#' @param criterion As in [plot.gmm_select()].
#' @param ... Unused.
#' @return A `ggplot` object.
#' @seealso [plot.gmm()], [plot.gmm_select()]
#' @examples
#' if (requireNamespace("ggplot2", quietly = TRUE)) {
#'   fit <- gmm(faithful, 2, threads = 1, seed = 1)
#'   p <- ggplot2::autoplot(fit, "uncertainty")
#'   p + ggplot2::theme_bw()
#' }
#' @name autoplot.gmm
#' @exportS3Method ggplot2::autoplot
autoplot.gmm <- function(object, what = c("classification", "uncertainty", "density", "loglik"),
                         dimens = NULL, ...) {
  gg_need()
  gm_check_fit(object)
  what <- match_choice(what, c("classification", "uncertainty", "density", "loglik"), "what")
  dimens <- gp_check_dimens(dimens, object$d)
  if (what == "loglik") return(gg_loglik(object))
  if (length(dimens) == 1L) return(gg_1d(object, what, dimens))
  gg_pairs(object, what, dimens)
}

gg_loglik <- function(x) {
  tr <- x$loglik_trace
  if (length(tr) == 0L) tr <- x$loglik
  df <- data.frame(.iter = seq_along(tr), .value = tr)
  ggplot2::ggplot(df, ggplot2::aes(.iter, .value)) +
    (if (nrow(df) > 1L) ggplot2::geom_line()) + ggplot2::geom_point() +
    ggplot2::labs(x = "iteration", y = "log-likelihood", title = "EM log-likelihood",
                  subtitle = gm_convergence_text(x))
}

gg_1d <- function(x, what, dimens) {
  m <- gm_marginal(x, dimens)
  comps <- gm_component_names(x)
  lab <- gm_dim_names(x)[dimens]
  data <- if (what == "density") gm_plot_data(x) else gm_training_data(x)
  v <- if (is.null(data)) NULL else data[, dimens]
  rng <- gp_range_1d(m, v)
  g <- gp_components_1d(m, rng)
  curves <- data.frame(.x = rep(g$x, x$k), .y = as.vector(g$comp),
                       .class = factor(rep(comps, each = length(g$x)), levels = comps))
  peaks <- data.frame(.x = m$means[, 1L], .y = m$proportions / (sqrt(2 * pi) * g$sds),
                      .class = factor(comps, levels = comps))
  comp_layers <- list(
    ggplot2::geom_line(data = curves, ggplot2::aes(.x, .y, colour = .class, linetype = .class),
                       linewidth = 0.8),
    ggplot2::geom_point(data = peaks, ggplot2::aes(.x, .y, colour = .class, shape = .class), size = 3))
  if (what == "uncertainty") {
    idx <- gp_rows(length(v), 100000L)
    df <- data.frame(.x = v[idx], .y = x$uncertainty[idx],
                     .class = factor(comps[x$classification[idx]], levels = comps))
    ps <- gp_point_style(length(idx))
    return(ggplot2::ggplot(df, ggplot2::aes(.x, .y, colour = .class, shape = .class)) +
             ggplot2::geom_point(alpha = max(ps$alpha, 0.3), size = 1.5 * ps$cex) +
             ggplot2::geom_vline(xintercept = m$means[, 1L], linetype = 2, colour = "grey50") +
             gg_class_scales(x) +
             ggplot2::labs(x = lab, y = "uncertainty", title = gp_title(x, "Classification uncertainty"),
                           caption = gp_thin_note(length(idx), length(v))))
  }
  p <- ggplot2::ggplot()
  br <- if (is.null(v)) NULL else gp_breaks(v, rng)
  if (what == "classification") {
    # each bar split by class, in units of the density of all the data (as plot.gmm)
    nb <- length(br) - 1L
    bin <- findInterval(v, br, rightmost.closed = TRUE, all.inside = TRUE)
    counts <- matrix(tabulate(bin + (x$classification - 1L) * nb, nb * x$k), nb, x$k)
    dens <- counts / (length(v) * diff(br))
    top <- t(apply(dens, 1L, cumsum))
    if (x$k == 1L) top <- matrix(top, ncol = 1L)
    bars <- data.frame(.x = rep(br[-length(br)], x$k), .xend = rep(br[-1L], x$k),
                       .y = as.vector(top - dens), .value = as.vector(top),
                       .class = factor(rep(comps, each = nb), levels = comps))
    p <- p + ggplot2::geom_rect(data = bars, ggplot2::aes(xmin = .x, xmax = .xend, ymin = .y,
                                                          ymax = .value, fill = .class), alpha = 0.45)
    title <- gp_title(x, "Classification")
  } else {
    if (!is.null(v))
      p <- p + ggplot2::geom_histogram(data = data.frame(.x = v),
                                       ggplot2::aes(.x, ggplot2::after_stat(density)), breaks = br,
                                       fill = "grey90", colour = "grey65")
    p <- p + ggplot2::geom_line(data = data.frame(.x = g$x, .y = rowSums(g$comp)),
                                ggplot2::aes(.x, .y), linewidth = 1.1)
    title <- gp_title(x, "Fitted mixture density")
  }
  p + comp_layers + gg_class_scales(x) + ggplot2::labs(x = lab, y = "density", title = title)
}

# Long data for the pairs (i, j), i > j, of the dimensions: .x from dimension j, .y from i.
gg_pairs_data <- function(mat, dimens, labs, extra = NULL) {
  p <- length(dimens)
  pairs <- if (p == 2L) matrix(c(2L, 1L), 1L) else which(lower.tri(diag(p)), arr.ind = TRUE)
  out <- lapply(seq_len(nrow(pairs)), function(r) {
    i <- pairs[r, 1L]
    j <- pairs[r, 2L]
    df <- data.frame(.x = mat[, dimens[j]], .y = mat[, dimens[i]],
                     .xvar = factor(labs[j], levels = labs), .yvar = factor(labs[i], levels = labs))
    if (!is.null(extra)) df <- cbind(df, extra)
    df
  })
  do.call(rbind, out)
}

gg_pairs <- function(x, what, dimens) {
  comps <- gm_component_names(x)
  labs <- gm_dim_names(x)[dimens]
  p <- length(dimens)
  data <- if (what == "density") gm_plot_data(x) else gm_training_data(x)
  n <- if (is.null(data)) 0L else nrow(data)
  idx <- if (n) gp_rows(n, if (p == 2L) 100000L else 20000L) else integer()
  ps <- gp_point_style(length(idx), area = if (p == 2L) 1 else 1 / p)
  cls <- factor(comps[x$classification[idx]], levels = comps)
  pairs <- if (p == 2L) matrix(c(2L, 1L), 1L) else which(lower.tri(diag(p)), arr.ind = TRUE)
  ell <- do.call(rbind, lapply(seq_len(nrow(pairs)), function(r) {
    i <- pairs[r, 1L]
    j <- pairs[r, 2L]
    m <- gm_marginal(x, dimens[c(j, i)])
    do.call(rbind, lapply(seq_len(x$k), function(c) {
      e <- gm_ellipse(m$means[c, ], m$covariances[, , c])
      data.frame(.x = e[, 1L], .y = e[, 2L], .class = factor(comps[c], levels = comps),
                 .xvar = factor(labs[j], levels = labs), .yvar = factor(labs[i], levels = labs))
    }))
  }))
  means <- gg_pairs_data(x$parameters$means, dimens, labs,
                         data.frame(.class = factor(comps, levels = comps)))
  plt <- ggplot2::ggplot()
  pts <- if (n) gg_pairs_data(data[idx, , drop = FALSE], dimens, labs) else NULL
  if (what == "classification") {
    pts$.class <- rep(cls, nrow(pairs))
    plt <- plt +
      ggplot2::geom_point(data = pts, ggplot2::aes(.x, .y, colour = .class, shape = .class),
                          alpha = ps$alpha, size = 1.6 * ps$cex) +
      ggplot2::geom_path(data = ell, ggplot2::aes(.x, .y, group = .class, colour = .class,
                                                  linetype = .class), linewidth = 0.8) +
      ggplot2::geom_point(data = means, ggplot2::aes(.x, .y), shape = 3, size = 3, stroke = 1.2)
    title <- gp_title(x, "Classification")
  } else if (what == "uncertainty") {
    b <- gp_uncertainty_bins()
    band <- pmin(pmax(findInterval(x$uncertainty[idx], b$breaks), 1L), 4L)
    pts$.band <- factor(rep(b$labels[band], nrow(pairs)), levels = b$labels)
    pts$.class <- rep(cls, nrow(pairs))
    pts <- pts[order(pts$.band), ]
    plt <- plt +
      ggplot2::geom_point(data = pts, ggplot2::aes(.x, .y, colour = .band, shape = .class,
                                                   size = .band, alpha = .band)) +
      ggplot2::scale_colour_manual(values = stats::setNames(b$col, b$labels), name = "uncertainty",
                                   drop = FALSE) +
      ggplot2::scale_size_manual(values = stats::setNames(1.6 * ps$cex * b$size, b$labels),
                                 name = "uncertainty", drop = FALSE) +
      ggplot2::scale_alpha_manual(values = stats::setNames(c(ps$alpha, min(1, 2 * ps$alpha), 1, 1),
                                                           b$labels), name = "uncertainty", drop = FALSE) +
      ggplot2::scale_shape_manual(values = stats::setNames(gp_class_style(x$k)$pch, comps),
                                  name = "class", drop = FALSE) +
      ggplot2::geom_path(data = ell, ggplot2::aes(.x, .y, group = .class), colour = "grey40",
                         linetype = 2)
    title <- gp_title(x, "Classification uncertainty")
  } else {
    dens <- do.call(rbind, lapply(seq_len(nrow(pairs)), function(r) {
      i <- pairs[r, 1L]
      j <- pairs[r, 2L]
      m <- gm_marginal(x, dimens[c(j, i)])
      xy <- if (n) data[idx, dimens[c(j, i)], drop = FALSE] else NULL
      e <- gp_ellipses(m, 0.999)
      lim <- gp_limits(if (is.null(xy)) matrix(numeric(), 0, 2) else xy, e)
      g <- gp_density_grid(m, lim, if (p == 2L) 120L else 60L)
      lv <- if (n) gp_density_levels(exp(gm_mix_logdens(xy, m)), c(0.5, 0.9, 0.99)) else
        list(levels = stats::quantile(g$z, c(0.5, 0.8, 0.95), names = FALSE), labels = c("a", "b", "c"))
      cl <- grDevices::contourLines(g$x, g$y, g$z, levels = lv$levels)
      do.call(rbind, lapply(seq_along(cl), function(c) {
        data.frame(.x = cl[[c]]$x, .y = cl[[c]]$y, .comp = paste(r, c),
                   .level = factor(lv$labels[match(cl[[c]]$level, lv$levels)], levels = lv$labels),
                   .xvar = factor(labs[j], levels = labs), .yvar = factor(labs[i], levels = labs))
      }))
    }))
    if (n) plt <- plt + ggplot2::geom_point(data = pts, ggplot2::aes(.x, .y), colour = "grey50",
                                            alpha = ps$alpha * 0.6, size = ps$cex)
    plt <- plt +
      ggplot2::geom_path(data = dens, ggplot2::aes(.x, .y, group = .comp, colour = .level),
                         linewidth = 0.8) +
      ggplot2::scale_colour_manual(values = stats::setNames(rev(grDevices::hcl.colors(4L, "Blues 3")[1:3]),
                                                            levels(dens$.level)),
                                   name = if (n) "contour encloses\n(share of the data)" else "density") +
      ggplot2::geom_point(data = means, ggplot2::aes(.x, .y), shape = 3, size = 3, stroke = 1.2)
    title <- gp_title(x, "Fitted mixture density")
  }
  if (what == "classification") plt <- plt + gg_class_scales(x)
  note <- c(if (p < x$d) sprintf("dimensions %s of %d", paste(dimens, collapse = ", "), x$d),
            gp_thin_note(length(idx), n))
  plt <- plt + ggplot2::labs(title = title, caption = if (length(note)) paste(note, collapse = "; "))
  if (p == 2L) {
    plt + ggplot2::labs(x = labs[1L], y = labs[2L])
  } else {
    plt + ggplot2::facet_grid(ggplot2::vars(.yvar), ggplot2::vars(.xvar), scales = "free") +
      ggplot2::labs(x = NULL, y = NULL)
  }
}

#' @rdname autoplot.gmm
#' @exportS3Method ggplot2::autoplot
autoplot.gmm_select <- function(object, criterion = object$criterion, ...) {
  gg_need()
  sel_check_object(object)
  criterion <- match_choice(criterion, c("bic", "icl"), "criterion")
  m <- sel_matrix(object$table, criterion)
  if (all(is.na(m))) stop("nothing to plot: every fit failed", call. = FALSE)
  ks <- as.numeric(rownames(m))
  covs <- colnames(m)
  d <- object$best$d
  names_ <- if (length(covs) > 4L) covs else vapply(covs, sel_model_name, "", d = d)
  best <- which(m == min(m, na.rm = TRUE), arr.ind = TRUE)
  best <- best[order(best[, 1L], best[, 2L]), , drop = FALSE][1L, ]
  best_val <- m[best[1L], best[2L]]
  df <- do.call(rbind, lapply(seq_along(covs), function(i) {
    y <- m[, i]
    r <- sel_panel_range(y)
    mn <- suppressWarnings(min(y, na.rm = TRUE))
    lab <- if (i == best[2L]) paste0(names_[i], ": best") else
      sprintf("%s: %s +%s", names_[i], toupper(criterion),
              format(signif(mn - best_val, 3), big.mark = ",", scientific = FALSE))
    data.frame(.k = ks, .value = pmin(y, r[2L]), .off = y > r[2L], .model = lab,
               .best = !is.na(y) & y == mn & seq_along(y) == which.min(y))
  }))
  df$.model <- factor(df$.model, levels = unique(df$.model))
  cols <- sel_styles(covs)$col
  ggplot2::ggplot(df, ggplot2::aes(.k, .value, colour = .model)) +
    ggplot2::geom_line(na.rm = TRUE) +
    ggplot2::geom_point(ggplot2::aes(shape = .off), size = 2, na.rm = TRUE) +
    ggplot2::geom_point(data = df[df$.best, ], shape = 21, size = 4, stroke = 0.8, colour = "grey40") +
    ggplot2::geom_point(data = df[df$.best & df$.model == levels(df$.model)[best[2L]], ],
                        shape = 21, size = 6, stroke = 1.6, colour = "black") +
    ggplot2::scale_shape_manual(values = c(`FALSE` = 16, `TRUE` = 2), guide = "none") +
    ggplot2::scale_colour_manual(values = stats::setNames(cols, levels(df$.model)), guide = "none") +
    ggplot2::scale_x_continuous(breaks = ks) +
    ggplot2::facet_wrap(ggplot2::vars(.model), scales = "free_y") +
    ggplot2::labs(x = "number of components k", y = toupper(criterion),
                  title = sprintf("Model selection by %s (smaller is better)", toupper(criterion)),
                  subtitle = sprintf("best (large black circle): k = %g, %s, %s = %s",
                                     ks[best[1L]], sel_model_name(covs[best[2L]], d), toupper(criterion),
                                     format(signif(best_val, 6))),
                  caption = paste("grey circle: each model's best; triangle: a value above the panel's range",
                                  "(drawn at its top)"))
}
