/* Precision of this compilation of the core: float unless MP_REAL_F64. */
#ifndef METAPLAST_REAL_H
#define METAPLAST_REAL_H

#include <cblas.h>

#ifdef MP_REAL_F64
typedef double real;
#define MP_SFX(name) name##_f64
#define cblas_xgemv cblas_dgemv
#define cblas_xger cblas_dger
#define cblas_xgemm cblas_dgemm
#define cblas_xdot cblas_ddot
#define cblas_xaxpy cblas_daxpy
#define cblas_xsyrk cblas_dsyrk
#else
typedef float real;
#define MP_SFX(name) name##_f32
#define cblas_xgemv cblas_sgemv
#define cblas_xger cblas_sger
#define cblas_xgemm cblas_sgemm
#define cblas_xdot cblas_sdot
#define cblas_xaxpy cblas_saxpy
#define cblas_xsyrk cblas_ssyrk
#endif

/* Hot kernels are compiled for AVX2+FMA as well as the baseline; the loader picks what
 * the CPU has. */
#if defined(__x86_64__) && defined(__GNUC__)
#define MP_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MP_MULTIVERSION
#endif

#endif
