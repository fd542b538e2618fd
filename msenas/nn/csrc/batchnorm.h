/* BatchNorm over a channels-last map, rows [M, C]: the whole interface of batchnorm.c.

   This header is the one declaration of it. batchnorm.c includes it, so the compiler checks every definition
   against it; msenas/nn/kernels.py parses the prototypes below (plain C, no macros) to declare them to
   ctypes. Column sums run over blocks of 256 rows and the block sums are added in block order, so results do
   not depend on the number of threads (torch's channels-last training BatchNorm does).
   Every function returns MSENAS_OK (0) or MSENAS_OUT_OF_MEMORY (-2). */
#ifndef MSENAS_BATCHNORM_H
#define MSENAS_BATCHNORM_H
#include <stdint.h>

/* sum[c] = sum over rows of x, sumsq[c] = sum of x^2 (float64). */
int batchnorm_stats_f32(const float *x, double *sum, double *sumsq, int64_t M, int64_t C, int threads);
int batchnorm_stats_f64(const double *x, double *sum, double *sumsq, int64_t M, int64_t C, int threads);

/* torch's backward: gx = (g - sum_g / M - (x - mean) * sum_gd * rstd^2 / M) * rstd * w (w may be NULL: 1),
   with sum_g = sum g and sum_gd = sum g * (x - mean), both returned [C] (float64). */
int batchnorm_backward_f32(const float *x, const float *g, const float *mean, const float *rstd, const float *w,
                           float *gx, double *sum_g, double *sum_gd, int64_t M, int64_t C, int threads);
int batchnorm_backward_f64(const double *x, const double *g, const double *mean, const double *rstd,
                           const double *w, double *gx, double *sum_g, double *sum_gd, int64_t M, int64_t C,
                           int threads);

#endif
