/* Shared by the C kernels of msenas/nn/csrc (each compiled on first use by msenas/nn/kernels.py). */
#ifndef MSENAS_COMMON_H
#define MSENAS_COMMON_H

/* Functions with vector loops are compiled for AVX-512, AVX2 and plain x86-64; the loader picks one per machine. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

/* What every kernel returns (msenas/nn/kernels.py reads these values from here). */
enum status { MSENAS_OK = 0, MSENAS_BAD_ARGUMENT = -1, MSENAS_OUT_OF_MEMORY = -2 };

#endif
