namespace MixKV.SafeTensors.Tests;

/// <summary>What the writer puts in comes back out of the reader, byte for byte, with the same header facts.</summary>
[TestFixture]
public sealed class RoundTripTests
{
    private static readonly long[][] Shapes =
    [
        [],          // scalar
        [1],
        [7],
        [3, 5],
        [2, 3, 4],
        [0],         // empty
        [4, 0, 2],   // empty with other dimensions
    ];

    [TestCase(SafeTensorDType.F32, 101)]
    [TestCase(SafeTensorDType.F16, 202)]
    [TestCase(SafeTensorDType.BF16, 303)]
    [TestCase(SafeTensorDType.I32, 404)]
    public void EveryShape_RoundTripsForDType(SafeTensorDType dtype, int seed)
    {
        var rng = new Random(seed);
        var tensors = Shapes
            .Select((shape, i) => (name: $"t{i}", dtype, shape, data: (ReadOnlyMemory<byte>)RandomTensorData.Create(dtype, shape.Aggregate(1L, (a, b) => a * b), rng)))
            .ToList();
        using var temp = new TempDirectory();
        string path = temp.File("model.safetensors");

        SafeTensorsWriter.Write(path, tensors);

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(tensors.Select(t => t.name)), $"seed {seed}");
        foreach (var expected in tensors)
        {
            TensorInfo info = file.Get(expected.name);
            Assert.Multiple(() =>
            {
                Assert.That(info.DType, Is.EqualTo(dtype), $"seed {seed}, {expected.name}");
                Assert.That(info.Shape, Is.EqualTo(expected.shape), $"seed {seed}, {expected.name}");
                Assert.That(info.ByteLength, Is.EqualTo(expected.data.Length), $"seed {seed}, {expected.name}");
                Assert.That(info.ElementCount, Is.EqualTo(expected.data.Length / dtype.ByteSize()), $"seed {seed}, {expected.name}");
                Assert.That(file.GetBytes(info).ToArray(), Is.EqualTo(expected.data.ToArray()), $"seed {seed}, {expected.name}");
            });
        }
    }

    [Test]
    public void MixedDTypes_AndMetadata_RoundTrip()
    {
        const int seed = 505;
        var rng = new Random(seed);
        var tensors = new List<(string name, SafeTensorDType dtype, long[] shape, ReadOnlyMemory<byte> data)>
        {
            ("layers.0.k", SafeTensorDType.BF16, [4, 8], RandomTensorData.Create(SafeTensorDType.BF16, 32, rng)),
            ("layers.0.v", SafeTensorDType.F16, [4, 8], RandomTensorData.Create(SafeTensorDType.F16, 32, rng)),
            ("scale", SafeTensorDType.F32, [], RandomTensorData.Create(SafeTensorDType.F32, 1, rng)),
            ("positions", SafeTensorDType.I32, [3], RandomTensorData.Create(SafeTensorDType.I32, 3, rng)),
            ("ünïcode name ✓", SafeTensorDType.F32, [1], RandomTensorData.Create(SafeTensorDType.F32, 1, rng)),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "quote \" and ü" };
        using var temp = new TempDirectory();
        string path = temp.File("mixed.safetensors");

        SafeTensorsWriter.Write(path, tensors, metadata);

        using var file = SafeTensorsFile.Open(path);
        Assert.That(file.Metadata, Is.EquivalentTo(metadata));
        foreach (var expected in tensors)
        {
            Assert.That(file.TryGet(expected.name, out TensorInfo? info), Is.True, $"seed {seed}, {expected.name}");
            var copy = new byte[info!.ByteLength];
            file.CopyTo(info, copy);
            Assert.That(copy, Is.EqualTo(expected.data.ToArray()), $"seed {seed}, {expected.name}");
        }
    }

    [Test]
    public void NoTensors_RoundTripsToAnEmptyFile()
    {
        using var temp = new TempDirectory();
        string path = temp.File("empty.safetensors");

        SafeTensorsWriter.Write(path, []);

        using var file = SafeTensorsFile.Open(path);
        Assert.Multiple(() =>
        {
            Assert.That(file.Tensors, Is.Empty);
            Assert.That(file.DataSectionLength, Is.Zero);
        });
    }

    [Test]
    public void OnlyEmptyTensors_OpenWithEmptyDataSection()
    {
        using var temp = new TempDirectory();
        string path = temp.File("zeros.safetensors");

        SafeTensorsWriter.Write(path, [("a", SafeTensorDType.F32, [0], ReadOnlyMemory<byte>.Empty), ("b", SafeTensorDType.I32, [2, 0], ReadOnlyMemory<byte>.Empty)]);

        using var file = SafeTensorsFile.Open(path);
        Assert.Multiple(() =>
        {
            Assert.That(file.DataSectionLength, Is.Zero);
            Assert.That(file.GetBytes(file.Get("a")).Length, Is.Zero);
            Assert.That(file.Get("b").Shape, Is.EqualTo(new long[] { 2, 0 }));
        });
    }
}
