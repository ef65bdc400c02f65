using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// The wgmma self-test kernel (src/Emulator/selftest/wgmma.cu, embedded in this assembly) for NVRTC,
/// and its random products with their check: shared by WgmmaTests (CPU runtime, sm_90a assembly) and
/// WgmmaGpuTests (an sm_90 GPU, whose machine may hold only the built tests).
/// </summary>
internal static class WgmmaSelfTest
{
    public const int Columns = 64;

    public static KernelFile SelfTestFile() => new("wgmma.cu", SelfTestText("wgmma.cu"), ["selftest_wgmma<mixkv_f16>", "selftest_wgmma<mixkv_bf16>"]);

    /// <summary>src/Emulator/selftest/<paramref name="name"/>, embedded in this assembly (MixKV.Tests.csproj).</summary>
    public static string SelfTestText(string name)
    {
        using Stream stream = typeof(WgmmaSelfTest).Assembly.GetManifestResourceStream($"selftest/{name}")
            ?? throw new InvalidOperationException($"selftest/{name} is not embedded in the test assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static CompiledProgram Compile(KernelFile file, string architecture)
    {
        var headers = new Dictionary<string, string>(KernelSources.Headers, StringComparer.Ordinal) { ["params.h"] = SelfTestText("params.h") };
        return NvrtcCompiler.Compile(file.Source, file.Name, [$"--gpu-architecture={architecture}", "-std=c++17"], file.Instances, headers);
    }

    /// <summary>Launch geometry: a warpgroup per 64 rows.</summary>
    public static LaunchConfig Config(ProductCase c) => MixKV.Kernels.Launch.Config(1, 1, (uint)(2 * c.Rows));

    /// <summary>One random product: R rows (one or two warpgroups), K a multiple of 16 up to 128.</summary>
    public sealed record ProductCase(DType DType, int Rows, int Depth, bool Accumulate, ushort[] A, ushort[] B, float[] C)
    {
        public string Instance => DType == DType.BF16 ? "selftest_wgmma<mixkv_bf16>" : "selftest_wgmma<mixkv_f16>";

        public static ProductCase Random(TestRandom rng)
        {
            DType dtype = rng.Coin() ? DType.BF16 : DType.F16;
            int rows = 64 * rng.Int(1, 2), depth = 16 * rng.Int(1, 8);
            // Values of a few magnitudes and both signs, with exact zeros among them (masked keys).
            ushort Value() => ToBits(dtype, rng.Int(0, 9) == 0 ? 0f : (float)(rng.Gaussian() * Math.Pow(2, rng.Int(-3, 3))));
            ushort[] a = [.. Enumerable.Range(0, rows * depth).Select(_ => Value())];
            ushort[] b = [.. Enumerable.Range(0, Columns * depth).Select(_ => Value())];
            float[] c = [.. Enumerable.Range(0, rows * Columns).Select(_ => (float)(rng.Gaussian() * 4))];
            var product = new ProductCase(dtype, rows, depth, rng.Coin(), a, b, c);
            TestContext.Progress.WriteLine($"  {dtype} rows {rows} depth {depth} accumulate {product.Accumulate}");
            return product;
        }

        public WgmmaParams Params(DevicePointer a, DevicePointer b, DevicePointer c, DevicePointer d) => new()
        {
            A = a.Address,
            B = b.Address,
            C = c.Address,
            D = d.Address,
            Depth = Depth,
            Accumulate = Accumulate ? 1 : 0,
        };

        /// <summary>
        /// Every element written and within 2⁻¹⁶ of Σ|a·b| (+ |c|) of the exact sum: products of two
        /// 16-bit values are exact in fp32, so only the fp32 accumulation of at most 128 terms (and c)
        /// can differ, by at most ~128 · 2⁻²⁴ of that magnitude in any order.
        /// </summary>
        public void Verify(float[] d, TestRandom rng)
        {
            for (int r = 0; r < Rows; r++)
            {
                for (int n = 0; n < Columns; n++)
                {
                    double exact = Accumulate ? C[r * Columns + n] : 0, magnitude = Accumulate ? Math.Abs(C[r * Columns + n]) : 0;
                    for (int k = 0; k < Depth; k++)
                    {
                        double term = (double)FromBits(DType, A[r * Depth + k]) * FromBits(DType, B[n * Depth + k]);
                        exact += term;
                        magnitude += Math.Abs(term);
                    }

                    float got = d[r * Columns + n];
                    Assert.That(float.IsFinite(got), rng.Say($"D[{r}, {n}] = {got} (not written, or not finite)"));
                    Assert.That(Math.Abs(got - exact), Is.LessThanOrEqualTo(magnitude * Math.ScaleB(1, -16) + 1e-30),
                        rng.Say($"D[{r}, {n}] of {DType} rows {Rows} depth {Depth} accumulate {Accumulate}: exact {exact:R}"));
                }
            }
        }

        /// <summary>
        /// A probe of the layouts rather than a random product: fp16, both warpgroups (128 rows), two k
        /// steps (K 32), A's row r one-hot at k = r % 32, B[n][k] = 1 + 32n + k (integers, exact in fp16)
        /// and C NaN (the first product must ignore it), so each D[r][n] names the one B value the
        /// product paired with row r. <see cref="VerifyProbe"/> lists what was read instead: a layout
        /// error on a GPU shows as a pattern to fix from, not as a mismatch in a sum.
        /// </summary>
        public static ProductCase Probe()
        {
            const int rows = 128, depth = 32;
            var a = new ushort[rows * depth];
            for (int r = 0; r < rows; r++)
            {
                a[r * depth + r % depth] = ToBits(DType.F16, 1f);
            }

            ushort[] b = [.. Enumerable.Range(0, Columns * depth).Select(i => ToBits(DType.F16, 1 + i))];  // i = 32n + k
            float[] c = [.. Enumerable.Repeat(float.NaN, rows * Columns)];
            return new ProductCase(DType.F16, rows, depth, Accumulate: false, a, b, c);
        }

        /// <summary>Every D[r][n] is B[n][r % 32] (<see cref="Probe"/>); else the first mismatches, each with the value it read.</summary>
        public void VerifyProbe(float[] d)
        {
            var wrong = new List<string>();
            int mismatches = 0;
            for (int r = 0; r < Rows; r++)
            {
                for (int n = 0; n < Columns; n++)
                {
                    float got = d[r * Columns + n], want = 1 + (n * Depth) + (r % Depth);
                    if (got == want)
                    {
                        continue;
                    }

                    mismatches++;
                    if (wrong.Count < 24)
                    {
                        string read = got == 0 ? "0 (no B value)"
                            : float.IsInteger(got) && got >= 1 && got <= Columns * Depth ? $"B[{(int)(got - 1) / Depth}, {(int)(got - 1) % Depth}]"
                            : $"{got:R} (not one B value)";
                        wrong.Add($"D[{r}, {n}] = {read}, want B[{n}, {r % Depth}]");
                    }
                }
            }

            Assert.That(mismatches, Is.Zero, $"{mismatches} of {Rows * Columns} products paired the wrong values; the first: {string.Join("; ", wrong)}");
        }

        private static ushort ToBits(DType dtype, float value) =>
            dtype == DType.BF16 ? ElementCodec.SingleToBFloat16(value) : BitConverter.HalfToUInt16Bits((Half)value);

        private static float FromBits(DType dtype, ushort bits) =>
            dtype == DType.BF16 ? ElementCodec.BFloat16ToSingle(bits) : (float)BitConverter.UInt16BitsToHalf(bits);
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct WgmmaParams
    {
        public ulong A, B, C, D;
        public int Depth, Accumulate;
    }
}
