namespace MixKV.Kernels.Runtime;

/// <summary>Marks a params struct as the twin of the C struct of the same name in <see cref="File"/> (once per file that uses it).</summary>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = true)]
internal sealed class KernelParamsAttribute(string file) : Attribute
{
    public string File { get; } = file;
}
