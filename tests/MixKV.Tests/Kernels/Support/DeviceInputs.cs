using MixKV.Device;
using MixKV.Kernels.Runtime;
using MixKV.Tensors;
using MixKV.Tests.Support;

namespace MixKV.Tests.Kernels.Support;

/// <summary>A layer's K, V or Q in emulated device memory, in one of the cache layouts, as an engine holds them.</summary>
internal static class DeviceInputs
{
    /// <summary>The bytes a view spans, from its first element to its last (what <see cref="Upload"/> copies).</summary>
    public static byte[] Body(HeadTensor host)
    {
        long start = host.Offset * host.ElementSize, length = host.ElementExtent() * host.ElementSize - start;
        return host.Data.Span.Slice((int)start, (int)length).ToArray();
    }

    /// <summary>A new region holding <paramref name="tensor"/> ([heads][tokens][dim]) and the view over it.</summary>
    public static DeviceRegion Upload(IKernelRuntime runtime, float[][][] tensor, DType dtype, TensorLayout layout, out DeviceTensor view)
    {
        HeadTensor host = Pack(tensor, dtype, layout);
        var region = DeviceRegion.Of<byte>(runtime, Body(host));
        view = new DeviceTensor(region.Pointer, dtype, host.Heads, host.Tokens, host.Dim, host.HeadStride, host.TokenStride);
        return region;
    }

    /// <summary>Replaces the contents of a region made by <see cref="Upload"/> with another tensor of the same shape, dtype and layout.</summary>
    public static void Overwrite(DeviceRegion region, float[][][] tensor, DType dtype, TensorLayout layout)
    {
        byte[] body = Body(Pack(tensor, dtype, layout));
        if (body.Length != region.Bytes)
        {
            throw new ArgumentException($"the new tensor spans {body.Length} bytes, the region {region.Bytes}", nameof(tensor));
        }

        body.CopyTo(region.Span);
    }

    /// <summary>The tensor as the cache layout stores it (no padding).</summary>
    public static HeadTensor Pack(float[][][] tensor, DType dtype, TensorLayout layout) => StoredTensor.Pack(tensor, dtype, layout, Padding.None).View;
}
