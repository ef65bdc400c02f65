using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// One 64-byte vector to a tile: a streaming (non-temporal) store when the tile goes out to memory
/// and is read back later by another pass (the exp tiles, fp32 or packed), a plain one otherwise.
/// Streaming needs AVX-512 and a 64-byte aligned destination; without AVX-512 (Vector512 in software)
/// the store is plain. The portable kernels' 8-lane vectors stream with AVX (half a line each).
/// </summary>
internal static unsafe class LineStore
{
    /// <summary>
    /// One 8-lane vector (half a line) to a tile, streaming under the same rule where AVX is (32-byte
    /// aligned destination); the caller stores both halves of each line back to back, so the
    /// write-combining buffer fills a whole line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put(System.Numerics.Vector<float> value, float* destination, bool streaming)
    {
        if (streaming && System.Numerics.Vector<float>.Count == 8 && Avx.IsSupported)
        {
            Avx.StoreAlignedNonTemporal(destination, value.AsVector256());
        }
        else
        {
            RowMath.Store(value, destination);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put<T>(Vector512<T> value, T* destination, bool streaming)
        where T : unmanaged
    {
        if (streaming && Avx512F.IsSupported)
        {
            Avx512F.StoreAlignedNonTemporal((byte*)destination, value.AsByte());
        }
        else
        {
            value.Store(destination);
        }
    }
}
