namespace MixKV.Kernels;

/// <summary>The device's intermediate arrays of one run, read back for comparison with the reference.</summary>
internal sealed record KernelIntermediates(
    float[] Attention,
    float[] KeyNorms,
    float[] ValueNorms,
    float[] Similarity,
    float[] OnlineRedundancy,
    float[] Scores,
    int[] Caps);
