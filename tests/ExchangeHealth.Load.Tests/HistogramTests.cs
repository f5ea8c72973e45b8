using ExchangeHealth.Engine.Diagnostics;

namespace ExchangeHealth.Load.Tests;

/// <summary>The driver's latency figures come from Engine's LatencyHistogram, one per connection, merged: check merge and error bounds.</summary>
public sealed class HistogramTests
{
    private static long Exact(long[] sorted, double percentile)
    {
        long rank = (long)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Max(0, rank - 1)];
    }

    private static long[] LatencyLike(Random random, int n)
    {
        // Log-normal-ish: mostly tens of microseconds, a tail into milliseconds, a few huge outliers.
        var values = new long[n];
        for (int i = 0; i < n; i++)
        {
            double u = random.NextDouble();
            values[i] = (long)(20_000 * Math.Exp(3 * u * u * u)) + random.Next(0, 1000);
            if (i % 997 == 0) values[i] = random.NextInt64(1, 5_000_000_000);
        }
        return values;
    }

    [Fact]
    public void Add_PerConnectionHistograms_EqualsOneHistogramOfAllValues()
    {
        var random = new Random(7);
        var all = new LatencyHistogram();
        var parts = new LatencyHistogram[5];
        for (int i = 0; i < parts.Length; i++) parts[i] = new LatencyHistogram();
        foreach (long v in LatencyLike(random, 50_000))
        {
            all.Record(v);
            parts[random.Next(parts.Length)].Record(v);
        }
        var merged = new LatencyHistogram();
        foreach (var p in parts) merged.Add(p);

        Assert.Equal(all.Count, merged.Count);
        Assert.Equal(all.Min, merged.Min);
        Assert.Equal(all.Max, merged.Max);
        Assert.Equal(all.Mean, merged.Mean, 6);
        foreach (double p in new[] { 0, 10, 50, 90, 99, 99.9, 99.99, 100 })
            Assert.Equal(all.ValueAtPercentile(p), merged.ValueAtPercentile(p));
    }

    [Fact]
    public void ValueAtPercentile_RandomLatencies_WithinReportedBound()
    {
        var random = new Random(42);
        long[] values = LatencyLike(random, 100_000);
        var h = new LatencyHistogram();
        foreach (long v in values) h.Record(v);
        Array.Sort(values);

        foreach (double p in LoadReport.ReportedPercentiles)
        {
            long exact = Exact(values, p);
            long reported = h.ValueAtPercentile(p);
            double relative = Math.Abs(reported - exact) / (double)exact;
            // Bucket middle: within half a bucket (1/256) of the exact value; the report states ±0.4 %.
            Assert.True(relative <= LoadReport.HistogramRelativeError / 2 + 1e-9, $"p{p}: reported {reported}, exact {exact}, error {relative:P3}");
        }
        Assert.Equal(values[^1], h.Max);
        Assert.Equal(values[0], h.Min);
    }

    [Fact]
    public void HistogramRelativeError_IsOneOver128()
    {
        Assert.Equal(1.0 / 128, LoadReport.HistogramRelativeError);
    }

    [Fact]
    public void Add_ThenReset_LeavesTheSourceEmptyAndTheTargetWhole()
    {
        var interval = new LatencyHistogram();
        var total = new LatencyHistogram();
        for (int second = 0; second < 3; second++)
        {
            for (int i = 1; i <= 1000; i++) interval.Record(i * 1000L);
            total.Add(interval);
            interval.Reset();
            Assert.Equal(0, interval.Count);
        }
        Assert.Equal(3000, total.Count);
        Assert.Equal(1_000_000, total.Max);
        long p50 = total.ValueAtPercentile(50);
        Assert.InRange(p50, 500_000 * (1 - 1.0 / 256), 500_000 * (1 + 1.0 / 256));
    }
}
