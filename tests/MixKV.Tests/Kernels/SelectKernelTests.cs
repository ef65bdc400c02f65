using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// kernels/select.cu and select_candidates.cu (spec section 6): per-head top-cap in ascending position
/// order, window last, ties to the lower position. Uniform caps run through both forms.
/// </summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class SelectKernelTests : EmulatedKernelFixture
{
    /// <summary>
    /// Different device caps per head, always including 0 and P, random scores with planted exact ties;
    /// 4500 spans three blocks of a head (2048 positions each), whose kept rows and ties must follow
    /// one another in position order. Up to P = 8192 the candidate form takes device caps too (two
    /// full spans of 4096 at 8192); 9000 is the grid form's alone.
    /// </summary>
    [Test]
    public void DeviceCapsPerHeadWithPlantedTies([Values(1, 9, 700, 1500, 4500, 8192, 9000)] int prefix)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 6, window = rng.Int(0, 20);
        int[] caps = [0, prefix, .. Enumerable.Range(0, heads - 2).Select(_ => rng.Int(0, prefix))];
        rng.Shuffle(caps);
        float[] scores = KernelCheck.RandomScores(rng, heads * prefix, duplicates: heads * prefix / 4);
        Check(scores, heads, prefix, window, caps, deviceCaps: true, rng.Say($"P {prefix} W {window} caps [{string.Join(",", caps)}]"));
    }

    /// <summary>
    /// Heavy ties: scores drawn from a handful of values, so the cut value repeats across every warp's
    /// piece and, past 2048 positions, across the blocks of a head.
    /// </summary>
    [Test]
    public void TiesAcrossChunksGoToTheLowestPositions([Values] bool deviceCaps, [Values] bool severalBlocks)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 3, prefix = severalBlocks ? rng.Int(K.RadixGrid.Span + 1, 3 * K.RadixGrid.Span) : rng.Int(1100, 2000), window = rng.Int(1, 8);
        float[] palette = Enumerable.Range(0, rng.Int(2, 5)).Select(_ => (float)rng.Gaussian()).ToArray();
        float[] scores = Enumerable.Range(0, heads * prefix).Select(_ => rng.Pick(palette)).ToArray();
        int[] caps = deviceCaps ? Enumerable.Range(0, heads).Select(_ => rng.Int(1, prefix - 1)).ToArray() : Enumerable.Repeat(rng.Int(1, prefix - 1), heads).ToArray();
        Check(scores, heads, prefix, window, caps, deviceCaps, rng.Say($"P {prefix} palette [{string.Join(",", palette)}] caps [{string.Join(",", caps)}]"));
    }

    /// <summary>
    /// Scores falling with position, so a head keeps exactly its first cap positions, and caps on both
    /// sides of the first block boundary: every block's count of kept keys then differs from its
    /// neighbour's, so a block that counted a span shifted by one position (or took its slot from
    /// the wrong counts) puts rows in the wrong slots. Random scores seldom tell, as the keys at the
    /// boundaries are mostly below the cut.
    /// </summary>
    [Test]
    public void FallingScoresCutOnEitherSideOfABlockBoundary()
    {
        TestRandom rng = KernelCheck.Seeded();
        int span = K.RadixGrid.Span, heads = 3, prefix = rng.Int(2 * span + 1, 3 * span), window = rng.Int(1, 8);
        float offset = (float)rng.Uniform(-4.0, 4.0);
        float[] scores = Enumerable.Range(0, heads * prefix).Select(i => offset - (i % prefix) / 1024.0f).ToArray();
        int[] caps = [rng.Int(1, span), rng.Int(span + 1, 2 * span), rng.Int(2 * span + 1, prefix - 1)];
        rng.Shuffle(caps);
        Check(scores, heads, prefix, window, caps, deviceCaps: true, rng.Say($"P {prefix} W {window} caps [{string.Join(",", caps)}], scores {offset} - n/1024"));
    }

    /// <summary>One uniform cap for every head (SnapKV/PyramidKV), including the extremes 0 and P.</summary>
    [Test]
    public void UniformCap([Values(0, 1, -1, -2)] int capChoice)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 5), prefix = rng.Int(2, 900), window = rng.Int(1, 32);
        int cap = capChoice switch { 0 => 0, 1 => prefix, -1 => rng.Int(1, prefix - 1), _ => 1 };
        float[] scores = KernelCheck.RandomScores(rng, heads * prefix, duplicates: prefix / 3);
        Check(scores, heads, prefix, window, Enumerable.Repeat(cap, heads).ToArray(), deviceCaps: false, rng.Say($"P {prefix} W {window} cap {cap}"));
    }

    /// <summary>
    /// Scores that only unvalidated inputs produce (CheckFinite off): NaN, both infinities and both
    /// zeros among ordinary values. The kernel ranks them as the reference does: NaN below every
    /// number whatever its sign bit, -0 equal to +0 (the lower position first). Uniform caps take both
    /// forms, over one span and over three of the candidate form's.
    /// </summary>
    [Test]
    public void NaNInfinitiesAndSignedZerosRankAsTheReference([Values(40, 1300, 9000)] int prefix, [Values] bool deviceCaps)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 3, window = rng.Int(0, 6);
        // .NET's float.NaN has the sign bit set; a GPU's 0/0 gives one without it. Both must rank lowest.
        float[] specials = [float.NaN, BitConverter.Int32BitsToSingle(0x7FC00000), float.PositiveInfinity, float.NegativeInfinity, 0.0f, -0.0f];
        float[] scores = KernelCheck.RandomScores(rng, heads * prefix, duplicates: prefix / 4);
        for (int i = 0; i < scores.Length; i++)
        {
            if (rng.Int(0, 3) == 0)
            {
                scores[i] = rng.Pick(specials);
            }
        }

        int uniform = rng.Int(1, Math.Min(prefix - 1, 2000));
        int[] caps = Enumerable.Range(0, heads).Select(_ => deviceCaps ? rng.Int(1, prefix - 1) : uniform).ToArray();
        Check(scores, heads, prefix, window, caps, deviceCaps, rng.Say($"P {prefix} W {window} caps [{string.Join(",", caps)}]"));
    }

    /// <summary>
    /// A cut inside a run of zeros of both signs: -0 equals +0 (spec section 6 ranks values), so the kept
    /// zeros are the lowest positions whatever their signs. Above the zeros, a few positive scores; below,
    /// negative ones. (The draws above reach this only when a cut happens to land among their zeros.)
    /// </summary>
    [Test]
    public void ACutAmongSignedZerosKeepsTheLowestPositions([Values(40, 1300, 9000)] int prefix, [Values] bool deviceCaps)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 3), window = rng.Int(0, 6);
        var scores = new float[heads * prefix];
        var caps = new int[heads];
        for (int h = 0; h < heads; h++)
        {
            int positives = rng.Int(0, prefix / 4), zeros = 0;
            for (int n = 0; n < prefix; n++)
            {
                int kind = rng.Int(0, 5);
                float value = kind == 0 && positives-- > 0 ? (float)rng.Uniform(0.1, 1.0) : kind == 1 ? -(float)rng.Uniform(0.1, 1.0) : rng.Coin() ? -0.0f : 0.0f;
                zeros += value == 0.0f ? 1 : 0;
                scores[(h * prefix) + n] = value;
            }

            int above = Enumerable.Range(h * prefix, prefix).Count(i => scores[i] > 0.0f);
            caps[h] = above + rng.Int(1, Math.Max(1, zeros - 1));
        }

        if (!deviceCaps)
        {
            Array.Fill(caps, caps.Min());
        }

        Check(scores, heads, prefix, window, caps, deviceCaps, rng.Say($"P {prefix} W {window} caps [{string.Join(",", caps)}]"));
    }

    /// <summary>
    /// The candidate form (kernels/select_candidates.cu) over heads of several 4096-position spans: caps
    /// below a span, above one (a whole span is then its candidates), and the largest whose candidates
    /// still fit the merge (at most <see cref="K.Select.MergeCapacity"/> of them), with planted ties; P
    /// a whole number of spans or not.
    /// </summary>
    [Test]
    public void CandidateFormOverSeveralSpans([Values(0, 1, 2)] int capChoice, [Values] bool wholeSpans)
    {
        TestRandom rng = KernelCheck.Seeded();
        int span = K.Select.CandidateSpan, heads = rng.Int(1, 4), window = rng.Int(0, 12);
        // Above a span the whole of each full span is a candidate: two spans keep the count in the merge.
        int spans = capChoice == 1 ? 2 : 3;
        int prefix = wholeSpans ? spans * span : rng.Int(((spans - 1) * span) + 2, (spans * span) - 1);
        int cap = capChoice switch
        {
            0 => rng.Int(1, span / 8),
            1 => rng.Int(span + 1, prefix - 1),
            _ => LargestFittingCap(prefix),
        };
        Assert.That(K.Select.CandidatesTake(prefix, deviceCaps: false, cap), Is.True, $"P {prefix} cap {cap}");
        float[] scores = KernelCheck.RandomScores(rng, heads * prefix, duplicates: heads * prefix / 4);
        Check(scores, heads, prefix, window, Enumerable.Repeat(cap, heads).ToArray(), deviceCaps: false, rng.Say($"P {prefix} W {window} cap {cap} ({K.Select.CandidateCount(prefix, cap)} candidates)"));
    }

    /// <summary>
    /// Scores falling with position over two spans, cut in either: the first span's candidates are then
    /// all kept and the second's all dropped (or the reverse share), so a merge that mapped a candidate
    /// to the wrong span or slot keeps the wrong rows.
    /// </summary>
    [Test]
    public void CandidateFormWithFallingScores()
    {
        TestRandom rng = KernelCheck.Seeded();
        int span = K.Select.CandidateSpan, heads = 2, prefix = rng.Int(span + 2, 2 * span), window = rng.Int(1, 8);
        int cap = rng.Int(1, prefix - 1);
        float offset = (float)rng.Uniform(-4.0, 4.0);
        float[] scores = Enumerable.Range(0, heads * prefix).Select(i => offset - ((i % prefix) / 4096.0f)).ToArray();
        Check(scores, heads, prefix, window, Enumerable.Repeat(cap, heads).ToArray(), deviceCaps: false, rng.Say($"P {prefix} W {window} cap {cap}, scores {offset} - n/4096"), K.Select.Form.Candidates);
    }

    /// <summary>Which form the launcher picks under each preference, and that it refuses the candidate form where the merge cannot hold the candidates.</summary>
    [Test]
    public void FormFollowsTheCapsAndTheMergeCapacity()
    {
        int prefix = 32768 - 32, fits = LargestFittingCap(prefix);
        Assert.That(K.Select.CandidateCount(prefix, fits), Is.EqualTo(K.Select.MergeCapacity).Or.LessThan(K.Select.MergeCapacity));
        Assert.That(K.Select.CandidateCount(prefix, fits + 1), Is.GreaterThan(K.Select.MergeCapacity));
        (int Prefix, bool DeviceCaps, int Cap, bool Takes, string Case)[] cases =
        [
            (prefix, false, 224, true, "the issue's SnapKV layer"),
            (prefix, false, fits + 1, false, "one past the largest fitting cap"),
            (prefix, true, 224, false, "device caps past the merge's P"),
            (K.Select.MergeCapacity, true, 224, true, "device caps, P within the merge"),
            (K.Select.MergeCapacity + 1, true, 224, false, "device caps, P one past the merge"),
            (prefix, false, 0, true, "cap 0"),
            (prefix, false, prefix, true, "cap P"),
        ];
        foreach (var c in cases)
        {
            Assert.That(K.Select.CandidatesTake(c.Prefix, c.DeviceCaps, c.Cap), Is.EqualTo(c.Takes), c.Case);
            Assert.That(K.Select.FormFor(c.Prefix, c.DeviceCaps, c.Cap, K.Select.Preference.Candidates), Is.EqualTo(c.Takes ? K.Select.Form.Candidates : K.Select.Form.Grid), $"{c.Case}, candidates preferred");
            Assert.That(K.Select.FormFor(c.Prefix, c.DeviceCaps, c.Cap, K.Select.Preference.Grid), Is.EqualTo(K.Select.Form.Grid), $"{c.Case}, grid preferred");
            Assert.That(K.Select.FormFor(c.Prefix, c.DeviceCaps, c.Cap, K.Select.Preference.Measured), Is.EqualTo(c.Takes ? K.Select.Form.Candidates : K.Select.Form.Grid), $"{c.Case}, measured");
        }

        // Measured, a uniform cap keeps the candidate form up to FasterCandidates a head: the issue's
        // layer at N 4K (224) and 32K (1792), not at 128K (7168).
        (int Prefix, int Cap, bool Candidates)[] measured =
        [
            (4096 - 32, 224, true), (prefix, 224, true), ((4 * K.Select.CandidateSpan) - 1, K.Select.CandidateSpan / 4, true),
            (4 * K.Select.CandidateSpan, K.Select.CandidateSpan / 4, true), ((4 * K.Select.CandidateSpan) + 1, K.Select.CandidateSpan / 4, false), (131072 - 32, 224, false),
        ];
        foreach ((int p, int cap, bool candidates) in measured)
        {
            Assert.That(K.Select.CandidateCount(p, cap) <= K.Select.FasterCandidates, Is.EqualTo(candidates), $"P {p} cap {cap}: {K.Select.CandidateCount(p, cap)} candidates");
            Assert.That(K.Select.FormFor(p, deviceCaps: false, cap, K.Select.Preference.Measured), Is.EqualTo(candidates ? K.Select.Form.Candidates : K.Select.Form.Grid), $"P {p} cap {cap}, measured");
        }

        // AdaKV's shares: the selection's form when measured (P within the merge), a uniform cap's otherwise.
        Assert.That(K.Select.SharesFormFor(K.Select.MergeCapacity, 224, K.Select.Preference.Measured), Is.EqualTo(K.Select.Form.Candidates));
        Assert.That(K.Select.SharesFormFor(prefix, 224, K.Select.Preference.Measured), Is.EqualTo(K.Select.Form.Grid), "shares past the merge's P, measured");
        Assert.That(K.Select.SharesFormFor(prefix, 224, K.Select.Preference.Candidates), Is.EqualTo(K.Select.Form.Candidates), "shares past the merge's P, candidates preferred");
        Assert.That(K.Select.SharesFormFor(prefix, fits + 1, K.Select.Preference.Candidates), Is.EqualTo(K.Select.Form.Grid), "shares whose candidates do not fit");
        Assert.That(K.Select.SharesFormFor(K.Select.MergeCapacity, 224, K.Select.Preference.Grid), Is.EqualTo(K.Select.Form.Grid));

        var runtime = backend.Runtime;
        using var region = new DeviceRegion(runtime, sizeof(int));
        var ex = Assert.Throws<ArgumentException>(() => K.Select.Enqueue(runtime, 1, prefix, 0, region.Pointer, null, fits + 1, region.Pointer, region.Pointer, region.Pointer, form: K.Select.Form.Candidates));
        Assert.That(ex!.ParamName, Is.EqualTo("form"));
        ex = Assert.Throws<ArgumentException>(() => K.Select.Enqueue(runtime, 1, K.Select.MergeCapacity + 1, 0, region.Pointer, region.Pointer, 0, region.Pointer, region.Pointer, region.Pointer, form: K.Select.Form.Candidates));
        Assert.That(ex!.ParamName, Is.EqualTo("form"), "device caps past the merge's P");
        region.AssertPoisoned(0, region.Bytes, "refused launch");
        region.AssertGuardsIntact("refused launch");
    }

    private static int LargestFittingCap(int prefix)
    {
        int cap = 1;
        while (cap + 1 < prefix && K.Select.CandidateCount(prefix, cap + 1) <= K.Select.MergeCapacity)
        {
            cap++;
        }

        return cap;
    }

    /// <summary>
    /// Runs each form that can take the caps (both when they are uniform and fit the merge) against the
    /// reference, each once reading cu_lens and once writing the lengths itself (headLens given).
    /// </summary>
    private void Check(float[] scores, int heads, int prefix, int window, int[] caps, bool deviceCaps, string say, K.Select.Form? only = null)
    {
        bool candidatesFit = K.Select.CandidatesTake(prefix, deviceCaps, caps[0]);
        K.Select.Form[] forms = only is { } form ? [form] : candidatesFit ? [K.Select.Form.Grid, K.Select.Form.Candidates] : [K.Select.Form.Grid];
        foreach (K.Select.Form f in forms)
        {
            foreach (bool writesLengths in new[] { false, true })
            {
                CheckForm(scores, heads, prefix, window, caps, deviceCaps, $"{say}, {f} form{(writesLengths ? ", lengths written" : string.Empty)}", f, writesLengths);
            }
        }
    }

    private void CheckForm(float[] scores, int heads, int prefix, int window, int[] caps, bool deviceCaps, string say, K.Select.Form form, bool writesLengths)
    {
        var runtime = backend.Runtime;
        int[] lens = caps.Select(c => c + window).ToArray();
        int[] cu = PipelineKernelTests.Prefix(lens);
        int total = cu[heads];
        using DeviceRegion s = DeviceRegion.Of<float>(runtime, scores);
        using DeviceRegion capsBuffer = DeviceRegion.Of<int>(runtime, caps);
        // Read as given, or poisoned for the selection to write.
        using DeviceRegion cuBuffer = writesLengths ? new DeviceRegion(runtime, (heads + 1) * sizeof(int)) : DeviceRegion.Of<int>(runtime, cu);
        using var lensBuffer = new DeviceRegion(runtime, heads * sizeof(int));
        int slack = 16; // positions past T must stay poisoned
        using var positions = new DeviceRegion(runtime, (total + slack) * sizeof(int));

        using var scratch = new DeviceRegion(runtime, K.Select.ScratchBytes(heads, prefix));

        K.Select.Enqueue(runtime, heads, prefix, window, s.Pointer, deviceCaps ? capsBuffer.Pointer : null, caps[0], cuBuffer.Pointer, positions.Pointer, scratch.Pointer, form: form,
            headLens: writesLengths ? lensBuffer.Pointer : null);

        if (writesLengths)
        {
            Assert.That(lensBuffer.Read<int>(heads), Is.EqualTo(lens), $"{say}: head_lens");
            Assert.That(cuBuffer.Read<int>(heads + 1), Is.EqualTo(cu), $"{say}: cu_lens");
        }
        else
        {
            lensBuffer.AssertPoisoned(0, lensBuffer.Bytes, $"{say}: head_lens untouched");
        }

        int[] expected = Ref.Select.Positions(KernelCheck.Rows(scores, heads, prefix), caps, prefix + window, window).SelectMany(p => p).ToArray();
        Assert.That(positions.Read<int>(total), Is.EqualTo(expected), say);
        positions.AssertPoisoned(total * sizeof(int), positions.Bytes, say);
        Assert.That(s.Read<float>(scores.Length), Is.EqualTo(scores), $"{say}: S is read only");
        foreach (DeviceRegion b in new[] { s, capsBuffer, cuBuffer, lensBuffer, positions })
        {
            b.AssertGuardsIntact(say);
        }
    }
}
