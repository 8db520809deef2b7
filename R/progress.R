# Progress reporting with cli: the bar over the grid of gmm_select(), and the per-iteration
# report of a single gmm(verbose = TRUE) fit, which the C++ driver calls after every EM
# iteration (on the main thread, between iterations, so it costs one R call per iteration).
#
# Bars are attached to the calling function's frame (`envir`), so cli closes them when that
# function returns, errors or is interrupted.

# --- gmm_select(): one bar over the grid ---------------------------------------------------

sel_progress_start <- function(nfit, envir) {
  id <- cli::cli_progress_bar(
    total = nfit, clear = FALSE, auto_terminate = FALSE,
    format = paste("{cli::pb_spin} {cli::pb_bar} {cli::pb_current}/{cli::pb_total} fits",
                   "| ETA {cli::pb_eta} | {cli::pb_extra$label}"),
    format_done = "{cli::col_green(cli::symbol$tick)} Fitted {cli::pb_total} models in {cli::pb_elapsed}",
    format_failed = "{cli::col_red(cli::symbol$cross)} Stopped after {cli::pb_current} of {cli::pb_total} fits",
    extra = list(label = ""), .envir = envir)
  assign(".sel_progress_id", id, envir = envir)
  invisible(id)
}

sel_progress_fit_start <- function(k, covariance, d, envir) {
  sel_progress_label(sprintf("k = %d, %s", k, sel_model_name(covariance, d)), envir)
}

# The models at one k fitted at once (sel_fits_at_k()).
sel_progress_k_start <- function(k, m, envir) {
  sel_progress_label(sprintf("k = %d, %d models at once", k, m), envir)
}

sel_progress_label <- function(label, envir) {
  id <- get(".sel_progress_id", envir = envir)
  cli::cli_progress_update(inc = 0, id = id, extra = list(label = label), .envir = envir)
}

sel_progress_fit_done <- function(row, criterion, verbose, envir) {
  id <- get(".sel_progress_id", envir = envir)
  if (verbose) {
    line <- if (is.na(row$error)) {
      sprintf("k = %d, %s: %s = %s, %d iteration%s%s (%.2f s)", row$k, row$covariance,
              toupper(criterion), format(signif(row[[criterion]], 8)), row$iterations,
              if (row$iterations == 1L) "" else "s", if (isTRUE(row$converged)) "" else ", not converged",
              row$seconds)
    } else {
      sprintf("k = %d, %s: failed: %s", row$k, row$covariance, row$error)
    }
    cli::cli_progress_output("{line}", id = id, .envir = environment())
  }
  cli::cli_progress_update(id = id, .envir = envir)
}

sel_progress_done <- function(envir) {
  id <- get(".sel_progress_id", envir = envir)
  cli::cli_progress_done(id = id, .envir = envir)
}

# --- gmm(verbose = TRUE): a report after every EM iteration --------------------------------

# Returns the function the C++ driver calls as progress(start, n_init, iteration, loglik).
# On a dynamic terminal (an interactive console) it keeps one status bar up to date and leaves
# a line per finished start; elsewhere (Rscript, knitr, logs) it writes one line per
# iteration, as a message.
gm_progress_fit <- function(n_init, max_iter, envir) {
  dynamic <- cli::is_dynamic_tty()
  state <- new.env(parent = emptyenv())
  state$id <- NULL
  state$start <- 0L
  state$iter <- 0L
  state$ll <- NA_real_
  start_text <- function(s) if (n_init > 1L) sprintf("start %d/%d, ", s, n_init) else ""
  function(start, n_starts, iter, loglik) {
    change <- if (start == state$start && iter > 1L) loglik - state$ll else NA_real_
    if (dynamic) {
      if (start != state$start && state$start > 0L) {
        txt <- sprintf("EM %s%d iterations, log-likelihood %s", start_text(state$start), state$iter,
                       format(state$ll, digits = 10))
        cli::cli_progress_output("{txt}", id = state$id, .envir = environment())
      }
      extra <- list(start = start_text(start), iter = iter, ll = format(loglik, digits = 10),
                    change = if (is.na(change)) "" else sprintf(", change %.3g", change))
      if (is.null(state$id)) {
        state$id <- cli::cli_progress_bar(
          total = n_init * max_iter, clear = FALSE, extra = extra, auto_terminate = FALSE,
          format = paste("{cli::pb_spin} EM {cli::pb_extra$start}iteration {cli::pb_extra$iter}:",
                         "log-likelihood {cli::pb_extra$ll}{cli::pb_extra$change}"),
          format_done = paste("EM {cli::pb_extra$start}{cli::pb_extra$iter} iterations,",
                              "log-likelihood {cli::pb_extra$ll} ({cli::pb_elapsed})"),
          .envir = envir)
      }
      cli::cli_progress_update(set = (start - 1L) * max_iter + iter, extra = extra, id = state$id,
                               .envir = envir)
    } else {
      message(sprintf("%siteration %d  log-likelihood %s%s", start_text(start), iter,
                      format(loglik, digits = 10),
                      if (is.na(change)) "" else sprintf("  change %.3g", change)))
    }
    state$start <- start
    state$iter <- iter
    state$ll <- loglik
    invisible(NULL)
  }
}
