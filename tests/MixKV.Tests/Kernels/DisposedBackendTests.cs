using MixKV.Device;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// A disposed <see cref="KernelBackend"/> refuses every call that would reach its runtime, and its
/// captured graphs refuse to launch, with <see cref="ObjectDisposedException"/> naming the backend,
/// before any argument is looked at; disposing twice is harmless. (Its own backend: the fixture's
/// shared one must stay open.)
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DisposedBackendTests
{
    [Test]
    public void EveryCallAfterDisposeThrowsObjectDisposed()
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 3), groups = rng.Int(1, 3), tokens = rng.Int(80, 200), dim = 16, window = 8;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, DType.F32);
        LayerInputs inputs = data.Store(TensorLayout.Hnd).Inputs;
        var options = new CompressionOptions { Window = window, Budget = window + rng.Int(1, tokens - window - 1) };

        var backend = KernelBackend.OpenEmulated();
        DevicePlan plan = backend.Plan(heads * groups, heads, tokens, dim, options, LayerPosition.Single);
        using KernelBackend.ResidentLayer resident = backend.Resident(inputs, options, LayerPosition.Single, graph: true);
        resident.Run();
        Assert.That(resident.KeptTokens(), Is.EqualTo(heads * options.Budget), rng.Say("the graph ran before the dispose"));
        backend.Dispose();

        var calls = new (string Name, TestDelegate Call)[]
        {
            ("Enqueue", () => backend.Enqueue(plan, default, default, default, default, default, 0)),
            ("CaptureEnqueue", () => backend.CaptureEnqueue(plan, default, default, default, default, default, 0)),
            ("EnqueueInPlace", () => backend.EnqueueInPlace(plan, default, default, default, default, OutputLayout.Flattened, default, 0, default, 0)),
            ("EnqueueAppend", () => backend.EnqueueAppend(default, default, default, default, 0, default, default, 0, default)),
            ("ReadRejection", () => backend.ReadRejection(plan, default)),
            ("ReadAppendStatus", () => backend.ReadAppendStatus(default)),
            ("UseStream", () => backend.UseStream(0)),
            ("Compress", () => backend.Compress(inputs, options, LayerPosition.Single)),
            ("ProfileKernels", () => backend.ProfileKernels(inputs, options, LayerPosition.Single, repeat: 1)),
            ("a captured graph's Launch", resident.Run),
        };
        foreach ((string name, TestDelegate call) in calls)
        {
            var thrown = Assert.Throws<ObjectDisposedException>(call, rng.Say($"{name} after Dispose"));
            Assert.That(thrown!.ObjectName, Does.Contain(nameof(KernelBackend)), rng.Say(name));
        }

        Assert.DoesNotThrow(backend.Dispose, "a second Dispose");
        Assert.That(backend.Plan(heads * groups, heads, tokens, dim, options, LayerPosition.Single).MaxOutputTokens, Is.EqualTo(plan.MaxOutputTokens), "planning needs no runtime");
    }
}
