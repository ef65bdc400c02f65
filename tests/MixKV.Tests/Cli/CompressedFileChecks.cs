using System.Buffers.Binary;
using MixKV.SafeTensors;
using MixKV.Tensors;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>
/// Checks a `compress --scores` output against its input, independently of the library: per head the
/// positions ascend with the window P..N-1 last, the prefix positions are the top cap_h of the written
/// scores (ties: lower position first) with cap_h = len_h - W, and every output row is byte for byte
/// the input row at its position.
/// </summary>
internal static class CompressedFileChecks
{
    /// <returns>head_lens of every layer, for method-specific checks by the caller.</returns>
    public static int[][] Verify(string inputPath, string outputPath, TensorLayout layout, int window, string context)
    {
        using SafeTensorsFile input = SafeTensorsFile.Open(inputPath);
        using SafeTensorsFile output = SafeTensorsFile.Open(outputPath);
        int layers = input.Tensors.Count / 3;
        Assert.That(output.Tensors, Has.Count.EqualTo(layers * 5), $"{context}: output tensors (keys, values, head_lens, positions, scores per layer)");
        var allLens = new int[layers][];
        for (int l = 0; l < layers; l++)
        {
            allLens[l] = VerifyLayer(input, output, l, layout, window, $"{context}, layer {l}");
        }

        return allLens;
    }

    private static int[] VerifyLayer(SafeTensorsFile input, SafeTensorsFile output, int l, TensorLayout layout, int window, string context)
    {
        TensorInfo inKeys = input.Get($"layers.{l}.keys"), inValues = input.Get($"layers.{l}.values");
        int heads = (int)(layout == TensorLayout.Hnd ? inKeys.Shape[0] : inKeys.Shape[1]);
        int tokens = (int)(layout == TensorLayout.Hnd ? inKeys.Shape[1] : inKeys.Shape[0]);
        int dim = (int)inKeys.Shape[2];
        int size = inKeys.DType == SafeTensorDType.F32 ? 4 : 2;
        int prefix = Math.Max(tokens - window, 0);

        TensorInfo lensInfo = output.Get($"layers.{l}.head_lens"), positionsInfo = output.Get($"layers.{l}.positions");
        TensorInfo keys = output.Get($"layers.{l}.keys"), values = output.Get($"layers.{l}.values"), scoresInfo = output.Get($"layers.{l}.scores");
        Assert.That(lensInfo.DType, Is.EqualTo(SafeTensorDType.I32), context);
        Assert.That(lensInfo.Shape, Is.EqualTo(new long[] { heads }), $"{context}: head_lens shape");
        int[] lens = Ints(output.GetBytes(lensInfo));
        int total = lens.Sum();
        Assert.That(positionsInfo.DType, Is.EqualTo(SafeTensorDType.I32), context);
        Assert.That(positionsInfo.Shape, Is.EqualTo(new long[] { total }), $"{context}: positions shape");
        Assert.That(keys.DType, Is.EqualTo(inKeys.DType), $"{context}: keys keep the input dtype");
        Assert.That(keys.Shape, Is.EqualTo(new long[] { total, dim }), $"{context}: keys shape [T, D]");
        Assert.That(values.Shape, Is.EqualTo(new long[] { total, dim }), $"{context}: values shape [T, D]");
        Assert.That(scoresInfo.DType, Is.EqualTo(SafeTensorDType.F32), context);
        Assert.That(scoresInfo.Shape, Is.EqualTo(new long[] { heads, prefix }), $"{context}: scores shape [Hkv, P]");

        int[] positions = Ints(output.GetBytes(positionsInfo));
        float[] scores = Floats(output.GetBytes(scoresInfo));
        ReadOnlySpan<byte> outKeys = output.GetBytes(keys), outValues = output.GetBytes(values);
        ReadOnlySpan<byte> srcKeys = input.GetBytes(inKeys), srcValues = input.GetBytes(inValues);
        int rowBytes = dim * size;
        int start = 0;
        for (int h = 0; h < heads; h++)
        {
            string where = $"{context}, head {h}";
            int[] kept = positions[start..(start + lens[h])];
            for (int i = 1; i < kept.Length; i++)
            {
                Assert.That(kept[i], Is.GreaterThan(kept[i - 1]), $"{where}: positions ascend");
            }

            if (lens[h] == tokens)
            {
                Assert.That(kept, Is.EqualTo(Enumerable.Range(0, tokens).ToArray()), $"{where}: a full head keeps every position");
            }
            else
            {
                Assert.That(lens[h], Is.GreaterThanOrEqualTo(window), $"{where}: a compressed head keeps at least the window");
                Assert.That(kept[^window..], Is.EqualTo(Enumerable.Range(prefix, window).ToArray()), $"{where}: the window P..N-1 comes last");
                int cap = lens[h] - window;
                Assert.That(kept[..cap], Is.EqualTo(TopK(scores.AsSpan(h * prefix, prefix), cap)), $"{where}: prefix positions are the top {cap} scores (ties: lower position)");
            }

            for (int i = 0; i < kept.Length; i++)
            {
                long source = CacheFile.RowOffset(layout, heads, tokens, dim, size, h, kept[i]);
                long target = (long)(start + i) * rowBytes;
                if (!outKeys.Slice((int)target, rowBytes).SequenceEqual(srcKeys.Slice((int)source, rowBytes)))
                {
                    Assert.Fail($"{where}: output key row {start + i} is not input row {kept[i]}");
                }

                if (!outValues.Slice((int)target, rowBytes).SequenceEqual(srcValues.Slice((int)source, rowBytes)))
                {
                    Assert.Fail($"{where}: output value row {start + i} is not input row {kept[i]}");
                }
            }

            start += lens[h];
        }

        return lens;
    }

    /// <summary>The <paramref name="k"/> highest-scoring positions, lower position first among equals, in ascending order.</summary>
    public static int[] TopK(ReadOnlySpan<float> scores, int k)
    {
        float[] copy = scores.ToArray();
        int[] order = Enumerable.Range(0, copy.Length).ToArray();
        Array.Sort(order, (a, b) => copy[a] != copy[b] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
        return order.Take(k).Order().ToArray();
    }

    public static int[] Ints(ReadOnlySpan<byte> bytes)
    {
        var values = new int[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]);
        }

        return values;
    }

    public static float[] Floats(ReadOnlySpan<byte> bytes)
    {
        var values = new float[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * 4)..]);
        }

        return values;
    }
}
