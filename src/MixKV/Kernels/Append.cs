using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/append.cu: decode-time append into a flattened cache, out of place (spec section 7).</summary>
internal static class Append
{
    private const int Threads = 256;
    private const int RowsPerBlock = Threads / 32;

    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int rowBytes, int maxRowsPerHead, DevicePointer source, DevicePointer destination, DevicePointer newRows,
        DevicePointer headLens, DevicePointer cuLens, DevicePointer sourcePositions, DevicePointer destinationPositions, int position)
    {
        int word = RowCopyWord.Pick(rowBytes, source.Address, rowBytes, rowBytes, destination.Address, rowBytes, rowBytes, newRows.Address);
        uint blocks = (uint)Math.Min(4096, Launch.Blocks(maxRowsPerHead + 1, RowsPerBlock));
        runtime.Launch($"append_rows<{RowCopyWord.TypeName(word)}>", Launch.Config(blocks, (uint)kvHeads, Threads), new AppendParams
        {
            Source = source.Address,
            Destination = destination.Address,
            NewRows = newRows.Address,
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            SourcePositions = sourcePositions.Address,
            DestinationPositions = destinationPositions.Address,
            RowWords = rowBytes / word,
            Position = position,
        });

        runtime.Launch("append_lengths", Launch.Config(1, 1, 32), new AppendLengthsParams
        {
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            Heads = kvHeads,
        });
    }
}

[KernelParams("append.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AppendParams
{
    public ulong Source, Destination, NewRows, HeadLens, CuLens, SourcePositions, DestinationPositions;
    public int RowWords, Position;
}

[KernelParams("append.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AppendLengthsParams
{
    public ulong HeadLens, CuLens;
    public int Heads, Reserved;
}
