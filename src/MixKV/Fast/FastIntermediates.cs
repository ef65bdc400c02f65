namespace MixKV.Fast;

/// <summary>The fast path's per-stage results for one layer, [Hkv][P] (for the agreement tests against the reference).</summary>
internal sealed record FastIntermediates(double[][] Attention, double[][] Scores, double[][] KeyNorms, double[][] ValueNorms, double[][] Similarity, double[] OnlineRedundancy, int[] Caps);
