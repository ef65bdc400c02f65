using System.Runtime.InteropServices;
using MixKV.Kernels;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The kernels' fp32 -> 16-bit rounding on the CPU runtime (dtype.cuh's mixkv_from_float; the GPU uses
/// cvt.rn), through the self-test kernel src/Emulator/selftest/rounding.cu: fp16 equals .NET's
/// (Half) conversion bit for bit and bf16 the round-to-nearest-even of the upper half, over normal,
/// subnormal, halfway, overflowing and zero inputs.
/// </summary>
[TestFixture]
public sealed class RoundingTests : EmulatedKernelFixture
{
    [Test]
    public void SixteenBitRoundingIsTiesToEven()
    {
        TestRandom rng = KernelCheck.Seeded();
        float[] special = [0f, -0f, 1f, -1f, 65504f, 65520f, 65519.99f, 1e6f, -1e6f, MathF.ScaleB(1f, -14), MathF.ScaleB(1f, -24), MathF.ScaleB(1f, -25),
            MathF.ScaleB(3f, -26), MathF.ScaleB(1f, -26), 1f + MathF.ScaleB(1f, -11), 1f + MathF.ScaleB(3f, -11), 1f + MathF.ScaleB(1f, -8), 1f + MathF.ScaleB(3f, -8)];
        float[] input = [.. special, .. Enumerable.Range(0, 4000).Select(i => (float)(rng.Gaussian() * Math.Pow(2, rng.Int(-30, 17))))];
        using var source = DeviceRegion.Of<float>(backend.Runtime, input);
        using var f16 = new DeviceRegion(backend.Runtime, input.Length * sizeof(ushort));
        using var bf16 = new DeviceRegion(backend.Runtime, input.Length * sizeof(ushort));

        backend.Runtime.Launch("selftest_rounding", Launch.Config(8, 1, 256), new RoundingParams
        {
            Input = source.Pointer.Address,
            F16 = f16.Pointer.Address,
            Bf16 = bf16.Pointer.Address,
            Count = input.Length,
        });

        ushort[] halves = f16.Read<ushort>(input.Length), brains = bf16.Read<ushort>(input.Length);
        for (int i = 0; i < input.Length; i++)
        {
            float x = input[i];
            Assert.That(halves[i], Is.EqualTo(BitConverter.HalfToUInt16Bits((Half)x)), rng.Say($"fp16 of {x:R} (0x{BitConverter.SingleToUInt32Bits(x):X8})"));
            Assert.That(brains[i], Is.EqualTo(NearestBFloat16(x)), rng.Say($"bf16 of {x:R}"));
        }
    }

    /// <summary>The closer of the two bf16 values around x (its upper half truncated, and the next one up in magnitude); a tie goes to the even one.</summary>
    private static ushort NearestBFloat16(float x)
    {
        ushort below = (ushort)(BitConverter.SingleToUInt32Bits(x) >> 16), above = (ushort)(below + 1);
        double gapBelow = Math.Abs(x - (double)BitConverter.UInt32BitsToSingle((uint)below << 16));
        double gapAbove = Math.Abs(x - (double)BitConverter.UInt32BitsToSingle((uint)above << 16));
        return gapBelow < gapAbove || (gapBelow == gapAbove && below % 2 == 0) ? below : above;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RoundingParams
    {
        public ulong Input, F16, Bf16;
        public int Count, Reserved;
    }
}
