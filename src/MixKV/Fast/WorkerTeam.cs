using System.Runtime.ExceptionServices;

namespace MixKV.Fast;

/// <summary>
/// The caller plus <c>Size - 1</c> dedicated helper threads that run one job at a time:
/// <c>body(worker)</c> once per worker index, the caller being worker 0. A layer runs a dozen short
/// parallel passes back to back; through <see cref="Parallel.For(int, int, Action{int})"/> each one
/// hands work to thread-pool threads that spin on after it, and on a machine with as many threads
/// as cores those spinners preempt the pass's own threads (bench traces: one ~7 ms pipeline period
/// in eight took ~5 ms longer). The helpers here sleep on their own semaphore between jobs and
/// never run anything else. Teams are rented per call (<see cref="Rent"/>) so concurrent calls never
/// share one.
/// </summary>
internal sealed class WorkerTeam : IDisposable
{
    private static WorkerTeam? cached;

    private readonly Thread[] helpers;
    private readonly SemaphoreSlim[] wake;
    private readonly ManualResetEventSlim done = new(false);
    private Action<int>? job;
    private int running;
    private ExceptionDispatchInfo? failure;
    private bool disposed;

    private WorkerTeam(int size)
    {
        Size = Math.Max(1, size);
        helpers = new Thread[Size - 1];
        wake = new SemaphoreSlim[Size - 1];
        for (int i = 0; i < helpers.Length; i++)
        {
            int worker = i + 1;
            wake[i] = new SemaphoreSlim(0);
            helpers[i] = new Thread(() => HelperLoop(worker)) { IsBackground = true, Name = $"MixKV fast worker {worker}" };
            helpers[i].Start();
        }
    }

    /// <summary>Workers, the caller included.</summary>
    public int Size { get; }

    /// <summary>A team of <paramref name="size"/> workers: the cached one when it fits, else a new one.</summary>
    public static WorkerTeam Rent(int size)
    {
        WorkerTeam? team = Interlocked.Exchange(ref cached, null);
        if (team is not null && team.Size == Math.Max(1, size))
        {
            return team;
        }

        team?.Dispose();
        return new WorkerTeam(size);
    }

    /// <summary>Gives the team back for the next call (disposing it when another is cached already).</summary>
    public static void Return(WorkerTeam team) => Interlocked.Exchange(ref cached, team)?.Dispose();

    /// <summary>Runs <paramref name="body"/> on every worker and returns when all have finished; rethrows the first exception.</summary>
    public void Run(Action<int> body)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (helpers.Length == 0)
        {
            body(0);
            return;
        }

        job = body;
        failure = null;
        done.Reset();
        Volatile.Write(ref running, helpers.Length);
        foreach (SemaphoreSlim semaphore in wake)
        {
            semaphore.Release();
        }

        try
        {
            body(0);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
        }

        done.Wait();
        job = null;
        failure?.Throw();
    }

    /// <summary>
    /// <c>body(index, worker)</c> for every index in [0, count), handed out dynamically (a shared
    /// counter) so a worker slowed by other load does not hold the rest back; on the caller alone
    /// when there is one worker or one index.
    /// </summary>
    public void For(int count, Action<int, int> body)
    {
        if (Size == 1 || count <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                body(i, 0);
            }

            return;
        }

        int next = -1;
        Run(worker =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                body(i, worker);
            }
        });
    }

    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        job = null;
        foreach (SemaphoreSlim semaphore in wake)
        {
            semaphore.Release(); // a helper woken with no job exits
        }
    }

    private void HelperLoop(int worker)
    {
        SemaphoreSlim semaphore = wake[worker - 1];
        while (true)
        {
            semaphore.Wait();
            Action<int>? body = job;
            if (body is null)
            {
                semaphore.Dispose();
                return;
            }

            try
            {
                body(worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
            }

            if (Interlocked.Decrement(ref running) == 0)
            {
                done.Set();
            }
        }
    }
}
