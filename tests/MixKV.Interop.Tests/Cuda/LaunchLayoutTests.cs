using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MixKV.Interop.Tests.Cuda;

/// <summary>
/// cuLaunchKernelEx reads its config and attributes by cuda.h's layout; a field off by four bytes
/// would hand the driver a wrong stream or attribute list, and only on a GPU. The offsets are those
/// of cuda.h (12.x) on x86-64: CUlaunchConfig 56 bytes with hStream at 32, attrs at 40, numAttrs at
/// 48; CUlaunchAttribute 72 bytes with its value union at 8.
/// </summary>
public sealed class LaunchLayoutTests
{
    [Test]
    public void TheLaunchConfigHasCudaHsLayout()
    {
        Assert.That(Unsafe.SizeOf<LaunchConfigEx>(), Is.EqualTo(56), "sizeof(CUlaunchConfig)");
        Assert.That(Offset<LaunchConfigEx>(nameof(LaunchConfigEx.SharedMemBytes)), Is.EqualTo(24), "sharedMemBytes");
        Assert.That(Offset<LaunchConfigEx>(nameof(LaunchConfigEx.Stream)), Is.EqualTo(32), "hStream");
        Assert.That(Offset<LaunchConfigEx>(nameof(LaunchConfigEx.Attributes)), Is.EqualTo(40), "attrs");
        Assert.That(Offset<LaunchConfigEx>(nameof(LaunchConfigEx.AttributeCount)), Is.EqualTo(48), "numAttrs");
    }

    [Test]
    public void TheLaunchAttributeHasCudaHsLayout()
    {
        Assert.That(Unsafe.SizeOf<LaunchAttribute>(), Is.EqualTo(72), "sizeof(CUlaunchAttribute)");
        Assert.That(Offset<LaunchAttribute>(nameof(LaunchAttribute.Id)), Is.Zero, "id");
        Assert.That(Offset<LaunchAttribute>(nameof(LaunchAttribute.Value)), Is.EqualTo(8), "value");
        Assert.That(LaunchAttribute.ProgrammaticStreamSerialization, Is.EqualTo(6), "CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION");
    }

    private static int Offset<T>(string field) => (int)Marshal.OffsetOf<T>(field);
}
