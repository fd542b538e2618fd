/* Fused multi-step IF / LIF / PLIF neurons: the whole interface of neurons.c.

   This header is the one declaration of it. neurons.c includes it, so the compiler checks every definition
   against it; msenas/nn/kernels.py parses it (the enum, the struct and the prototypes below, in plain C: no
   macros) to declare the functions to ctypes. Arithmetic: spikingjelly 2.0.0's (spikingjelly/_ops/
   {if_,lif,plif}/cpu.py: hard reset, decay_input, ATan surrogate). Layout: x [T, N] in memory, T outermost,
   the N elements of one step dense in any order; every [T, N] and [N] argument shares that layout.
   Every function returns MSENAS_OK (0), MSENAS_BAD_ARGUMENT (-1: unknown charge) or MSENAS_OUT_OF_MEMORY (-2). */
#ifndef MSENAS_NEURONS_H
#define MSENAS_NEURONS_H
#include <stdint.h>

/* How the membrane charges from v with input x (r = reset):
   ADD: v + x (IF); DIVIDE: v + (x - (v - r)) / k (LIF, k = tau); MULTIPLY: v + (x - (v - r)) * k (LIF with
   k = 1/tau when that is exact, a power-of-two tau: the same bits, no division); PLIF: as MULTIPLY with
   k = sigmoid(w), and the backward also returns dL/dk. */
enum charge { CHARGE_ADD = 0, CHARGE_DIVIDE = 1, CHARGE_MULTIPLY = 2, CHARGE_PLIF = 3 };

/* One layer's constants. */
struct neuron {
  int charge;         /* enum charge */
  double k;           /* tau (DIVIDE), 1/tau (MULTIPLY), sigmoid(w) (PLIF); unused by ADD */
  double threshold;
  double reset;
  double slope;       /* ATan surrogate gradient: height / (1 + (slope * (h - threshold))^2) */
  double height;
  int detach_reset;   /* 1: no gradient through the reset */
  int threads;        /* OpenMP threads (1: this thread only) */
};

/* s[t] = (h[t] >= threshold), v[t] = s ? reset : h; vT = v[T-1]. v0 [N] may be NULL: every element starts at
   v0_value. */
int neuron_forward_f32(const float *x, const float *v0, double v0_value, float *s, float *vT, int64_t T,
                       int64_t N, const struct neuron *p);
int neuron_forward_f64(const double *x, const double *v0, double v0_value, double *s, double *vT, int64_t T,
                       int64_t N, const struct neuron *p);

/* Recomputes h from x and v0, then runs spikingjelly's backward from t = T-1 down to 0: gx [T, N] from gs
   [T, N] and gvT [N] (NULL: 0); gv0 [N] may be NULL (not wanted). *gk: PLIF's
   sum(gh[t] * (x[t] - (v[t-1] - reset))), dL/dk before sigmoid', summed in a fixed order (the same for any
   number of threads); 0 for the other charges. Scratch: T x 64 values per thread, on the heap. */
int neuron_backward_f32(const float *x, const float *v0, double v0_value, const float *gs, const float *gvT,
                        float *gx, float *gv0, double *gk, int64_t T, int64_t N, const struct neuron *p);
int neuron_backward_f64(const double *x, const double *v0, double v0_value, const double *gs, const double *gvT,
                        double *gx, double *gv0, double *gk, int64_t T, int64_t N, const struct neuron *p);

#endif
