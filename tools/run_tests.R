# Runs the test suite against the installed fastgmm and ends with one line
# "N passed, N failed, N skipped"; exits non-zero on any failure or error.
#   Rscript tools/run_tests.R
library(testthat)
library(fastgmm)
res <- as.data.frame(test_dir("tests/testthat", package = "fastgmm", load_package = "installed",
                              reporter = "summary", stop_on_failure = FALSE))
failed <- sum(res$failed) + sum(res$error)
cat(sprintf("\n%d passed, %d failed, %d skipped\n", sum(res$passed), failed, sum(res$skipped)))
quit(status = if (failed > 0) 1 else 0)
