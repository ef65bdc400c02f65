namespace MixKV.SafeTensors.Tests;

/// <summary>Layouts the format allows, though our writer never produces them, must still open.</summary>
[TestFixture]
public sealed class LenientLayoutTests
{
    [Test]
    public void Open_GapsAndTrailingBytes_AreAllowed()
    {
        using var temp = new TempDirectory();
        string path = temp.File("gaps.safetensors");
        MalformedFiles.WriteWithHeader(path, """{"b": {"dtype": "I32", "shape": [1], "data_offsets": [12, 16]}, "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}""", 32);

        using var file = SafeTensorsFile.Open(path);

        Assert.Multiple(() =>
        {
            Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "b", "a" }), "header order is kept");
            Assert.That(file.DataSectionLength, Is.EqualTo(32));
            Assert.That(file.Get("b").DataOffset, Is.EqualTo(12));
        });
    }

    [Test]
    public void Open_EmptyTensorInsideAnotherRange_IsNotAnOverlap()
    {
        using var temp = new TempDirectory();
        string path = temp.File("empty-inside.safetensors");
        MalformedFiles.WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [4, 4]}}""", 8);

        using var file = SafeTensorsFile.Open(path);

        Assert.That(file.Get("e").ByteLength, Is.Zero);
    }

    [Test]
    public void Open_UnknownEntryFields_AreSkipped()
    {
        using var temp = new TempDirectory();
        string path = temp.File("extra.safetensors");
        MalformedFiles.WriteWithHeader(path, """{"a": {"future": {"x": [1, 2]}, "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", 4);

        using var file = SafeTensorsFile.Open(path);

        Assert.That(file.Get("a").ElementCount, Is.EqualTo(1));
    }

    [Test]
    public void Open_EmptyHeaderAndNoData_OpensWithNoTensors()
    {
        using var temp = new TempDirectory();
        string path = temp.File("nothing.safetensors");
        MalformedFiles.WriteWithHeader(path, "{}      ", 0);

        using var file = SafeTensorsFile.Open(path);

        Assert.Multiple(() =>
        {
            Assert.That(file.Tensors, Is.Empty);
            Assert.That(file.Metadata, Is.Empty);
            Assert.That(file.DataSectionLength, Is.Zero);
        });
    }

    [Test]
    public void Open_ZeroDimensionBesideHugeOnes_IsEmptyNotOverflow()
    {
        using var temp = new TempDirectory();
        string path = temp.File("zero-huge.safetensors");
        MalformedFiles.WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [4611686018427387904, 4611686018427387904, 0], "data_offsets": [0, 0]}}""", 0);

        using var file = SafeTensorsFile.Open(path);

        Assert.That(file.Get("a").ElementCount, Is.Zero);
    }
}
