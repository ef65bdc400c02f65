namespace MixKV.Cli.Shared;

/// <summary>
/// The checks an --output path gets before any work: its folder exists and it is not itself a folder.
/// Without them the atomic write fails late, naming its hidden temporary file instead of the user's path.
/// </summary>
internal static class OutputFile
{
    public static void Check(string output)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(output));
        if (folder is null || !Directory.Exists(folder))
        {
            throw new CliUsageException($"--output {output}: folder '{folder}' does not exist");
        }

        if (Directory.Exists(output))
        {
            throw new CliUsageException($"--output {output}: is a folder, not a file");
        }
    }
}
