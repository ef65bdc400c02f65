using System.Reflection;
using System.Runtime.InteropServices;

namespace MixKV.Interop.Tests.Cuda;

/// <summary>
/// Every function the driver and NVRTC bindings declare is exported by the libraries they load, so a
/// misspelt entry point fails here, on a machine without a GPU, and not on the first GPU that calls it
/// (the graph calls, for one, only run where a device is present).
/// </summary>
public sealed class EntryPointTests
{
    [SetUp]
    public void RequireTools() => CudaTools.RequireRoot();

    [Test]
    public void EveryDriverFunctionIsExportedByLibcuda()
    {
        _ = CudaDriver.Version;  // loads libcuda.so.1 through the resolver
        AssertExported(typeof(Driver), CudaDriver.LibraryPath);
    }

    [Test]
    public void EveryNvrtcFunctionIsExportedByLibnvrtc()
    {
        _ = NvrtcCompiler.Version;
        AssertExported(typeof(Nvrtc), NvrtcCompiler.LibraryPath);
    }

    private static void AssertExported(Type binding, string? libraryPath)
    {
        Assert.That(libraryPath, Is.Not.Null, $"{binding.Name}: the library did not load");
        string[] entryPoints = [.. binding.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Select(m => (Method: m, Import: m.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(p => p.Import is not null)
            .Select(p => p.Import!.EntryPoint ?? p.Method.Name)
            .Distinct()
            .Order(StringComparer.Ordinal)];
        Assert.That(entryPoints, Is.Not.Empty, $"{binding.Name} declares no [LibraryImport] functions");
        nint handle = NativeLibrary.Load(libraryPath!);
        try
        {
            string[] missing = [.. entryPoints.Where(name => !NativeLibrary.TryGetExport(handle, name, out _))];
            Assert.That(missing, Is.Empty, $"{binding.Name}: not exported by {libraryPath} (of {entryPoints.Length} declared)");
            TestContext.Out.WriteLine($"{binding.Name}: {entryPoints.Length} entry points, all exported by {libraryPath}");
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }
}
