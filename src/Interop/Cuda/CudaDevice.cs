using System.Text;

namespace MixKV.Interop;

/// <summary>A GPU by ordinal. Queries go to the driver each time; nothing here holds a resource.</summary>
public sealed unsafe class CudaDevice
{
    private CudaDevice(int ordinal) => Ordinal = ordinal;

    /// <summary>The <c>CUdevice</c> value, which is the ordinal.</summary>
    public int Ordinal { get; }

    /// <summary>How many devices the driver sees; initialises the driver first.</summary>
    public static int Count
    {
        get
        {
            CudaDriver.Initialize();
            int count;
            CudaException.ThrowIfFailed(Driver.cuDeviceGetCount(&count), nameof(Driver.cuDeviceGetCount));
            return count;
        }
    }

    /// <summary>The device with this ordinal; initialises the driver first.</summary>
    public static CudaDevice Get(int ordinal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        CudaDriver.Initialize();
        int device;
        CudaException.ThrowIfFailed(Driver.cuDeviceGet(&device, ordinal), nameof(Driver.cuDeviceGet));
        return new CudaDevice(device);
    }

    /// <summary>The marketing name, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string Name
    {
        get
        {
            // cuda.h documents no limit; 256 bytes is what nvidia-smi and the runtime's cudaDeviceProp use.
            const int capacity = 256;
            var buffer = stackalloc byte[capacity];
            CudaException.ThrowIfFailed(Driver.cuDeviceGetName(buffer, capacity, Ordinal), nameof(Driver.cuDeviceGetName));
            var name = new ReadOnlySpan<byte>(buffer, capacity);
            var end = name.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? name : name[..end]);
        }
    }

    /// <summary>Total device memory in bytes.</summary>
    public long TotalMemoryBytes
    {
        get
        {
            nuint bytes;
            CudaException.ThrowIfFailed(Driver.cuDeviceTotalMem_v2(&bytes, Ordinal), nameof(Driver.cuDeviceTotalMem_v2));
            return checked((long)bytes);
        }
    }

    /// <summary>The compute capability, e.g. 9.0 for an H100.</summary>
    public Version ComputeCapability =>
        new(GetAttribute(CudaDeviceAttribute.ComputeCapabilityMajor), GetAttribute(CudaDeviceAttribute.ComputeCapabilityMinor));

    /// <summary>The number of streaming multiprocessors.</summary>
    public int MultiprocessorCount => GetAttribute(CudaDeviceAttribute.MultiprocessorCount);

    /// <summary>One <c>cuDeviceGetAttribute</c> value.</summary>
    public int GetAttribute(CudaDeviceAttribute attribute)
    {
        int value;
        CudaException.ThrowIfFailed(Driver.cuDeviceGetAttribute(&value, attribute, Ordinal), nameof(Driver.cuDeviceGetAttribute));
        return value;
    }

    public override string ToString() => $"CUDA device {Ordinal}";
}
