using System.Buffers;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// HugePageMemory: 2 MB aligned native memory of the asked length, every byte written and read back
/// through Memory and Span, pins at the element's address, a HeadTensor over it reads like one over an
/// array, and it refuses a negative length and any use after Dispose.
/// </summary>
[TestFixture]
public sealed unsafe class HugePageMemoryTests
{
    [Test]
    public void HoldsItsBytes_At2MbAlignment([Values(0, 1, 4096, (3 << 20) + 7)] int length)
    {
        var rng = TestRandom.ForCurrentTest();
        using var memory = new HugePageMemory(length);
        byte[] bytes = Enumerable.Range(0, length).Select(_ => (byte)rng.Int(0, 256)).ToArray();
        bytes.CopyTo(memory.Memory);

        Assert.That(memory.Memory.Length, Is.EqualTo(length));
        Assert.That(memory.Memory.ToArray(), Is.EqualTo(bytes), rng.Say("read back"));
        using MemoryHandle pin = memory.Pin();
        Assert.That((long)pin.Pointer % (2 << 20), Is.EqualTo(0L), "2 MB alignment");
        if (length > 1)
        {
            using MemoryHandle middle = memory.Pin(length / 2);
            Assert.That((long)middle.Pointer - (long)pin.Pointer, Is.EqualTo(length / 2));
        }
    }

    [Test]
    public void HeadTensorOverIt_ReadsLikeOneOverAnArray()
    {
        var rng = TestRandom.ForCurrentTest();
        const int heads = 2, tokens = 5, dim = 4;
        byte[] bytes = Enumerable.Range(0, heads * tokens * dim * 4).Select(_ => (byte)rng.Int(0, 256)).ToArray();
        using var memory = new HugePageMemory(bytes.Length);
        bytes.CopyTo(memory.Memory);

        HeadTensor native = HeadTensor.Create(memory.Memory, DType.F32, TensorLayout.Hnd, heads, tokens, dim);
        HeadTensor managed = HeadTensor.Create(bytes, DType.F32, TensorLayout.Hnd, heads, tokens, dim);
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < tokens; n++)
            {
                Assert.That(native.Row(h, n).ToArray(), Is.EqualTo(managed.Row(h, n).ToArray()), rng.Say($"row [{h}, {n}]"));
            }
        }
    }

    [Test]
    public void RefusesNegativeLengths_AndUseAfterDispose()
    {
        Assert.That(() => new HugePageMemory(-1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("length"));
        var memory = new HugePageMemory(64);
        ((IDisposable)memory).Dispose();
        Assert.That(() => memory.GetSpan(), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => memory.Pin(), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(() => memory.Pin(65), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
