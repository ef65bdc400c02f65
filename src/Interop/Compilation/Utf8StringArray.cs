using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>
/// NUL-terminated UTF-8 copies of strings in native memory, with the array of pointers NVRTC's
/// <c>const char* const*</c> parameters take. Freed on Dispose.
/// </summary>
internal sealed unsafe class Utf8StringArray : IDisposable
{
    private readonly nint[] strings;
    private byte** pointers;

    public Utf8StringArray(IReadOnlyList<string> values)
    {
        strings = new nint[values.Count];
        pointers = (byte**)NativeMemory.Alloc((nuint)Math.Max(1, values.Count), (nuint)sizeof(byte*));
        for (var i = 0; i < values.Count; i++)
        {
            strings[i] = Marshal.StringToCoTaskMemUTF8(values[i] ?? throw new ArgumentException($"Element {i} is null.", nameof(values)));
            pointers[i] = (byte*)strings[i];
        }
    }

    public int Count => strings.Length;

    /// <summary>The pointer array, or null when empty (NVRTC accepts null with a count of 0).</summary>
    public byte** Pointers => Count == 0 ? null : pointers;

    public byte* this[int index] => pointers[index];

    public void Dispose()
    {
        if (pointers is null) return;
        foreach (var s in strings) Marshal.FreeCoTaskMem(s);
        NativeMemory.Free(pointers);
        pointers = null;
    }
}
