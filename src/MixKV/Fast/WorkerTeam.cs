using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace MixKV.Fast;

/// <summary>
/// The caller plus <c>Size - 1</c> dedicated helper threads that run one job at a time:
/// <c>body(worker)</c> once per worker index, the caller being worker 0. A layer runs a dozen short
/// parallel passes back to back; through <see cref="Parallel.For(int, int, Action{int})"/> each one
/// hands work to thread-pool threads that spin on after it, and on a machine with as many threads
/// as cores those spinners preempt the pass's own threads (bench traces: one ~7 ms pipeline period
/// in eight took ~5 ms longer). The helpers here never run anything else, and between jobs they
/// spin briefly (<see cref="SpinTicks"/>), then sleep on their own semaphore. Teams are rented per
/// call (<see cref="Rent"/>) so concurrent calls never share one.
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

    /// <summary>Every helper is blocked (not spinning) in a wait: what an idle team must come to (tests).</summary>
    internal bool HelpersBlocked => helpers.All(h => (h.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0);

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

        SpinBriefly(this, static team => Volatile.Read(ref team.running) == 0);
        done.Wait(); // at once after a successful spin
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

    /// <summary>
    /// How long a thread spins for the other side of a hand-off before it blocks: a helper for its next
    /// job, the caller for the helpers to finish theirs. A blocked thread took 10-90 µs to wake in this
    /// project's VM, at any of the ~15 hand-offs of a layer (`mixkv bench --per-pass`: each thread
    /// waited 0.5-0.6 ms a layer at the pipeline's period ends; with the spin 0.3-0.5, and the mix,
    /// selection and gather stages ~10 % shorter). The gap between two jobs of a layer is a few µs,
    /// so the spin catches nearly every one; after a call's last job each helper spins this long and
    /// then sleeps, yielding its core to any other runnable thread meanwhile.
    /// </summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>Spins (yielding, never sleeping) until <paramref name="ready"/> or <see cref="SpinTicks"/> have passed.</summary>
    private static void SpinBriefly<TState>(TState state, Func<TState, bool> ready)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        var spin = default(SpinWait);
        while (!ready(state) && Stopwatch.GetTimestamp() < deadline)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void HelperLoop(int worker)
    {
        SemaphoreSlim semaphore = wake[worker - 1];
        while (true)
        {
            SpinBriefly(semaphore, static next => next.CurrentCount > 0);
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
