"""CPU kernels: fused multi-step IF / LIF / PLIF (the whole T loop in one pass), BatchNorm statistics and backward.

The arithmetic is spikingjelly 2.0.0's (`spikingjelly/_ops/{if_,lif,plif}/cpu.py`:
hard reset, decay_input, ATan surrogate), written as one C loop per element
chunk instead of ~10 tensor ops per time step. The C source below is compiled
once per machine with the system C compiler (about 0.3 s) into a cache folder
and loaded with ctypes; `load()` returns None when no compiler is available
and the neurons then fall back to spikingjelly's own implementation (and BatchNorm on torch's).

Layout: x [T, N] in memory (T outermost, the N elements of one step dense in
any order); every tensor passed in shares that layout.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import subprocess
import sys
import sysconfig
import tempfile
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

MODES = {"add": 0, "divide": 1, "multiply": 2, "plif": 3}   # charge, see CHARGE below
_C_SOURCE = r"""
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#define CH 64
/* charge, by MODE: 0 = IF (v + x), 1 = LIF (v + (x - (v - r)) / k), 2 = v + (x - (v - r)) * k: LIF with
   k = 1/tau when that is exact (a power-of-two tau: same bits, no division), 3 = the same for PLIF
   (k = sigmoid(w)), whose backward also returns dL/dk */
#define CHARGE(MODE, K, v, x) ((MODE) == 0 ? (v) + (x) : (MODE) == 1 ? (v) + ((x) - ((v) - r)) / (K)    \
                                                                   : (v) + ((x) - ((v) - r)) * (K))
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))   /* picked at load time */
#else
#define CLONES
#endif

/* s[t] = (h[t] >= th), v[t] = s ? r : h (spikingjelly: s * r + (1 - s) * h); vT = v[T-1];
   v0 may be NULL: every element starts at v0d */
#define FORWARD(T_, SUF, MODE)                                                                          \
CLONES void fwd_##MODE##_##SUF(const T_ *x, const T_ *v0, double v0d, T_ *s, T_ *vT,                    \
                               int64_t T, int64_t N, double kd, double thd, double rd, int nt) {        \
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

/* Recomputes h from x and v0, then runs spikingjelly's backward from t = T-1 down to 0; gvT may be
   NULL, and so may v0 (then v0d everywhere) and gv0 (not wanted); MODE 3 returns
   sum(gh[t] * (x[t] - (v[t-1] - r))): PLIF's dL/dk (before sigmoid'), NaN when out of memory. */
#define BACKWARD(T_, SUF, MODE)                                                                         \
CLONES double bwd_##MODE##_##SUF(const T_ *x, const T_ *v0, double v0d, const T_ *gs, const T_ *gvT, T_ *gx,\
                          T_ *gv0, int64_t T, int64_t N, double kd, double thd, double rd, double pa,   \
                          double ha, int detach, int nt) {                                              \
  const T_ k = (T_)kd, th = (T_)thd, r = (T_)rd, za = (T_)pa, sa = (T_)ha;                              \
  const int64_t nch = (N + CH - 1) / CH;                                                                \
  double *gqs = MODE == 3 ? (double *)malloc(sizeof(double) * nch) : NULL;   /* per chunk */            \
  if (MODE == 3 && !gqs) return NAN;                                                                    \
  _Pragma("omp parallel for num_threads(nt) schedule(static)")                                          \
  for (int64_t c = 0; c < nch; c++) {                                                                   \
    const int64_t i0 = c * CH, n = N - i0 < CH ? N - i0 : CH;                                           \
    T_ v[CH], carry[CH], hb[T * CH];                                                                    \
    double gqc = 0.0;                                                                                   \
    for (int64_t i = 0; i < n; i++) v[i] = v0 ? v0[i0 + i] : (T_)v0d;                                   \
    for (int64_t t = 0; t < T; t++) {                                                                   \
      const T_ *xt = x + t * N + i0;                                                                    \
      for (int64_t i = 0; i < n; i++) {                                                                 \
        const T_ h = CHARGE(MODE, k, v[i], xt[i]);                                                      \
        const T_ sp = h >= th ? (T_)1 : (T_)0;                                                          \
        hb[t * CH + i] = h;                                                                             \
        v[i] = sp * r + ((T_)1 - sp) * h;                                                               \
      }                                                                                                 \
    }                                                                                                   \
    for (int64_t i = 0; i < n; i++) carry[i] = gvT ? gvT[i0 + i] : (T_)0;                               \
    for (int64_t t = T - 1; t >= 0; t--) {                                                              \
      const T_ *gst = gs + t * N + i0, *xt = x + t * N + i0;                                            \
      T_ *gxt = gx + t * N + i0;                                                                        \
      for (int64_t i = 0; i < n; i++) {                                                                 \
        const T_ h = hb[t * CH + i], z = (h - th) * za, sg = sa / ((T_)1 + z * z);                      \
        T_ rg = (T_)1 - (h >= th ? (T_)1 : (T_)0);                                                      \
        if (!detach) rg = rg + (r - h) * sg;                                                            \
        const T_ gh = gst[i] * sg + carry[i] * rg;                                                      \
        if (MODE == 0) { gxt[i] = gh; carry[i] = gh; }                                                  \
        else if (MODE == 1) { gxt[i] = gh / k; carry[i] = gh - gh / k; }                                \
        else { gxt[i] = gh * k; carry[i] = gh - gh * k; }                                               \
        if (MODE == 3) {                                                                                \
          const T_ hp = t > 0 ? hb[(t - 1) * CH + i] : (T_)0;                                           \
          const T_ vp = t > 0 ? (hp >= th ? r : hp) : (v0 ? v0[i0 + i] : (T_)v0d);                      \
          gqc += (double)(gh * (xt[i] - (vp - r)));                                                     \
        }                                                                                               \
      }                                                                                                 \
    }                                                                                                   \
    if (gv0) for (int64_t i = 0; i < n; i++) gv0[i0 + i] = carry[i];                                    \
    if (MODE == 3) gqs[c] = gqc;                                                                        \
  }                                                                                                     \
  double gq = 0.0;                      /* chunk sums in chunk order: the same for any nt */            \
  if (MODE == 3) { for (int64_t c = 0; c < nch; c++) gq += gqs[c]; free(gqs); }                         \
  return gq;                                                                                            \
}

/* BatchNorm over a channels-last map, rows [M, C]. Column sums run over blocks of ROWS rows and the block
   sums are added in block order, so results do not depend on the number of threads (torch's channels-last
   training BatchNorm does). bn_stats: sum x, sum x^2 per channel (float64). bn_bwd: torch's formula,
   gx = (g - sum_g / M - (x - mean) * sum_gd * rstd^2 / M) * rstd * w (w may be NULL: 1),
   sum_g = sum g, sum_gd = sum g * (x - mean). Both return -1 when out of memory. */
#define ROWS 256
#define BN_STATS(T_, SUF)                                                                               \
CLONES int bn_stats_##SUF(const T_ *x, double *sum, double *sumsq, int64_t M, int64_t C, int nt) {      \
  const int64_t nb = (M + ROWS - 1) / ROWS;                                                             \
  double *part = (double *)malloc(sizeof(double) * 2 * nb * C);                                         \
  if (!part) return -1;                                                                                 \
  _Pragma("omp parallel for num_threads(nt) schedule(static)")                                          \
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
  return 0;                                                                                             \
}
#define BN_BACKWARD(T_, SUF)                                                                            \
CLONES int bn_bwd_##SUF(const T_ *x, const T_ *g, const T_ *mean, const T_ *rstd, const T_ *w, T_ *gx,  \
                        double *sum_g, double *sum_gd, int64_t M, int64_t C, int nt) {                  \
  const int64_t nb = (M + ROWS - 1) / ROWS;                                                             \
  double *part = (double *)malloc(sizeof(double) * 2 * nb * C);                                         \
  if (!part) return -1;                                                                                 \
  _Pragma("omp parallel for num_threads(nt) schedule(static)")                                          \
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
  T_ mg[C], k[C], scale[C];                                                                             \
  for (int64_t c = 0; c < C; c++) {                                                                     \
    mg[c] = (T_)(sum_g[c] / (double)M);                                                                 \
    k[c] = (T_)(sum_gd[c] * (double)rstd[c] * (double)rstd[c] / (double)M);                             \
    scale[c] = rstd[c] * (w ? w[c] : (T_)1);                                                            \
  }                                                                                                     \
  _Pragma("omp parallel for num_threads(nt) schedule(static)")                                          \
  for (int64_t m = 0; m < M; m++) {                                                                     \
    const T_ *xm = x + m * C, *gm = g + m * C;                                                          \
    T_ *om = gx + m * C;                                                                                \
    for (int64_t c = 0; c < C; c++) om[c] = (gm[c] - mg[c] - (xm[c] - mean[c]) * k[c]) * scale[c];      \
  }                                                                                                     \
  return 0;                                                                                             \
}
BN_STATS(float, f32)
BN_STATS(double, f64)
BN_BACKWARD(float, f32)
BN_BACKWARD(double, f64)

#define ALL(MODE) FORWARD(float, f32, MODE) FORWARD(double, f64, MODE)                                  \
                  BACKWARD(float, f32, MODE) BACKWARD(double, f64, MODE)
ALL(0)
ALL(1)
ALL(2)
ALL(3)
"""
# -ffp-contract=off: no fused multiply-add, so every rounding matches torch's separate ops;
# -fno-trapping-math lets the compiler vectorize the compare-and-select (results unchanged).
_FLAGS = ["-O3", "-shared", "-fPIC", "-std=c99", "-ffp-contract=off", "-fno-trapping-math"]


def cache_dir() -> Path:
    """Where the compiled kernel library lives (MSENAS_CACHE, else XDG cache, else ~/.cache)."""
    root = os.environ.get("MSENAS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "msenas")
    return Path(root) / "kernels"


def _compile(out: Path, openmp: bool) -> None:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "neurons.c"
        src.write_text(_C_SOURCE)
        lib = Path(tmp) / out.name
        cmd = [*cc.split(), *_FLAGS, *(["-fopenmp"] if openmp else []), str(src), "-o", str(lib)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise OSError(f"{' '.join(cmd[:1])} failed: {done.stderr.strip()[:300]}")
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(lib, out)                      # atomic: concurrent workers may build at once


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i64, d, i = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double, ctypes.c_int
    for kind in MODES.values():
        for suf in ("f32", "f64"):
            f = getattr(lib, f"fwd_{kind}_{suf}")
            f.argtypes, f.restype = [p, p, d, p, p, i64, i64, d, d, d, i], None
            b = getattr(lib, f"bwd_{kind}_{suf}")
            b.argtypes, b.restype = [p, p, d, p, p, p, p, i64, i64, d, d, d, d, d, i, i], d
    for suf in ("f32", "f64"):
        f = getattr(lib, f"bn_stats_{suf}")
        f.argtypes, f.restype = [p, p, p, i64, i64, i], i
        f = getattr(lib, f"bn_bwd_{suf}")
        f.argtypes, f.restype = [p, p, p, p, p, p, p, p, i64, i64, i], i
    return lib


@cache
def load() -> ctypes.CDLL | None:
    """The kernel library, compiled on first use (with OpenMP when the compiler has it); None if impossible."""
    tag = hashlib.sha256((_C_SOURCE + " ".join(_FLAGS) + sys.platform).encode()).hexdigest()[:16]
    errors = []
    for openmp in (True, False):
        path = cache_dir() / f"neurons-{tag}{'-omp' if openmp else ''}.so"
        try:
            if not path.exists():
                _compile(path, openmp)
            return _declare(ctypes.CDLL(str(path)))
        except (OSError, subprocess.SubprocessError, AttributeError) as e:
            errors.append(f"{'with' if openmp else 'without'} OpenMP: {e}")
    log.warning("fused neuron kernels unavailable (%s); using spikingjelly's CPU neurons", "; ".join(errors))
    return None
