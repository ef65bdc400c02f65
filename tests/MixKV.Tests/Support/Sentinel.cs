using NUnit.Framework;

namespace MixKV.Tests.Support;

/// <summary>
/// Output poisoning (STYLE point 13): buffers start as <see cref="Byte"/> everywhere and sit between guard
/// regions that no call may touch.
/// </summary>
public static class Sentinel
{
    public const byte Byte = 0xCD;

    public const int GuardBytes = 64;

    public static byte[] Poisoned(int length)
    {
        var bytes = new byte[length];
        bytes.AsSpan().Fill(Byte);
        return bytes;
    }

    /// <summary>Index of the first byte that differs, or -1.</summary>
    public static long FirstDifference(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        if (expected.Length != actual.Length)
        {
            return Math.Min(expected.Length, actual.Length);
        }

        int common = expected.CommonPrefixLength(actual);
        return common == expected.Length ? -1 : common;
    }

    public static void AssertSameBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string message)
    {
        long at = FirstDifference(expected, actual);
        Assert.That(at, Is.EqualTo(-1), $"{message}: first differing byte at {at} (lengths {expected.Length} and {actual.Length})");
    }
}

/// <summary>A poisoned region of <see cref="Length"/> bytes between two poisoned guard regions.</summary>
public sealed class GuardedBuffer
{
    public GuardedBuffer(int length)
    {
        Length = length;
        Backing = Sentinel.Poisoned(length + 2 * Sentinel.GuardBytes);
    }

    public byte[] Backing { get; }

    public int Length { get; }

    public Memory<byte> Memory => Backing.AsMemory(Sentinel.GuardBytes, Length);

    public Span<byte> Span => Backing.AsSpan(Sentinel.GuardBytes, Length);

    public void AssertGuardsIntact(string message)
    {
        ReadOnlySpan<byte> all = Backing;
        int before = all[..Sentinel.GuardBytes].IndexOfAnyExcept(Sentinel.Byte);
        int after = all[(Sentinel.GuardBytes + Length)..].IndexOfAnyExcept(Sentinel.Byte);
        Assert.That(before, Is.EqualTo(-1), $"{message}: guard before the buffer overwritten at {before}");
        Assert.That(after, Is.EqualTo(-1), $"{message}: guard after the buffer overwritten at {after}");
    }
}
