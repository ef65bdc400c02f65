using MixKV.Tensors;

namespace MixKV;

/// <summary>An out-of-place flattened result: K', V' [T, D] (input dtype, head-major) plus what was kept.</summary>
public sealed record CompressedLayer(KeptTokens Kept, byte[] Keys, byte[] Values, DType DType, int HeadDim, StageTimings Timings);
