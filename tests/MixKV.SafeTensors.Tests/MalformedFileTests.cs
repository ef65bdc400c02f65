namespace MixKV.SafeTensors.Tests;

/// <summary>Every kind of damage in <see cref="MalformedFiles"/> is refused with a one-line message that says what is wrong.</summary>
[TestFixture]
public sealed class MalformedFileTests
{
    private static IEnumerable<MalformedFiles.Variant> Variants => MalformedFiles.All;

    [TestCaseSource(nameof(Variants))]
    public void Open_MalformedFile_ThrowsFormatExceptionWithHint(MalformedFiles.Variant variant)
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        variant.Write(path);

        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path).Dispose());
        TestContext.Out.WriteLine(ex!.Message);

        Assert.Multiple(() =>
        {
            Assert.That(ex.Message, Does.Contain(variant.ExpectedHint), variant.Name);
            Assert.That(ex.Message, Does.StartWith(path), "the message names the file");
            Assert.That(ex.Message, Does.Not.Contain('\n'), "the message is one line");
        });
    }

    [Test]
    public void Open_MalformedFile_CanBeDeletedAfterwards()
    {
        // A failed open must release the map and the handle; otherwise the delete fails on Windows and leaks on Linux.
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        MalformedFiles.All.Single(v => v.Name == "overlapping tensors").Write(path);

        Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path));
        File.Delete(path);

        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void Open_TensorNameWithLineBreak_MessageStaysOneLine()
    {
        using var temp = new TempDirectory();
        string path = temp.File("bad.safetensors");
        MalformedFiles.WriteWithHeader(path, """{"a\nb": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}""", 8);

        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Open(path));

        Assert.That(ex!.Message, Does.Not.Contain('\n').And.Contain("unknown dtype"));
    }

    [Test]
    public void Open_MissingFile_ThrowsFileNotFound()
    {
        using var temp = new TempDirectory();

        Assert.Throws<FileNotFoundException>(() => SafeTensorsFile.Open(temp.File("absent.safetensors")));
    }
}
