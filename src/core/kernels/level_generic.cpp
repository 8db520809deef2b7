// The CPU kernels at the "generic" level (see dispatch.h).
#define FASTGMM_LEVEL_GENERIC
#include "level.h"
