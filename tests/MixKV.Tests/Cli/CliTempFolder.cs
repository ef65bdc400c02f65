namespace MixKV.Tests.Cli;

/// <summary>A fresh folder per test, removed afterwards.</summary>
public sealed class CliTempFolder : IDisposable
{
    public CliTempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mixkv-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every file name in the folder (temporary files of an atomic write included).</summary>
    public string[] Names() => Directory.GetFileSystemEntries(Path).Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
