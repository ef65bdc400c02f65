namespace MixKV.Interop;

/// <summary>
/// A raw device address (<c>CUdeviceptr</c>) that MixKV does not own: a caller's tensor, or a view
/// into a <see cref="DeviceBuffer"/>. Nothing in the library ever frees one. Eight bytes, so it can
/// sit in a kernel's parameter struct exactly where the C++ side has a pointer.
/// </summary>
public readonly record struct DevicePointer(ulong Address)
{
    /// <summary>The null device pointer.</summary>
    public static DevicePointer Null => default;

    public bool IsNull => Address == 0;

    /// <summary>This address moved by <paramref name="bytes"/>.</summary>
    public DevicePointer AddBytes(long bytes) => new(checked((ulong)((long)Address + bytes)));

    /// <summary>The address of element <paramref name="index"/> of a <typeparamref name="T"/> array starting here.</summary>
    public unsafe DevicePointer Element<T>(long index) where T : unmanaged => AddBytes(checked(index * sizeof(T)));

    public override string ToString() => $"0x{Address:x}";
}
