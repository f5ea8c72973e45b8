using System.Text.Json;
using ExchangeHealth.Engine.Diagnostics;
using ExchangeHealth.Load.Tests.Support;

namespace ExchangeHealth.Load.Tests;

public sealed class ReportWriterTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static LoadReport Sample()
    {
        var response = new LatencyHistogram();
        for (int i = 1; i <= 4000; i++) response.Record(50_000 + i * 10L);
        var timeline = new List<LoadTimelinePoint>
        {
            new(1, 1.0, 1.0, 2000, 2000, 1998, 3, 0, 1, 0, 2, 60_000, 80_000, 89_000, 95_000),
            new(2, 2.0, 1.0, 2000, 2000, 2002, 2, 0, 0, 0, 0, 70_000, 85_000, 89_500, 90_000),
        };
        var report = Reports.Synthetic(response, sent: 4000, acknowledged: 4000, rejected: 5, unacknowledged: 0, achievedRate: 2000, timeline);
        return report with
        {
            Thresholds = [LoadThreshold.Parse("p99<1ms").Evaluate(report), LoadThreshold.Parse("rate>=2500").Evaluate(report)],
        };
    }

    [Fact]
    public void ToJson_HasTheDocumentedFields()
    {
        using var doc = JsonDocument.Parse(LoadReportWriter.ToJson(Sample()));
        var root = doc.RootElement;
        Assert.Equal("exh load", root.GetProperty("tool").GetString());
        Assert.Equal("open", root.GetProperty("model").GetString());
        Assert.Equal("duration", root.GetProperty("stop_reason").GetString());
        var counts = root.GetProperty("counts");
        foreach (string key in new[] { "scheduled", "sent", "acknowledged", "accepted", "rejected", "late", "dropped", "not_sent", "unacknowledged", "session_errors", "connection_errors", "errors", "skipped" })
            Assert.True(counts.TryGetProperty(key, out _), key);
        Assert.Equal(4000, counts.GetProperty("sent").GetInt64());
        Assert.Equal(3995, counts.GetProperty("accepted").GetInt64());
        Assert.Equal(5000, root.GetProperty("rates").GetProperty("offered_per_second").GetDouble());
        Assert.Equal(2000, root.GetProperty("rates").GetProperty("achieved_per_second").GetDouble());

        var latency = root.GetProperty("latency");
        Assert.Equal("intended send time (schedule slot)", latency.GetProperty("response_time_measured_from").GetString());
        Assert.Equal(1.0 / 128, latency.GetProperty("histogram_relative_error").GetDouble());
        Assert.Equal(1.0 / 256, latency.GetProperty("percentile_error_bound").GetDouble());
        var rt = latency.GetProperty("response_time");
        foreach (string key in new[] { "count", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p99_9_us", "p99_99_us", "max_us" })
            Assert.True(rt.TryGetProperty(key, out _), key);
        Assert.Equal(90.0, rt.GetProperty("max_us").GetDouble());
        Assert.InRange(rt.GetProperty("p50_us").GetDouble(), 69.7, 70.3);

        var reject = root.GetProperty("rejects_by_reason")[0];
        Assert.Equal("unknown_order", reject.GetProperty("reason").GetString());
        Assert.Equal("validation", reject.GetProperty("category").GetString());
        Assert.Equal(5, reject.GetProperty("count").GetInt64());

        var thresholds = root.GetProperty("thresholds");
        Assert.Equal(2, thresholds.GetArrayLength());
        Assert.True(thresholds[0].GetProperty("passed").GetBoolean());
        Assert.False(thresholds[1].GetProperty("passed").GetBoolean());
        Assert.Equal("2,000/s", thresholds[1].GetProperty("actual").GetString());
        Assert.False(root.GetProperty("thresholds_passed").GetBoolean());

        Assert.Equal(2, root.GetProperty("timeline").GetArrayLength());
        Assert.Equal(89.0, root.GetProperty("timeline")[0].GetProperty("p99_us").GetDouble());
        Assert.True(root.GetProperty("definitions").TryGetProperty("response_time", out _));
        Assert.True(root.GetProperty("definitions").TryGetProperty("dropped_send", out _));
    }

    [Fact]
    public void ToCsv_HeaderThenOneRowPerSecond()
    {
        string[] lines = LoadReportWriter.ToCsv(Sample()).TrimEnd('\n').Split('\n');
        Assert.Equal("second,elapsed_s,interval_s,offered,sent,acknowledged,rejected,errors,late,dropped,in_flight,p50_us,p90_us,p99_us,max_us", lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.Equal("1,1,1,2000,2000,1998,3,0,1,0,2,60,80,89,95", lines[1]);
        Assert.All(lines, l => Assert.Equal(15, l.Split(',').Length));
    }

    [Fact]
    public void ToMarkdown_HasSectionsDefinitionsAndTheErrorBound()
    {
        string md = LoadReportWriter.ToMarkdown(Sample());
        Assert.StartsWith("# Load test report", md, StringComparison.Ordinal);
        Assert.Contains("**FAILED**: 2,000/s achieved of 5,000/s offered", md, StringComparison.Ordinal);
        foreach (string section in new[] { "## Run", "## Results", "## Latency", "## Rejects by reason", "## Thresholds", "## Definitions", "## Timeline" })
            Assert.Contains("\n" + section + "\n", md, StringComparison.Ordinal);
        Assert.Contains("within ±0.39% of the exact value", md, StringComparison.Ordinal);
        Assert.Contains("| p99.99 |", md, StringComparison.Ordinal);
        Assert.Contains("| unknown_order | validation | 5 |", md, StringComparison.Ordinal);
        Assert.Contains("| `rate>=2500` | 2,000/s | **FAILED** |", md, StringComparison.Ordinal);
        Assert.Contains("**late send**", md, StringComparison.Ordinal);
        Assert.Contains("**dropped send**", md, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteAll_WritesTheThreeFiles()
    {
        string dir = _dir.Combine("reports", "run1");
        var files = LoadReportWriter.WriteAll(Sample(), dir);
        Assert.Equal(new[] { "load-report.md", "load-report.csv", "load-report.json" }, files.Select(f => Path.GetFileName(f)).ToArray());
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 100));
    }
}
