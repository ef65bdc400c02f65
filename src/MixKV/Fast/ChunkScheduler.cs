namespace MixKV.Fast;

/// <summary>
/// Runs <c>body(chunk, worker)</c> for every chunk on up to <see cref="Workers"/> threads, handing out
/// chunks dynamically (a shared counter) so a thread slowed by other load does not stall the pass.
/// Each thread owns one worker index, hence one <see cref="ChunkWorker"/>. Results are written per
/// chunk, so they do not depend on which thread ran which chunk.
/// </summary>
internal sealed class ChunkScheduler
{
    public ChunkScheduler(int workers) => Workers = Math.Max(1, workers);

    public int Workers { get; }

    /// <summary>
    /// Two independent loops at once: worker 0 takes items of <paramref name="stream"/> (memory-bound)
    /// first, the other workers items of <paramref name="compute"/> first; each then helps with the
    /// other loop. A core that only streams leaves the others' arithmetic at full speed (see
    /// bench/cpu-probe), so the compute loop runs nearly free beside the stream.
    /// </summary>
    public void RunBeside(int streamItems, Action<int, int> stream, int computeItems, Action<int, int> compute)
    {
        int nextStream = -1, nextCompute = -1;
        int threads = Math.Max(1, Math.Min(Workers, streamItems + computeItems));
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, worker =>
        {
            if (worker == 0)
            {
                Drain(ref nextStream, streamItems, stream, worker);
            }

            Drain(ref nextCompute, computeItems, compute, worker);
            Drain(ref nextStream, streamItems, stream, worker);
        });
    }

    public void Run(int chunks, Action<int, int> body)
    {
        int threads = Math.Min(Workers, chunks);
        if (threads <= 1)
        {
            for (int c = 0; c < chunks; c++)
            {
                body(c, 0);
            }

            return;
        }

        int next = -1;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, worker =>
        {
            int c;
            while ((c = Interlocked.Increment(ref next)) < chunks)
            {
                body(c, worker);
            }
        });
    }

    private static void Drain(ref int next, int count, Action<int, int> body, int worker)
    {
        int item;
        while ((item = Interlocked.Increment(ref next)) < count)
        {
            body(item, worker);
        }
    }
}
