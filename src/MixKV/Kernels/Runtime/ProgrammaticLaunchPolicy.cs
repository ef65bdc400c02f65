using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// MIXKV_PDL=1 launches every kernel with programmatic dependent launch (cuLaunchKernelEx): on an
/// sm_90 or newer device a kernel's blocks are scheduled while the kernel before it finishes, and
/// wait in MIXKV_GRID_DEPENDENCY() (kernels/common/portability.cuh), which every kernel runs first.
/// Hides the launch gap between dependent kernels, in a captured graph too (programmatic edges).
/// Opt-in: on an H100 it passed every pipeline test and made the queued layer 2-3 % faster, a
/// captured graph not (bench/results/gpu-2026-11-27.md, call 9; gpu-check.sh's pdl rows). Where it
/// cannot be honoured it is refused by name rather than ignored: a timing taken "with" it must not
/// silently be one without, and a kernel that does not wait first would race.
/// </summary>
internal static class ProgrammaticLaunchPolicy
{
    public const string Variable = "MIXKV_PDL";

    /// <summary>The driver that records programmatic launches into a captured graph as programmatic edges.</summary>
    private static readonly Version GraphDriver = new(12, 3);

    /// <summary>Whether the environment asks for it (<see cref="Variable"/>=1).</summary>
    public static bool Requested => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>
    /// Why a device of <paramref name="computeCapability"/>, this driver and the kernel sources cannot
    /// give what the environment asks for, or null (also when nothing is asked):
    /// <see cref="CudaKernelRuntime.Open"/> throws it, the cuda probe reports it.
    /// </summary>
    public static string? RequestedRefusal(Version computeCapability) =>
        Requested ? DeviceRefusal(computeCapability, CudaDriver.Version) ?? SourcesRefusal(KernelSources.Files) : null;

    /// <summary>Why a device and driver cannot take <see cref="Variable"/>=1, or null when they can.</summary>
    public static string? DeviceRefusal(Version computeCapability, Version driver) =>
        computeCapability.Major >= 9 && driver >= GraphDriver
            ? null
            : $"{Variable}=1 needs compute capability 9.0 or newer and a CUDA {GraphDriver} driver or newer " +
              $"(this is {computeCapability} with a CUDA {driver} driver); unset it";

    /// <summary>
    /// Why <paramref name="files"/> cannot be launched programmatically, or null when every kernel
    /// waits for the grid before it first (<see cref="GridDependencyConvention"/>): a
    /// MIXKV_KERNEL_SOURCES copy from before that convention would otherwise read its inputs early.
    /// </summary>
    public static string? SourcesRefusal(IEnumerable<KernelFile> files) =>
        GridDependencyConvention.Offenders(files) is { Count: > 0 } offenders
            ? $"{Variable}=1 needs every kernel to begin with {GridDependencyConvention.FirstStatement} " +
              $"(kernels/common/portability.cuh), and of the sources compiled these do not: {string.Join("; ", offenders)}"
            : null;
}
