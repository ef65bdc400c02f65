using System.Collections.Concurrent;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// The real device: primary context of one GPU, one stream, modules compiled by NVRTC on first use
/// (one program per .cu file, every instance of it at once) and cached on disk by
/// <see cref="KernelCompiler"/>.
/// </summary>
internal sealed class CudaKernelRuntime : IKernelRuntime
{
    private readonly CudaContext context;
    private readonly CudaStream stream;
    private readonly string architecture;
    private readonly ConcurrentDictionary<string, CudaModule> modules = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CudaFunction> functions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> loweredNames = new(StringComparer.Ordinal);

    private CudaKernelRuntime(CudaContext context, string architecture)
    {
        this.context = context;
        this.architecture = architecture;
        stream = context.CreateStream(nonBlocking: true);
    }

    public string Name => "cuda";

    /// <summary>Opens device <paramref name="ordinal"/>; throws <see cref="CudaException"/> naming the failing call when there is none.</summary>
    public static CudaKernelRuntime Open(int ordinal = 0)
    {
        CudaDriver.Initialize();
        CudaDevice device = CudaDevice.Get(ordinal);
        Version computeCapability = device.ComputeCapability;
        // NVRTC 11.8 targets up to compute_90; the driver JIT-compiles that PTX for newer parts.
        int capability = Math.Min(computeCapability.Major * 10 + computeCapability.Minor, 90);
        CudaContext context = CudaContext.RetainPrimary(device);
        context.MakeCurrent();
        return new CudaKernelRuntime(context, $"compute_{capability}");
    }

    public void Launch<TParams>(string instance, in LaunchConfig config, in TParams parameters)
        where TParams : unmanaged
    {
        context.MakeCurrent();
        Function(instance).Launch(config, parameters, stream);
    }

    public IDeviceAllocation Allocate(long bytes) => new Allocation(context.Allocate(Math.Max(bytes, 1)), bytes);

    public void CopyToDevice(ReadOnlySpan<byte> source, DevicePointer destination) => DeviceMemory.CopyHostToDevice(source, destination, stream);

    public void CopyToHost(DevicePointer source, Span<byte> destination)
    {
        DeviceMemory.CopyDeviceToHost(source, destination, stream);
        stream.Synchronize();
    }

    public void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes) =>
        DeviceMemory.CopyDeviceToDevice(source, destination, bytes, stream);

    public void Fill(DevicePointer destination, byte value, long bytes) => DeviceMemory.Fill(destination, value, bytes, stream);

    public void Synchronize() => stream.Synchronize();

    public void Dispose()
    {
        stream.Dispose();
        foreach (CudaModule module in modules.Values)
        {
            module.Dispose();
        }

        context.Dispose();
    }

    private CudaFunction Function(string instance) => functions.GetOrAdd(instance, name =>
    {
        KernelFile file = KernelSources.FileOf(name);
        CudaModule module = modules.GetOrAdd(file.Name, _ =>
        {
            CompiledProgram program = KernelCompiler.Compile(file, architecture);
            loweredNames[file.Name] = program.LoweredNames;
            return context.LoadModule(program);
        });
        return module.GetFunction(loweredNames[file.Name][name]);
    });

    private sealed class Allocation(DeviceBuffer buffer, long bytes) : IDeviceAllocation
    {
        public DevicePointer Pointer => buffer.Pointer;

        public long Bytes => bytes;

        public void Dispose() => buffer.Dispose();
    }
}
