namespace MixKV.SafeTensors;

/// <summary>Builds format errors in one shape, "source: problem", so every message names the file first.</summary>
internal static class FormatErrors
{
    public static SafeTensorsFormatException Fail(string source, string problem) => new(OneLine(source, problem));

    public static SafeTensorsFormatException Fail(string source, string problem, Exception inner) => new(OneLine(source, problem), inner);

    // Tensor names and dtype strings come from the file and may hold line breaks; escaping them keeps the message one line.
    private static string OneLine(string source, string problem) => $"{source}: {problem}".ReplaceLineEndings("\\n");
}
