// The CPU kernels' instruction-set level (src/core/kernels/dispatch.h).
#include <Rcpp.h>

#include <stdexcept>

#include "core/kernels/dispatch.h"

// [[Rcpp::export]]
Rcpp::DataFrame cpp_cpu_levels() {
  const std::vector<fastgmm::CpuLevelInfo> lv = fastgmm::cpu_levels();
  const std::string active = fastgmm::cpu_kernels().level;
  const R_xlen_t n = R_xlen_t(lv.size());
  Rcpp::CharacterVector level(n);
  Rcpp::LogicalVector compiled(n), supported(n), is_active(n);
  for (R_xlen_t i = 0; i < n; ++i) {
    level[i] = lv[size_t(i)].name;
    compiled[i] = lv[size_t(i)].compiled;
    supported[i] = lv[size_t(i)].supported;
    is_active[i] = lv[size_t(i)].name == active;
  }
  return Rcpp::DataFrame::create(Rcpp::Named("level") = level, Rcpp::Named("compiled") = compiled,
                                 Rcpp::Named("supported") = supported,
                                 Rcpp::Named("active") = is_active,
                                 Rcpp::Named("stringsAsFactors") = false);
}

// [[Rcpp::export]]
std::string cpp_set_cpu_level(std::string level) {
  try {
    fastgmm::set_cpu_level(level);
  } catch (const std::invalid_argument& e) {
    Rcpp::stop(e.what());
  }
  return fastgmm::cpu_kernels().level;
}
