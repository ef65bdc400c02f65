namespace MixKV;

/// <summary>
/// Which rows each KV head keeps (spec sections 6 and 7), in the flattened varlen form: head h keeps
/// <c>Positions[CuLens[h] .. CuLens[h+1]]</c>, ascending, window last.
/// </summary>
public sealed class KeptTokens
{
    public KeptTokens(bool compressed, int[] headLens, int[] positions, int prefix, float[]? scores)
    {
        Compressed = compressed;
        HeadLens = headLens;
        Positions = positions;
        Prefix = prefix;
        Scores = scores;
        CuLens = new int[headLens.Length + 1];
        for (int h = 0; h < headLens.Length; h++)
        {
            CuLens[h + 1] = CuLens[h] + headLens[h];
        }
    }

    /// <summary>False when the layer is returned unchanged (spec section 5): every head keeps all N rows.</summary>
    public bool Compressed { get; }

    /// <summary>len_h = cap_h + W (or N uncompressed), [Hkv].</summary>
    public int[] HeadLens { get; }

    /// <summary>Exclusive prefix sum of <see cref="HeadLens"/>, [Hkv + 1].</summary>
    public int[] CuLens { get; }

    /// <summary>Original token index of every kept row, head-major, [T].</summary>
    public int[] Positions { get; }

    /// <summary>P = N - W prefix tokens that competed (0 when N &lt; W).</summary>
    public int Prefix { get; }

    /// <summary>The final scores S [Hkv, P] row-major when asked for, else null.</summary>
    public float[]? Scores { get; }

    public int KvHeads => HeadLens.Length;

    /// <summary>T = Σ len_h.</summary>
    public int TotalTokens => CuLens[^1];

    /// <summary>True when every head keeps the same number of rows (the dense layout applies).</summary>
    public bool IsUniform => HeadLens.All(len => len == HeadLens[0]);

    public ReadOnlySpan<int> PositionsOfHead(int head) => Positions.AsSpan(CuLens[head], HeadLens[head]);
}
