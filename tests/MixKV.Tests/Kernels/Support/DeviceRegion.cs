using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// A region of emulated device memory (host memory: <see cref="DevicePointer.Address"/> is a real
/// address) between two guard regions. The body starts poisoned with <see cref="Poison"/> (0xFF bytes:
/// NaN as fp32, -1 as int32) so every element a kernel must write is checked to have been written,
/// and the guards (<see cref="GuardByte"/>) must survive every launch (STYLE point 13).
/// </summary>
internal sealed unsafe class DeviceRegion : IDisposable
{
    public const byte Poison = 0xFF;

    public const byte GuardByte = 0xA5;

    /// <summary>256 bytes, so the body keeps the allocation's 256-byte alignment.</summary>
    public const int GuardBytes = 256;

    private readonly IDeviceAllocation allocation;

    public DeviceRegion(IKernelRuntime runtime, long bytes, int misalignBytes = 0)
    {
        Bytes = bytes;
        Misalign = misalignBytes;
        allocation = runtime.Allocate(bytes + misalignBytes + 2 * GuardBytes);
        NativeMemory.Fill((void*)allocation.Pointer.Address, (nuint)(GuardBytes + misalignBytes), GuardByte);
        NativeMemory.Fill((void*)Pointer.Address, (nuint)bytes, Poison);
        NativeMemory.Fill((void*)(Pointer.Address + (ulong)bytes), GuardBytes, GuardByte);
    }

    public long Bytes { get; }

    /// <summary>Bytes past 256-byte alignment where the body starts (to force narrower copy words).</summary>
    public int Misalign { get; }

    public DevicePointer Pointer => allocation.Pointer.AddBytes(GuardBytes + Misalign);

    public Span<byte> Span => new((void*)Pointer.Address, checked((int)Bytes));

    public static DeviceRegion Of<T>(IKernelRuntime runtime, ReadOnlySpan<T> values, int misalignBytes = 0)
        where T : unmanaged
    {
        var buffer = new DeviceRegion(runtime, (long)values.Length * sizeof(T), misalignBytes);
        MemoryMarshal.AsBytes(values).CopyTo(buffer.Span);
        return buffer;
    }

    public Span<T> As<T>()
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(Span);

    public T[] Read<T>(int count)
        where T : unmanaged => As<T>()[..count].ToArray();

    public void Fill(byte value) => Span.Fill(value);

    public void AssertGuardsIntact(string what)
    {
        var before = new ReadOnlySpan<byte>((void*)allocation.Pointer.Address, GuardBytes + Misalign);
        var after = new ReadOnlySpan<byte>((void*)(Pointer.Address + (ulong)Bytes), GuardBytes);
        Assert.That(before.IndexOfAnyExcept(GuardByte), Is.EqualTo(-1), $"{what}: guard before the buffer overwritten");
        Assert.That(after.IndexOfAnyExcept(GuardByte), Is.EqualTo(-1), $"{what}: guard after the buffer overwritten");
    }

    /// <summary>Bytes [from, to) of the body still hold the poison (nothing was written there).</summary>
    public void AssertPoisoned(long from, long to, string what)
    {
        int at = Span[(int)from..(int)to].IndexOfAnyExcept(Poison);
        Assert.That(at, Is.EqualTo(-1), $"{what}: byte {from + at} written outside the output");
    }

    public void Dispose() => allocation.Dispose();
}

/// <summary>Shared helpers of the kernel tests: the emulated runtime, comparisons with stated tolerances.</summary>
internal static class KernelCheck
{
    /// <summary>fp32 inputs: intermediate scores agree with the double-precision reference within this relative error.</summary>
    public const double F32Tolerance = 1e-5;

    /// <summary>fp16/bf16 inputs (upcast exactly, then fp32 arithmetic like fp32 inputs).</summary>
    public const double F16Tolerance = 1e-3;

    /// <summary>
    /// The smallest scale k̂·μ is compared at: values within SpecConstants.RoundingSpread of 0 on the
    /// unit keys' scale are rounding (the same line the backends draw for its range).
    /// </summary>
    public const double SimilarityFloor = MixKV.Options.SpecConstants.RoundingSpread * MixKV.Options.SpecConstants.SimilarityScale;

    public static double Tolerance(MixKV.Tensors.DType dtype) => dtype == MixKV.Tensors.DType.F32 ? F32Tolerance : F16Tolerance;

    public static EmulatedKernelRuntime Emulated(KernelBackend backend) =>
        (EmulatedKernelRuntime)backend.Runtime;

    /// <summary>
    /// Compares a kernel's [heads, width] fp32 array with the reference and returns the largest
    /// relative error; fails when it exceeds <paramref name="tolerance"/>. "Relative" throughout the
    /// kernel tests: |a - b| / max(|b|, floorFraction * max over the head of |b|). With a small floor
    /// (1e-3) that is element-relative for positive, well-conditioned values (A, norms); with floor 1
    /// it is relative to the head's largest magnitude, for values that cancel toward zero (cosines
    /// to the mean key, min-max normalised scores at their minimum), whose absolute error is set by
    /// the terms that cancelled. <paramref name="absoluteFloor"/> bounds the scale from below where the
    /// values have one of their own: k̂·μ's is 1 (unit keys), and a head whose unit keys cancel has
    /// every k̂·μ at 0 up to rounding (1e-19 here, 1e-10 in fp32). Every element must be finite: poison
    /// (NaN) means "never written".
    /// </summary>
    public static double AssertClose(ReadOnlySpan<float> actual, double[][] expected, double tolerance, string what, double floorFraction = 1e-3, double absoluteFloor = 0)
    {
        double worst = 0;
        int width = expected.Length == 0 ? 0 : expected[0].Length;
        Assert.That(actual.Length, Is.EqualTo(expected.Length * width), $"{what}: element count");
        for (int h = 0; h < expected.Length; h++)
        {
            double headMax = expected[h].Length == 0 ? 0 : expected[h].Max(Math.Abs);
            for (int n = 0; n < width; n++)
            {
                float a = actual[h * width + n];
                double b = expected[h][n];
                if (!float.IsFinite(a))
                {
                    Assert.Fail($"{what}: [{h}, {n}] = {a} (not written, or not finite); expected {b}");
                }

                double scale = Math.Max(Math.Max(Math.Abs(b), floorFraction * headMax), absoluteFloor);
                double error = scale == 0 ? Math.Abs(a - b) : Math.Abs(a - b) / scale;
                if (error > tolerance)
                {
                    Assert.Fail($"{what}: [{h}, {n}] = {a:R}, expected {b:R}: relative error {error:E3} > {tolerance:E1}");
                }

                worst = Math.Max(worst, error);
            }
        }

        return worst;
    }

    public static double[][] Rows(ReadOnlySpan<float> flat, int heads, int width)
    {
        var rows = new double[heads][];
        for (int h = 0; h < heads; h++)
        {
            rows[h] = new double[width];
            for (int n = 0; n < width; n++)
            {
                rows[h][n] = flat[h * width + n];
            }
        }

        return rows;
    }

    /// <summary>Distinct random floats of random sign and magnitude, with a few planted exact duplicates.</summary>
    public static float[] RandomScores(TestRandom rng, int count, int duplicates)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(rng.Gaussian() * Math.Exp(rng.Uniform(-3, 3)));
        }

        for (int i = 0; i < duplicates && count > 1; i++)
        {
            values[rng.Int(0, count - 1)] = values[rng.Int(0, count - 1)];
        }

        return values;
    }

    /// <summary><paramref name="data"/> in a zeroed array of <paramref name="length"/> (cut when longer): a flat cache's rows with spare capacity.</summary>
    public static T[] Padded<T>(T[] data, int length)
    {
        var padded = new T[length];
        data.AsSpan(0, Math.Min(data.Length, length)).CopyTo(padded);
        return padded;
    }

    /// <summary>Random bytes that are valid fp16/bf16/fp32 numbers are not needed for copies: any bit pattern moves.</summary>
    public static byte[] RandomBytes(TestRandom rng, int length)
    {
        var bytes = new byte[length];
        rng.Fill(bytes);
        return bytes;
    }

    public static TestRandom Seeded()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        TestContext.Progress.WriteLine($"{TestContext.CurrentContext.Test.Name}: {rng.Tag}");
        return rng;
    }
}
