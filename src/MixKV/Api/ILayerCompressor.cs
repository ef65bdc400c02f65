using MixKV.Options;

namespace MixKV;

/// <summary>A backend that compresses one layer (the CPU reference now; the CUDA and emulated kernels later).</summary>
public interface ILayerCompressor
{
    /// <summary>The backend's name as the command line spells it.</summary>
    string Name { get; }

    /// <summary>Out of place, flattened varlen output; the inputs are only read.</summary>
    CompressedLayer Compress(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores = false);
}
