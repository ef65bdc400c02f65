using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/append.cu: decode-time append into a flattened cache, out of place (spec section 7).</summary>
internal static class Append
{
    private const int RowsPerBlock = BlockSizes.AppendRows / 32;

    /// <summary>
    /// Rows and lengths of one append (K and V share the lengths: use the two halves below for both).
    /// <paramref name="sourceCapacity"/> and <paramref name="capacity"/> are the rows the cache and the
    /// destination hold; the kernels check the device-resident lengths against them.
    /// </summary>
    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int rowBytes, int maxRowsPerHead, DevicePointer source, int sourceCapacity, DevicePointer destination, DevicePointer newRows,
        DevicePointer headLens, DevicePointer cuLens, DevicePointer sourcePositions, DevicePointer destinationPositions, int position, int capacity, DevicePointer? status = null)
    {
        EnqueueRows(runtime, kvHeads, rowBytes, maxRowsPerHead, source, sourceCapacity, destination, newRows, headLens, cuLens, sourcePositions, destinationPositions, position, capacity, status);
        EnqueueLengths(runtime, kvHeads, headLens, cuLens, sourceCapacity, capacity, status);
    }

    public static void EnqueueRows(IKernelRuntime runtime, int kvHeads, int rowBytes, int maxRowsPerHead, DevicePointer source, int sourceCapacity, DevicePointer destination, DevicePointer newRows,
        DevicePointer headLens, DevicePointer cuLens, DevicePointer sourcePositions, DevicePointer destinationPositions, int position, int capacity, DevicePointer? status)
    {
        int word = RowCopyWord.Pick(rowBytes, source.Address, rowBytes, rowBytes, destination.Address, rowBytes, rowBytes, newRows.Address);
        uint blocks = (uint)Math.Min(4096, Launch.Blocks(maxRowsPerHead + 1, RowsPerBlock));
        runtime.Launch($"append_rows<{RowCopyWord.TypeName(word)}>", Launch.Config(blocks, (uint)kvHeads, BlockSizes.AppendRows), new AppendParams
        {
            Source = source.Address,
            Destination = destination.Address,
            NewRows = newRows.Address,
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            SourcePositions = sourcePositions.Address,
            DestinationPositions = destinationPositions.Address,
            Status = status?.Address ?? 0,
            RowWords = rowBytes / word,
            Position = position,
            Capacity = capacity,
            SourceCapacity = sourceCapacity,
        });
    }

    /// <summary>len_h += 1 and cu_lens, after every EnqueueRows of this append (they read the old lengths).</summary>
    public static void EnqueueLengths(IKernelRuntime runtime, int kvHeads, DevicePointer headLens, DevicePointer cuLens, int sourceCapacity, int capacity, DevicePointer? status)
    {
        runtime.Launch("append_lengths", Launch.Config(1, 1, BlockSizes.AppendLengths), new AppendLengthsParams
        {
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            Status = status?.Address ?? 0,
            Heads = kvHeads,
            Capacity = capacity,
            SourceCapacity = sourceCapacity,
        });
    }
}

[KernelParams("append.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AppendParams
{
    public ulong Source, Destination, NewRows, HeadLens, CuLens, SourcePositions, DestinationPositions, Status;
    public int RowWords, Position, Capacity, SourceCapacity;
}

[KernelParams("append.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AppendLengthsParams
{
    public ulong HeadLens, CuLens, Status;
    public int Heads, Capacity, SourceCapacity;
}
