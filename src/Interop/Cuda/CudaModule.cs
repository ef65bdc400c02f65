using System.Text;

namespace MixKV.Interop;

/// <summary>A loaded module (cuModuleLoadDataEx); unloaded when disposed or finalized.</summary>
public sealed unsafe class CudaModule : CudaHandle
{
    // Enough for ptxas's diagnostics of a large kernel file; longer logs are cut, not lost silently:
    // the driver NUL-terminates at the buffer's end.
    private const int JitLogBytes = 16 * 1024;

    internal CudaModule(CudaContext context, nint value)
        : base(context, value)
    {
    }

    /// <summary>
    /// Looks up a kernel by its lowered (mangled) name, as NVRTC's name expressions give it. The
    /// function stays valid while this module is not disposed.
    /// </summary>
    public CudaFunction GetFunction(string loweredName)
    {
        ArgumentException.ThrowIfNullOrEmpty(loweredName);
        using var lease = new HandleLease(this);
        nint function;
        var status = Driver.cuModuleGetFunction(&function, lease.Value, loweredName);
        if (status != CudaStatus.CUDA_SUCCESS)
            throw new CudaException(nameof(Driver.cuModuleGetFunction), status, $"kernel: {loweredName}");
        return new CudaFunction(this, function, loweredName);
    }

    /// <summary>Loads an image into the current context, with the JIT's error log in the exception on failure.</summary>
    internal static nint Load(ReadOnlySpan<byte> image)
    {
        var errorLog = new byte[JitLogBytes];
        var options = stackalloc Driver.JitOption[] { Driver.JitOption.ErrorLogBuffer, Driver.JitOption.ErrorLogBufferSizeBytes };
        nint module;
        CudaStatus status;
        fixed (byte* imagePointer = image)
        fixed (byte* errorPointer = errorLog)
        {
            // cuda.h passes scalar option values in the pointer slots themselves.
            var values = stackalloc void*[] { errorPointer, (void*)(nuint)JitLogBytes };
            status = Driver.cuModuleLoadDataEx(&module, imagePointer, 2, options, values);
        }
        if (status != CudaStatus.CUDA_SUCCESS)
        {
            var end = Array.IndexOf(errorLog, (byte)0);
            var log = Encoding.UTF8.GetString(errorLog, 0, end < 0 ? errorLog.Length : end);
            throw new CudaException(nameof(Driver.cuModuleLoadDataEx), status, log.Length == 0 ? null : log);
        }
        return module;
    }

    /// <summary>PTX as the driver wants it: UTF-8 with a terminating NUL.</summary>
    internal static byte[] NulTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    private protected override CudaStatus ReleaseNative(nint value) => Driver.cuModuleUnload(value);
}
