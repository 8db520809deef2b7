library(testthat)
library(fastgmm)

test_check("fastgmm")
