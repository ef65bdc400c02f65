namespace MixKV.SafeTensors.Tests;

/// <summary>The streaming writer's bookkeeping: chunking, order, and exact byte counts per tensor.</summary>
[TestFixture]
public sealed class StreamingWriterTests
{
    private static readonly TensorDeclaration[] TwoTensors =
    [
        new("first", SafeTensorDType.F32, [4]),
        new("second", SafeTensorDType.I32, [2]),
    ];

    [Test]
    public void ChunkedWrites_ProduceTheSameFileAsOneWrite()
    {
        const int seed = 606;
        var rng = new Random(seed);
        byte[] first = RandomTensorData.Create(SafeTensorDType.F32, 4, rng);
        byte[] second = RandomTensorData.Create(SafeTensorDType.I32, 2, rng);
        using var temp = new TempDirectory();
        string path = temp.File("chunked.safetensors");

        using (var writer = new SafeTensorsWriter(File.Create(path), TwoTensors))
        {
            writer.WriteData("first", first.AsSpan(0, 3));
            writer.WriteData("first", first.AsSpan(3, 0));
            writer.WriteData("first", first.AsSpan(3, 13));
            writer.WriteData("second", second.AsSpan(0, 8));
            Assert.That(writer.IsComplete, Is.True);
            writer.Finish();
        }

        using var file = SafeTensorsFile.Open(path);
        Assert.Multiple(() =>
        {
            Assert.That(file.GetBytes(file.Get("first")).ToArray(), Is.EqualTo(first), $"seed {seed}");
            Assert.That(file.GetBytes(file.Get("second")).ToArray(), Is.EqualTo(second), $"seed {seed}");
        });
    }

    [Test]
    public void WriteData_ChunkPastTensorEnd_Throws()
    {
        using var writer = new SafeTensorsWriter(new MemoryStream(), TwoTensors);
        writer.WriteData("first", new byte[10]);

        var ex = Assert.Throws<ArgumentException>(() => writer.WriteData("first", new byte[7]));

        Assert.That(ex!.Message, Does.Contain("'first'").And.Contain("6 bytes still expected"));
        writer.WriteData("first", new byte[6]);
        writer.WriteData("second", new byte[8]);
    }

    [Test]
    public void WriteData_NextTensorBeforeCurrentIsFull_Throws()
    {
        using var writer = new SafeTensorsWriter(new MemoryStream(), TwoTensors);
        writer.WriteData("first", new byte[4]);

        var ex = Assert.Throws<InvalidOperationException>(() => writer.WriteData("second", new byte[8]));

        Assert.That(ex!.Message, Does.Contain("'first' has 4 of 16 bytes"));
        writer.WriteData("first", new byte[12]);
        writer.WriteData("second", new byte[8]);
    }

    [Test]
    public void WriteData_EarlierTensorAfterMovingOn_Throws()
    {
        using var writer = new SafeTensorsWriter(new MemoryStream(), TwoTensors);
        writer.WriteData("first", new byte[16]);
        writer.WriteData("second", new byte[4]);

        Assert.Throws<InvalidOperationException>(() => writer.WriteData("first", ReadOnlySpan<byte>.Empty));
        writer.WriteData("second", new byte[4]);
    }

    [Test]
    public void WriteData_UndeclaredTensor_Throws()
    {
        using var writer = new SafeTensorsWriter(new MemoryStream(), TwoTensors);

        Assert.Throws<ArgumentException>(() => writer.WriteData("third", new byte[4]));
        writer.WriteData("first", new byte[16]);
        writer.WriteData("second", new byte[8]);
    }

    [Test]
    public void EmptyTensors_NeedNoWrite_ButMayBeNamed()
    {
        TensorDeclaration[] tensors =
        [
            new("empty1", SafeTensorDType.F32, [0]),
            new("data", SafeTensorDType.F16, [1]),
            new("empty2", SafeTensorDType.BF16, [3, 0]),
        ];
        using var writer = new SafeTensorsWriter(new MemoryStream(), tensors);

        writer.WriteData("data", new byte[2]);
        writer.WriteData("empty2", ReadOnlySpan<byte>.Empty);

        Assert.That(writer.IsComplete, Is.True);
        writer.Finish();
    }

    [Test]
    public void Finish_WithShortTensor_ThrowsNamingIt()
    {
        var writer = new SafeTensorsWriter(new MemoryStream(), TwoTensors);
        writer.WriteData("first", new byte[16]);

        var ex = Assert.Throws<InvalidOperationException>(writer.Finish);

        Assert.That(ex!.Message, Does.Contain("'second' has 0 of 8 bytes"));
    }

    [Test]
    public void Dispose_WithoutFinish_ChecksCompleteness()
    {
        var incomplete = new SafeTensorsWriter(new MemoryStream(), TwoTensors);
        Assert.Throws<InvalidOperationException>(incomplete.Dispose);

        var stream = new MemoryStream();
        var complete = new SafeTensorsWriter(stream, TwoTensors);
        complete.WriteData("first", new byte[16]);
        complete.WriteData("second", new byte[8]);
        Assert.DoesNotThrow(complete.Dispose);
        Assert.That(stream.CanWrite, Is.False, "the stream is disposed unless leaveOpen");
    }

    [Test]
    public void FailedStream_MakesWriterRefuseFurtherUse_AndDisposeStaysQuiet()
    {
        var stream = new FailingAfterStream(limit: 100);
        var writer = new SafeTensorsWriter(stream, [new TensorDeclaration("big", SafeTensorDType.F32, [64])]);

        Assert.Throws<IOException>(() => writer.WriteData("big", new byte[256]));
        Assert.Throws<InvalidOperationException>(() => writer.WriteData("big", new byte[4]));
        Assert.DoesNotThrow(writer.Dispose);
    }

    [Test]
    public void Declare_MetadataKeyAsTensorName_Throws()
    {
        Assert.Throws<ArgumentException>(() => _ = new SafeTensorsWriter(new MemoryStream(), [new TensorDeclaration("__metadata__", SafeTensorDType.F32, [1])]));
    }

    [Test]
    public void Declare_InvalidTensors_Throw()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => _ = new SafeTensorsWriter(new MemoryStream(), [new("a", SafeTensorDType.F32, [1]), new("a", SafeTensorDType.F32, [1])]), "duplicate");
            Assert.Throws<ArgumentException>(() => _ = new SafeTensorsWriter(new MemoryStream(), [new("a", SafeTensorDType.F32, [-1])]), "negative");
            Assert.Throws<ArgumentException>(() => _ = new SafeTensorsWriter(new MemoryStream(), [new("a", SafeTensorDType.F32, [1L << 62, 4])]), "overflow");
            Assert.Throws<ArgumentException>(() => _ = new SafeTensorsWriter(new MemoryStream(), [new("a", (SafeTensorDType)99, [1])]), "dtype");
        });
    }

    /// <summary>A stream that fails once a byte budget is spent, standing in for a full disk.</summary>
    private sealed class FailingAfterStream(long limit) : MemoryStream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Length + buffer.Length > limit)
            {
                throw new IOException("disk full");
            }

            base.Write(buffer);
        }
    }
}
