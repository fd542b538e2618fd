/* BatchNorm statistics and backward over a channels-last map, rows [M, C], in float64 block sums.
   Interface: batchnorm.h. */
#include <stdlib.h>

#include "common.h"
#include "batchnorm.h"

#define ROWS 256   /* rows per block: block sums are added in block order, the same for any thread count */

#define STATS(T_, SUF)                                                                                  \
CLONES int batchnorm_stats_##SUF(const T_ *x, double *sum, double *sumsq, int64_t M, int64_t C,          \
                                 int threads) {                                                         \
  const int64_t nb = (M + ROWS - 1) / ROWS;                                                             \
  double *part = (double *)malloc(sizeof(double) * 2 * (nb > 0 ? nb : 1) * C);                          \
  if (!part) return MSENAS_OUT_OF_MEMORY;                                                               \
  _Pragma("omp parallel for num_threads(threads) schedule(static)")                                     \
  for (int64_t b = 0; b < nb; b++) {                                                                    \
    double *ps = part + 2 * b * C, *pq = ps + C;                                                        \
    for (int64_t c = 0; c < C; c++) { ps[c] = 0.0; pq[c] = 0.0; }                                       \
    const int64_t m1 = (b + 1) * ROWS < M ? (b + 1) * ROWS : M;                                         \
    for (int64_t m = b * ROWS; m < m1; m++) {                                                           \
      const T_ *xm = x + m * C;                                                                         \
      for (int64_t c = 0; c < C; c++) { const double v = (double)xm[c]; ps[c] += v; pq[c] += v * v; }   \
    }                                                                                                   \
  }                                                                                                     \
  for (int64_t c = 0; c < C; c++) { sum[c] = 0.0; sumsq[c] = 0.0; }                                     \
  for (int64_t b = 0; b < nb; b++)                                                                      \
    for (int64_t c = 0; c < C; c++) { sum[c] += part[2 * b * C + c]; sumsq[c] += part[2 * b * C + C + c]; }\
  free(part);                                                                                           \
  return MSENAS_OK;                                                                                     \
}

/* coef: per channel mean gradient, slope of the (x - mean) term and output scale, 3 x C values on the heap */
#define BACKWARD(T_, SUF)                                                                               \
CLONES int batchnorm_backward_##SUF(const T_ *x, const T_ *g, const T_ *mean, const T_ *rstd, const T_ *w,\
                                    T_ *gx, double *sum_g, double *sum_gd, int64_t M, int64_t C,        \
                                    int threads) {                                                      \
  const int64_t nb = (M + ROWS - 1) / ROWS;                                                             \
  double *part = (double *)malloc(sizeof(double) * 2 * (nb > 0 ? nb : 1) * C);                          \
  T_ *coef = (T_ *)malloc(sizeof(T_) * 3 * (C > 0 ? C : 1));                                            \
  if (!part || !coef) { free(part); free(coef); return MSENAS_OUT_OF_MEMORY; }                          \
  _Pragma("omp parallel for num_threads(threads) schedule(static)")                                     \
  for (int64_t b = 0; b < nb; b++) {                                                                    \
    double *pg = part + 2 * b * C, *pd = pg + C;                                                        \
    for (int64_t c = 0; c < C; c++) { pg[c] = 0.0; pd[c] = 0.0; }                                       \
    const int64_t m1 = (b + 1) * ROWS < M ? (b + 1) * ROWS : M;                                         \
    for (int64_t m = b * ROWS; m < m1; m++) {                                                           \
      const T_ *xm = x + m * C, *gm = g + m * C;                                                        \
      for (int64_t c = 0; c < C; c++) {                                                                 \
        pg[c] += (double)gm[c];                                                                         \
        pd[c] += (double)gm[c] * ((double)xm[c] - (double)mean[c]);                                     \
      }                                                                                                 \
    }                                                                                                   \
  }                                                                                                     \
  for (int64_t c = 0; c < C; c++) { sum_g[c] = 0.0; sum_gd[c] = 0.0; }                                  \
  for (int64_t b = 0; b < nb; b++)                                                                      \
    for (int64_t c = 0; c < C; c++) { sum_g[c] += part[2 * b * C + c]; sum_gd[c] += part[2 * b * C + C + c]; }\
  free(part);                                                                                           \
  T_ *restrict mg = coef, *restrict k = coef + C, *restrict scale = coef + 2 * C;                      \
  for (int64_t c = 0; c < C; c++) {                                                                     \
    mg[c] = (T_)(sum_g[c] / (double)M);                                                                 \
    k[c] = (T_)(sum_gd[c] * (double)rstd[c] * (double)rstd[c] / (double)M);                             \
    scale[c] = rstd[c] * (w ? w[c] : (T_)1);                                                            \
  }                                                                                                     \
  _Pragma("omp parallel for num_threads(threads) schedule(static)")                                     \
  for (int64_t m = 0; m < M; m++) {                                                                     \
    const T_ *xm = x + m * C, *gm = g + m * C;                                                          \
    T_ *om = gx + m * C;                                                                                \
    for (int64_t c = 0; c < C; c++) om[c] = (gm[c] - mg[c] - (xm[c] - mean[c]) * k[c]) * scale[c];      \
  }                                                                                                     \
  free(coef);                                                                                           \
  return MSENAS_OK;                                                                                     \
}

STATS(float, f32)
STATS(double, f64)
BACKWARD(float, f32)
BACKWARD(double, f64)
