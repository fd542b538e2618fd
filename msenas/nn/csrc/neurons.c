/* Fused multi-step IF / LIF / PLIF neurons: the whole T loop per chunk of 64 elements, in one pass.
   Interface and arithmetic: neurons.h. Each (charge, dtype) pair gets its own loop (the charge is a constant
   in it, so the compiler keeps one branch-free, vectorised body per pair); the exported functions pick one. */
#include <math.h>
#include <stdlib.h>

#include "common.h"
#include "neurons.h"

#define CH 64   /* elements per chunk: one chunk's state lives in registers / L1 for the whole T loop */

#define CHARGE(MODE, K, v, x) ((MODE) == CHARGE_ADD ? (v) + (x)                                           \
                               : (MODE) == CHARGE_DIVIDE ? (v) + ((x) - ((v) - r)) / (K)                  \
                                                         : (v) + ((x) - ((v) - r)) * (K))

#define FORWARD(T_, SUF, MODE)                                                                          \
CLONES static void fwd_##MODE##_##SUF(const T_ *x, const T_ *v0, double v0d, T_ *s, T_ *vT, int64_t T,  \
                                      int64_t N, double kd, double thd, double rd, int nt) {            \
  const T_ k = (T_)kd, th = (T_)thd, r = (T_)rd;                                                        \
  const int64_t nch = (N + CH - 1) / CH;                                                                \
  _Pragma("omp parallel for num_threads(nt) schedule(static)")                                          \
  for (int64_t c = 0; c < nch; c++) {                                                                   \
    const int64_t i0 = c * CH, n = N - i0 < CH ? N - i0 : CH;                                           \
    T_ v[CH];                                                                                           \
    for (int64_t i = 0; i < n; i++) v[i] = v0 ? v0[i0 + i] : (T_)v0d;                                   \
    for (int64_t t = 0; t < T; t++) {                                                                   \
      const T_ *xt = x + t * N + i0;                                                                    \
      T_ *st = s + t * N + i0;                                                                          \
      for (int64_t i = 0; i < n; i++) {                                                                 \
        const T_ h = CHARGE(MODE, k, v[i], xt[i]);                                                      \
        const T_ sp = h >= th ? (T_)1 : (T_)0;                                                          \
        st[i] = sp;                                                                                     \
        v[i] = sp * r + ((T_)1 - sp) * h;                                                               \
      }                                                                                                 \
    }                                                                                                   \
    for (int64_t i = 0; i < n; i++) vT[i0 + i] = v[i];                                                  \
  }                                                                                                     \
}

/* hb: one thread's potentials h of one chunk at every step, T x CH values on the heap (a stack array sized by
   T would reach 512 KiB per thread at T = 1024). PLIF's per-chunk sums gqs are added in chunk order. */
#define BACKWARD(T_, SUF, MODE)                                                                         \
CLONES static int bwd_##MODE##_##SUF(const T_ *x, const T_ *v0, double v0d, const T_ *gs, const T_ *gvT,  \
                                     T_ *gx, T_ *gv0, double *gk, int64_t T, int64_t N, double kd,      \
                                     double thd, double rd, double pa, double ha, int detach, int nt) { \
  const T_ k = (T_)kd, th = (T_)thd, r = (T_)rd, za = (T_)pa, sa = (T_)ha;                              \
  const int64_t nch = (N + CH - 1) / CH;                                                                \
  double *gqs = MODE == CHARGE_PLIF ? (double *)malloc(sizeof(double) * (nch > 0 ? nch : 1)) : NULL;    \
  if (MODE == CHARGE_PLIF && !gqs) return MSENAS_OUT_OF_MEMORY;                                         \
  int failed = 0;                                                                                       \
  _Pragma("omp parallel num_threads(nt) reduction(|:failed)")                                           \
  {                                                                                                     \
    T_ *hb = (T_ *)malloc(sizeof(T_) * (size_t)(T > 0 ? T : 1) * CH);                                   \
    failed |= hb == NULL;                                                                               \
    _Pragma("omp for schedule(static)")                                                                 \
    for (int64_t c = 0; c < nch; c++) {                                                                 \
      if (!hb) continue;                                                                                \
      const int64_t i0 = c * CH, n = N - i0 < CH ? N - i0 : CH;                                         \
      T_ v[CH], carry[CH];                                                                              \
      double gqc = 0.0;                                                                                 \
      for (int64_t i = 0; i < n; i++) v[i] = v0 ? v0[i0 + i] : (T_)v0d;                                 \
      for (int64_t t = 0; t < T; t++) {                                                                 \
        const T_ *xt = x + t * N + i0;                                                                  \
        for (int64_t i = 0; i < n; i++) {                                                               \
          const T_ h = CHARGE(MODE, k, v[i], xt[i]);                                                    \
          const T_ sp = h >= th ? (T_)1 : (T_)0;                                                        \
          hb[t * CH + i] = h;                                                                           \
          v[i] = sp * r + ((T_)1 - sp) * h;                                                             \
        }                                                                                               \
      }                                                                                                 \
      for (int64_t i = 0; i < n; i++) carry[i] = gvT ? gvT[i0 + i] : (T_)0;                             \
      for (int64_t t = T - 1; t >= 0; t--) {                                                            \
        const T_ *gst = gs + t * N + i0, *xt = x + t * N + i0;                                          \
        T_ *gxt = gx + t * N + i0;                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                               \
          const T_ h = hb[t * CH + i], z = (h - th) * za, sg = sa / ((T_)1 + z * z);                    \
          T_ rg = (T_)1 - (h >= th ? (T_)1 : (T_)0);                                                    \
          if (!detach) rg = rg + (r - h) * sg;                                                          \
          const T_ gh = gst[i] * sg + carry[i] * rg;                                                    \
          if (MODE == CHARGE_ADD) { gxt[i] = gh; carry[i] = gh; }                                       \
          else if (MODE == CHARGE_DIVIDE) { gxt[i] = gh / k; carry[i] = gh - gh / k; }                  \
          else { gxt[i] = gh * k; carry[i] = gh - gh * k; }                                             \
          if (MODE == CHARGE_PLIF) {                                                                    \
            const T_ hp = t > 0 ? hb[(t - 1) * CH + i] : (T_)0;                                         \
            const T_ vp = t > 0 ? (hp >= th ? r : hp) : (v0 ? v0[i0 + i] : (T_)v0d);                    \
            gqc += (double)(gh * (xt[i] - (vp - r)));                                                   \
          }                                                                                             \
        }                                                                                               \
      }                                                                                                 \
      if (gv0) for (int64_t i = 0; i < n; i++) gv0[i0 + i] = carry[i];                                  \
      if (MODE == CHARGE_PLIF) gqs[c] = gqc;                                                            \
    }                                                                                                   \
    free(hb);                                                                                           \
  }                                                                                                     \
  double gq = 0.0;                                                                                      \
  if (MODE == CHARGE_PLIF) { for (int64_t c = 0; c < nch; c++) gq += gqs[c]; free(gqs); }               \
  *gk = gq;                                                                                             \
  return failed ? MSENAS_OUT_OF_MEMORY : MSENAS_OK;                                                     \
}

#define LOOPS(MODE) FORWARD(float, f32, MODE) FORWARD(double, f64, MODE)                                \
                    BACKWARD(float, f32, MODE) BACKWARD(double, f64, MODE)
LOOPS(CHARGE_ADD)
LOOPS(CHARGE_DIVIDE)
LOOPS(CHARGE_MULTIPLY)
LOOPS(CHARGE_PLIF)

#define EXPORTS(T_, SUF)                                                                                \
int neuron_forward_##SUF(const T_ *x, const T_ *v0, double v0_value, T_ *s, T_ *vT, int64_t T,          \
                         int64_t N, const struct neuron *p) {                                           \
  switch (p->charge) {                                                                                  \
    case CHARGE_ADD: fwd_CHARGE_ADD_##SUF(x, v0, v0_value, s, vT, T, N, p->k, p->threshold, p->reset,   \
                                          p->threads); return MSENAS_OK;                                \
    case CHARGE_DIVIDE: fwd_CHARGE_DIVIDE_##SUF(x, v0, v0_value, s, vT, T, N, p->k, p->threshold,       \
                                                p->reset, p->threads); return MSENAS_OK;                \
    case CHARGE_MULTIPLY: fwd_CHARGE_MULTIPLY_##SUF(x, v0, v0_value, s, vT, T, N, p->k, p->threshold,   \
                                                    p->reset, p->threads); return MSENAS_OK;            \
    case CHARGE_PLIF: fwd_CHARGE_PLIF_##SUF(x, v0, v0_value, s, vT, T, N, p->k, p->threshold, p->reset, \
                                            p->threads); return MSENAS_OK;                              \
  }                                                                                                     \
  return MSENAS_BAD_ARGUMENT;                                                                           \
}                                                                                                       \
int neuron_backward_##SUF(const T_ *x, const T_ *v0, double v0_value, const T_ *gs, const T_ *gvT,      \
                          T_ *gx, T_ *gv0, double *gk, int64_t T, int64_t N, const struct neuron *p) {  \
  switch (p->charge) {                                                                                  \
    case CHARGE_ADD: return bwd_CHARGE_ADD_##SUF(x, v0, v0_value, gs, gvT, gx, gv0, gk, T, N, p->k,     \
                       p->threshold, p->reset, p->slope, p->height, p->detach_reset, p->threads);       \
    case CHARGE_DIVIDE: return bwd_CHARGE_DIVIDE_##SUF(x, v0, v0_value, gs, gvT, gx, gv0, gk, T, N,     \
                          p->k, p->threshold, p->reset, p->slope, p->height, p->detach_reset, p->threads);\
    case CHARGE_MULTIPLY: return bwd_CHARGE_MULTIPLY_##SUF(x, v0, v0_value, gs, gvT, gx, gv0, gk, T, N, \
                            p->k, p->threshold, p->reset, p->slope, p->height, p->detach_reset, p->threads);\
    case CHARGE_PLIF: return bwd_CHARGE_PLIF_##SUF(x, v0, v0_value, gs, gvT, gx, gv0, gk, T, N, p->k,   \
                        p->threshold, p->reset, p->slope, p->height, p->detach_reset, p->threads);      \
  }                                                                                                     \
  return MSENAS_BAD_ARGUMENT;                                                                           \
}
EXPORTS(float, f32)
EXPORTS(double, f64)
