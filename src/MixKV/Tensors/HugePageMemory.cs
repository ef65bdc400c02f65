using System.Buffers;

namespace MixKV.Tensors;

/// <summary>
/// Memory for a KV cache that the fast CPU path streams, on transparent huge pages where the OS gives
/// them (2 MB aligned, advised before the first touch; see the remarks). Wrap its <c>Memory</c> in a
/// <see cref="HeadTensor"/> like any other buffer. Dispose frees it: no <c>Memory</c> or <c>Span</c>
/// taken from it may be used afterwards.
/// </summary>
/// <remarks>
/// The fast path reads K twice and V once, each as a forward stream. On 4 KB pages every new page is
/// a TLB miss and a page walk that the hardware prefetchers do not run ahead of (about 3 µs of each
/// 252-key GEMM chunk, bench/Fast/LogitKernelBenchmarks). For the layer (N 32768, Hq 32, Hkv 8,
/// D 128, fp32) on the project's 2-core machine, `mixkv bench --huge-pages` took 53.87 ms against
/// 56.06 ms on managed arrays (8 alternating process pairs).
/// </remarks>
public sealed unsafe class HugePageMemory : MemoryManager<byte>
{
    private readonly int length;
    private HugePageAllocation? allocation;

    /// <param name="length">Bytes; the allocation is rounded up to whole 2 MB pages.</param>
    public HugePageMemory(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        this.length = length;
        allocation = HugePageAllocation.Create(length);
    }

    public override Span<byte> GetSpan() => new(Live.Pointer, length);

    /// <summary>The memory is native and never moves: pinning only checks the index.</summary>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, length);
        return new MemoryHandle(Live.Pointer + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        allocation?.Dispose();
        allocation = null;
    }

    private HugePageAllocation Live => allocation ?? throw new ObjectDisposedException(nameof(HugePageMemory));
}
