using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// A kept exp tile in 3 bytes an entry instead of 4. Its entries are 2^(logit - chunk max), so in
/// [0, 1] (at most a rounding over 1): the fp32 sign bit and the exponent's top bit are zero, and the
/// code is bits 29..6 of the fp32 word rounded to nearest (7 exponent bits, 17 of mantissa), a
/// relative error of at most 2^-18 (3.8e-6), below the 1e-5 the fast path answers for. The fp32 tile
/// went out to memory once and came back once, 256 of the layer's 640 MB of streaming; 3 bytes an
/// entry cut 64 MB of that: ~0.7 ms of ~29.5 on two threads, ~1.2 of ~54 on one
/// (bench/results/cpu-2026-11-26.md, thirty-first session). Sixty-four entries (one key's 64 rows)
/// pack into three full 64-byte lines with byte permutes (AVX-512 VBMI), so the streamed stores
/// still write whole lines.
/// </summary>
internal static unsafe class PackedExp
{
    /// <summary>Bytes of one packed entry.</summary>
    public const int EntryBytes = 3;

    private const int DroppedBits = 6;

    /// <summary>The byte permutes this format needs.</summary>
    public static bool Supported => Avx512Vbmi.IsSupported;

    // Entry i of a 64-entry group sits at bytes 3i..3i+2 of the packed group; in a 16-entry vector,
    // entry l's code is in bytes 4l..4l+2. Encoding line k (bytes 64k..64k+63) takes entries from
    // two consecutive vectors; decoding vector v takes bytes from two consecutive lines.
    private static readonly Vector512<byte> EncodeLine0 = EncodeIndex(0), EncodeLine1 = EncodeIndex(1), EncodeLine2 = EncodeIndex(2);
    private static readonly Vector512<byte> Decode0 = DecodeIndex(0), Decode1 = DecodeIndex(1), Decode2 = DecodeIndex(2), Decode3 = DecodeIndex(3);

    /// <summary>
    /// The byte permutes' index vectors, for a pass to hold in locals (registers): read from the static
    /// fields inside the loops, the exp and mass passes took ~2-3 ms longer a layer on one thread.
    /// </summary>
    public static Encoder CreateEncoder() => new(EncodeLine0, EncodeLine1, EncodeLine2);

    /// <inheritdoc cref="CreateEncoder"/>
    public static Decoder CreateDecoder() => new(Decode0, Decode1, Decode2, Decode3);

    public readonly record struct Encoder(Vector512<byte> Line0, Vector512<byte> Line1, Vector512<byte> Line2);

    public readonly record struct Decoder(Vector512<byte> Vector0, Vector512<byte> Vector1, Vector512<byte> Vector2, Vector512<byte> Vector3);

    /// <summary>Line k of the group takes bytes from vectors FirstVector(k) and FirstVector(k) + 1.</summary>
    private static int FirstVector(int line) => line * 64 / 48;

    /// <summary>Vector v of the group reads lines FirstLine(v) and FirstLine(v) + 1 (the second only when it reaches it).</summary>
    private static int FirstLine(int vector) => vector * 48 / 64;

    private static Vector512<byte> EncodeIndex(int line)
    {
        var index = new byte[64];
        int firstVector = FirstVector(line);
        for (int b = 0; b < 64; b++)
        {
            int packed = (line * 64) + b, entry = packed / EntryBytes, vector = entry / 16;
            index[b] = (byte)(((vector - firstVector) * 64) + ((entry % 16) * 4) + (packed % EntryBytes));
        }

        return Vector512.Create(index);
    }

    private static Vector512<byte> DecodeIndex(int vector)
    {
        var index = new byte[64];
        int firstLine = FirstLine(vector);
        for (int b = 0; b < 64; b++)
        {
            // Byte 3 of each lane takes any byte: the decode masks it off.
            int entry = (vector * 16) + (b / 4), packed = (entry * EntryBytes) + Math.Min(b % 4, EntryBytes - 1);
            index[b] = (byte)(packed - (firstLine * 64));
        }

        return Vector512.Create(index);
    }

    /// <summary>Each entry as packing and unpacking it leaves it (for a tile recomputed instead of kept, so both paths agree bit for bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Round(Vector512<float> entries) =>
        ((entries.AsUInt32() + Vector512.Create(1u << (DroppedBits - 1))) & Vector512.Create(~((1u << DroppedBits) - 1))).AsSingle();

    /// <summary>The code of each entry in the low 3 bytes of its lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Codes(Vector512<float> entries) =>
        Vector512.ShiftRightLogical(entries.AsUInt32() + Vector512.Create(1u << (DroppedBits - 1)), DroppedBits).AsByte();

    /// <summary>
    /// Packs 64 entries (e0..e3, in [0, 1]) into the 192 bytes at <paramref name="destination"/>
    /// (64-byte aligned), with streaming stores when <paramref name="streaming"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store64(in Encoder encoder, Vector512<float> e0, Vector512<float> e1, Vector512<float> e2, Vector512<float> e3, byte* destination, bool streaming)
    {
        Vector512<byte> c0 = Codes(e0), c1 = Codes(e1), c2 = Codes(e2), c3 = Codes(e3);
        LineStore.Put(Avx512Vbmi.PermuteVar64x8x2(c0, encoder.Line0, c1), destination, streaming);
        LineStore.Put(Avx512Vbmi.PermuteVar64x8x2(c1, encoder.Line1, c2), destination + 64, streaming);
        LineStore.Put(Avx512Vbmi.PermuteVar64x8x2(c2, encoder.Line2, c3), destination + 128, streaming);
    }

    /// <summary>Sixteen entries of a 64-entry group: those of <paramref name="index"/> (Decode v for entries 16v..16v+15), from its lines FirstLine(v) and the next.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Entries(Vector512<byte> first, Vector512<byte> index, Vector512<byte> second)
    {
        Vector512<uint> codes = Avx512Vbmi.PermuteVar64x8x2(first, index, second).AsUInt32() & Vector512.Create(0x00FF_FFFFu);
        return Vector512.ShiftLeft(codes, DroppedBits).AsSingle();
    }

    /// <summary>Unpacks <paramref name="count"/> entries (a multiple of 64) from <paramref name="source"/> into <paramref name="destination"/>.</summary>
    public static void Load(in Decoder decoder, byte* source, int count, float* destination)
    {
        for (int i = 0; i < count; i += 64)
        {
            byte* group = source + (i * EntryBytes);
            Vector512<byte> l0 = Vector512.Load(group), l1 = Vector512.Load(group + 64), l2 = Vector512.Load(group + 128);
            Entries(l0, decoder.Vector0, l1).Store(destination + i);
            Entries(l0, decoder.Vector1, l1).Store(destination + i + 16);
            Entries(l1, decoder.Vector2, l2).Store(destination + i + 32);
            Entries(l2, decoder.Vector3, l2).Store(destination + i + 48);
        }
    }

    /// <summary>Σ entry · factor over the 128 packed entries at <paramref name="source"/> (<see cref="RowMath.Dot128"/> of the unpacked row).</summary>
    public static float Dot128(in Decoder decoder, byte* source, float* factors)
    {
        Vector512<byte> l0 = Vector512.Load(source), l1 = Vector512.Load(source + 64), l2 = Vector512.Load(source + 128);
        Vector512<byte> l3 = Vector512.Load(source + 192), l4 = Vector512.Load(source + 256), l5 = Vector512.Load(source + 320);
        Vector512<float> even = Vector512.FusedMultiplyAdd(Entries(l1, decoder.Vector2, l2), Vector512.Load(factors + 32), Entries(l0, decoder.Vector0, l1) * Vector512.Load(factors));
        Vector512<float> odd = Vector512.FusedMultiplyAdd(Entries(l2, decoder.Vector3, l2), Vector512.Load(factors + 48), Entries(l0, decoder.Vector1, l1) * Vector512.Load(factors + 16));
        even = Vector512.FusedMultiplyAdd(Entries(l4, decoder.Vector2, l5), Vector512.Load(factors + 96), Vector512.FusedMultiplyAdd(Entries(l3, decoder.Vector0, l4), Vector512.Load(factors + 64), even));
        odd = Vector512.FusedMultiplyAdd(Entries(l5, decoder.Vector3, l5), Vector512.Load(factors + 112), Vector512.FusedMultiplyAdd(Entries(l3, decoder.Vector1, l4), Vector512.Load(factors + 80), odd));
        return Vector512.Sum(even + odd);
    }
}
