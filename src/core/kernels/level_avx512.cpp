// The CPU kernels at the "avx512" level (see dispatch.h).
#define FASTGMM_LEVEL_AVX512
#include "level.h"
