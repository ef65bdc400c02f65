using System.Runtime.InteropServices;
using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The randomised schedule catches a missing barrier. libmixkv_emu.so carries the runtime's self-test
/// kernel src/Emulator/selftest/race.cu: selftest_reverse reverses each block's ints through shared
/// memory; its &lt;false&gt; instance has the __syncthreads between the shared write and the mirrored read
/// planted missing. Launched through the same EmulatedKernelRuntime.Launch path as the real kernels.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RaceDetectionTests : ScheduledKernelFixture
{
    private const string Correct = "selftest_reverse<true>";
    private const string Racy = "selftest_reverse<false>";
    private const int Seeds = 20;
    private const int Blocks = 8;
    private const int Threads = 256;

    [Test]
    public void SelfTestKernelsAreRegistered()
    {
        var names = Enumerable.Range(0, EmulatorNative.FunctionCount()).Select(i => Marshal.PtrToStringUTF8(EmulatorNative.FunctionName(i))).ToArray();
        Assert.That(names, Does.Contain(Correct).And.Contain(Racy).And.Contain("select_topk"), string.Join(", ", names));
    }

    [Test]
    public void CorrectKernelIsRightUnderEverySchedule()
    {
        TestRandom rng = KernelCheck.Seeded();
        int[] input = Input(rng);
        int[] expected = Reversed(input);
        EmulatedKernelRuntime runtime = KernelCheck.Emulated(backend);
        runtime.SetSchedule(0, randomOrder: false);
        Assert.That(Reverse(Correct, input), Is.EqualTo(expected), rng.Say("in order"));
        for (int seed = 1; seed <= Seeds; seed++)
        {
            ulong scheduleSeed = (ulong)rng.Seed * 7919UL + (ulong)seed;
            runtime.SetSchedule(scheduleSeed, randomOrder: true);
            Assert.That(Reverse(Correct, input), Is.EqualTo(expected), rng.Say($"schedule seed {scheduleSeed}"));
        }
    }

    /// <summary>
    /// Without the barrier a thread reads its mirror's slot before the mirror wrote it whenever the
    /// random order runs it first: every seed must give a wrong result, and the wrong results depend
    /// on the seed (so it is the schedule, not a fixed fault, that exposes the race).
    /// </summary>
    [Test]
    [Category("TsanPlanted")] // build.cake TsanCheck: the positive control ThreadSanitizer must report
    public void MissingBarrierIsCaughtByRandomSchedules()
    {
        TestRandom rng = KernelCheck.Seeded();
        int[] input = Input(rng);
        int[] expected = Reversed(input);
        EmulatedKernelRuntime runtime = KernelCheck.Emulated(backend);
        var outcomes = new HashSet<string>(StringComparer.Ordinal);
        int caught = 0;
        for (int seed = 1; seed <= Seeds; seed++)
        {
            ulong scheduleSeed = (ulong)rng.Seed * 7919UL + (ulong)seed;
            runtime.SetSchedule(scheduleSeed, randomOrder: true);
            int[] output = Reverse(Racy, input);
            int wrong = output.Zip(expected).Count(p => p.First != p.Second);
            caught += wrong > 0 ? 1 : 0;
            outcomes.Add(string.Join(",", output));
            TestContext.Progress.WriteLine($"schedule seed {scheduleSeed}: {wrong} of {output.Length} outputs wrong");
        }

        Assert.That(caught, Is.EqualTo(Seeds), rng.Say("the planted race must change the result under every random seed"));
        Assert.That(outcomes, Has.Count.GreaterThan(1), rng.Say("the racy results should depend on the schedule seed"));
    }

    private static int[] Input(TestRandom rng) => Enumerable.Range(0, Blocks * Threads).Select(_ => rng.Int(int.MinValue + 1, int.MaxValue - 1)).ToArray();

    private static int[] Reversed(int[] input)
    {
        var expected = new int[input.Length];
        for (int b = 0; b < Blocks; b++)
        {
            for (int t = 0; t < Threads; t++)
            {
                expected[b * Threads + t] = input[b * Threads + Threads - 1 - t];
            }
        }

        return expected;
    }

    private int[] Reverse(string kernel, int[] input)
    {
        EmulatedKernelRuntime runtime = KernelCheck.Emulated(backend);
        using DeviceRegion source = DeviceRegion.Of<int>(runtime, input);
        using var output = new DeviceRegion(runtime, input.Length * sizeof(int));
        runtime.Launch(kernel, Launch.Config(Blocks, 1, Threads), new ReverseParams { Input = source.Pointer.Address, Output = output.Pointer.Address });
        output.AssertGuardsIntact(kernel);
        Assert.That(source.Read<int>(input.Length), Is.EqualTo(input), $"{kernel}: input is read only");
        return output.Read<int>(input.Length);
    }

    /// <summary>src/Emulator/selftest/params.h ReverseParams: const int* input; int* output.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ReverseParams
    {
        public ulong Input;
        public ulong Output;
    }
}
