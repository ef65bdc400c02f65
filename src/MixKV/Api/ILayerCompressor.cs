using MixKV.Options;

namespace MixKV;

/// <summary>
/// A backend that compresses one layer: the CPU reference, the fast CPU path, or the kernels (on a GPU
/// or the CPU runtime). One instance may serve several threads at once; each call's result is the one
/// it gives alone (tests/MixKV.Tests/Kernels/ConcurrentCallTests.cs).
/// </summary>
public interface ILayerCompressor
{
    /// <summary>The backend's name as the command line spells it.</summary>
    string Name { get; }

    /// <summary>Out of place, flattened varlen output; the inputs are only read.</summary>
    CompressedLayer Compress(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores = false);
}
