using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// One 64-byte vector to a tile: a streaming (non-temporal) store when the tile goes out to memory
/// and is read back later by another pass (the exp tiles, fp32 or packed), a plain one otherwise.
/// Streaming needs AVX-512 and a 64-byte aligned destination; without AVX-512 (Vector512 in software)
/// the store is plain.
/// </summary>
internal static unsafe class LineStore
{
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
