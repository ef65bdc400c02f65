using System.Runtime.InteropServices;

namespace MixKV.Tensors;

/// <summary>
/// Native memory, 2 MB aligned and rounded up to whole 2 MB pages, advised for transparent huge pages
/// before anything touches it (Linux madvise MADV_HUGEPAGE; advice only: where THP is off, or on
/// another OS, it is ordinary memory). Freed by the handle, so also when its owner is only collected.
/// </summary>
internal sealed unsafe partial class HugePageAllocation : SafeHandle
{
    public const nuint PageBytes = 2u << 20;

    private HugePageAllocation(void* memory)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle((nint)memory);

    public override bool IsInvalid => handle == IntPtr.Zero;

    public byte* Pointer => (byte*)handle;

    public static HugePageAllocation Create(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        nuint rounded = ((checked((nuint)Math.Max(bytes, 1)) + PageBytes - 1) / PageBytes) * PageBytes;
        var allocation = new HugePageAllocation(NativeMemory.AlignedAlloc(rounded, PageBytes));
        if (OperatingSystem.IsLinux())
        {
            // A kernel without THP (or with it set to "never") answers -1; the memory works the same.
            _ = Madvise((nint)allocation.Pointer, rounded, MadviseHugePage);
        }

        return allocation;
    }

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }

    private const int MadviseHugePage = 14;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
