using System.Runtime.InteropServices;

namespace MixKV.Bench.Shared;

/// <summary>64-byte aligned native float buffers for the kernel suites, which call kernels over raw pointers.</summary>
internal static unsafe class NativeFloats
{
    /// <summary><paramref name="count"/> floats, uniform in [-scale/2, scale/2) from <paramref name="rng"/>.</summary>
    public static float* Random(int count, Random rng, float scale)
    {
        float* p = (float*)NativeMemory.AlignedAlloc((nuint)count * sizeof(float), 64);
        for (int i = 0; i < count; i++)
        {
            p[i] = (float)(rng.NextDouble() - 0.5) * scale;
        }

        return p;
    }

    public static void Free(params float*[] buffers)
    {
        foreach (float* p in buffers)
        {
            NativeMemory.AlignedFree(p);
        }
    }
}
