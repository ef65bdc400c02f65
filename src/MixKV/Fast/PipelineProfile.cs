namespace MixKV.Fast;

/// <summary>
/// Where the fast path's chunk pipeline spends its threads' time (<see cref="FastCompressor.ProfilePasses"/>):
/// per kind of work, each thread's summed time per layer, and each thread's wait at the ends of the
/// pipeline's periods; medians over the repetitions. Per thread, the passes and the wait add up to
/// <see cref="MedianPipelineMs"/> in each repetition (the medians nearly so).
/// </summary>
/// <param name="Threads">Threads that ran the pipeline (the caller is thread 0, which takes the memory-bound items first).</param>
/// <param name="MedianPipelineMs">Wall time of the pipeline: the first head's key pass and the periods; the stages after it (mix, budget, selection, gather) are not in it.</param>
public sealed record PipelineProfile(int Threads, IReadOnlyList<PassTime> Passes, IReadOnlyList<double> MedianIdleMsPerThread, double MedianPipelineMs);

/// <summary>
/// One kind of pipeline work (<see cref="PipelineProfile"/>) with the traffic and arithmetic it must do
/// per layer, so a rate per busy core follows: <see cref="Bytes"/> (or <see cref="Flop"/>) over <see cref="TotalMs"/>.
/// </summary>
/// <param name="Pass">key_stats, value_norms, scores_gemm, scores_softmax, merge, mass or after_mass.</param>
/// <param name="ItemsPerLayer">Items (chunks, or heads for merge and after_mass) one layer runs.</param>
/// <param name="MedianMsPerThread">Each thread's summed time in these items per layer, the median over the repetitions.</param>
/// <param name="Bytes">Bytes it must move per layer: K for key_stats and scores_gemm, V for value_norms, the kept exp
/// tiles written (scores_softmax) and read back (mass); 0 where it only touches per-head scratch.</param>
/// <param name="Flop">Floating-point operations of its matrix products per layer, counted as the classical product
/// 2·G·W·D per key (Strassen does 7/8 of them); 0 for the passes without one.</param>
public sealed record PassTime(string Pass, long ItemsPerLayer, IReadOnlyList<double> MedianMsPerThread, double Bytes, double Flop)
{
    /// <summary>Summed over the threads: the core time the pass took.</summary>
    public double TotalMs => MedianMsPerThread.Sum();
}
