// The table of covariance models. Adding a model: one file in this directory defining
// `const CovarianceModel& model_<NAME>()` (file-local helpers in a namespace named after the
// file, see model_util.h), plus one X(<NAME>) line below.
#include "covariance_model.h"

// clang-format off
#define FASTGMM_COVARIANCE_MODELS(X) \
  X(EII) \
  X(VII) \
  X(EEI) \
  X(VEI) \
  X(EVI) \
  X(VVI) \
  X(EEE) \
  X(VEE) \
  X(EVE) \
  X(VVE) \
  X(EEV) \
  X(VEV) \
  X(EVV) \
  X(VVV)
// clang-format on

namespace fastgmm {

#define FASTGMM_DECLARE_MODEL(NAME) const CovarianceModel& model_##NAME();
FASTGMM_COVARIANCE_MODELS(FASTGMM_DECLARE_MODEL)
#undef FASTGMM_DECLARE_MODEL

const std::vector<CovarianceModel>& covariance_models() {
  static const std::vector<CovarianceModel> all = {
#define FASTGMM_LIST_MODEL(NAME) model_##NAME(),
      FASTGMM_COVARIANCE_MODELS(FASTGMM_LIST_MODEL)
#undef FASTGMM_LIST_MODEL
  };
  return all;
}

const CovarianceModel* find_covariance_model(const std::string& name) {
  for (const CovarianceModel& m : covariance_models())
    if (name == m.name) return &m;
  return nullptr;
}

}  // namespace fastgmm

#undef FASTGMM_COVARIANCE_MODELS
