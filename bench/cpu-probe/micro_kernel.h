// What the probes share: a monotonic clock and the GEMM micro-kernel shaped like
// src/MixKV/Fast/LogitKernel.cs (64 rows x 6 keys in 24 zmm accumulators, the 64 KB query panel
// [D, 128] read from L2 every block, key elements broadcast).
#ifndef MIXKV_PROBE_MICRO_KERNEL_H
#define MIXKV_PROBE_MICRO_KERNEL_H
#include <immintrin.h>
#include <time.h>

enum { Dim = 128, Rows = 128, Keys = 6 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// One 6-key block over all 128 rows: 2 x (64 x 6) register tiles over D = 128.
static void block(const float *q, const float *k, float *out)
{
    for (int r = 0; r < Rows; r += 64) {
        __m512 c[24];
        for (int i = 0; i < 24; i++) c[i] = _mm512_setzero_ps();
        for (int d = 0; d < Dim; d++) {
            const float *qd = q + d * Rows + r;
            __m512 q0 = _mm512_load_ps(qd), q1 = _mm512_load_ps(qd + 16), q2 = _mm512_load_ps(qd + 32), q3 = _mm512_load_ps(qd + 48);
#pragma GCC unroll 6
            for (int j = 0; j < Keys; j++) {
                __m512 b = _mm512_set1_ps(k[j * Dim + d]);
                c[4 * j] = _mm512_fmadd_ps(q0, b, c[4 * j]);
                c[4 * j + 1] = _mm512_fmadd_ps(q1, b, c[4 * j + 1]);
                c[4 * j + 2] = _mm512_fmadd_ps(q2, b, c[4 * j + 2]);
                c[4 * j + 3] = _mm512_fmadd_ps(q3, b, c[4 * j + 3]);
            }
        }
        for (int j = 0; j < Keys; j++)
            for (int i = 0; i < 4; i++) _mm512_store_ps(out + j * Rows + r + 16 * i, c[4 * j + i]);
    }
}
#endif
