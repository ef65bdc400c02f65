// Does DRAM streaming overlap an FMA-bound GEMM micro-kernel on this machine?
//
// The fast CPU path spends ~42 ms (N 32768 fp32 layer, 2 cores) in the window GEMM and moves ~512 MB
// besides (keys for the statistics, values, the exp tile written and read back). This probe times a
// micro-kernel shaped like src/MixKV/Fast/LogitKernel.cs (64 rows x 6 keys, 24 zmm accumulators, the
// 64 KB query panel read from L2 every block) against the same volume of streaming reads:
//   gemm        both threads run only the micro-kernel
//   stream      both threads only stream (sum) a private buffer
//   interleave  each thread streams a slice after every N key blocks (N = 1: block level, 43: chunk level)
//   split       thread 0 runs the micro-kernel while thread 1 only streams
//   prefetched  block level, each block's slice prefetched (T1) 8 blocks ahead: with the 64 KB panel,
//               and with a 32 x 12 kernel whose 16 KB slab of the panel stays in L1 (is it the panel's
//               L1 misses, queued behind the stream's, that stall the kernel?)
// THP=1 in the environment asks for transparent huge pages on the streamed buffers (madvise before
// the first touch), to see whether the 4 KB pages' TLB walks are what keeps the stream from overlapping.
// Build and run: bench/cpu-probe/run.sh (gcc -O2 -march=native -fopenmp).
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "micro_kernel.h"

enum { ChunkBlocks = 43 };

// 32 rows x 12 keys over D = 128 from a [D, 32] slab (16 KB, L1-resident across consecutive calls).
static void block32(const float *slab, const float *k, float *out)
{
    __m512 c[24];
    for (int i = 0; i < 24; i++) c[i] = _mm512_setzero_ps();
    for (int d = 0; d < Dim; d++) {
        __m512 q0 = _mm512_load_ps(slab + d * 32), q1 = _mm512_load_ps(slab + d * 32 + 16);
#pragma GCC unroll 12
        for (int j = 0; j < 12; j++) {
            __m512 b = _mm512_set1_ps(k[j * Dim + d]);
            c[2 * j] = _mm512_fmadd_ps(q0, b, c[2 * j]);
            c[2 * j + 1] = _mm512_fmadd_ps(q1, b, c[2 * j + 1]);
        }
    }
    for (int j = 0; j < 12; j++) {
        _mm512_store_ps(out + j * Rows, c[2 * j]);
        _mm512_store_ps(out + j * Rows + 16, c[2 * j + 1]);
    }
}

static void prefetch(const char *p, long lines)
{
    for (long l = 0; l < lines; l++) _mm_prefetch(p + l * 64, _MM_HINT_T1);
}

static __m512 stream(const char *p, long lines, __m512 acc)
{
    for (long l = 0; l < lines; l++) acc = _mm512_add_ps(acc, _mm512_load_ps((const float *)(p + l * 64)));
    return acc;
}

int main(int argc, char **argv)
{
    long blocks = argc > 1 ? atol(argv[1]) : 20000;  // per thread; 20000 blocks = 3.9 GFLOP per thread
    if (blocks < 1 || argc > 2) {
        fprintf(stderr, "usage: overlap [blocks per thread, a positive integer; default 20000]\n");
        return 2;
    }
    long lines = 144;                                  // 9 KB streamed per block: 384 KB per 256-key chunk, as in the layer
    size_t bytes = (size_t)blocks * lines * 64;
    float *q = aligned_alloc(64, sizeof(float) * Dim * Rows);
    for (int i = 0; i < Dim * Rows; i++) q[i] = 0.001f * (i % 7);
    float *keys[2], *tile[2];
    char *buffer[2];
    for (int t = 0; t < 2; t++) {
        keys[t] = aligned_alloc(64, sizeof(float) * ChunkBlocks * Keys * Dim);
        memset(keys[t], 0, sizeof(float) * ChunkBlocks * Keys * Dim);
        tile[t] = aligned_alloc(64, sizeof(float) * 256 * Rows);
        size_t huge = 2u << 20, rounded = (bytes + huge - 1) & ~(huge - 1);
        buffer[t] = aligned_alloc(huge, rounded);
        if (getenv("THP") != NULL) madvise(buffer[t], rounded, MADV_HUGEPAGE);
        memset(buffer[t], 1, bytes);
    }

    const char *names[] = {"gemm", "stream", "interleave, every block", "interleave, every chunk (43 blocks)", "split: gemm on 0, stream on 1",
                           "prefetched, 64 KB panel", "prefetched, 32 x 12 kernel, L1 slab"};
    enum { Ahead = 8 };
    for (int mode = 0; mode < 7; mode++) {
        double best = 1e9, gemmSeconds = 0, streamed = 0;
        for (int rep = 0; rep < 3; rep++) {
            double start = now(), gemmTime = 0;
            volatile int gemmDone = 0;
            float sink = 0;
#pragma omp parallel num_threads(2) reduction(+ : sink)
            {
                int t = omp_get_thread_num();
                __m512 acc = _mm512_setzero_ps();
                int gran = mode == 2 ? 1 : ChunkBlocks;
                int doGemm = mode != 1 && !(mode == 4 && t == 1);
                int doStream = mode == 1 || mode == 2 || mode == 3;
                double t0 = now();
                for (long b = 0; mode >= 5 && b < blocks; b++) {
                    if (b + Ahead < blocks) prefetch(buffer[t] + (b + Ahead) * lines * 64, lines);
                    if (mode == 5) {
                        block(q, keys[t] + (b % ChunkBlocks) * Keys * Dim, tile[t] + ((b * Keys) % 256) * Rows);
                    } else {
                        // Same FLOPs as one 64 x 6 block over 128 rows: two 32 x 12 calls on one slab, the slab
                        // changing every 11 blocks.
                        const float *slab = q + ((b / 11) % 4) * 32 * Dim;
                        for (int half = 0; half < 2; half++)
                            block32(slab, keys[t] + ((b * 12 + half * 6) % (ChunkBlocks * Keys - 12)) * Dim, tile[t] + ((b * 12) % 240) * Rows);
                    }
                    acc = stream(buffer[t] + b * lines * 64, lines, acc);
                }
                for (long b = 0; mode < 5 && b < blocks && (doGemm || doStream); b++) {
                    if (doGemm) block(q, keys[t] + (b % ChunkBlocks) * Keys * Dim, tile[t] + ((b * Keys) % 256) * Rows);
                    if (doStream && b % gran == gran - 1) acc = stream(buffer[t] + (b / gran) * gran * lines * 64, gran * lines, acc);
                }
                if (mode == 4 && t == 0) { gemmTime = now() - t0; gemmDone = 1; }
                if (mode == 4 && t == 1) {
                    long n = 0;
                    while (!gemmDone) { acc = stream(buffer[1] + (n % (long)(bytes / 4096)) * 4096, 64, acc); n++; }
                    sink += (float)n * 4096 / 1e9f;  // GB streamed
                }
                sink += _mm512_reduce_add_ps(acc) * 0.0f;
            }
            double seconds = now() - start;
            if (seconds < best) { best = seconds; gemmSeconds = gemmTime; }
            if (mode == 4) streamed = sink / gemmTime;
        }
        double gflop = 2.0 * blocks * Rows * Keys * Dim * 1e-9, gb = 2.0 * bytes * 1e-9;
        if (mode == 0) printf("%-38s %7.1f ms  %6.1f GFLOP/s (both threads)\n", names[mode], best * 1e3, 2 * gflop / best);
        if (mode == 1) printf("%-38s %7.1f ms  %6.1f GB/s (both threads)\n", names[mode], best * 1e3, gb / best);
        if (mode == 2 || mode == 3 || mode >= 5) printf("%-38s %7.1f ms  (gemm + stream done apart: see above)\n", names[mode], best * 1e3);
        if (mode == 4) printf("%-38s %7.1f ms  kernel thread %.1f GFLOP/s while thread 1 streams %.1f GB/s\n", names[mode], best * 1e3, gflop / gemmSeconds, streamed);
    }
    return 0;
}
