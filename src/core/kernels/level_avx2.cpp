// The CPU kernels at the "avx2" level (see dispatch.h).
#define FASTGMM_LEVEL_AVX2
#include "level.h"
