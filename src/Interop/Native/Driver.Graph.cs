using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    /// <summary><c>CU_STREAM_CAPTURE_MODE_THREAD_LOCAL</c>: only this thread's unsafe calls can invalidate the capture.</summary>
    internal const int CaptureModeThreadLocal = 1;

    [LibraryImport(Library)]
    internal static partial CudaStatus cuStreamBeginCapture_v2(nint stream, int mode);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuStreamEndCapture(nint stream, nint* graph);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuGraphInstantiateWithFlags(nint* graphExec, nint graph, ulong flags);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuGraphLaunch(nint graphExec, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuGraphExecDestroy(nint graphExec);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuGraphDestroy(nint graph);
}
