namespace MixKV.Interop;

/// <summary>
/// A kernel in a loaded module. Does not own the native function (the module does); it holds its
/// module so the module outlives it, and checks at each launch that the module is still loaded.
/// </summary>
public sealed unsafe class CudaFunction
{
    /// <summary>Environment variable that turns on <see cref="SynchronizeAfterEachLaunch"/> ("1").</summary>
    public const string SynchronizeVariable = "MIXKV_CUDA_SYNC_LAUNCHES";

    private readonly nint function;

    internal CudaFunction(CudaModule module, nint function, string name)
    {
        Module = module;
        this.function = function;
        Name = name;
    }

    /// <summary>
    /// Debug switch: wait for every launch and report its asynchronous errors as a CudaException
    /// naming this kernel, instead of at some later, unrelated call.
    /// </summary>
    public static bool SynchronizeAfterEachLaunch { get; set; } = Environment.GetEnvironmentVariable(SynchronizeVariable) == "1";

    /// <summary>The module this kernel lives in.</summary>
    public CudaModule Module { get; }

    /// <summary>The lowered (mangled) name it was looked up by.</summary>
    public string Name { get; }

    /// <summary>
    /// Launches the kernel with <paramref name="parameters"/> as its single argument. The struct is
    /// copied to the stack and passed by pointer, so nothing is boxed or allocated per launch; the
    /// driver copies the value before returning. The launch is asynchronous (unless the debug switch is on).
    /// </summary>
    /// <param name="config">Grid, block and dynamic shared memory.</param>
    /// <param name="parameters">The kernel's parameter struct; its layout must match the C++ struct.</param>
    /// <param name="stream">The stream to enqueue on; null for the legacy default stream.</param>
    /// <param name="programmaticDependency">
    /// Launch with programmatic stream serialization (cuLaunchKernelEx; compute capability 9.0 and a
    /// CUDA 12 driver): the kernel may be scheduled before the previous kernel on the stream has
    /// finished, once that kernel's blocks allow it (griddepcontrol.launch_dependents). Only for kernels
    /// that execute griddepcontrol.wait before touching any memory an earlier kernel writes or reads.
    /// </param>
    public void Launch<TParams>(in LaunchConfig config, in TParams parameters, CudaStream? stream = null, bool programmaticDependency = false)
        where TParams : unmanaged
    {
        // Default-constructed Dim3 values (0, 0, 0) bypass the constructor's check.
        if (config.Grid.Volume == 0) throw new ArgumentException("The grid has a zero extent.", nameof(config));
        if (config.Block.Volume == 0) throw new ArgumentException("The block has a zero extent.", nameof(config));

        using var moduleLease = new HandleLease(Module);
        using var streamLease = new HandleLease(stream);
        var copy = parameters;
        var argument = (void*)&copy;
        string call;
        CudaStatus status;
        if (programmaticDependency)
        {
            var attribute = new LaunchAttribute { Id = LaunchAttribute.ProgrammaticStreamSerialization, Value = 1 };
            var launch = new LaunchConfigEx
            {
                GridDimX = config.Grid.X, GridDimY = config.Grid.Y, GridDimZ = config.Grid.Z,
                BlockDimX = config.Block.X, BlockDimY = config.Block.Y, BlockDimZ = config.Block.Z,
                SharedMemBytes = config.SharedMemoryBytes, Stream = streamLease.Value,
                Attributes = &attribute, AttributeCount = 1,
            };
            call = nameof(Driver.cuLaunchKernelEx);
            status = Driver.cuLaunchKernelEx(&launch, function, &argument, null);
        }
        else
        {
            call = nameof(Driver.cuLaunchKernel);
            status = Driver.cuLaunchKernel(
                function,
                config.Grid.X, config.Grid.Y, config.Grid.Z,
                config.Block.X, config.Block.Y, config.Block.Z,
                config.SharedMemoryBytes, streamLease.Value,
                &argument, null);
        }

        if (status != CudaStatus.CUDA_SUCCESS)
            throw new CudaException(call, status, $"kernel {Name}, {config}");

        if (SynchronizeAfterEachLaunch)
        {
            status = stream is null ? Driver.cuCtxSynchronize() : Driver.cuStreamSynchronize(streamLease.Value);
            if (status != CudaStatus.CUDA_SUCCESS)
                throw new CudaException(call, status, $"kernel {Name} failed while running, {config}");
        }
    }

    /// <summary>One <c>cuFuncGetAttribute</c> value (registers, static shared memory, ...).</summary>
    public int GetAttribute(CudaFunctionAttribute attribute)
    {
        using var lease = new HandleLease(Module);
        int value;
        CudaException.ThrowIfFailed(Driver.cuFuncGetAttribute(&value, attribute, function), nameof(Driver.cuFuncGetAttribute));
        return value;
    }

    /// <summary>Sets one <c>cuFuncSetAttribute</c> value (such as the dynamic shared memory a launch may ask for).</summary>
    public void SetAttribute(CudaFunctionAttribute attribute, int value)
    {
        using var lease = new HandleLease(Module);
        CudaException.ThrowIfFailed(Driver.cuFuncSetAttribute(function, attribute, value), nameof(Driver.cuFuncSetAttribute));
    }

    /// <summary>The most threads per block this kernel can be launched with on this device.</summary>
    public int MaxThreadsPerBlock => GetAttribute(CudaFunctionAttribute.MaxThreadsPerBlock);

    /// <summary>Registers per thread.</summary>
    public int RegisterCount => GetAttribute(CudaFunctionAttribute.NumRegisters);

    public override string ToString() => Name;
}
