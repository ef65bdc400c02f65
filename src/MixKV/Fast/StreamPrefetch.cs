using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// Software prefetch for the passes that stream rows from memory (key statistics, value norms, the
/// mass over a kept exp tile) and for the gather's scattered rows. On 4 KB-paged inputs the hardware
/// prefetcher stops at every page edge; asking for the row <see cref="RowsAhead"/> rows on keeps the
/// next page in flight. Measured with `mixkv bench` on the fp32 layer (Zen 5, thirtieth
/// session), one thread: value norms 7.5 to 4.3 ms, mass 6.2 to 3.7 ms, key statistics 5.5 to 4.3 ms;
/// the layer on two threads ~34 to ~29-30 ms. 8 KB ahead was a little better than 4 KB and 6 KB on two
/// threads, within the noise on one; 16 KB was worse (31.4 against 30.6 ms, 5 alternating pairs). The
/// prefetch is non-temporal (PREFETCHNTA): each streamed row is used once, and kept out of the outer
/// caches it no longer evicts what the GEMM core holds there (thirty-first session, 12 alternating
/// pairs on two threads: 29.46 against 29.81 ms, 8 won; 3 on one: 55.55 against 55.93). A prefetch
/// never faults, so rows past a buffer's end would be harmless; the callers stop at the rows that
/// exist all the same.
/// </summary>
internal static unsafe class StreamPrefetch
{
    /// <summary>Bytes ahead of the row being read that are asked for.</summary>
    public const int Distance = 8 * 1024;

    /// <summary>Whole rows of <paramref name="rowBytes"/> bytes within <see cref="Distance"/>; one for longer (or empty) rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RowsAhead(long rowBytes) => rowBytes <= 0 || rowBytes > Distance ? 1 : (int)(Distance / rowBytes);

    /// <summary>Asks for the cache lines of <paramref name="bytes"/> bytes from <paramref name="row"/>, non-temporally (nothing where SSE is absent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row(void* row, int bytes)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        for (int offset = 0; offset < bytes; offset += 64)
        {
            Sse.PrefetchNonTemporal((byte*)row + offset);
        }
    }

    /// <summary>
    /// The first <paramref name="count"/> rows of a pass (rows <paramref name="strideBytes"/> apart, each
    /// <paramref name="rowBytes"/> long), asked for before its loop, which then asks for one row ahead per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FirstRows(void* first, long strideBytes, int count, int rowBytes)
    {
        for (int i = 0; i < count; i++)
        {
            Row((byte*)first + (i * strideBytes), rowBytes);
        }
    }

    /// <summary>
    /// <see cref="Row"/> for one 512-byte row (D = 128 fp32), unrolled: a loop inside the callers'
    /// register-bound loops made the JIT spill their accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Row512(void* row)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        byte* p = (byte*)row;
        Sse.PrefetchNonTemporal(p);
        Sse.PrefetchNonTemporal(p + 64);
        Sse.PrefetchNonTemporal(p + 128);
        Sse.PrefetchNonTemporal(p + 192);
        Sse.PrefetchNonTemporal(p + 256);
        Sse.PrefetchNonTemporal(p + 320);
        Sse.PrefetchNonTemporal(p + 384);
        Sse.PrefetchNonTemporal(p + 448);
    }
}
