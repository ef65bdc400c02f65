using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>The fast path's dedicated threads: every index once, every worker index in range, exceptions back on the caller, and idle helpers blocked, not spinning.</summary>
[TestFixture]
public sealed class WorkerTeamTests
{
    [Test]
    public void For_RunsEveryIndexOnce_OnDistinctWorkerIndices([Values(1, 2, 3)] int size)
    {
        var rng = TestRandom.ForCurrentTest();
        WorkerTeam team = WorkerTeam.Rent(size);
        try
        {
            for (int round = 0; round < 20; round++)
            {
                int count = rng.Int(0, 500);
                var hits = new int[count];
                var byWorker = new int[size];
                team.For(count, (i, worker) =>
                {
                    Interlocked.Increment(ref hits[i]);
                    Interlocked.Increment(ref byWorker[worker]);
                });
                string say = rng.Say($"round {round}, {count} indices, {size} workers");
                Assert.That(hits, Is.All.EqualTo(1), say);
                Assert.That(byWorker.Sum(), Is.EqualTo(count), say);
            }
        }
        finally
        {
            WorkerTeam.Return(team);
        }
    }

    [Test]
    public void Run_GivesEveryWorkerItsIndex_AndWaitsForAll()
    {
        WorkerTeam team = WorkerTeam.Rent(3);
        try
        {
            var seen = new int[3];
            team.Run(worker =>
            {
                Thread.Sleep(worker * 20); // the caller (worker 0) returns first: Run must still wait
                Volatile.Write(ref seen[worker], 1);
            });
            Assert.That(seen, Is.All.EqualTo(1));
        }
        finally
        {
            WorkerTeam.Return(team);
        }
    }

    /// <summary>Between jobs the helpers spin for ~200 µs, then block: 50 ms after a job none may still be spinning.</summary>
    [Test]
    public void IdleHelpers_BlockOnceTheirSpinIsOver()
    {
        WorkerTeam team = WorkerTeam.Rent(3);
        try
        {
            team.For(64, (_, _) => Thread.SpinWait(100));
            Thread.Sleep(50);
            for (int sample = 0; sample < 20; sample++)
            {
                Assert.That(team.HelpersBlocked, Is.True, $"sample {sample}: a helper is running 50 ms after its job");
                Thread.Sleep(1);
            }
        }
        finally
        {
            WorkerTeam.Return(team);
        }
    }

    [Test]
    public void ExceptionOnAHelper_ReachesTheCaller_AndTheTeamStaysUsable([Values(0, 1)] int failing)
    {
        WorkerTeam team = WorkerTeam.Rent(2);
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => team.Run(worker =>
            {
                if (worker == failing)
                {
                    throw new InvalidOperationException($"worker {worker}");
                }
            }));
            Assert.That(error!.Message, Is.EqualTo($"worker {failing}"));

            int ran = 0;
            team.Run(_ => Interlocked.Increment(ref ran));
            Assert.That(ran, Is.EqualTo(2));
        }
        finally
        {
            WorkerTeam.Return(team);
        }
    }

    [Test]
    public void DisposedTeam_RefusesWork()
    {
        WorkerTeam team = WorkerTeam.Rent(2);
        team.Dispose();
        Assert.Throws<ObjectDisposedException>(() => team.Run(_ => { }));
    }
}
