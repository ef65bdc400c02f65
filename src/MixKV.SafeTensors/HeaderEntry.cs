namespace MixKV.SafeTensors;

/// <summary>A tensor entry as written in the JSON, before its sizes are checked against the data section.</summary>
internal sealed record HeaderEntry(string Name, SafeTensorDType DType, long[] Shape, long Begin, long End);
