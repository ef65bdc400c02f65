using MixKV.Kernels.Runtime;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// MIXKV_KERNEL_SOURCES: a copy of kernels/ read in place of the embedded sources (bench/gpu-check.sh
/// times the kernels of another commit with it), and a clear error when the directory is not one.
/// </summary>
[TestFixture]
public sealed class KernelSourcesTests
{
    private string directory = "";

    [SetUp]
    public void CreateDirectory() => directory = Directory.CreateTempSubdirectory("mixkv-kernel-sources-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(directory, recursive: true);

    [Test]
    public void ADirectoryCopyOfTheSourcesReadsAsTheEmbeddedOnesWithItsOwnEdits()
    {
        var (files, headers) = KernelSources.Read(null);
        foreach (KernelFile file in files)
        {
            Write(file.Name, file.Source);
        }

        foreach ((string name, string text) in headers)
        {
            Write(name, text);
        }

        // One edit, so the test tells a read of the directory from a read of the resources.
        KernelFile edited = files.First(f => f.Name == "select.cu");
        Write(edited.Name, edited.Source + "\nMIXKV_KERNEL_INSTANCE(\"select_probe\", select_topk, SelectParams)\n");

        var (copiedFiles, copiedHeaders) = KernelSources.Read(directory);

        Assert.That(copiedFiles.Select(f => f.Name), Is.EqualTo(files.Select(f => f.Name)), "the same .cu files, in the same order");
        Assert.That(copiedHeaders.Keys.Order(StringComparer.Ordinal), Is.EqualTo(headers.Keys.Order(StringComparer.Ordinal)), "the same headers, common/ included");
        foreach ((string name, string text) in headers)
        {
            Assert.That(copiedHeaders[name], Is.EqualTo(text), name);
        }

        foreach (KernelFile file in copiedFiles.Where(f => f.Name != edited.Name))
        {
            KernelFile original = files.Single(f => f.Name == file.Name);
            Assert.That(file.Source, Is.EqualTo(original.Source), file.Name);
            Assert.That(file.Instances, Is.EqualTo(original.Instances), file.Name);
        }

        Assert.That(copiedFiles.Single(f => f.Name == edited.Name).Instances, Is.EqualTo(edited.Instances.Append("select_probe")));
    }

    [Test]
    public void AMissingDirectoryIsNamedWithTheVariable()
    {
        string missing = Path.Combine(directory, "absent");
        var error = Assert.Throws<DirectoryNotFoundException>(() => KernelSources.Read(missing));
        Assert.That(error!.Message, Does.Contain("MIXKV_KERNEL_SOURCES").And.Contain(missing));
    }

    [Test]
    public void ADirectoryWithoutKernelFilesIsRefused()
    {
        Write("common/reduce.cuh", "// a header alone");
        var error = Assert.Throws<InvalidDataException>(() => KernelSources.Read(directory));
        Assert.That(error!.Message, Does.Contain("MIXKV_KERNEL_SOURCES").And.Contain("no .cu file"));
    }

    private void Write(string name, string text)
    {
        string path = Path.Combine(directory, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
