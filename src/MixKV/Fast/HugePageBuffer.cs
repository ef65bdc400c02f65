using System.Runtime.InteropServices;

namespace MixKV.Fast;

/// <summary>
/// Native memory for the exp tiles, 2 MB aligned and advised for transparent huge pages before its
/// first touch (Linux; elsewhere, or where THP is off, it is plain memory). Each GEMM chunk streams
/// 129 KB of tile out and the mass pass reads it back: 32 new 4 KB pages a chunk on each side, each a
/// TLB miss and a (nested, under a VM) page walk. bench/results/cpu-2026-11-26.md, tenth session: 12
/// alternating process pairs, 56.14 against 56.93 ms a layer. Grown on demand (the old block freed),
/// reused across calls, and freed by its <see cref="SafeHandle"/> when the owning workspace is collected.
/// </summary>
internal sealed unsafe class HugePageBuffer<T>
    where T : unmanaged
{
    private const nuint HugePage = 2u << 20;

    private NativeAllocation? allocation;

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
        nuint bytes = ((checked((nuint)Math.Max(count, 1) * (nuint)sizeof(T)) + HugePage - 1) / HugePage) * HugePage;
        allocation = new NativeAllocation(NativeMemory.AlignedAlloc(bytes, HugePage));
        if (OperatingSystem.IsLinux())
        {
            // Advice only: a kernel without THP (or with it set to "never") answers -1 and the memory works as before.
            _ = LinuxMemoryAdvice.Madvise((nint)allocation.DangerousGetHandle(), bytes, LinuxMemoryAdvice.HugePage);
        }

        Pointer = (T*)allocation.DangerousGetHandle();
        Length = Math.Max(count, 1);
    }

    private sealed class NativeAllocation : SafeHandle
    {
        public NativeAllocation(void* memory)
            : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)memory);

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            NativeMemory.AlignedFree((void*)handle);
            return true;
        }
    }
}

/// <summary>madvise(2), for <see cref="HugePageBuffer{T}"/>.</summary>
internal static partial class LinuxMemoryAdvice
{
    /// <summary>MADV_HUGEPAGE.</summary>
    public const int HugePage = 14;

    [LibraryImport("libc", EntryPoint = "madvise")]
    public static partial int Madvise(nint address, nuint length, int advice);
}
