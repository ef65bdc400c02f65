using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// The C# params struct of a kernel is the single source of its layout (style point 11): this
/// generates static_asserts appended to the NVRTC program, so a struct that drifts from its .cu twin
/// fails compilation in CI. C# field <c>KeyHeadStride</c> is the C field <c>key_head_stride</c>.
/// NVRTC 11.8 has no offsetof, so the asserts pin what it can evaluate: the total size, every field's
/// existence and size, and the exact type of every scalar field (pointers are checked by size).
/// </summary>
internal static class ParamsLayout
{
    public const string Prelude =
        "template <typename A, typename B> struct mixkv_layout_same { static constexpr bool value = false; };\n" +
        "template <typename A> struct mixkv_layout_same<A, A> { static constexpr bool value = true; };\n";

    public static string StaticAsserts(Type paramsType)
    {
        string cName = paramsType.Name;
        var text = new StringBuilder();
        text.Append($"static_assert(sizeof({cName}) == {Marshal.SizeOf(paramsType)}, \"{cName}: size differs from the C# struct\");\n");
        foreach (FieldInfo field in paramsType.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            string cField = SnakeCase(field.Name);
            string member = $"(({cName}*)nullptr)->{cField}";
            text.Append($"static_assert(sizeof({member}) == {Marshal.SizeOf(field.FieldType)}, \"{cName}.{cField}: size differs from the C# field\");\n");
            if (ScalarType(field.FieldType) is { } cType)
            {
                text.Append($"static_assert(mixkv_layout_same<decltype({cName}::{cField}), {cType}>::value, \"{cName}.{cField}: must be {cType}\");\n");
            }
        }

        return text.ToString();
    }

    public static string SnakeCase(string pascal)
    {
        var text = new StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c) && i > 0)
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(c));
        }

        return text.ToString();
    }

    /// <summary>The C type of a scalar C# field; null for device pointers (ulong), whose C type varies.</summary>
    private static string? ScalarType(Type type) =>
        type == typeof(int) ? "int"
        : type == typeof(long) ? "long long"
        : type == typeof(float) ? "float"
        : type == typeof(double) ? "double"
        : null;
}
