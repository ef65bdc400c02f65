using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Device;
using MixKV.Tensors;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/gather.cu: kept rows into flattened or dense layouts (spec section 7).</summary>
internal static class Gather
{
    private const int RowsPerBlock = BlockSizes.GatherRows / 32;
    private const int MaxBlocksPerHead = 4096;

    /// <summary>Rows of <paramref name="source"/> at device positions into a packed [T, D] buffer (or a dense tensor when <paramref name="dense"/> is set).</summary>
    public static void EnqueueFromCache(IKernelRuntime runtime, DeviceTensor source, DevicePointer positions, DevicePointer headLens, DevicePointer cuLens, int maxRowsPerHead, DevicePointer destination, DeviceTensor? dense = null, DevicePointer? status = null)
    {
        (int word, GatherParams parameters) = FromCache(source, positions, headLens, cuLens, maxRowsPerHead, destination, dense, status);
        Enqueue(runtime, source.Heads, maxRowsPerHead, word, parameters);
    }

    /// <summary>
    /// <see cref="EnqueueFromCache"/> for K and V into their packed buffers, in one launch
    /// (gather_rows_pair) when both copy with the same word, else in two.
    /// </summary>
    public static void EnqueuePairFromCache(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor values, DevicePointer positions, DevicePointer headLens, DevicePointer cuLens, int maxRowsPerHead,
        DevicePointer keysOut, DevicePointer valuesOut, DevicePointer? status = null)
    {
        (int keyWord, GatherParams keyParameters) = FromCache(keys, positions, headLens, cuLens, maxRowsPerHead, keysOut, dense: null, status);
        (int valueWord, GatherParams valueParameters) = FromCache(values, positions, headLens, cuLens, maxRowsPerHead, valuesOut, dense: null, status);
        if (keyWord != valueWord || keys.Heads != values.Heads)
        {
            Enqueue(runtime, keys.Heads, maxRowsPerHead, keyWord, keyParameters);
            Enqueue(runtime, values.Heads, maxRowsPerHead, valueWord, valueParameters);
            return;
        }

        var config = new LaunchConfig(new Dim3(Blocks(maxRowsPerHead), (uint)keys.Heads, 2), new Dim3(BlockSizes.GatherRows));
        runtime.Launch($"gather_rows_pair<{RowCopyWord.TypeName(keyWord)}>", config, new GatherPairParams { Keys = keyParameters, Values = valueParameters });
    }

    private static (int Word, GatherParams Parameters) FromCache(DeviceTensor source, DevicePointer positions, DevicePointer headLens, DevicePointer cuLens, int maxRowsPerHead, DevicePointer destination, DeviceTensor? dense, DevicePointer? status)
    {
        int rowBytes = source.Dim * source.DType.Size();
        int word = RowCopyWord.Pick(rowBytes, source.Pointer.Address, source.HeadStride * source.DType.Size(), source.TokenStride * source.DType.Size(),
            destination.Address, dense?.HeadStride * source.DType.Size() ?? rowBytes, dense?.TokenStride * source.DType.Size() ?? rowBytes);
        return (word, new GatherParams
        {
            Source = source.Pointer.Address,
            Destination = destination.Address,
            Positions = positions.Address,
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            Status = status?.Address ?? 0,
            SourceHeadStride = source.HeadStride * source.DType.Size() / word,
            SourceTokenStride = source.TokenStride * source.DType.Size() / word,
            DestHeadStride = (dense?.HeadStride ?? 0) * source.DType.Size() / word,
            DestTokenStride = (dense?.TokenStride ?? 0) * source.DType.Size() / word,
            SourceTokens = source.Tokens,
            MaxHeadRows = maxRowsPerHead,
            RowWords = rowBytes / word,
            DestFlattened = dense is null ? 1 : 0,
        });
    }

    /// <summary>Copies a packed [T, D] workspace back, to a packed buffer or to each head's own region of a dense tensor.</summary>
    public static void EnqueueFromPacked(IKernelRuntime runtime, int kvHeads, int rowBytes, DevicePointer packed, DevicePointer headLens, DevicePointer cuLens, int maxRowsPerHead, DevicePointer destination, DeviceTensor? dense = null, DevicePointer? status = null)
    {
        int elementSize = dense?.DType.Size() ?? 1;
        int word = RowCopyWord.Pick(rowBytes, packed.Address, rowBytes, rowBytes,
            destination.Address, dense?.HeadStride * elementSize ?? rowBytes, dense?.TokenStride * elementSize ?? rowBytes);
        Enqueue(runtime, kvHeads, maxRowsPerHead, word, new GatherParams
        {
            Source = packed.Address,
            Destination = destination.Address,
            Positions = 0,
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            Status = status?.Address ?? 0,
            DestHeadStride = (dense?.HeadStride ?? 0) * elementSize / word,
            DestTokenStride = (dense?.TokenStride ?? 0) * elementSize / word,
            MaxHeadRows = maxRowsPerHead,
            RowWords = rowBytes / word,
            DestFlattened = dense is null ? 1 : 0,
        });
    }

    private static void Enqueue(IKernelRuntime runtime, int kvHeads, int maxRowsPerHead, int word, in GatherParams parameters) =>
        runtime.Launch($"gather_rows<{RowCopyWord.TypeName(word)}>", Launch.Config(Blocks(maxRowsPerHead), (uint)kvHeads, BlockSizes.GatherRows), parameters);

    /// <summary>Blocks per head: rows grid-stride over them, so the count need not follow device-resident lengths.</summary>
    private static uint Blocks(int maxRowsPerHead) => (uint)Math.Min(MaxBlocksPerHead, Launch.Blocks(maxRowsPerHead, RowsPerBlock));
}

[KernelParams("gather.cu"), StructLayout(LayoutKind.Sequential)]
internal struct GatherParams
{
    public ulong Source, Destination, Positions, HeadLens, CuLens, Status;
    public long SourceHeadStride, SourceTokenStride, DestHeadStride, DestTokenStride;
    public int SourceTokens, MaxHeadRows, RowWords, DestFlattened;
}

[KernelParams("gather.cu"), StructLayout(LayoutKind.Sequential)]
internal struct GatherPairParams
{
    public GatherParams Keys, Values;
}
