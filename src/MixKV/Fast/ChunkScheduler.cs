namespace MixKV.Fast;

/// <summary>
/// Runs <c>body(chunk, worker)</c> for every chunk on the <see cref="Workers"/> threads of a
/// <see cref="WorkerTeam"/>, handing out chunks dynamically (a shared counter) so a thread slowed by
/// other load does not stall the pass. Each thread owns one worker index, hence one
/// <see cref="ChunkWorker"/>. Results are written per chunk, so they do not depend on which thread
/// ran which chunk.
/// </summary>
internal sealed class ChunkScheduler(WorkerTeam team)
{
    public int Workers => team.Size;

    /// <summary>
    /// Two independent loops at once: worker 0 takes items of <paramref name="stream"/> (memory-bound)
    /// first, the other workers items of <paramref name="compute"/> first; each then helps with the
    /// other loop. A core that only streams leaves the others' arithmetic at full speed (see
    /// bench/cpu-probe), so the compute loop runs nearly free beside the stream.
    /// </summary>
    public void RunBeside(int streamItems, Action<int, int> stream, int computeItems, Action<int, int> compute)
    {
        int nextStream = -1, nextCompute = -1;
        team.Run(worker =>
        {
            if (worker == 0)
            {
                Drain(ref nextStream, streamItems, stream, worker);
            }

            Drain(ref nextCompute, computeItems, compute, worker);
            Drain(ref nextStream, streamItems, stream, worker);
        });
    }

    public void Run(int chunks, Action<int, int> body) => team.For(chunks, body);

    private static void Drain(ref int next, int count, Action<int, int> body, int worker)
    {
        int item;
        while ((item = Interlocked.Increment(ref next)) < count)
        {
            body(item, worker);
        }
    }
}
