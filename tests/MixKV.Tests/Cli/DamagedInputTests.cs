using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using MixKV.SafeTensors;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>
/// Damage nobody listed: <see cref="MalformedInputTests"/> names one broken file per rule, so a rule
/// nobody thought of is never tried. Here a valid section-9 input (or redundancy table) gets one to
/// three random edits — numbers in the header swapped for others (0, huge, negative, fractional),
/// characters replaced, spans cut or repeated, tensor names and dtypes changed, the length prefix
/// rewritten, the file cut or grown, non-finite values written into the data — and `mixkv compress`
/// must still keep the exit-code contract: 0 with an output file that opens, or 2 with one line that
/// is ours (not a framework message about an index or an argument named for a local) and no file left
/// behind. Never 1, which would mean the damage reached code that trusted it. A few dozen draws per
/// run, different every run; <c>MIXKV_DAMAGE_DRAWS</c> sets how many.
/// </summary>
[TestFixture]
public sealed class DamagedInputTests
{
    public const string CountVariable = "MIXKV_DAMAGE_DRAWS";

    /// <summary>Texts of framework exceptions that mean a bug let damage through to an index or a slice.</summary>
    private static readonly string[] FrameworkTexts =
    [
        "Specified argument was out of the range",
        "Index was outside the bounds",
        "Value does not fall within the expected range",
        "Arithmetic operation resulted in an overflow",
        "Parameter 'start'",
        "Parameter 'length'",
        "Parameter 'index'",
    ];

    private static int Draws => int.TryParse(Environment.GetEnvironmentVariable(CountVariable), out int n) && n > 0 ? n : 40;

    [Test]
    public void DamagedCacheFileIsCompressedOrRefusedWithExitTwo()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int draw = 0; draw < Draws; draw++)
        {
            using var folder = new CliTempFolder();
            string input = folder.File("in.safetensors"), output = folder.File("out.safetensors");
            (byte[] valid, string[] options) = ValidInput(rng, folder);
            var edits = new List<string>();
            byte[] damaged = valid;
            for (int e = rng.Int(1, 3); e > 0; e--)
            {
                damaged = Damage(rng, damaged, edits);
            }

            File.WriteAllBytes(input, damaged);
            string context = rng.Say($"draw {draw}: {string.Join("; ", edits)}");
            AssertContractKept(CliRun.Of(["compress", "--input", input, "--output", output, .. options]), folder, ["in.safetensors"], output, context, outcomes);
        }

        Report(outcomes);
    }

    [Test]
    public void DamagedRedundancyTableIsUsedOrRefusedWithExitTwo()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int draw = 0; draw < Draws; draw++)
        {
            using var folder = new CliTempFolder();
            string input = folder.File("in.safetensors"), output = folder.File("out.safetensors"), table = folder.File("table.json");
            LayerShape[] layers = Layers(rng);
            CacheFile.WriteRandom(input, layers, rng.Pick([DType.F32, DType.F16, DType.BF16]), TensorLayout.Hnd, rng.Int(0, int.MaxValue - 1));
            string text = "[" + string.Join(",", layers.Select(l => "[" + string.Join(",", Enumerable.Range(0, l.KvHeads).Select(_ => rng.Uniform(0, 1).ToString("R", CultureInfo.InvariantCulture))) + "]")) + "]";
            var edits = new List<string>();
            for (int e = rng.Int(1, 2); e > 0; e--)
            {
                text = DamageText(rng, text, edits, RedundancyAlphabet);
            }

            File.WriteAllText(table, text);
            string context = rng.Say($"draw {draw}: table {text}");
            string[] args = ["compress", "--input", input, "--output", output, "--window", "4", "--budget", "6", "--redundancy", table];
            AssertContractKept(CliRun.Of(args), folder, ["in.safetensors", "table.json"], output, context, outcomes);
        }

        Report(outcomes);
    }

    private static void AssertContractKept(CliRun run, CliTempFolder folder, string[] inputs, string output, string context, SortedDictionary<string, int> outcomes)
    {
        Assert.That(run.ExitCode, Is.EqualTo(0).Or.EqualTo(2), $"{context}: {run}");
        if (run.ExitCode == 0)
        {
            using SafeTensorsFile written = SafeTensorsFile.Open(output);
            Assert.That(written.Tensors, Is.Not.Empty, $"{context}: the output holds the kept rows");
            outcomes["ok"] = outcomes.GetValueOrDefault("ok") + 1;
            return;
        }

        Assert.That(run.StderrLines, Has.Length.EqualTo(1), $"{context}: {run}");
        Assert.That(run.Stderr, Does.StartWith("mixkv: error: ").And.Not.Contain("   at "), $"{context}: {run}");
        foreach (string text in FrameworkTexts)
        {
            Assert.That(run.Stderr, Does.Not.Contain(text), $"{context}: a framework message, not a rule of ours: {run}");
        }

        Assert.That(folder.Names(), Is.EqualTo(inputs), $"{context}: no output or temporary file");
        string line = run.Stderr.TrimEnd().Replace(folder.Path, "<dir>", StringComparison.Ordinal);
        string rule = line.Length > 90 ? line[..90] : line;
        outcomes[rule] = outcomes.GetValueOrDefault(rule) + 1;
    }

    /// <summary>What the draws came to, so a run that only ever hit one rule is visible in the log.</summary>
    private static void Report(SortedDictionary<string, int> outcomes)
    {
        foreach ((string rule, int count) in outcomes)
        {
            TestContext.Out.WriteLine($"{count,4}  {rule}");
        }
    }

    private static LayerShape[] Layers(TestRandom rng) =>
        Enumerable.Range(0, rng.Int(1, 3)).Select(_ => new LayerShape(rng.Int(1, 3), rng.Int(1, 2), rng.Int(6, 24), rng.Int(2, 8), rng.Int(4, 6))).ToArray();

    /// <summary>A valid input and options that compress it (window 4 fits every layer's query rows).</summary>
    private static (byte[] Bytes, string[] Options) ValidInput(TestRandom rng, CliTempFolder folder)
    {
        string path = folder.File("valid.safetensors");
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        CacheFile.WriteRandom(path, Layers(rng), rng.Pick([DType.F32, DType.F16, DType.BF16]), layout, rng.Int(0, int.MaxValue - 1));
        byte[] bytes = File.ReadAllBytes(path);
        File.Delete(path);
        string method = rng.Pick(["snapkv", "pyramidkv", "adakv"]);
        return (bytes, ["--layout", layout == TensorLayout.Hnd ? "hnd" : "nhd", "--window", "4", "--budget", rng.Int(5, 10).ToString(CultureInfo.InvariantCulture), "--method", method, "--scores"]);
    }

    private static byte[] Damage(TestRandom rng, byte[] file, List<string> edits)
    {
        if (file.Length < 8)
        {
            edits.Add("grown by 8 random bytes");
            byte[] grown = [.. file, .. RandomBytes(rng, 8)];
            return grown;
        }

        ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(file);
        int headerLength = (int)Math.Min(declared, (ulong)(file.Length - 8));
        string header = Encoding.UTF8.GetString(file, 8, headerLength);
        byte[] data = file[(8 + headerLength)..];
        switch (rng.Int(0, 5))
        {
            case 0:
            {
                ulong length = rng.Coin() ? (ulong)((long)declared + rng.Int(-8, 8)) : rng.Pick([0UL, 1UL, ulong.MaxValue, (ulong)long.MaxValue + 1, 1UL << 32, (ulong)rng.Int(0, file.Length * 2)]);
                edits.Add($"length prefix {declared} -> {length}");
                byte[] copy = (byte[])file.Clone();
                BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
                return copy;
            }

            case 1:
            {
                if (rng.Coin())
                {
                    int cut = rng.Int(0, file.Length - 1);
                    edits.Add($"cut to {cut} of {file.Length} bytes");
                    return file[..cut];
                }

                int extra = rng.Int(1, 64);
                edits.Add($"grown by {extra} random bytes");
                return [.. file, .. RandomBytes(rng, extra)];
            }

            case 2 when data.Length >= 4:
            {
                // A non-finite element where one of the tensors' values is (fp32 NaN/Inf bits, or
                // their 16-bit forms, which are the high halves for bf16 and 0x7C00/0x7E00 for fp16).
                int at = rng.Int(0, (data.Length / 2) - 1) * 2;
                ushort bits = rng.Pick<ushort>([0x7F80, 0xFF80, 0x7FC0, 0x7C00, 0xFC00, 0x7E00]);
                byte[] copy = (byte[])file.Clone();
                BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(8 + headerLength + at), bits);
                edits.Add($"data bytes {at}..{at + 1} = 0x{bits:X4}");
                return copy;
            }

            default:
            {
                string edited = DamageText(rng, header, edits, HeaderAlphabet);
                byte[] text = Encoding.UTF8.GetBytes(edited);
                // Usually the prefix follows the edit, as a writer that made this header would have it.
                ulong length = rng.Int(0, 3) == 0 ? declared : (ulong)text.Length;
                var bytes = new byte[8 + text.Length + data.Length];
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, length);
                text.CopyTo(bytes, 8);
                data.CopyTo(bytes, 8 + text.Length);
                return bytes;
            }
        }
    }

    private const string HeaderAlphabet = "{}[]\":,0123456789-.eE aZ_\\\u00e9";
    private const string RedundancyAlphabet = "[]{},0123456789-.eE \"nNaI";

    private static readonly string[] Numbers =
        ["0", "1", "-1", "2", "3", "7", "1.5", "1e3", "2147483647", "2147483648", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "NaN", "\"1\"", "null", "[]"];

    private static readonly string[] Words = ["keys", "values", "queries", "scores", "head_lens", "positions", "layers", "F32", "F16", "BF16", "I32", "F64", "U8", "shape", "dtype", "data_offsets", "__metadata__"];

    /// <summary>One edit of a JSON text: a number, a word, a character, a cut span or a repeated one.</summary>
    private static string DamageText(TestRandom rng, string text, List<string> edits, string alphabet)
    {
        if (text.Length == 0)
        {
            edits.Add("empty text -> \"{}\"");
            return "{}";
        }

        switch (rng.Int(0, 4))
        {
            case 0:
            {
                var numbers = System.Text.RegularExpressions.Regex.Matches(text, @"-?[0-9][0-9.eE+-]*");
                if (numbers.Count > 0)
                {
                    var m = numbers[rng.Int(0, numbers.Count - 1)];
                    string by = rng.Coin() ? rng.Pick(Numbers) : rng.Int(0, 400).ToString(CultureInfo.InvariantCulture);
                    edits.Add($"number '{m.Value}' at {m.Index} -> '{by}'");
                    return text[..m.Index] + by + text[(m.Index + m.Length)..];
                }

                goto case 2;
            }

            case 1:
            {
                var words = Words.Where(w => text.Contains(w, StringComparison.Ordinal)).ToArray();
                if (words.Length > 0)
                {
                    string word = rng.Pick(words), by = rng.Pick(Words);
                    int at = text.IndexOf(word, StringComparison.Ordinal);
                    for (int skip = rng.Int(0, 3); skip > 0 && text.IndexOf(word, at + 1, StringComparison.Ordinal) >= 0; skip--)
                    {
                        at = text.IndexOf(word, at + 1, StringComparison.Ordinal);
                    }

                    edits.Add($"word '{word}' at {at} -> '{by}'");
                    return text[..at] + by + text[(at + word.Length)..];
                }

                goto case 2;
            }

            case 2:
            {
                int at = rng.Int(0, text.Length - 1);
                char by = alphabet[rng.Int(0, alphabet.Length - 1)];
                edits.Add($"char '{text[at]}' at {at} -> '{by}'");
                return text[..at] + by + text[(at + 1)..];
            }

            case 3:
            {
                int at = rng.Int(0, text.Length - 1), length = rng.Int(1, Math.Min(12, text.Length - at));
                edits.Add($"cut '{text.Substring(at, length)}' at {at}");
                return text[..at] + text[(at + length)..];
            }

            default:
            {
                int at = rng.Int(0, text.Length - 1), length = rng.Int(1, Math.Min(40, text.Length - at));
                edits.Add($"repeated '{text.Substring(at, length)}' at {at}");
                return text[..(at + length)] + text.Substring(at, length) + text[(at + length)..];
            }
        }
    }

    private static byte[] RandomBytes(TestRandom rng, int count)
    {
        var bytes = new byte[count];
        rng.Fill(bytes);
        return bytes;
    }
}
