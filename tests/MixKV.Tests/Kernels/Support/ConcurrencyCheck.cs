using MixKV.Options;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// The checks of one compressor object shared by an engine's threads, over any backend. Layers are
/// drawn like <see cref="RandomShapeTests"/>' (any shape, method and option) but kept to a few hundred
/// tokens so that each call emulates in well under a second. Every call must give, byte for byte, the
/// result it gives alone, and leave its inputs as they were.
/// </summary>
internal static class ConcurrencyCheck
{
    private const int Layers = 6;

    private const int Rounds = 2;

    /// <summary>Each drawn layer twice, in a shuffled order, from more threads than cores.</summary>
    public static void CallsAreIndependent(ILayerCompressor compressor)
    {
        TestRandom rng = KernelCheck.Seeded();
        Call[] calls = [.. Enumerable.Range(0, Layers).Select(i => DrawCall(rng, i))];
        CompressedLayer[] alone = [.. calls.Select(call => call.Run(compressor))];
        int[] order = [.. Enumerable.Range(0, Layers * Rounds).Select(i => i % Layers)];
        rng.Shuffle(order);
        AssertSameResults(compressor, calls, alone, order, rng, together: true);
    }

    /// <summary>
    /// Each drawn layer through <see cref="ILayerCompressor.Compress"/> on one thread while another
    /// captures a layer graph again and again on the same backend (<see cref="LayerGraphCheck.CapturesBesideOtherWork"/>).
    /// </summary>
    public static void CallsBesideCaptures(KernelBackend backend)
    {
        TestRandom rng = KernelCheck.Seeded();
        Call[] calls = [.. Enumerable.Range(0, Layers).Select(i => DrawCall(rng, i))];
        CompressedLayer[] alone = [.. calls.Select(call => call.Run(backend))];
        int[] order = [.. Enumerable.Range(0, Layers * Rounds).Select(i => i % Layers)];
        LayerGraphCheck.CapturesBesideOtherWork(backend, DrawCase(rng), rng, () => AssertSameResults(backend, calls, alone, order, rng, together: false));
    }

    /// <summary>Runs calls[order[i]] for every i (concurrently when <paramref name="together"/>) and compares each with its result alone.</summary>
    private static void AssertSameResults(ILayerCompressor compressor, Call[] calls, CompressedLayer[] alone, int[] order, TestRandom rng, bool together)
    {
        byte[][][] before = [.. calls.Select(call => call.Stored.Snapshot())];
        var results = new CompressedLayer[order.Length];
        if (together)
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(4, 2 * Environment.ProcessorCount) };
            Parallel.For(0, order.Length, parallel, i => results[i] = calls[order[i]].Run(compressor));
        }
        else
        {
            for (int i = 0; i < order.Length; i++)
            {
                results[i] = calls[order[i]].Run(compressor);
            }
        }

        for (int i = 0; i < order.Length; i++)
        {
            string say = rng.Say($"{compressor.Name}, call {i}, layer {calls[order[i]]}");
            CompressedLayer expected = alone[order[i]], actual = results[i];
            Assert.That(actual.Kept.HeadLens, Is.EqualTo(expected.Kept.HeadLens), $"{say}: head_lens");
            Assert.That(actual.Kept.Positions, Is.EqualTo(expected.Kept.Positions), $"{say}: positions");
            Assert.That(actual.Kept.Scores, Is.EqualTo(expected.Kept.Scores), $"{say}: scores");
            Sentinel.AssertSameBytes(expected.Keys, actual.Keys, $"{say}: keys");
            Sentinel.AssertSameBytes(expected.Values, actual.Values, $"{say}: values");
        }

        for (int i = 0; i < calls.Length; i++)
        {
            calls[i].Stored.AssertUnchanged(before[i], rng.Say($"{compressor.Name}: layer {calls[i]} was modified"));
        }
    }

    private static KernelCase DrawCase(TestRandom rng)
    {
        KernelCase c;
        do
        {
            c = RandomShapeTests.Draw(rng);
        }
        while (c.MaxTokens > 700 || c.Dim > 160);

        return c;
    }

    private static Call DrawCall(TestRandom rng, int index)
    {
        KernelCase c = DrawCase(rng);
        (StoredLayer stored, CompressionOptions options, LayerPosition layer, int tokens) = c.DrawLayer(rng);
        return new Call($"{index} ({c}): N {tokens}, budget {options.Budget}, layer {layer}", stored, options, layer);
    }

    private sealed record Call(string Name, StoredLayer Stored, CompressionOptions Options, LayerPosition Layer)
    {
        public CompressedLayer Run(ILayerCompressor compressor) => compressor.Compress(Stored.Inputs, Options, Layer, withScores: true);

        public override string ToString() => Name;
    }
}
