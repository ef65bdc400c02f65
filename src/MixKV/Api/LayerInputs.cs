using MixKV.Tensors;

namespace MixKV;

/// <summary>
/// One layer of one sequence (spec section 1): K and V [Hkv, N, D] and the prompt's last query rows
/// Q [Hq, Wq, D] with Wq >= W (only the last W rows are the observation window).
/// </summary>
public sealed record LayerInputs(HeadTensor Keys, HeadTensor Values, HeadTensor Queries)
{
    public int KvHeads => Keys.Heads;

    public int QueryHeads => Queries.Heads;

    public int Tokens => Keys.Tokens;

    public int HeadDim => Keys.Dim;

    /// <summary>The observation window: the last <paramref name="window"/> query rows.</summary>
    public HeadTensor WindowQueries(int window) => Queries.SliceTokens(Queries.Tokens - window, window);
}
