using ExchangeHealth.Engine.Diagnostics;

namespace ExchangeHealth.Engine.Tests.Workload;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Record_SmallValues_ExactPercentiles()
    {
        var h = new LatencyHistogram();
        for (int v = 1; v <= 100; v++) h.Record(v);
        Assert.Equal(100, h.Count);
        Assert.Equal(1, h.Min);
        Assert.Equal(100, h.Max);
        Assert.Equal(50, h.ValueAtPercentile(50));
        Assert.Equal(99, h.ValueAtPercentile(99));
        Assert.Equal(100, h.ValueAtPercentile(99.99));
        Assert.Equal(50.5, h.Mean, 6);
    }

    [Fact]
    public void Record_WideRange_PercentilesWithinOnePercentAndMinMaxExact()
    {
        var h = new LatencyHistogram();
        var values = new List<long>();
        var random = new Random(5);
        for (int i = 0; i < 200_000; i++)
        {
            // Log-uniform from 1 ns to about 10 s.
            long v = (long)Math.Exp(random.NextDouble() * Math.Log(1e10));
            values.Add(v);
            h.Record(v);
        }
        values.Sort();
        Assert.Equal(values[0], h.Min);
        Assert.Equal(values[^1], h.Max);
        foreach (double p in new[] { 1.0, 10, 50, 90, 99, 99.9, 99.99 })
        {
            long exact = values[(int)Math.Ceiling(p / 100 * values.Count) - 1];
            long estimate = h.ValueAtPercentile(p);
            Assert.True(Math.Abs(estimate - exact) <= Math.Max(1, exact * 0.01), $"p{p}: {estimate} vs {exact}");
        }
        Assert.Equal(h.Max, h.ValueAtPercentile(100));
        Assert.Equal(h.Min, h.ValueAtPercentile(0));
    }

    [Fact]
    public void Buckets_AreContiguousAndCoverTheLongRange()
    {
        Assert.Equal(0, LatencyHistogram.BucketOf(0));
        Assert.Equal(255, LatencyHistogram.BucketOf(255));
        Assert.Equal(256, LatencyHistogram.BucketOf(256));
        long previousHigh = -1;
        for (int b = 0; b <= LatencyHistogram.BucketOf(long.MaxValue); b++)
        {
            long low = LatencyHistogram.LowestOf(b);
            long high = LatencyHistogram.HighestOf(b);
            Assert.Equal(previousHigh + 1, low);
            Assert.Equal(b, LatencyHistogram.BucketOf(low));
            Assert.Equal(b, LatencyHistogram.BucketOf(high));
            Assert.True(high - low <= Math.Max(0, low / 128), $"bucket {b} too wide");
            previousHigh = high;
        }
        Assert.Equal(long.MaxValue, previousHigh);
    }

    [Fact]
    public void AddAndReset_MergeAndClear()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(10);
        b.Record(1_000_000);
        b.Record(-5);
        a.Add(b);
        Assert.Equal(3, a.Count);
        Assert.Equal(0, a.Min);
        Assert.Equal(1_000_000, a.Max);
        Assert.Equal(1, a.CountAbove(10));
        a.Reset();
        Assert.Equal(0, a.Count);
        Assert.Equal(0, a.ValueAtPercentile(50));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.ValueAtPercentile(101));
    }

    [Fact]
    public void Record_SteadyState_DoesNotAllocate()
    {
        var h = new LatencyHistogram();
        h.Record(1);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (long v = 0; v < 100_000; v++) h.Record(v * 7919);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
