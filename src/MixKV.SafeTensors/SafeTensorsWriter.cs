using System.Buffers.Binary;

namespace MixKV.SafeTensors;

/// <summary>
/// Streams a safetensors file: the header goes out as soon as the tensors are declared, then each
/// tensor's bytes follow in declaration order, in as many chunks as the caller likes. The output
/// stream is never sought, so pipes and network streams work.
/// </summary>
public sealed class SafeTensorsWriter : IDisposable
{
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly TensorDeclaration[] _tensors;
    private readonly long[] _byteLengths;
    private readonly long[] _written;
    private readonly Dictionary<string, int> _indexByName;
    private int _current;
    private bool _finished;
    private bool _faulted;
    private bool _disposed;

    /// <summary>Validates the declarations and writes the header to <paramref name="output"/> at once.</summary>
    /// <param name="metadata">Written as "__metadata__"; omitted when null or empty.</param>
    /// <param name="leaveOpen">When false, <see cref="Dispose"/> also disposes <paramref name="output"/>.</param>
    public SafeTensorsWriter(Stream output, IEnumerable<TensorDeclaration> tensors, IReadOnlyDictionary<string, string>? metadata = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!output.CanWrite)
        {
            throw new ArgumentException("output stream is not writable", nameof(output));
        }

        _output = output;
        _leaveOpen = leaveOpen;
        _tensors = tensors.ToArray();
        HeaderLayout layout = SafeTensorsHeaderBuilder.Build(_tensors, metadata);
        _byteLengths = layout.ByteLengths;
        _written = new long[_tensors.Length];
        _indexByName = _tensors.Select((t, i) => (t.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        HeaderLength = layout.HeaderJson.Length;
        DataSectionLength = layout.DataSectionLength;

        // No fault tracking needed here: if this throws, the caller never gets a writer to misuse.
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)layout.HeaderJson.Length);
        _output.Write(prefix);
        _output.Write(layout.HeaderJson);
    }

    public IReadOnlyList<TensorDeclaration> Tensors => _tensors;

    /// <summary>Bytes of header JSON including its space padding; the data section starts at 8 + this, a multiple of 8.</summary>
    public long HeaderLength { get; }

    /// <summary>Total bytes of tensor data the declarations call for.</summary>
    public long DataSectionLength { get; }

    /// <summary>True once every declared tensor has received all of its bytes.</summary>
    public bool IsComplete => Enumerable.Range(0, _tensors.Length).All(IsTensorComplete);

    /// <summary>
    /// Appends <paramref name="chunk"/> to tensor <paramref name="name"/>. Tensors are filled in declaration order:
    /// naming a later tensor is allowed only once every tensor before it is full (empty tensors need no call).
    /// </summary>
    public void WriteData(string name, ReadOnlySpan<byte> chunk)
    {
        ThrowIfUnusable();
        ArgumentNullException.ThrowIfNull(name);
        if (!_indexByName.TryGetValue(name, out int target))
        {
            throw new ArgumentException($"tensor '{name}' was not declared", nameof(name));
        }

        if (target < _current)
        {
            throw new InvalidOperationException($"tensor '{name}' comes before '{_tensors[_current].Name}', which is already being written; write tensors in declaration order");
        }

        for (int i = _current; i < target; i++)
        {
            if (!IsTensorComplete(i))
            {
                throw new InvalidOperationException($"tensor '{_tensors[i].Name}' has {_written[i]} of {_byteLengths[i]} bytes; finish it before writing '{name}'");
            }
        }

        long remaining = _byteLengths[target] - _written[target];
        if (chunk.Length > remaining)
        {
            throw new ArgumentException($"tensor '{name}': chunk of {chunk.Length} bytes exceeds the {remaining} bytes still expected (total {_byteLengths[target]})", nameof(chunk));
        }

        _current = target;

        // Once the stream has failed, its position is unknown, so the writer refuses further use.
        try
        {
            _output.Write(chunk);
        }
        catch
        {
            _faulted = true;
            throw;
        }

        _written[target] += chunk.Length;
    }

    /// <summary>Checks that every tensor received exactly its bytes, then flushes the output.</summary>
    public void Finish()
    {
        ThrowIfUnusable();
        for (int i = 0; i < _tensors.Length; i++)
        {
            if (!IsTensorComplete(i))
            {
                throw new InvalidOperationException($"tensor '{_tensors[i].Name}' has {_written[i]} of {_byteLengths[i]} bytes; the file is incomplete");
            }
        }

        try
        {
            _output.Flush();
        }
        catch
        {
            _faulted = true;
            throw;
        }

        _finished = true;
    }

    /// <summary>
    /// Finishes the file if <see cref="Finish"/> was not called, which throws if any tensor is short,
    /// then releases the stream unless it was left open. A writer whose stream already failed does not
    /// throw again here, so the first error is the one callers see.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        try
        {
            if (!_finished && !_faulted)
            {
                Finish();
            }
        }
        finally
        {
            _disposed = true;
            if (!_leaveOpen)
            {
                _output.Dispose();
            }
        }
    }

    /// <summary>
    /// Writes a whole file at <paramref name="path"/> from in-memory tensors, in the given order.
    /// The file appears only once complete: on any failure no file (and no temporary file) is left.
    /// </summary>
    public static void Write(
        string path,
        IEnumerable<(string name, SafeTensorDType dtype, long[] shape, ReadOnlyMemory<byte> data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        Write(
            path,
            list.Select(t => new TensorDeclaration(t.name, t.dtype, t.shape)),
            writer =>
            {
                foreach (var tensor in list)
                {
                    writer.WriteData(tensor.name, tensor.data.Span);
                }
            },
            metadata);
    }

    /// <summary>
    /// Streams a file at <paramref name="path"/>: <paramref name="writeData"/> receives a writer whose header is
    /// already written and must supply every tensor's bytes. As with the other overload, the file appears
    /// only once complete.
    /// </summary>
    public static void Write(
        string path,
        IEnumerable<TensorDeclaration> tensors,
        Action<SafeTensorsWriter> writeData,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(writeData);
        AtomicFile.Write(path, stream =>
        {
            // Not disposed: the temp file stream belongs to AtomicFile, and disposing an unfinished writer
            // would throw over whatever exception writeData raised.
            var writer = new SafeTensorsWriter(stream, tensors, metadata, leaveOpen: true);
            writeData(writer);
            writer.Finish();
        });
    }

    private bool IsTensorComplete(int index) => _written[index] == _byteLengths[index];

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_finished)
        {
            throw new InvalidOperationException("the writer is already finished");
        }

        if (_faulted)
        {
            throw new InvalidOperationException("an earlier write to the output stream failed; the file is incomplete");
        }
    }
}
