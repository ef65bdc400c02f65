using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuModuleLoadData(nint* module, void* image);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuModuleLoadDataEx(nint* module, void* image, uint numOptions, JitOption* options, void** optionValues);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuModuleUnload(nint module);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial CudaStatus cuModuleGetFunction(nint* function, nint module, string name);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuFuncGetAttribute(int* value, CudaFunctionAttribute attribute, nint function);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuFuncSetAttribute(nint function, CudaFunctionAttribute attribute, int value);

    /// <summary>The <c>CUjit_option</c> values used to collect the JIT's logs on a module load.</summary>
    internal enum JitOption
    {
        InfoLogBuffer = 3,
        InfoLogBufferSizeBytes = 4,
        ErrorLogBuffer = 5,
        ErrorLogBufferSizeBytes = 6,
    }
}
