namespace MixKV.Kernels.Runtime;

/// <summary>
/// Theoretical occupancy (resident warps / 64) of a kernel on sm_80 or sm_90(a) from its registers,
/// shared memory and block size, with the hardware's allocation rules: registers per warp rounded
/// up to 256, 1 KiB of shared memory reserved per block, at most 32 blocks and 2048 threads per SM.
/// </summary>
internal static class Occupancy
{
    private const int RegistersPerSm = 65536;
    private const int MaxThreadsPerSm = 2048;
    private const int MaxBlocksPerSm = 32;
    private const int WarpsPerSm = MaxThreadsPerSm / 32;
    private const int ReservedSharedPerBlock = 1024;

    /// <summary>Fraction of the SM's 64 warp slots a kernel can fill (0 when it cannot launch).</summary>
    public static double Of(string architecture, int registers, int sharedBytes, int blockThreads)
    {
        if (blockThreads <= 0)
        {
            return 0;
        }

        int sharedPerSm = architecture switch
        {
            "sm_80" => 167936,  // 164 KiB
            "sm_90" or "sm_90a" => 233472,  // 228 KiB (sm_90a: the same part, with its wgmma)
            _ => throw new ArgumentOutOfRangeException(nameof(architecture), architecture, "sm_80, sm_90 or sm_90a"),
        };
        int warpsPerBlock = (blockThreads + 31) / 32;
        int registersPerWarp = (registers * 32 + 255) / 256 * 256;
        int byRegisters = registersPerWarp == 0 ? MaxBlocksPerSm : RegistersPerSm / registersPerWarp / warpsPerBlock;
        int byShared = sharedPerSm / (sharedBytes + ReservedSharedPerBlock);
        int byThreads = MaxThreadsPerSm / (warpsPerBlock * 32);
        int blocks = Math.Min(Math.Min(byRegisters, byShared), Math.Min(byThreads, MaxBlocksPerSm));
        return Math.Min(1.0, (double)(blocks * warpsPerBlock) / WarpsPerSm);
    }
}
