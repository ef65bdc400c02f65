using System.Runtime.InteropServices;
using MixKV.Device;
using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/validate.cu: the device-side NaN/Inf check of spec section 8.</summary>
internal static class Validate
{
    /// <summary>Rows per block: with D = 128 in 16 bits, one 16-byte load per thread per 16 rows.</summary>
    private const int RowsPerBlock = 64;

    /// <summary>ORs <paramref name="flag"/> into the status word when <paramref name="tensor"/> holds a NaN or Inf.</summary>
    public static void EnqueueCheckFinite(IKernelRuntime runtime, DeviceTensor tensor, DevicePointer status, DeviceRejection flag)
    {
        runtime.Launch($"check_finite<{Launch.TypeName(tensor.DType)}>", Launch.Config(Launch.Blocks(tensor.Tokens, RowsPerBlock), (uint)tensor.Heads, BlockSizes.CheckFinite), new CheckFiniteParams
        {
            Data = tensor.Pointer.Address,
            Status = status.Address,
            HeadStride = tensor.HeadStride,
            TokenStride = tensor.TokenStride,
            Tokens = tensor.Tokens,
            HeadDim = tensor.Dim,
            Bit = (int)flag,
            RowsPerBlock = RowsPerBlock,
        });
    }
}

[KernelParams("validate.cu"), StructLayout(LayoutKind.Sequential)]
internal struct CheckFiniteParams
{
    public ulong Data, Status;
    public long HeadStride, TokenStride;
    public int Tokens, HeadDim, Bit, RowsPerBlock;
}
