using System.Buffers.Binary;

namespace MixKV.SafeTensors.Tests;

/// <summary>A 64 MB file opens through the memory map without being read into managed memory.</summary>
[TestFixture]
public sealed class LargeFileTests
{
    private const int Side = 4096; // 4096 x 4096 F32 = 64 MB; every index up to 2^24 is exact as a float.

    [Test]
    public void SixtyFourMegabyteFile_OpensLazily_AndSpotChecks()
    {
        using var temp = new TempDirectory();
        string path = temp.File("large.safetensors");
        TensorDeclaration[] tensors =
        [
            new("big", SafeTensorDType.F32, [Side, Side]),
            new("tail", SafeTensorDType.I32, [1]),
        ];
        SafeTensorsWriter.Write(path, tensors, WriteIndexValues);

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        using var file = SafeTensorsFile.Open(path);
        TensorInfo big = file.Get("big");
        int wholeLength = file.GetBytes(big).Length;
        long[] probes = [0, 1, Side - 1, (long)Side * (Side / 2) + 7, ((long)Side * Side) - 1];
        var values = probes.Select(i => BinaryPrimitives.ReadSingleLittleEndian(file.GetBytes(big, i * 4, 4))).ToArray();
        int tail = BinaryPrimitives.ReadInt32LittleEndian(file.GetBytes(file.Get("tail")));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.Multiple(() =>
        {
            Assert.That(wholeLength, Is.EqualTo(64 * 1024 * 1024));
            Assert.That(values, Is.EqualTo(probes.Select(i => (float)i).ToArray()));
            Assert.That(tail, Is.EqualTo(-42));
            Assert.That(allocated, Is.LessThan(1024 * 1024), "opening and probing must not copy the file into managed memory");
        });
    }

    private static void WriteIndexValues(SafeTensorsWriter writer)
    {
        // One row per chunk exercises the chunked path and keeps the writer's memory small.
        var row = new byte[Side * 4];
        for (int r = 0; r < Side; r++)
        {
            for (int c = 0; c < Side; c++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(row.AsSpan(c * 4), (float)((r * Side) + c));
            }

            writer.WriteData("big", row);
        }

        writer.WriteData("tail", BitConverter.GetBytes(-42));
    }
}
