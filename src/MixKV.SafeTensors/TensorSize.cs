namespace MixKV.SafeTensors;

/// <summary>Element and byte counts from a shape, shared by the reader's checks and the writer's layout.</summary>
internal static class TensorSize
{
    /// <summary>
    /// Computes element count and byte length with checked arithmetic, so a hostile header
    /// with huge dimensions cannot wrap around to a small size that passes the range checks.
    /// </summary>
    /// <returns>False when the byte length does not fit in Int64.</returns>
    public static bool TryCompute(ReadOnlySpan<long> shape, SafeTensorDType dtype, out long elementCount, out long byteLength)
    {
        // Any zero dimension makes the tensor empty, whatever the other dimensions are;
        // checking first keeps [huge, huge, 0] from being reported as an overflow.
        if (shape.Contains(0L))
        {
            elementCount = 0;
            byteLength = 0;
            return true;
        }

        try
        {
            long count = 1;
            foreach (long dim in shape)
            {
                count = checked(count * dim);
            }

            elementCount = count;
            byteLength = checked(count * dtype.ByteSize());
            return true;
        }
        catch (OverflowException)
        {
            elementCount = 0;
            byteLength = 0;
            return false;
        }
    }
}
