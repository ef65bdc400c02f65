// Where should the exp tile leave the GEMM's core for memory?
//
// Per 256-key chunk the fast path runs the GEMM (src/MixKV/Fast/LogitKernel.cs) into a worker tile
// that stays in L2, then exponentiates it straight into the head's 16 MB exp tile with streaming
// stores (src/MixKV/Fast/TileSoftmax.cs). If those stores were what slows the exp step, the exp could
// run in place (L2 only) and the finished tile could leave during the next chunk's GEMM, a few lines
// per key block, while the FMAs run. This probe times one head (128 chunks) on one pinned thread:
//   gemm             the micro-kernel only (64 rows x 6 keys, keys prefetched 4 blocks ahead)
//   exp streamed     + exp of each tile into the head tile with streaming stores (the fast path)
//   exp in place     + exp in place, nothing leaves the cache (a lower bound, not a design)
//   exp + copy       + exp in place, and the previous tile streamed out during the next GEMM
//   exp + values     + exp streamed, with the chunk's 256 value rows read and their norms taken
//                    inside the exp loop (one row every other key step): does the GEMM's core hide a
//                    memory-bound pass inside its exp step, which does not keep the FMA pipes busy?
//   values apart     + exp streamed, then the same value rows in a loop of their own
// Build and run: bench/cpu-probe/run.sh exp_tile.c
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "micro_kernel.h"

enum { ChunkKeys = 256, Chunks = 128, Ahead = 4 * Keys };

// 2^x as src/MixKV/Fast/FastExp.cs computes it (degree-5 polynomial, vscalefps, 0 below -126).
static __m512 exp2v(__m512 x)
{
    __m512 n = _mm512_roundscale_ps(x, 8), f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(0.0013264727f), f, _mm512_set1_ps(0.0096715128f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.0555073374f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.2402224208f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.6931469776f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-126.0f), _CMP_GE_OQ), p, n);
}

// ||v||^2 of one 128-float row.
static float squaredNorm(const float *v)
{
    __m512 a = _mm512_mul_ps(_mm512_load_ps(v), _mm512_load_ps(v)), b = _mm512_mul_ps(_mm512_load_ps(v + 16), _mm512_load_ps(v + 16));
    for (int i = 32; i < Dim; i += 32) {
        a = _mm512_fmadd_ps(_mm512_load_ps(v + i), _mm512_load_ps(v + i), a);
        b = _mm512_fmadd_ps(_mm512_load_ps(v + i + 16), _mm512_load_ps(v + i + 16), b);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

// The exp step of one tile as TileSoftmax.WideBy64 walks it (64 rows, key by key), row sums kept;
// with values, the norms of the chunk's 256 value rows too, one row every other key step.
static __m512 exponentiate(float *tile, float *destination, int streamed, __m512 sum, const float *values, float *norms)
{
    for (int r = 0; r < Rows; r += 64)
        for (int j = 0; j < ChunkKeys; j++) {
            if (values != NULL && (j & 1) == 0) {
                int row = (r / 64) * (ChunkKeys / 2) + j / 2;
                norms[row] = squaredNorm(values + (long)row * Dim);
            }
            for (int i = 0; i < 4; i++) {
                long at = (long)j * Rows + r + 16 * i;
                __m512 e = exp2v(_mm512_sub_ps(_mm512_load_ps(tile + at), _mm512_set1_ps(3.0f)));
                if (streamed) _mm512_stream_ps(destination + at, e);
                else _mm512_store_ps(tile + at, e);
                sum = _mm512_add_ps(sum, e);
            }
        }
    return sum;
}

int main(void)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);

    float *q = aligned_alloc(64, sizeof(float) * Dim * Rows);
    for (int i = 0; i < Dim * Rows; i++) q[i] = 0.001f * (i % 97);
    size_t keyFloats = (size_t)Chunks * ChunkKeys * Dim, tileFloats = (size_t)ChunkKeys * Rows;
    float *keys = aligned_alloc(64, sizeof(float) * keyFloats), *head = aligned_alloc(64, sizeof(float) * Chunks * tileFloats);
    float *tiles[2] = {aligned_alloc(64, sizeof(float) * tileFloats), aligned_alloc(64, sizeof(float) * tileFloats)};
    for (size_t i = 0; i < keyFloats; i++) keys[i] = 0.001f * (i % 89);
    memset(head, 0, sizeof(float) * Chunks * tileFloats);
    memset(tiles[0], 0, sizeof(float) * tileFloats);
    memset(tiles[1], 0, sizeof(float) * tileFloats);
    float *values = aligned_alloc(64, sizeof(float) * keyFloats), norms[ChunkKeys];
    for (size_t i = 0; i < keyFloats; i++) values[i] = 0.001f * (i % 83);

    const char *names[] = {"gemm", "exp streamed (fast path)", "exp in place (bound)", "exp in place + copy in next GEMM", "exp + values", "values apart"};
    __m512 sum = _mm512_setzero_ps();
    for (int mode = 0; mode < 6; mode++) {
        double best = 1e9;
        for (int rep = 0; rep < 7; rep++) {
            double start = now();
            for (int c = 0; c < Chunks; c++) {
                const float *chunkKeys = keys + (size_t)c * ChunkKeys * Dim;
                float *tile = tiles[c & 1], *previous = tiles[(c + 1) & 1];
                float *previousOut = head + (size_t)(c - 1) * tileFloats;
                for (int j = 0; j < ChunkKeys; j += Keys) {
                    int first = j + Keys <= ChunkKeys ? j : ChunkKeys - Keys;
                    for (int a = first + Ahead; a < first + Ahead + Keys && a < ChunkKeys; a++)
                        for (int line = 0; line < Dim * 4; line += 64) _mm_prefetch((const char *)(chunkKeys + a * Dim) + line, _MM_HINT_T1);
                    block(q, chunkKeys + first * Dim, tile + first * Rows);
                    if (mode == 3 && c > 0)
                        for (int i = 0; i < Keys * Rows; i += 16)
                            _mm512_stream_ps(previousOut + first * Rows + i, _mm512_load_ps(previous + first * Rows + i));
                }
                const float *chunkValues = values + (size_t)c * ChunkKeys * Dim;
                if (mode == 1 || mode == 5) sum = exponentiate(tile, head + (size_t)c * tileFloats, 1, sum, NULL, NULL);
                if (mode == 2 || mode == 3) sum = exponentiate(tile, tile, 0, sum, NULL, NULL);
                if (mode == 4) sum = exponentiate(tile, head + (size_t)c * tileFloats, 1, sum, chunkValues, norms);
                for (int v = 0; mode == 5 && v < ChunkKeys; v++) norms[v] = squaredNorm(chunkValues + (long)v * Dim);
            }
            _mm_sfence();
            double seconds = now() - start;
            if (seconds < best) best = seconds;
        }
        printf("%-34s %7.2f ms a head  %6.2f us a chunk\n", names[mode], best * 1e3, best * 1e6 / Chunks);
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, sum);
    return lanes[0] < 0 || norms[7] < 0; // keeps the exps and norms live
}
