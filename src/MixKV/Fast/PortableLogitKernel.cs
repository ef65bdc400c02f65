using System.Numerics;
using System.Runtime.CompilerServices;

namespace MixKV.Fast;

/// <summary>
/// <see cref="LogitKernel"/>'s GEMM at the width Vector&lt;T&gt; has (8 lanes with AVX2, 4 with NEON),
/// for machines without AVX-512. Register-blocked like the wide kernel, on a smaller block: 2 row
/// vectors × 6 keys in 12 accumulators, with the two query vectors, the centre and one broadcast key
/// that is 16 registers, what AVX2 and its FMA have. One FMA per load (one row vector, one key at a
/// time) waited on the FMA latency: the layer took ~450 ms that way and takes ~60 ms with
/// this block (DOTNET_EnableAVX512=0 on a Zen 5, bench/results/cpu-2026-11-26.md).
/// The arithmetic is the wide kernel's: Σ_d Qt[d, r] · (K[j, d] - c[d]) in d order, fused.
/// </summary>
internal static unsafe class PortableLogitKernel
{
    private const int KeysPerBlock = LogitKernel.KeysPerBlock;

    /// <summary>
    /// Whether <see cref="Compute"/> can run: vectors accelerated and R a multiple of two of them
    /// (always, with R padded to 16 and vectors of 4 or 8 lanes; 16-lane Vector&lt;T&gt; means AVX-512,
    /// where the wide kernel runs).
    /// </summary>
    public static bool Applies(int rows) => Vector.IsHardwareAccelerated && rows % (2 * Vector<float>.Count) == 0;

    /// <inheritdoc cref="LogitKernel.Compute"/>
    public static void Compute(float* qt, int rows, float* keys, long keyStride, float* center, int keyCount, int readableKeys, int dim, float* tile, float* rowMax)
    {
        int width = Vector<float>.Count;
        for (int j = 0; j < keyCount; j += KeysPerBlock)
        {
            int valid = Math.Min(KeysPerBlock, keyCount - j);
            LogitKernel.BlockRows(keys, keyStride, j, valid, out float* k0, out float* k1, out float* k2, out float* k3, out float* k4, out float* k5);
            float* output = tile + ((long)j * rows);
            LogitKernel.Prefetch(keys, keyStride, j + LogitKernel.PrefetchDistance, Math.Min(readableKeys, j + LogitKernel.PrefetchDistance + KeysPerBlock), dim);
            for (int r = 0; r < rows; r += 2 * width)
            {
                Block2x6(qt + r, rows, k0, k1, k2, k3, k4, k5, center, dim, output + r, valid, rowMax == null ? null : rowMax + r);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block2x6(float* q, int rows, float* k0, float* k1, float* k2, float* k3, float* k4, float* k5, float* center, int dim, float* o, int valid, float* max)
    {
        int width = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int d = 0; d < dim; d++)
        {
            float* qd = q + ((long)d * rows);
            Vector<float> q0 = RowMath.Load(qd), q1 = RowMath.Load(qd + width);
            var c = new Vector<float>(center[d]);
            Vector<float> b = new Vector<float>(k0[d]) - c;
            c00 = Vector.FusedMultiplyAdd(q0, b, c00);
            c01 = Vector.FusedMultiplyAdd(q1, b, c01);
            b = new Vector<float>(k1[d]) - c;
            c10 = Vector.FusedMultiplyAdd(q0, b, c10);
            c11 = Vector.FusedMultiplyAdd(q1, b, c11);
            b = new Vector<float>(k2[d]) - c;
            c20 = Vector.FusedMultiplyAdd(q0, b, c20);
            c21 = Vector.FusedMultiplyAdd(q1, b, c21);
            b = new Vector<float>(k3[d]) - c;
            c30 = Vector.FusedMultiplyAdd(q0, b, c30);
            c31 = Vector.FusedMultiplyAdd(q1, b, c31);
            b = new Vector<float>(k4[d]) - c;
            c40 = Vector.FusedMultiplyAdd(q0, b, c40);
            c41 = Vector.FusedMultiplyAdd(q1, b, c41);
            b = new Vector<float>(k5[d]) - c;
            c50 = Vector.FusedMultiplyAdd(q0, b, c50);
            c51 = Vector.FusedMultiplyAdd(q1, b, c51);
        }

        Store2(o, width, c00, c01);
        if (valid > 1) Store2(o + rows, width, c10, c11);
        if (valid > 2) Store2(o + (2 * rows), width, c20, c21);
        if (valid > 3) Store2(o + (3 * rows), width, c30, c31);
        if (valid > 4) Store2(o + (4 * rows), width, c40, c41);
        if (valid > 5) Store2(o + (5 * rows), width, c50, c51);
        if (max != null)
        {
            FoldMax(max, Vector.MaxNative(Vector.MaxNative(Vector.MaxNative(c00, c10), Vector.MaxNative(c20, c30)), Vector.MaxNative(c40, c50)));
            FoldMax(max + width, Vector.MaxNative(Vector.MaxNative(Vector.MaxNative(c01, c11), Vector.MaxNative(c21, c31)), Vector.MaxNative(c41, c51)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FoldMax(float* max, Vector<float> m) => RowMath.Store(Vector.MaxNative(RowMath.Load(max), m), max);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2(float* o, int width, Vector<float> a, Vector<float> b)
    {
        RowMath.Store(a, o);
        RowMath.Store(b, o + width);
    }
}
