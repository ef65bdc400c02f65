namespace MixKV.SafeTensors.Tests;

/// <summary>The reader's lookups, copies and lifetime rules.</summary>
[TestFixture]
public sealed class ReaderApiTests
{
    private TempDirectory _temp = null!;
    private string _path = null!;

    [SetUp]
    public void SetUp()
    {
        _temp = new TempDirectory();
        _path = _temp.File("api.safetensors");
        SafeTensorsWriter.Write(_path, [("a", SafeTensorDType.I32, [2], new byte[] { 1, 0, 0, 0, 2, 0, 0, 0 })]);
    }

    [TearDown]
    public void TearDown() => _temp.Dispose();

    [Test]
    public void TryGet_And_Get_FindByName()
    {
        using var file = SafeTensorsFile.Open(_path);

        Assert.Multiple(() =>
        {
            Assert.That(file.TryGet("a", out TensorInfo? info), Is.True);
            Assert.That(info!.Name, Is.EqualTo("a"));
            Assert.That(file.TryGet("missing", out _), Is.False);
            Assert.That(() => file.Get("missing"), Throws.TypeOf<KeyNotFoundException>().With.Message.Contain("'missing'"));
        });
    }

    [Test]
    public void CopyTo_TooSmallDestination_Throws()
    {
        using var file = SafeTensorsFile.Open(_path);

        Assert.Throws<ArgumentException>(() => file.CopyTo(file.Get("a"), new byte[7]));
    }

    [Test]
    public void GetBytes_Slice_ReturnsPart()
    {
        using var file = SafeTensorsFile.Open(_path);
        TensorInfo a = file.Get("a");

        Assert.Multiple(() =>
        {
            Assert.That(file.GetBytes(a, 4, 4).ToArray(), Is.EqualTo(new byte[] { 2, 0, 0, 0 }));
            Assert.That(() => file.GetBytes(a, 6, 4), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => file.GetBytes(a, -1, 1), Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }

    [Test]
    public void TensorInfoFromAnotherFile_IsRejected()
    {
        string otherPath = _temp.File("other.safetensors");
        SafeTensorsWriter.Write(otherPath, [("a", SafeTensorDType.I32, [2], new byte[8])]);
        using var file = SafeTensorsFile.Open(_path);
        using var other = SafeTensorsFile.Open(otherPath);

        Assert.Throws<ArgumentException>(() => file.GetBytes(other.Get("a")));
    }

    [Test]
    public void AfterDispose_ReadsThrow_AndDisposeIsIdempotent()
    {
        var file = SafeTensorsFile.Open(_path);
        TensorInfo a = file.Get("a");
        file.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(() => file.GetBytes(a), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => file.CopyTo(a, new byte[8]), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(file.Dispose, Throws.Nothing);
        });
    }

    [Test]
    public void OpenFile_CanBeOpenedTwiceForReading()
    {
        using var first = SafeTensorsFile.Open(_path);
        using var second = SafeTensorsFile.Open(_path);

        Assert.That(second.GetBytes(second.Get("a")).ToArray(), Is.EqualTo(first.GetBytes(first.Get("a")).ToArray()));
    }
}
