using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Validation;

/// <summary>
/// The shape, stride, dtype and value rules of spec section 8 for one layer. Runs before any stage so
/// that a rejected call has written nothing. Every failure is an <see cref="ArgumentException"/>
/// whose ParamName is the offending argument.
/// </summary>
public static class InputValidator
{
    public static void Validate(LayerInputs inputs, CompressionOptions options, LayerPosition layer)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ValidateLayer(layer);

        HeadTensor k = inputs.Keys, v = inputs.Values, q = inputs.Queries;
        ValidateTensor(k, "keys");
        ValidateTensor(v, "values");
        ValidateTensor(q, "queries");

        Require(v.DType == k.DType, "values", $"values dtype {v.DType.Name()} differs from keys dtype {k.DType.Name()}");
        Require(q.DType == k.DType, "queries", $"queries dtype {q.DType.Name()} differs from keys dtype {k.DType.Name()}");
        Require(v.Heads == k.Heads, "values", $"values have {v.Heads} heads but keys have {k.Heads}");
        Require(v.Tokens == k.Tokens, "values", $"values have {v.Tokens} tokens but keys have {k.Tokens}");
        Require(v.Dim == k.Dim, "values", $"values head dim {v.Dim} differs from keys head dim {k.Dim}");
        Require(q.Dim == k.Dim, "queries", $"queries head dim {q.Dim} differs from keys head dim {k.Dim}");
        Require(q.Heads % k.Heads == 0, "queries", $"query heads ({q.Heads}) must be a multiple of KV heads ({k.Heads})");

        // The window queries are only read when compression can happen (N >= W, spec section 5).
        if (k.Tokens >= options.Window)
        {
            Require(q.Tokens >= options.Window, "queries", $"queries have {q.Tokens} rows but the window needs {options.Window} (Wq >= W)");
        }

        if (options.Redundancy is { } table)
        {
            Require(table.LayerCount == layer.Count, nameof(options.Redundancy), $"redundancy table has {table.LayerCount} layers but the model has {layer.Count}");
            // The whole table is [L][Hkv] (spec section 8), not only the row of the layer at hand.
            for (int l = 0; l < table.LayerCount; l++)
            {
                Require(table.HeadCount(l) == k.Heads, nameof(options.Redundancy), $"redundancy table layer {l} has {table.HeadCount(l)} heads but keys have {k.Heads}");
            }
        }

        if (options.CheckFinite)
        {
            RequireFinite(k, "keys");
            RequireFinite(v, "values");
            if (k.Tokens >= options.Window)
            {
                RequireFinite(inputs.WindowQueries(options.Window), "queries");
            }
        }
    }

    public static void ValidateLayer(LayerPosition layer)
    {
        Require(layer.Count >= 1, "layer", $"layer count L must be >= 1 (got {layer.Count})");
        Require(layer.Index >= 0 && layer.Index < layer.Count, "layer", $"layer index must satisfy 0 <= l < L (got l = {layer.Index}, L = {layer.Count})");
    }

    /// <summary>Dimensions positive, strides non-negative and non-aliasing, every element inside the buffer.</summary>
    public static void ValidateTensor(HeadTensor t, string name)
    {
        Require(Enum.IsDefined(t.DType), name, $"unsupported dtype {(int)t.DType} (F32, F16 and BF16 are supported)");
        Require(t.Heads >= 1, name, $"heads must be >= 1 (got {t.Heads})");
        Require(t.Tokens >= 1, name, $"tokens must be >= 1 (got {t.Tokens})");
        Require(t.Dim >= 1, name, $"head dim must be >= 1 (got {t.Dim})");
        Require(t.HeadStride >= 0 && t.TokenStride >= 0 && t.Offset >= 0, name, $"strides and offset must be non-negative (head stride {t.HeadStride}, token stride {t.TokenStride}, offset {t.Offset})");
        Require(!RowsAlias(t), name, $"strides alias rows (head stride {t.HeadStride}, token stride {t.TokenStride}, head dim {t.Dim}): every [head, token] row needs its own {t.Dim} elements");

        long extent;
        try
        {
            extent = checked(t.Offset + ((long)t.Heads - 1) * t.HeadStride + ((long)t.Tokens - 1) * t.TokenStride + t.Dim);
            extent = checked(extent * t.ElementSize);
        }
        catch (OverflowException)
        {
            throw new ArgumentException("shape and strides overflow a 64-bit byte offset", name);
        }

        Require(extent <= t.Data.Length, name, $"buffer holds {t.Data.Length} bytes but shape and strides reach byte {extent}");
    }

    /// <summary>
    /// Distinct rows must not overlap: walking the axes that have more than one entry from the smallest
    /// stride up, each stride must step past everything the smaller axes span (a row of Dim first).
    /// </summary>
    private static bool RowsAlias(HeadTensor t)
    {
        var axes = new List<(long Stride, long Count)>(2);
        if (t.Heads > 1)
        {
            axes.Add((t.HeadStride, t.Heads));
        }

        if (t.Tokens > 1)
        {
            axes.Add((t.TokenStride, t.Tokens));
        }

        axes.Sort((a, b) => a.Stride.CompareTo(b.Stride));
        long spanned = t.Dim;
        foreach ((long stride, long count) in axes)
        {
            if (stride < spanned)
            {
                return true;
            }

            spanned = stride > long.MaxValue / count ? long.MaxValue : stride * count;
        }

        return false;
    }

    private static void RequireFinite(HeadTensor t, string name)
    {
        var row = new double[t.Dim];
        for (int h = 0; h < t.Heads; h++)
        {
            for (int n = 0; n < t.Tokens; n++)
            {
                // The bit scan runs at memory speed; decoding every element to double (what names
                // the offender) took ~2 ms per MB, most of a kernel backend's host call at N = 32768.
                if (!FiniteBits.AnyNonFinite(t.Row(h, n), t.DType))
                {
                    continue;
                }

                t.ReadRow(h, n, row);
                foreach (double x in row)
                {
                    if (!double.IsFinite(x))
                    {
                        throw new ArgumentException($"{name} contain a non-finite value ({x}) at head {h}, token {n}; NaN and Inf are rejected (switch CheckFinite off to skip this check)", name);
                    }
                }
            }
        }
    }

    private static void Require(bool rule, string name, string message)
    {
        if (!rule)
        {
            throw new ArgumentException(message, name);
        }
    }
}
