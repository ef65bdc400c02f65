using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuLaunchKernel(
        nint function,
        uint gridDimX, uint gridDimY, uint gridDimZ,
        uint blockDimX, uint blockDimY, uint blockDimZ,
        uint sharedMemBytes, nint stream,
        void** kernelParams, void** extra);

    /// <summary>CUDA 12.0 and newer: a launch with attributes (<see cref="LaunchAttribute"/>).</summary>
    [LibraryImport(Library)]
    internal static partial CudaStatus cuLaunchKernelEx(LaunchConfigEx* config, nint function, void** kernelParams, void** extra);
}

/// <summary>cuda.h's CUlaunchConfig: 56 bytes, the stream at 32 (after seven 4-byte fields and padding).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LaunchConfigEx
{
    public uint GridDimX, GridDimY, GridDimZ;
    public uint BlockDimX, BlockDimY, BlockDimZ;
    public uint SharedMemBytes;
    public nint Stream;
    public LaunchAttribute* Attributes;
    public uint AttributeCount;
}

/// <summary>
/// cuda.h's CUlaunchAttribute: the id, padding to 8, then a 64-byte union of which only
/// programmaticStreamSerializationAllowed (an int at its start) is used here. 72 bytes.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 72)]
internal struct LaunchAttribute
{
    /// <summary>CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION.</summary>
    public const int ProgrammaticStreamSerialization = 6;

    [FieldOffset(0)]
    public int Id;

    [FieldOffset(8)]
    public int Value;
}
