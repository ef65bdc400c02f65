namespace MixKV.Kernels.Runtime;

/// <summary>Marks a params struct as the twin of the C struct of the same name in <see cref="File"/>.</summary>
[AttributeUsage(AttributeTargets.Struct)]
internal sealed class KernelParamsAttribute(string file) : Attribute
{
    public string File { get; } = file;
}
