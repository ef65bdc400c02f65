using System.Buffers.Binary;

namespace MixKV.SafeTensors.Tests;

/// <summary>The writer pads the header with spaces so tensor data starts on an 8-byte boundary.</summary>
[TestFixture]
public sealed class HeaderAlignmentTests
{
    [Test]
    public void DataSection_StartsAligned_ForManyNameLengths()
    {
        using var temp = new TempDirectory();
        for (int nameLength = 1; nameLength <= 16; nameLength++)
        {
            string path = temp.File($"aligned-{nameLength}.safetensors");
            string name = new('n', nameLength);
            SafeTensorsWriter.Write(path, [(name, SafeTensorDType.F16, [3], new byte[6])]);

            byte[] bytes = File.ReadAllBytes(path);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength);

            Assert.Multiple(() =>
            {
                Assert.That((8 + headerLength) % 8, Is.Zero, $"name length {nameLength}");
                Assert.That(header.TrimEnd(' '), Does.EndWith("}"), "padding is spaces only");
                Assert.That((long)bytes.Length, Is.EqualTo(8 + (long)headerLength + 6), "data follows the padding directly");
            });
        }
    }

    [Test]
    public void StreamingWriter_ReportsAlignedHeaderLength()
    {
        using var stream = new MemoryStream();
        using var writer = new SafeTensorsWriter(stream, [new TensorDeclaration("x", SafeTensorDType.F32, [5])], leaveOpen: true);

        Assert.Multiple(() =>
        {
            Assert.That((8 + writer.HeaderLength) % 8, Is.Zero);
            Assert.That(stream.Length, Is.EqualTo(8 + writer.HeaderLength), "the header is written before any data");
            Assert.That(writer.DataSectionLength, Is.EqualTo(20));
        });
        writer.WriteData("x", new byte[20]);
    }
}
