namespace MixKV.SafeTensors.Tests;

/// <summary>Writing to a path either leaves a complete file or leaves the destination as it was, with no temp files.</summary>
[TestFixture]
public sealed class AtomicWriteTests
{
    [Test]
    public void FailedWrite_LeavesNoFile()
    {
        using var temp = new TempDirectory();
        string path = temp.File("out.safetensors");

        // Declares 8 bytes but supplies 4, so the writer rejects the file at Finish.
        Assert.Throws<InvalidOperationException>(() =>
            SafeTensorsWriter.Write(path, [new TensorDeclaration("a", SafeTensorDType.F32, [2])], w => w.WriteData("a", new byte[4])));

        Assert.That(Directory.GetFileSystemEntries(temp.Path), Is.Empty);
    }

    [Test]
    public void FailedWrite_KeepsPreviousFile()
    {
        using var temp = new TempDirectory();
        string path = temp.File("out.safetensors");
        SafeTensorsWriter.Write(path, [("old", SafeTensorDType.I32, [1], new byte[4])]);
        byte[] before = File.ReadAllBytes(path);

        Assert.Throws<InvalidOperationException>(() =>
            SafeTensorsWriter.Write(path, [new TensorDeclaration("a", SafeTensorDType.F32, [2])], _ => throw new InvalidOperationException("caller failed")));

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
            Assert.That(Directory.GetFileSystemEntries(temp.Path), Has.Length.EqualTo(1));
        });
    }

    [Test]
    public void CallerException_IsTheOneSeen()
    {
        using var temp = new TempDirectory();

        var ex = Assert.Throws<InvalidOperationException>(() =>
            SafeTensorsWriter.Write(temp.File("x.safetensors"), [new TensorDeclaration("a", SafeTensorDType.F32, [2])], _ => throw new InvalidOperationException("caller failed")));

        Assert.That(ex!.Message, Is.EqualTo("caller failed"));
    }

    [Test]
    public void SuccessfulWrite_ReplacesExistingFile()
    {
        using var temp = new TempDirectory();
        string path = temp.File("out.safetensors");
        SafeTensorsWriter.Write(path, [("old", SafeTensorDType.I32, [1], new byte[4])]);

        SafeTensorsWriter.Write(path, [("new", SafeTensorDType.F16, [2], new byte[4])]);

        using var file = SafeTensorsFile.Open(path);
        Assert.Multiple(() =>
        {
            Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "new" }));
            Assert.That(Directory.GetFileSystemEntries(temp.Path), Has.Length.EqualTo(1));
        });
    }
}
