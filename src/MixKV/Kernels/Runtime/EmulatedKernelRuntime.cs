using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// The CPU runtime behind the same launcher interface as the CUDA driver: kernels from
/// libmixkv_emu.so (the .cu files compiled by g++), "device" memory in aligned host memory, launches
/// synchronous. Between barriers the threads of a block run in index order or in a seeded random
/// order (<see cref="SetSchedule"/>), so a missing __syncthreads shows up as differing results.
/// </summary>
internal sealed unsafe class EmulatedKernelRuntime : IKernelRuntime
{
    private readonly ConcurrentDictionary<string, nint> functions = new(StringComparer.Ordinal);
    private readonly object launchLock = new();

    private EmulatedKernelRuntime()
    {
    }

    public string Name => "emulated";

    /// <summary>A fixed count, not the machine's cores: the same run lengths, so the same results, on every machine.</summary>
    public int Multiprocessors => 4;

    /// <summary>Throws <see cref="InvalidOperationException"/> naming every place looked at when the library is missing.</summary>
    public static EmulatedKernelRuntime Open()
    {
        if (!EmulatorNative.TryLoad(out string reason))
        {
            throw new InvalidOperationException(reason);
        }

        return new EmulatedKernelRuntime();
    }

    /// <summary>mode 0: index order; mode 1: seeded random order per block and barrier.</summary>
    public void SetSchedule(ulong seed, bool randomOrder) =>
        Check(EmulatorNative.SetSchedule(seed, randomOrder ? 1 : 0), "mixkv_emu_set_schedule");

    public void Launch<TParams>(string instance, in LaunchConfig config, in TParams parameters)
        where TParams : unmanaged
    {
        nint function = Function<TParams>(instance);
        TParams copy = parameters;
        void* argument = &copy;
        lock (launchLock)
        {
            int status = EmulatorNative.LaunchKernel(function, config.Grid.X, config.Grid.Y, config.Grid.Z, config.Block.X, config.Block.Y, config.Block.Z, config.SharedMemoryBytes, &argument);
            if (status != 0)
            {
                throw new InvalidOperationException($"mixkv_emu_launch: {instance}, {config}: status {status}: {EmulatorNative.LastErrorText()}");
            }
        }
    }

    public IDeviceAllocation Allocate(long bytes) => new HostAllocation(bytes);

    public void CopyToDevice(ReadOnlySpan<byte> source, DevicePointer destination) => source.CopyTo(Span(destination, source.Length));

    public void CopyToHost(DevicePointer source, Span<byte> destination) => Span(source, destination.Length).CopyTo(destination);

    public void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes) =>
        Buffer.MemoryCopy((void*)source.Address, (void*)destination.Address, bytes, bytes);

    public void Fill(DevicePointer destination, byte value, long bytes) => NativeMemory.Fill((void*)destination.Address, (nuint)bytes, value);

    public void Synchronize()
    {
        // Launches complete before they return.
    }

    public void Dispose()
    {
    }

    private static Span<byte> Span(DevicePointer pointer, int length) => new((void*)pointer.Address, length);

    private nint Function<TParams>(string instance)
        where TParams : unmanaged => functions.GetOrAdd(instance, name =>
    {
        Check(EmulatorNative.GetFunction(name, out nint function), $"mixkv_emu_get_function(\"{name}\")");
        Check(EmulatorNative.FunctionParamsSize(function, out ulong size), "mixkv_emu_function_params_size");
        if (size != (ulong)sizeof(TParams))
        {
            throw new InvalidOperationException($"{name}: the C params struct is {size} bytes but {typeof(TParams).Name} is {sizeof(TParams)}: rebuild libmixkv_emu.so or fix the struct");
        }

        return function;
    });

    private static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{call}: status {status}: {EmulatorNative.LastErrorText()}");
        }
    }

    private sealed class HostAllocation : IDeviceAllocation
    {
        private void* memory;

        public HostAllocation(long bytes)
        {
            Bytes = bytes;
            memory = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 256);
        }

        public DevicePointer Pointer => new((ulong)memory);

        public long Bytes { get; }

        public void Dispose()
        {
            if (memory != null)
            {
                NativeMemory.AlignedFree(memory);
                memory = null;
            }
        }
    }
}
