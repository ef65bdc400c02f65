namespace MixKV.SafeTensors.Tests;

[TestFixture]
public sealed class DTypeTests
{
    [TestCase(SafeTensorDType.F32, 4, "F32")]
    [TestCase(SafeTensorDType.F16, 2, "F16")]
    [TestCase(SafeTensorDType.BF16, 2, "BF16")]
    [TestCase(SafeTensorDType.I32, 4, "I32")]
    public void SizeAndName_MatchTheFormat(SafeTensorDType dtype, int size, string name)
    {
        Assert.Multiple(() =>
        {
            Assert.That(dtype.ByteSize(), Is.EqualTo(size));
            Assert.That(dtype.FormatName(), Is.EqualTo(name));
            Assert.That(SafeTensorDTypeExtensions.TryParseFormatName(name, out SafeTensorDType parsed), Is.True);
            Assert.That(parsed, Is.EqualTo(dtype));
        });
    }

    [TestCase("f32")]
    [TestCase("F64")]
    [TestCase("")]
    [TestCase(null)]
    public void TryParseFormatName_RejectsOtherSpellings(string? name)
    {
        Assert.That(SafeTensorDTypeExtensions.TryParseFormatName(name, out _), Is.False);
    }
}
