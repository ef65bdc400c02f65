using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using static MixKV.SafeTensors.FormatErrors;

namespace MixKV.SafeTensors;

/// <summary>
/// A safetensors file opened read-only through a memory map: only the header is parsed up front,
/// and tensor bytes are paged in by the OS when read. Reads may run on several threads at once,
/// but not alongside <see cref="Dispose"/>, which unmaps the memory that spans point into.
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    /// <summary>Headers beyond this are refused before anything is parsed, so a corrupt length cannot drive a huge parse.</summary>
    public const long MaxHeaderLength = 100L * 1024 * 1024;

    private const int HeaderLengthPrefixSize = 8;

    private readonly MemoryMappedViewAccessor _view;
    private readonly MemoryMappedFile _map;
    private readonly Dictionary<string, TensorInfo> _byName;
    private byte* _data;

    private SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* data, long dataLength, SafeTensorsHeader header)
    {
        Path = path;
        _map = map;
        _view = view;
        _data = data;
        DataSectionLength = dataLength;
        Tensors = header.Tensors;
        Metadata = header.Metadata;
        _byName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public string Path { get; }

    /// <summary>Tensors in the order the header lists them.</summary>
    public IReadOnlyList<TensorInfo> Tensors { get; }

    /// <summary>The "__metadata__" entries; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Bytes after the header, including any unused trailing bytes.</summary>
    public long DataSectionLength { get; }

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="SafeTensorsFormatException"/> if it is malformed.</summary>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = stream.Length;

        // Checked before mapping: a zero-length file cannot be mapped at all, and a short one has no header to read.
        if (fileLength < HeaderLengthPrefixSize)
        {
            throw Fail(path, $"file is truncated: {fileLength} bytes is shorter than the 8-byte header length prefix");
        }

        Span<byte> prefix = stackalloc byte[HeaderLengthPrefixSize];
        stream.ReadExactly(prefix);
        long headerLength = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(prefix), fileLength, path);

        // leaveOpen keeps the using above the stream's one owner; the view is created before the stream closes
        // and keeps the mapping alive on its own after that.
        MemoryMappedFile map = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        MemoryMappedViewAccessor? accessor = null;
        byte* basePointer = null;
        bool acquired = false;
        try
        {
            // Mapping the whole file (always at least 8 bytes here) keeps an empty data section from being a special case.
            accessor = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            accessor.SafeMemoryMappedViewHandle.AcquirePointer(ref basePointer);
            acquired = true;

            byte* fileStart = basePointer + accessor.PointerOffset;
            var headerBytes = new ReadOnlySpan<byte>(fileStart + HeaderLengthPrefixSize, checked((int)headerLength));
            long dataLength = fileLength - HeaderLengthPrefixSize - headerLength;
            SafeTensorsHeader header = SafeTensorsHeaderParser.Parse(headerBytes, dataLength, path);
            return new SafeTensorsFile(path, map, accessor, fileStart + HeaderLengthPrefixSize + headerLength, dataLength, header);
        }
        catch
        {
            if (acquired)
            {
                accessor!.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            accessor?.Dispose();
            map.Dispose();
            throw;
        }
    }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TensorInfo info) =>
        _byName.TryGetValue(name, out info);

    /// <summary>Looks a tensor up by name; throws <see cref="KeyNotFoundException"/> naming the tensor when absent.</summary>
    public TensorInfo Get(string name) =>
        _byName.TryGetValue(name, out TensorInfo? info)
            ? info
            : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>
    /// The tensor's bytes, straight from the mapped file (little-endian, no copy).
    /// The span is valid only until this file is disposed; do not keep it past that.
    /// </summary>
    public ReadOnlySpan<byte> GetBytes(TensorInfo tensor)
    {
        CheckOwned(tensor);
        if (tensor.ByteLength > int.MaxValue)
        {
            throw new NotSupportedException($"{Path}: tensor '{tensor.Name}' has {tensor.ByteLength} bytes, more than one span can hold; read it in slices");
        }

        return new ReadOnlySpan<byte>(DataPointer + tensor.DataOffset, (int)tensor.ByteLength);
    }

    /// <summary>
    /// <paramref name="length"/> bytes of the tensor starting <paramref name="start"/> bytes into it,
    /// for tensors too large for one span. Same lifetime rule as <see cref="GetBytes(TensorInfo)"/>.
    /// </summary>
    public ReadOnlySpan<byte> GetBytes(TensorInfo tensor, long start, int length)
    {
        CheckOwned(tensor);
        if (start < 0 || length < 0 || start > tensor.ByteLength - length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start}+{length}) is outside tensor '{tensor.Name}' ({tensor.ByteLength} bytes)");
        }

        return new ReadOnlySpan<byte>(DataPointer + tensor.DataOffset + start, length);
    }

    /// <summary>Copies the tensor's bytes into <paramref name="destination"/>, which must be at least <see cref="TensorInfo.ByteLength"/> long.</summary>
    public void CopyTo(TensorInfo tensor, Span<byte> destination)
    {
        CheckOwned(tensor);
        if (destination.Length < tensor.ByteLength)
        {
            throw new ArgumentException($"destination holds {destination.Length} bytes but tensor '{tensor.Name}' has {tensor.ByteLength}", nameof(destination));
        }

        GetBytes(tensor).CopyTo(destination);
    }

    public void Dispose()
    {
        if (_data is null)
        {
            return;
        }

        _data = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    private byte* DataPointer => _data is null ? throw new ObjectDisposedException(nameof(SafeTensorsFile), $"{Path} is closed") : _data;

    private static long CheckHeaderLength(ulong declared, long fileLength, string path)
    {
        if (declared == 0)
        {
            throw Fail(path, "header length is 0; the header must be a JSON object");
        }

        if (declared > MaxHeaderLength)
        {
            throw Fail(path, $"header length {declared} exceeds the {MaxHeaderLength}-byte limit");
        }

        long available = fileLength - HeaderLengthPrefixSize;
        if ((long)declared > available)
        {
            throw Fail(path, $"header length {declared} runs past the end of the file ({available} bytes follow the length prefix)");
        }

        return (long)declared;
    }

    // A TensorInfo from another file would carry offsets that mean nothing here, possibly outside the mapping.
    private void CheckOwned(TensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_byName.TryGetValue(tensor.Name, out TensorInfo? own) || !ReferenceEquals(own, tensor))
        {
            throw new ArgumentException($"tensor '{tensor.Name}' does not come from {Path}", nameof(tensor));
        }
    }
}
