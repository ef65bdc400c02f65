using MixKV.Kernels.Runtime;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// MIXKV_PDL=1 is taken only where the hardware (griddepcontrol, sm_90 and newer) and the driver
/// (programmatic edges in captured graphs, CUDA 12.3) can honour it; anywhere else the runtime refuses
/// it by name instead of timing plain launches under its label. The device-side behaviour runs in
/// bench/gpu-check.sh's "tests (MIXKV_PDL=1)" step.
/// </summary>
public sealed class ProgrammaticLaunchTests
{
    [TestCase(9, 0, 12, 3)]
    [TestCase(9, 0, 13, 0)]
    [TestCase(10, 0, 12, 8)]
    public void AHopperOrNewerDeviceWithACuda123DriverTakesIt(int major, int minor, int driverMajor, int driverMinor) =>
        Assert.That(ProgrammaticLaunchPolicy.DeviceRefusal(new Version(major, minor), new Version(driverMajor, driverMinor)), Is.Null);

    [TestCase(8, 0, 13, 0, TestName = "an sm_80 device")]
    [TestCase(8, 9, 12, 4, TestName = "an sm_89 device")]
    [TestCase(9, 0, 12, 2, TestName = "a CUDA 12.2 driver")]
    [TestCase(9, 0, 11, 8, TestName = "a CUDA 11.8 driver")]
    public void OtherwiseItIsRefusedByNameWithWhatWasFound(int major, int minor, int driverMajor, int driverMinor)
    {
        string? refusal = ProgrammaticLaunchPolicy.DeviceRefusal(new Version(major, minor), new Version(driverMajor, driverMinor));

        Assert.That(refusal, Does.StartWith($"{ProgrammaticLaunchPolicy.Variable}=1 needs compute capability 9.0"));
        Assert.That(refusal, Does.Contain($"this is {major}.{minor} with a CUDA {driverMajor}.{driverMinor} driver"));
    }
}
