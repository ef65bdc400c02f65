using MixKV.SafeTensors;
using MixKV.Tensors;

namespace MixKV.Cli.Compress;

/// <summary>One input layer after the file-contract checks: its three tensors and their dimensions.</summary>
internal sealed record LayerSpec(
    int Index,
    TensorInfo Keys,
    TensorInfo Values,
    TensorInfo Queries,
    DType DType,
    int KvHeads,
    int QueryHeads,
    int Tokens,
    int QueryRows,
    int HeadDim);
