/* The C interface between fastgmm and its CUDA plugin (fastgmm_cuda.so).
 *
 * The package itself never links the CUDA runtime or cuBLAS: when the CUDA
 * backend is asked for (or probed), it dlopen()s the plugin, looks up
 * fastgmm_cuda_plugin() and calls it with the ABI version it was built
 * against; the plugin returns its function table, or NULL when the versions
 * differ. Only plain C types cross this boundary (no C++ exceptions, no Eigen,
 * no R): every function returns an FGC_* status and, on failure, fills an
 * fgc_error with a user-facing message.
 *
 * What the plugin does: it holds the rows of one data set on a CUDA device
 * (or streams them through a block of device memory on every pass), runs
 * the fused E-step and the anchored statistics of a pass, and returns them.
 * It never reads a data source itself: the caller hands it rows, already
 * relative to the data's origin and in the compute type (float or double),
 * column-major. Statistics are about the anchors a_j = the component means
 * of the pass (as the device holds them, i.e. rounded to the compute type):
 *   s0[j]                 = sum_i r_ij
 *   s1[c + j d]           = sum_i r_ij (x_ic - a_jc)
 *   s2[p + j rows(kind)]  = Full: the packed upper triangle (p = c (c + 1) / 2 + i,
 *                           i <= c) of sum_i r_ij (x_i - a_j)(x_i - a_j)';
 *                           Diag: its diagonal; Trace: its trace,
 * where r_ij are the weighted responsibilities, accumulated in double.
 *
 * Changing anything in this file means bumping FGC_ABI_VERSION. */
#ifndef FASTGMM_CUDA_PLUGIN_API_H
#define FASTGMM_CUDA_PLUGIN_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FGC_ABI_VERSION 1
#define FGC_ENTRY_POINT "fastgmm_cuda_plugin"

/* Status codes. */
enum {
  FGC_OK = 0,
  FGC_ERROR = 1,         /* a CUDA runtime or cuBLAS failure */
  FGC_OUT_OF_MEMORY = 2, /* device memory exhausted */
  FGC_UNSUPPORTED = 3,   /* this kernel variant cannot run on this problem shape */
  FGC_INVALID = 4        /* bad arguments or calls out of order (a bug in the caller) */
};

typedef struct fgc_error {
  int code;
  char message[1024];
} fgc_error;

/* E-step shapes and statistics kinds (the core's EShape and ScatterKind). */
enum { FGC_SHAPE_FULL = 0, FGC_SHAPE_TIED = 1, FGC_SHAPE_DIAG = 2, FGC_SHAPE_SPHERICAL = 3 };
enum { FGC_SCATTER_FULL = 0, FGC_SCATTER_DIAG = 1, FGC_SCATTER_TRACE = 2 };

#define FGC_MAX_DEVICES 16

typedef struct fgc_device_info {
  int index;
  char name[256];
  double memory_bytes;
  int cc_major, cc_minor;
  int multiprocessors;
} fgc_device_info;

typedef struct fgc_status {
  int available;          /* at least one usable device */
  char reason[512];       /* why not, when not */
  int driver_version;     /* e.g. 13000; 0: no driver */
  int runtime_version;    /* of the CUDA runtime in the plugin */
  int n_devices;          /* entries of devices[] filled */
  fgc_device_info devices[FGC_MAX_DEVICES];
} fgc_status;

typedef struct fgc_options {
  int64_t n, d, k;   /* rows, columns, components */
  int shape;         /* FGC_SHAPE_* */
  int scatter;       /* FGC_SCATTER_* */
  int weighted;      /* rows come with weights */
  int device;
  int single;        /* compute in float (statistics still accumulate in double) */
  int variant;       /* statistics kernel, 0 .. n_variants - 1 */
  int64_t block_rows;/* rows per device block; 0 chooses from the shape */
  int stream;        /* keep no copy of the data on the device: rows are fed on every pass */
} fgc_options;

/* E-step terms of a pass, in double, relative to the data's origin. */
typedef struct fgc_terms {
  const double* cst;  /* k: log prop_j + log det U_j - d/2 log(2 pi) */
  const double* mean; /* d x k column-major: the means (the pass's anchors) */
  const double* U;    /* Full: k blocks of d x d column-major upper factors U_j, U_j U_j' = sigma_j^-1;
                         Tied: one d x d; otherwise unused */
  const double* P;    /* Diag: d x k precisions; Spherical: k; otherwise unused */
} fgc_terms;

typedef struct fgc_pass_info {
  int resident;       /* the data are kept on the device */
  int64_t block_rows; /* rows per device block */
  char description[512];
} fgc_pass_info;

typedef struct fgc_pass fgc_pass; /* opaque */

typedef struct fgc_api {
  int abi_version; /* FGC_ABI_VERSION */
  size_t size;     /* sizeof(fgc_api) as the plugin knows it */
  int n_variants;
  const char* (*variant_name)(int variant);
  /* Never fails: describes the driver and devices (st->available says whether one is usable). */
  void (*query)(fgc_status* st);

  int (*create)(const fgc_options* opt, fgc_pass** out, fgc_error* err);
  void (*destroy)(fgc_pass* p);
  int (*info)(fgc_pass* p, fgc_pass_info* out);
  int (*set_variant)(fgc_pass* p, int variant, fgc_error* err);

  /* Resident data: rows r0 .. r0 + rows - 1, once, before the first pass.
   * x: rows x d column-major with leading dimension ldx, of the compute type
   * (float when single, else double), already minus the origin; w: rows
   * weights of the compute type (when weighted). */
  int (*upload)(fgc_pass* p, int64_t r0, int64_t rows, const void* x, int64_t ldx,
                const void* w, fgc_error* err);
  /* A pass: begin, then (streamed data only) every row in order through feed(),
   * then end, which returns the statistics (s0: k, s1: d x k, s2: rows(kind) x k)
   * and the weighted log-likelihood. */
  int (*pass_begin)(fgc_pass* p, const fgc_terms* t, fgc_error* err);
  int (*feed)(fgc_pass* p, int64_t rows, const void* x, int64_t ldx, const void* w,
              fgc_error* err);
  int (*pass_end)(fgc_pass* p, double* s0, double* s1, double* s2, double* loglik,
                  fgc_error* err);
} fgc_api;

/* The plugin's only exported symbol: its table when abi_version is the one it
 * implements, else NULL. */
typedef const fgc_api* (*fgc_entry_fn)(int abi_version);

#ifdef __cplusplus
}
#endif

#endif
