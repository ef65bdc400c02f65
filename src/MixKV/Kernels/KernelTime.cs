namespace MixKV.Kernels;

/// <summary>
/// One kernel instance in a per-kernel profile (<see cref="KernelBackend.ProfileKernels"/>): how often
/// one layer launches it, and the median over the repetitions of its summed time per layer.
/// </summary>
public sealed record KernelTime(string Instance, int LaunchesPerLayer, double MedianMicroseconds);
