namespace MixKV.Device;

/// <summary>
/// Why the device rejected a layer (the status word in the workspace; spec section 8). Raw device
/// buffers are checked on the device so the pipeline never waits for the host: a non-zero status
/// means the layer's outputs were not written.
/// </summary>
[Flags]
public enum DeviceRejection
{
    None = 0,
    NonFiniteKeys = 1,
    NonFiniteValues = 2,
    NonFiniteQueries = 4,
}
