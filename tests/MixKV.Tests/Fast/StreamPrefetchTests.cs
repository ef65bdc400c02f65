using MixKV.Fast;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The streaming passes' prefetch distance (<see cref="StreamPrefetch.RowsAhead"/>): never zero (a
/// zero would ask again for the row being read and prefetch nothing ahead), covering the distance with
/// whole rows and not past it by a row more than needed. What the passes compute with it is held to
/// the reference by the agreement tests; the prefetch itself cannot change a result.
/// </summary>
[TestFixture]
public sealed class StreamPrefetchTests
{
    [TestCase(1L)]
    [TestCase(2L)]
    [TestCase(64L)]
    [TestCase(256L)]
    [TestCase(512L)]
    [TestCase(1000L)]
    [TestCase(StreamPrefetch.Distance - 1L)]
    [TestCase(StreamPrefetch.Distance * 1L)]
    public void RowsAheadCoverTheDistance(long rowBytes)
    {
        int rows = StreamPrefetch.RowsAhead(rowBytes);
        Assert.That(rows, Is.GreaterThanOrEqualTo(1), $"row of {rowBytes} bytes");
        Assert.That(rows * rowBytes, Is.LessThanOrEqualTo(StreamPrefetch.Distance), $"row of {rowBytes} bytes: {rows} rows ahead go past the distance");
        Assert.That((rows + 1) * rowBytes, Is.GreaterThan(StreamPrefetch.Distance), $"row of {rowBytes} bytes: one more row would still fit in the distance");
    }

    [TestCase(0L)]
    [TestCase(StreamPrefetch.Distance + 1L)]
    [TestCase(1L << 20)]
    [TestCase(long.MaxValue)]
    public void RowsLongerThanTheDistanceOrEmptyGetOneRowAhead(long rowBytes) =>
        Assert.That(StreamPrefetch.RowsAhead(rowBytes), Is.EqualTo(1), $"row of {rowBytes} bytes");
}
