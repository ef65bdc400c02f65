namespace MixKV.SafeTensors;

/// <summary>Element types this library reads and writes; the safetensors format names others we reject.</summary>
public enum SafeTensorDType
{
    F32,
    F16,
    BF16,
    I32,
}
