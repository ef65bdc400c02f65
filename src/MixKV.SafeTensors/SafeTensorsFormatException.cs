namespace MixKV.SafeTensors;

/// <summary>A file (or header) does not follow the safetensors format; the message is one line naming the problem.</summary>
public sealed class SafeTensorsFormatException : Exception
{
    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    public SafeTensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
