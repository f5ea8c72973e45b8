using System.Text.Json;
using ExchangeHealth.Benchmarks;
using ExchangeHealth.Cli;

namespace ExchangeHealth.Engine.Tests.Workload;

/// <summary>The <c>exh bench</c> harness end to end in a tiny configuration: structure and the zero-allocation assertion, not speed.</summary>
public sealed class QuickBenchTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "exh-quickbench-test-" + Guid.NewGuid().ToString("N"));

    private static readonly QuickBenchOptions _tiny = new()
    {
        Commands = 20_000,
        Runs = 2,
        WarmupRuns = 2,
        Rates = [200_000, 1_000_000],
        LatencySeconds = 0.01,
        JournalBatchSizes = [64, 1_024],
        JournalCommands = 3_000,
        ReferenceCommands = 1_000,
        IsQuick = true,
    };

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Run_TinyConfiguration_AllSectionsPresentAndNoSteadyStateAllocation()
    {
        var progress = new StringWriter();
        QuickBenchResult result = new QuickBench(_tiny with { JournalDirectory = _directory }, progress).Run();

        Assert.Equal(2, result.Throughput.Runs.Count);
        Assert.All(result.Throughput.Runs, r => Assert.True(r > 0));
        Assert.InRange(result.Throughput.Median, result.Throughput.Min, result.Throughput.Max);
        Assert.True(result.Allocation.Passed, $"{result.Allocation.BytesAllocated} bytes allocated in steady state");
        Assert.Equal(2L * 20_000, result.Allocation.CommandsMeasured);
        Assert.Equal(0, result.Allocation.BytesPerCommand);
        Assert.Equal(["reference_model", "calibration.dictionary"], result.Baselines.Select(b => b.Name));
        Assert.All(result.Baselines, b => Assert.True(b.Ratio > 0 && b.Throughput.Runs.Count == 2));
        // The fast book against the list-based reference model: far faster even in a tiny, cold run.
        Assert.True(result.Baseline.Ratio > 5, $"matcher only {result.Baseline.Ratio:F1}x the reference model");

        Assert.Equal([200_000L, 1_000_000L], result.Latency.Select(l => l.OfferedRate));
        foreach (var l in result.Latency)
        {
            Assert.Equal((int)(l.OfferedRate * 0.01), l.Commands);
            Assert.True(l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.P9999 && l.P9999 <= l.Max);
            Assert.InRange(l.LateCommands, 0, l.Commands);
        }

        Assert.NotNull(result.Journal);
        Assert.Equal([64, 1_024], result.Journal.Select(j => j.BatchSize));
        Assert.All(result.Journal, j => Assert.True(j.CommandsPerSecond > 0 && j.FsyncsPerSecond > 0));
        Assert.NotNull(result.Recovery);
        Assert.True(result.Recovery.StateHashMatches);
        Assert.Equal(result.Workload.PreFillCommands + 20_000, result.Recovery.Commands);
        Assert.True(result.Passed);
        Assert.Contains("run 2/2", progress.ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_directory));
    }

    [Fact]
    public void ToJson_TinyRun_OneObjectWithTheDocumentedFields()
    {
        QuickBenchResult result = new QuickBench(_tiny with { JournalDirectory = _directory, Rates = [500_000], JournalBatchSizes = [256] }).Run();
        using var json = JsonDocument.Parse(result.ToJson());
        JsonElement root = json.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.True(root.GetProperty("throughput_cmd_per_s").GetDouble() > 0);
        Assert.Equal(0, root.GetProperty("alloc_bytes_per_cmd").GetDouble());
        Assert.True(root.GetProperty("passed").GetBoolean());
        Assert.True(root.GetProperty("baseline_ratio").GetDouble() > 0);
        Assert.Equal("reference_model", root.GetProperty("baseline").GetProperty("name").GetString());
        Assert.Equal(2, root.GetProperty("baselines").GetArrayLength());
        Assert.True(root.GetProperty("machine").GetProperty("logical_cores").GetInt32() >= 1);
        Assert.StartsWith(".NET", root.GetProperty("machine").GetProperty("dotnet").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("machine").GetProperty("os").GetString()));
        JsonElement latency = root.GetProperty("latency")[0];
        foreach (string field in new[] { "p50_us", "p90_us", "p99_us", "p99_9_us", "p99_99_us", "max_us", "late_commands" })
            Assert.True(latency.TryGetProperty(field, out _), field);
        Assert.Equal(500_000, latency.GetProperty("offered_rate_cmd_per_s").GetInt64());
        Assert.Equal(256, root.GetProperty("journal")[0].GetProperty("batch_size").GetInt32());
        Assert.True(root.GetProperty("recovery").GetProperty("state_hash_matches").GetBoolean());
        Assert.Equal(5_000_000, root.GetProperty("throughput").GetProperty("goal_cmd_per_s").GetDouble());
    }

    [Fact]
    public void Options_Invalid_Rejected()
    {
        Assert.Throws<ArgumentException>(() => new QuickBench(new QuickBenchOptions { Runs = 0 }));
        Assert.Throws<ArgumentException>(() => new QuickBench(new QuickBenchOptions { Rates = [0] }));
        Assert.NotNull(QuickBenchOptions.Quick.Validate() is null ? QuickBenchOptions.Quick : null);
    }

    [Fact]
    public void ExhBench_BadRates_ExitCode2()
    {
        Assert.Equal(2, ExchangeHealth.Cli.Program.BuildRoot().Parse(["bench", "--rates", "fast"]).Invoke());
        Assert.True(BenchCommandRates("250000, 1_000_000", out var rates));
        Assert.Equal([250_000L, 1_000_000L], rates);
        Assert.False(BenchCommandRates("1,-2", out _));
    }

    private static bool BenchCommandRates(string text, out IReadOnlyList<long> rates) => BenchCommand.TryParseRates(text, out rates);
}
