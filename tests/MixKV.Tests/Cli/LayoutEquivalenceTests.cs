using MixKV.SafeTensors;
using MixKV.Tensors;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>The same logical cache stored [Hkv, N, D] (hnd) and [N, Hkv, D] (nhd) compresses to the same bytes.</summary>
[TestFixture]
public sealed class LayoutEquivalenceTests
{
    [TestCase(DType.F32, "adakv", 31)]
    [TestCase(DType.BF16, "pyramidkv", 32)]
    public void HndAndNhdGiveIdenticalOutputs(DType dtype, string method, int seed)
    {
        using var folder = new CliTempFolder();
        string hnd = folder.File("hnd.safetensors"), nhd = folder.File("nhd.safetensors");
        LayerShape[] layers = [new(3, 2, 160, 16, 10), new(3, 2, 160, 16, 10)];
        CacheFile.WriteRandom(hnd, layers, dtype, TensorLayout.Hnd, seed);
        Transpose(hnd, nhd);
        string context = $"{dtype}, {method}, seed {seed}";

        string[] common = ["--method", method, "--window", "10", "--budget", "30", "--scores"];
        CliRun a = CliRun.Of(["compress", "--input", hnd, "--output", folder.File("a"), "--layout", "hnd", .. common]);
        CliRun b = CliRun.Of(["compress", "--input", nhd, "--output", folder.File("b"), "--layout", "nhd", .. common]);

        Assert.That(a.ExitCode, Is.EqualTo(0), $"{context}: {a}");
        Assert.That(b.ExitCode, Is.EqualTo(0), $"{context}: {b}");
        using SafeTensorsFile fa = SafeTensorsFile.Open(folder.File("a"));
        using SafeTensorsFile fb = SafeTensorsFile.Open(folder.File("b"));
        Assert.That(fb.Tensors.Select(t => t.Name), Is.EqualTo(fa.Tensors.Select(t => t.Name)), context);
        foreach (TensorInfo tensor in fa.Tensors)
        {
            Assert.That(fb.Get(tensor.Name).Shape, Is.EqualTo(tensor.Shape), $"{context}: {tensor.Name} shape");
            Assert.That(fb.GetBytes(fb.Get(tensor.Name)).SequenceEqual(fa.GetBytes(tensor)), Is.True, $"{context}: {tensor.Name} bytes");
        }
    }

    /// <summary>Rewrites every [H, N, D] tensor of <paramref name="source"/> as [N, H, D].</summary>
    private static void Transpose(string source, string target)
    {
        using SafeTensorsFile file = SafeTensorsFile.Open(source);
        var tensors = new List<(string, SafeTensorDType, long[], ReadOnlyMemory<byte>)>();
        foreach (TensorInfo tensor in file.Tensors)
        {
            int heads = (int)tensor.Shape[0], tokens = (int)tensor.Shape[1], rowBytes = (int)(tensor.ByteLength / heads / tokens);
            ReadOnlySpan<byte> bytes = file.GetBytes(tensor);
            var moved = new byte[bytes.Length];
            for (int h = 0; h < heads; h++)
            {
                for (int n = 0; n < tokens; n++)
                {
                    bytes.Slice(((h * tokens) + n) * rowBytes, rowBytes).CopyTo(moved.AsSpan(((n * heads) + h) * rowBytes));
                }
            }

            tensors.Add((tensor.Name, tensor.DType, [tokens, heads, tensor.Shape[2]], moved));
        }

        SafeTensorsWriter.Write(target, tensors);
    }
}
