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
}
