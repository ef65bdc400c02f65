using System.Runtime.CompilerServices;

namespace MixKV.Fast;

/// <summary>
/// A pinned managed array with a 64-byte aligned pointer (one zmm, one cache line), grown on demand
/// and reused across calls. The GC owns the memory; the pointer is valid while this object lives.
/// </summary>
internal sealed unsafe class AlignedBuffer<T>
    where T : unmanaged
{
    private const int Alignment = 64;

    private T[] array = [];

    public T* Pointer { get; private set; }

    public long Length { get; private set; }

    public Span<T> Span => new(Pointer, checked((int)Length));

    /// <summary>Makes room for <paramref name="count"/> elements (contents are not preserved or cleared).</summary>
    public void Ensure(long count)
    {
        if (count > Length || Pointer == null)
        {
            int padding = Alignment / sizeof(T);
            array = GC.AllocateUninitializedArray<T>(checked((int)Math.Max(count, 1) + padding), pinned: true);
            nint address = (nint)Unsafe.AsPointer(ref array[0]);
            nint aligned = (address + (Alignment - 1)) & ~(nint)(Alignment - 1);
            Pointer = (T*)aligned;
            Length = Math.Max(count, 1);
        }
    }
}
