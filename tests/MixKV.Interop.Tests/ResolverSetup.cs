namespace MixKV.Interop.Tests;

/// <summary>
/// Points the process-wide resolver at the tools folder before any test loads a library: each
/// library is bound once per process, so this must come first.
/// </summary>
[SetUpFixture]
public sealed class ResolverSetup
{
    [OneTimeSetUp]
    public void PointResolverAtTools() => NativeLibraryResolver.ToolsDirectory = CudaTools.RootIfPresent;
}
