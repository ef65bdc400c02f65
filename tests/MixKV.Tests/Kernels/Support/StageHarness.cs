using MixKV.Device;
using MixKV.Interop;
using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// One stage's launch over guarded device buffers: inputs uploaded with their strides and padding, a
/// workspace poisoned with 0xFF, and a check that the stage wrote only its own workspace regions.
/// </summary>
internal sealed class StageHarness : IDisposable
{
    private readonly List<DeviceRegion> buffers = [];

    public StageHarness(KernelBackend backend, int queryHeads, int kvHeads, int tokens, int dim, int window)
    {
        Runtime = backend.Runtime;
        WorkspaceBuffer = Track(new DeviceRegion(Runtime, KernelWorkspace.RequiredBytes(queryHeads, kvHeads, tokens, dim, window)));
        Workspace = KernelWorkspace.At(WorkspaceBuffer.Pointer, queryHeads, kvHeads, tokens, dim, window);
    }

    public IKernelRuntime Runtime { get; }

    public DeviceRegion WorkspaceBuffer { get; }

    public KernelWorkspace Workspace { get; }

    /// <summary>The whole stored buffer (padding included) on the device, viewed with the same strides.</summary>
    public DeviceTensor Upload(StoredTensor tensor)
    {
        DeviceRegion buffer = Track(DeviceRegion.Of<byte>(Runtime, tensor.Storage.Span));
        return new DeviceTensor(buffer.Pointer.AddBytes(tensor.Offset * Elements.Size(tensor.DType)), tensor.DType, tensor.Heads, tensor.Tokens, tensor.Dim, tensor.HeadStride, tensor.TokenStride);
    }

    public DeviceRegion Buffer<T>(ReadOnlySpan<T> values)
        where T : unmanaged => Track(DeviceRegion.Of(Runtime, values));

    public float[] Floats(DevicePointer pointer, int count)
    {
        var values = new float[count];
        Runtime.CopyToHost(pointer, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>Every workspace byte outside <paramref name="written"/> (pointer, fp32 count) still holds the poison; every guard is intact.</summary>
    public void AssertWroteOnly(string what, params (DevicePointer Pointer, long Count)[] written)
    {
        Span<byte> all = WorkspaceBuffer.Span;
        var mask = new bool[all.Length];
        foreach ((DevicePointer pointer, long count) in written)
        {
            long start = (long)(pointer.Address - WorkspaceBuffer.Pointer.Address);
            mask.AsSpan((int)start, (int)(count * sizeof(float))).Fill(true);
        }

        for (int i = 0; i < all.Length; i++)
        {
            if (!mask[i] && all[i] != DeviceRegion.Poison)
            {
                Assert.Fail($"{what}: workspace byte {i} written outside the stage's outputs");
            }
        }

        foreach (DeviceRegion buffer in buffers)
        {
            buffer.AssertGuardsIntact(what);
        }
    }

    public void Dispose()
    {
        foreach (DeviceRegion buffer in buffers)
        {
            buffer.Dispose();
        }
    }

    private DeviceRegion Track(DeviceRegion buffer)
    {
        buffers.Add(buffer);
        return buffer;
    }
}
