using MixKV.Tensors;

namespace MixKV.Fast;

/// <summary>
/// The exp tiles' memory: a <see cref="HugePageAllocation"/>, grown on demand (the old block freed)
/// and reused across calls. Each GEMM chunk streams ~100-130 KB of tile out and the mass pass reads it
/// back: 32 new 4 KB pages a chunk on each side, each a TLB miss and a (nested, under a VM) page walk.
/// bench/results/cpu-2026-11-26.md, tenth session: 12 alternating process pairs, 54.88 against
/// 56.10 ms a layer.
/// </summary>
internal sealed unsafe class HugePageBuffer<T>
    where T : unmanaged
{
    private HugePageAllocation? allocation;

    public T* Pointer { get; private set; }

    public long Length { get; private set; }

    /// <summary>Makes room for <paramref name="count"/> elements (contents are not preserved or cleared).</summary>
    public void Ensure(long count)
    {
        if (count <= Length && Pointer != null)
        {
            return;
        }

        allocation?.Dispose();
        allocation = HugePageAllocation.Create(checked(Math.Max(count, 1) * sizeof(T)));
        Pointer = (T*)allocation.Pointer;
        Length = Math.Max(count, 1);
    }
}
