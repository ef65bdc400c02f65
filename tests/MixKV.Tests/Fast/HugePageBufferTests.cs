using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>The exp tiles' native buffer: 2 MB aligned, every element writable and read back, grown on demand.</summary>
[TestFixture]
public sealed unsafe class HugePageBufferTests
{
    [Test]
    public void Ensure_GivesAlignedWritableMemory_AndGrows([Values(1, 1000, (3 << 20) / 4 + 5)] int first)
    {
        var rng = TestRandom.ForCurrentTest();
        var buffer = new HugePageBuffer<float>();
        foreach (int count in new[] { first, first / 2, (first * 3) + 17 })
        {
            buffer.Ensure(count);
            Assert.That((long)buffer.Pointer % (2 << 20), Is.EqualTo(0L), rng.Say($"2 MB alignment at {count}"));
            Assert.That(buffer.Length, Is.GreaterThanOrEqualTo(count), rng.Say($"length at {count}"));
            float[] values = Enumerable.Range(0, count).Select(_ => (float)rng.Uniform(-1, 1)).ToArray();
            values.AsSpan().CopyTo(new Span<float>(buffer.Pointer, count));
            Assert.That(new Span<float>(buffer.Pointer, count).ToArray(), Is.EqualTo(values), rng.Say($"read back {count}"));
        }
    }
}
