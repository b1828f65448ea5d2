/* The precision of one compilation of the model's numeric code, and the names it gives.
 *
 * episode*.c, fused.c, lowrank.c and net.c are compiled twice: in float (training) and,
 * with MP_REAL_F64, in double (the exactness checks). Their sources call every function
 * and type by its plain name (mp_episode_run, fused_sweep, episode); the alias block
 * below is the one place where a plain name becomes the precision's own, so that both
 * builds link into one library. core.h declares the public names of both precisions
 * explicitly (mp_episode_run_f32 and mp_episode_run_f64); grep finds each there, here
 * and (under its plain name) at its definition. */
#ifndef METAPLAST_MODEL_REAL_H
#define METAPLAST_MODEL_REAL_H

#include <cblas.h>

#include "model/core.h"

#ifdef MP_REAL_F64
typedef double real;
typedef mp_episode_f64 episode;
typedef mp_episode_inputs_f64 episode_inputs;
#define cblas_xgemv cblas_dgemv
#define cblas_xger cblas_dger
#define cblas_xgemm cblas_dgemm
#define cblas_xdot cblas_ddot
#define cblas_xaxpy cblas_daxpy
#define cblas_xsyrk cblas_dsyrk
#define MP_PRECISION(f32_name, f64_name) f64_name
#else
typedef float real;
typedef mp_episode_f32 episode;
typedef mp_episode_inputs_f32 episode_inputs;
#define cblas_xgemv cblas_sgemv
#define cblas_xger cblas_sger
#define cblas_xgemm cblas_sgemm
#define cblas_xdot cblas_sdot
#define cblas_xaxpy cblas_saxpy
#define cblas_xsyrk cblas_ssyrk
#define MP_PRECISION(f32_name, f64_name) f32_name
#endif

/* ---- the alias block: plain name -> this precision's name -------------------------- */
/* core.h, the model's API */
#define mp_episode_new MP_PRECISION(mp_episode_new_f32, mp_episode_new_f64)
#define mp_episode_free MP_PRECISION(mp_episode_free_f32, mp_episode_free_f64)
#define mp_episode_set_worker MP_PRECISION(mp_episode_set_worker_f32, mp_episode_set_worker_f64)
#define mp_episode_set_background MP_PRECISION(mp_episode_set_background_f32, mp_episode_set_background_f64)
#define mp_episode_run MP_PRECISION(mp_episode_run_f32, mp_episode_run_f64)
#define mp_episode_weights MP_PRECISION(mp_episode_weights_f32, mp_episode_weights_f64)
#define mp_episode_feedback_steps MP_PRECISION(mp_episode_feedback_steps_f32, mp_episode_feedback_steps_f64)
#define mp_softplus MP_PRECISION(mp_softplus_f32, mp_softplus_f64)
#define mp_softmax_xent MP_PRECISION(mp_softmax_xent_f32, mp_softmax_xent_f64)
#define mp_feedback_slope MP_PRECISION(mp_feedback_slope_f32, mp_feedback_slope_f64)
/* fused.h */
#define fused_sweep MP_PRECISION(fused_sweep_f32, fused_sweep_f64)
#define fused_right MP_PRECISION(fused_right_f32, fused_right_f64)
#define fused_left MP_PRECISION(fused_left_f32, fused_left_f64)
#define fused_split_init MP_PRECISION(fused_split_init_f32, fused_split_init_f64)
#define fused_split_free MP_PRECISION(fused_split_free_f32, fused_split_free_f64)
#define fused_is_split MP_PRECISION(fused_is_split_f32, fused_is_split_f64)
#define fused_sweep_split MP_PRECISION(fused_sweep_split_f32, fused_sweep_split_f64)
#define fused_split_begin MP_PRECISION(fused_split_begin_f32, fused_split_begin_f64)
#define fused_split_end MP_PRECISION(fused_split_end_f32, fused_split_end_f64)
/* lowrank.h */
#define lowrank_init MP_PRECISION(lowrank_init_f32, lowrank_init_f64)
#define lowrank_free MP_PRECISION(lowrank_free_f32, lowrank_free_f64)
#define lowrank_add MP_PRECISION(lowrank_add_f32, lowrank_add_f64)
#define lowrank_flush MP_PRECISION(lowrank_flush_f32, lowrank_flush_f64)
#define lowrank_clear MP_PRECISION(lowrank_clear_f32, lowrank_clear_f64)
#define lowrank_products MP_PRECISION(lowrank_products_f32, lowrank_products_f64)
#define lowrank_products_split MP_PRECISION(lowrank_products_split_f32, lowrank_products_split_f64)
/* episode_internal.h: what episode.c, episode_gram.c and episode_stats.c share */
#define episode_struct MP_PRECISION(mp_episode_f32, mp_episode_f64)
#define gram_update_vector MP_PRECISION(gram_update_vector_f32, gram_update_vector_f64)
#define gram_forward_product MP_PRECISION(gram_forward_product_f32, gram_forward_product_f64)
#define gram_reverse_product MP_PRECISION(gram_reverse_product_f32, gram_reverse_product_f64)
#define gram_start MP_PRECISION(gram_start_f32, gram_start_f64)
#define gram_finish MP_PRECISION(gram_finish_f32, gram_finish_f64)
#define gram_reverse_start MP_PRECISION(gram_reverse_start_f32, gram_reverse_start_f64)
#define query_statistics MP_PRECISION(query_statistics_f32, query_statistics_f64)
#define stats_part MP_PRECISION(stats_part_f32, stats_part_f64)

/* Hot kernels are compiled for AVX2+FMA as well as the baseline; the loader picks what
 * the CPU has: with gcc (clang does not emit the clones of an exported function), and
 * not under ThreadSanitizer, which cannot run the loader's resolver. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MP_NO_MULTIVERSION)
#define MP_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MP_MULTIVERSION
#endif

#endif
