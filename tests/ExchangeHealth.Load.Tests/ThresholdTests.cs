using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Diagnostics;

namespace ExchangeHealth.Load.Tests;

public sealed class ThresholdTests
{
    [Theory]
    [InlineData("p99<1ms", ThresholdMetric.Percentile, 99, ThresholdOperator.Less, 1_000_000, ThresholdUnit.Nanoseconds)]
    [InlineData("p99.9 <= 250us", ThresholdMetric.Percentile, 99.9, ThresholdOperator.LessOrEqual, 250_000, ThresholdUnit.Nanoseconds)]
    [InlineData("p50<80µs", ThresholdMetric.Percentile, 50, ThresholdOperator.Less, 80_000, ThresholdUnit.Nanoseconds)]
    [InlineData("p99.99<2 s", ThresholdMetric.Percentile, 99.99, ThresholdOperator.Less, 2e9, ThresholdUnit.Nanoseconds)]
    [InlineData("max<500ns", ThresholdMetric.Max, 0, ThresholdOperator.Less, 500, ThresholdUnit.Nanoseconds)]
    [InlineData("mean < 1.5ms", ThresholdMetric.Mean, 0, ThresholdOperator.Less, 1_500_000, ThresholdUnit.Nanoseconds)]
    [InlineData("errors<0.1%", ThresholdMetric.Errors, 0, ThresholdOperator.Less, 0.1, ThresholdUnit.Percent)]
    [InlineData("errors<=0", ThresholdMetric.Errors, 0, ThresholdOperator.LessOrEqual, 0, ThresholdUnit.Count)]
    [InlineData("rejects<1%", ThresholdMetric.Rejects, 0, ThresholdOperator.Less, 1, ThresholdUnit.Percent)]
    [InlineData("dropped<=10", ThresholdMetric.Dropped, 0, ThresholdOperator.LessOrEqual, 10, ThresholdUnit.Count)]
    [InlineData("late<5%", ThresholdMetric.Late, 0, ThresholdOperator.Less, 5, ThresholdUnit.Percent)]
    [InlineData("rate>=5000", ThresholdMetric.Rate, 0, ThresholdOperator.GreaterOrEqual, 5000, ThresholdUnit.PerSecond)]
    [InlineData(" rate > 4999.5/s ", ThresholdMetric.Rate, 0, ThresholdOperator.Greater, 4999.5, ThresholdUnit.PerSecond)]
    public void Parse_ValidThreshold_ReadsMetricOperatorAndLimit(string text, ThresholdMetric metric, double percentile, ThresholdOperator op, double limit, ThresholdUnit unit)
    {
        var t = LoadThreshold.Parse(text);
        Assert.Equal(metric, t.Metric);
        Assert.Equal(percentile, t.Percentile);
        Assert.Equal(op, t.Operator);
        Assert.Equal(limit, t.Limit, 6);
        Assert.Equal(unit, t.Unit);
        Assert.Equal(text.Trim(), t.Text);
    }

    [Theory]
    [InlineData("p99<1xs", "unknown unit 'xs'")]
    [InlineData("p99<1", "needs a unit")]
    [InlineData("p99<fast", "is not a latency")]
    [InlineData("p0<1ms", "is not a percentile")]
    [InlineData("p101<1ms", "is not a percentile")]
    [InlineData("latency<1ms", "unknown metric 'latency'")]
    [InlineData("errors=0", "'=' is not a comparison")]
    [InlineData("errors", "expected METRIC OP VALUE")]
    [InlineData("errors<", "the value is missing")]
    [InlineData("<1%", "the metric is missing")]
    [InlineData("errors<150%", "more than 100%")]
    [InlineData("rejects<some", "is not a share or a count")]
    [InlineData("rate>=fast", "is not a rate")]
    public void TryParse_InvalidThreshold_NamesItAndSaysWhy(string text, string expected)
    {
        Assert.False(LoadThreshold.TryParse(text, out var threshold, out string? error));
        Assert.Null(threshold);
        Assert.StartsWith($"threshold '{text.Trim()}':", error);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        var e = Assert.Throws<FormatException>(() => LoadThreshold.Parse(text));
        Assert.Equal(error, e.Message);
    }

    [Fact]
    public void Evaluate_AgainstReport_ComparesActualValues()
    {
        var response = new LatencyHistogram();
        for (int i = 1; i <= 1000; i++) response.Record(i * 1_000L); // 1 µs .. 1 ms
        var report = Reports.Synthetic(response, sent: 10_000, acknowledged: 9_990, rejected: 100, unacknowledged: 10, achievedRate: 4990);

        ThresholdResult Check(string text) => LoadThreshold.Parse(text).Evaluate(report);

        Assert.True(Check("p99<1ms").Passed);
        Assert.False(Check("p99<900us").Passed);
        Assert.Contains("µs", Check("p99<900us").ActualText, StringComparison.Ordinal);
        Assert.True(Check("max<=1ms").Passed);
        Assert.False(Check("max<1ms").Passed);
        Assert.True(Check("errors<0.2%").Passed);   // 10 unacknowledged of 10,000 sent = 0.1 %
        Assert.False(Check("errors<0.1%").Passed);
        Assert.Equal(0.1, Check("errors<0.1%").Actual, 9);
        Assert.False(Check("errors<=0").Passed);
        Assert.Equal(10, Check("errors<=0").Actual);
        Assert.True(Check("rejects<1.01%").Passed); // 100 of 9,990 acknowledged
        Assert.False(Check("rejects<1%").Passed);
        Assert.False(Check("rate>=5000").Passed);
        Assert.Equal("4,990/s", Check("rate>=5000").ActualText);
        Assert.True(Check("rate>4000").Passed);
        Assert.True(Check("dropped<=0").Passed);
    }

    [Fact]
    public void Evaluate_NoAcknowledgements_LatencyThresholdFails()
    {
        var report = Reports.Synthetic(new LatencyHistogram(), sent: 0, acknowledged: 0, rejected: 0, unacknowledged: 0, achievedRate: 0);
        var result = LoadThreshold.Parse("p99<1s").Evaluate(report);
        Assert.False(result.Passed);
        Assert.Equal("no acknowledgements", result.ActualText);
        Assert.True(LoadThreshold.Parse("errors<1%").Evaluate(report).Passed);
    }
}

internal static class Reports
{
    public static LoadReport Synthetic(LatencyHistogram response, long sent, long acknowledged, long rejected, long unacknowledged, double achievedRate,
        IReadOnlyList<LoadTimelinePoint>? timeline = null) => new()
    {
        StartedAt = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero),
        Target = "127.0.0.1:7001",
        Model = LoadModel.Open,
        LoadShape = "5000/s constant",
        Connections = 2,
        Accounts = [1, 2],
        Workload = "generator",
        StopReason = LoadStopReason.Duration,
        Duration = TimeSpan.FromSeconds(2),
        SendWindow = TimeSpan.FromSeconds(2),
        Elapsed = TimeSpan.FromSeconds(2),
        Scheduled = sent,
        Sent = sent,
        Acknowledged = acknowledged,
        Rejected = rejected,
        Late = 0,
        LateThreshold = TimeSpan.FromMilliseconds(1),
        MaxLateness = TimeSpan.Zero,
        Dropped = 0,
        MaxInFlightPerConnection = 10_000,
        NotSent = 0,
        Unacknowledged = unacknowledged,
        Skipped = 0,
        OfferedRate = 5000,
        SentRate = 5000,
        AchievedRate = achievedRate,
        ResponseTime = response,
        ServiceTime = response,
        RejectsByReason = rejected > 0 ? [new RejectCount(RejectReason.UnknownOrder, rejected)] : [],
        SessionErrors = [],
        ConnectionErrors = [],
        WorkloadCounters = [],
        Timeline = timeline ?? [],
    };
}
