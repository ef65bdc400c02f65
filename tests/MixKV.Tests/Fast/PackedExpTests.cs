using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The kept exp tile's 3-byte entries (<see cref="PackedExp"/>): every byte of the packed lines
/// written, unpacking gives back exactly what <see cref="PackedExp.Round"/> gives (so a recomputed
/// tile agrees with a kept one bit for bit), within 2^-18 of the entry, and the mass's packed dot
/// equals the dot of the rounded entries bit for bit. Entries are what the exp tile holds: 2^x for x
/// in [-126, 0] (FastExp flushes below to exactly 0), 0, and 1.
/// </summary>
[TestFixture]
public sealed unsafe class PackedExpTests
{
    private const double RelativeBound = 1.0 / (1 << 18);

    [SetUp]
    public void RequireVbmi()
    {
        if (!PackedExp.Supported)
        {
            Assert.Ignore("needs AVX-512 VBMI (the fast path keeps fp32 tiles without it)");
        }
    }

    [Test]
    public void UnpackingGivesTheRoundedEntriesWithin2PowMinus18()
    {
        var rng = TestRandom.ForCurrentTest();
        float[] entries = Entries(rng, 128);
        byte[] packed = Pack(entries, poison: 0xA5);
        float[] unpacked = new float[entries.Length];
        fixed (byte* source = packed)
        fixed (float* destination = unpacked)
        {
            PackedExp.Load(PackedExp.CreateDecoder(), source, entries.Length, destination);
        }

        float[] rounded = Rounded(entries);
        for (int i = 0; i < entries.Length; i++)
        {
            Assert.That(BitConverter.SingleToUInt32Bits(unpacked[i]), Is.EqualTo(BitConverter.SingleToUInt32Bits(rounded[i])),
                rng.Say($"entry {i} = {entries[i]:R}: unpacked {unpacked[i]:R}, rounded {rounded[i]:R}"));
            Assert.That(Math.Abs((double)unpacked[i] - entries[i]), Is.LessThanOrEqualTo(RelativeBound * entries[i]),
                rng.Say($"entry {i} = {entries[i]:R} unpacked as {unpacked[i]:R}"));
        }
    }

    [Test]
    public void EveryPackedByteIsWrittenAndNothingPastTheLines()
    {
        var rng = TestRandom.ForCurrentTest();
        float[] entries = Entries(rng, 64);
        byte[] overZeros = Pack(entries, poison: 0x00), overOnes = Pack(entries, poison: 0xFF);
        Assert.That(overZeros.AsSpan(0, 192).SequenceEqual(overOnes.AsSpan(0, 192)), Is.True,
            rng.Say("the 192 packed bytes depend on what was in the buffer: some byte was not written"));
        Assert.That(overZeros.AsSpan(192).ToArray(), Is.All.EqualTo(0x00), rng.Say("bytes past the three lines were written"));
        Assert.That(overOnes.AsSpan(192).ToArray(), Is.All.EqualTo(0xFF), rng.Say("bytes past the three lines were written"));
    }

    [Test]
    public void StreamingAndPlainStoresWriteTheSameBytes()
    {
        var rng = TestRandom.ForCurrentTest();
        float[] entries = Entries(rng, 64);
        Assert.That(Pack(entries, 0x5A, streaming: true), Is.EqualTo(Pack(entries, 0x5A, streaming: false)), rng.Say("streamed and stored lines differ"));
    }

    [Test]
    public void PackedDotEqualsTheDotOfTheRoundedEntries()
    {
        var rng = TestRandom.ForCurrentTest();
        for (int trial = 0; trial < 32; trial++)
        {
            float[] entries = Entries(rng, 128), factors = new float[128];
            for (int i = 0; i < factors.Length; i++)
            {
                factors[i] = (float)rng.Uniform(0, 1e-3);
            }

            byte[] packed = Pack(entries, poison: 0x3C);
            float[] rounded = Rounded(entries);
            float got, want;
            fixed (byte* source = packed)
            fixed (float* f = factors, r = rounded)
            {
                got = PackedExp.Dot128(PackedExp.CreateDecoder(), source, f);
                want = RowMath.Dot128(r, f);
            }

            Assert.That(BitConverter.SingleToUInt32Bits(got), Is.EqualTo(BitConverter.SingleToUInt32Bits(want)), rng.Say($"trial {trial}: packed dot {got:R}, dot of the rounded entries {want:R}"));
        }
    }

    /// <summary>Exp-tile entries: 2^x over the tile's range, and the edges (0, 1, just under 1, the smallest normal).</summary>
    private static float[] Entries(TestRandom rng, int count)
    {
        var entries = new float[count];
        for (int i = 0; i < count; i++)
        {
            entries[i] = (i % 10) switch
            {
                0 => rng.Pick([0f, 1f, BitConverter.UInt32BitsToSingle(0x3F7F_FFFF), float.Epsilon * (1 << 23), BitConverter.UInt32BitsToSingle(0x3F7F_FFE0)]),
                1 => (float)Math.Pow(2, -rng.Int(0, 126)),
                2 => (float)Math.Pow(2, rng.Uniform(-126, -100)),
                _ => (float)Math.Pow(2, rng.Uniform(-30, 0)),
            };
        }

        return entries;
    }

    /// <summary>The entries packed 64 at a time into a 64-byte aligned buffer filled with <paramref name="poison"/> and 64 guard bytes.</summary>
    private static byte[] Pack(float[] entries, byte poison, bool streaming = false)
    {
        int bytes = entries.Length * PackedExp.EntryBytes;
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)(bytes + 64), 64);
        try
        {
            new Span<byte>(buffer, bytes + 64).Fill(poison);
            PackedExp.Encoder encoder = PackedExp.CreateEncoder();
            fixed (float* e = entries)
            {
                for (int i = 0; i < entries.Length; i += 64)
                {
                    PackedExp.Store64(encoder, Vector512.Load(e + i), Vector512.Load(e + i + 16), Vector512.Load(e + i + 32), Vector512.Load(e + i + 48), buffer + (i * PackedExp.EntryBytes), streaming);
                }
            }

            return new Span<byte>(buffer, bytes + 64).ToArray();
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static float[] Rounded(float[] entries)
    {
        var rounded = new float[entries.Length];
        fixed (float* e = entries, r = rounded)
        {
            for (int i = 0; i < entries.Length; i += 16)
            {
                PackedExp.Round(Vector512.Load(e + i)).Store(r + i);
            }
        }

        return rounded;
    }
}
