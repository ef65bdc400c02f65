namespace MixKV.Options;

/// <summary>Which layer of how many is being compressed (PyramidKV, AdaKV's skip and offline redundancy need it).</summary>
public readonly record struct LayerPosition(int Index, int Count)
{
    /// <summary>A single-layer model.</summary>
    public static LayerPosition Single => new(0, 1);
}
