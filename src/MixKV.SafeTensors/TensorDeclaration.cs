namespace MixKV.SafeTensors;

/// <summary>A tensor announced to <see cref="SafeTensorsWriter"/> before its data, so the header can be written first.</summary>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
public sealed record TensorDeclaration(string Name, SafeTensorDType DType, long[] Shape);
