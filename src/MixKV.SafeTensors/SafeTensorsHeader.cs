namespace MixKV.SafeTensors;

/// <summary>The validated contents of a header: tensors in header order, and the free-form metadata.</summary>
internal sealed record SafeTensorsHeader(
    IReadOnlyList<TensorInfo> Tensors,
    IReadOnlyDictionary<string, string> Metadata);
