using System.Text;
using System.Text.Json;

namespace ExchangeHealth.Benchmarks;

/// <summary>The machine a benchmark ran on.</summary>
/// <param name="CpuModel">CPU model name from <c>/proc/cpuinfo</c> (or "unknown").</param>
/// <param name="LogicalCores">Logical processors visible to the process.</param>
/// <param name="MemoryBytes">Physical memory available to the GC, in bytes.</param>
/// <param name="OperatingSystem">OS description.</param>
/// <param name="Runtime">.NET runtime description, e.g. ".NET 10.0.0".</param>
/// <param name="Architecture">Process architecture, e.g. X64.</param>
/// <param name="LoadAverage1Minute">1-minute load average when the run started (-1 when unknown): other work on a shared machine.</param>
/// <param name="StopwatchFrequency">Ticks per second of <see cref="System.Diagnostics.Stopwatch"/>.</param>
/// <param name="TimerReadNanoseconds">Cost of one <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> in nanoseconds (median of 5 × 1M reads).</param>
public sealed record MachineInfo(
    string CpuModel,
    int LogicalCores,
    long MemoryBytes,
    string OperatingSystem,
    string Runtime,
    string Architecture,
    double LoadAverage1Minute,
    long StopwatchFrequency,
    double TimerReadNanoseconds);

/// <summary>The generated workload, as replayed by the benchmark.</summary>
/// <param name="Seed">Generator seed.</param>
/// <param name="Accounts">Number of accounts.</param>
/// <param name="PreFillCommands">Commands of the pre-fill (not timed).</param>
/// <param name="Commands">Steady-state commands per run.</param>
/// <param name="TargetRestingOrders">Resting-order target.</param>
/// <param name="MinRestingOrders">Fewest resting orders during the stream.</param>
/// <param name="MaxRestingOrders">Most resting orders during the stream.</param>
/// <param name="PriceLevels">Price levels at the end of the stream.</param>
/// <param name="RejectShare">Share (0..1) of the stream's commands rejected.</param>
/// <param name="TradesPerCommand">Trades per command.</param>
/// <param name="ReportsPerCommand">Execution reports per command.</param>
/// <param name="Mix">Share (0..1) of each command kind, by its snake_case name.</param>
public sealed record WorkloadSummary(
    long Seed,
    int Accounts,
    int PreFillCommands,
    int Commands,
    int TargetRestingOrders,
    int MinRestingOrders,
    int MaxRestingOrders,
    int PriceLevels,
    double RejectShare,
    double TradesPerCommand,
    double ReportsPerCommand,
    IReadOnlyDictionary<string, double> Mix);

/// <summary>Commands per second over several runs.</summary>
/// <param name="Median">Median over the runs.</param>
/// <param name="Min">Slowest run.</param>
/// <param name="Max">Fastest run.</param>
/// <param name="Runs">Every run, in order.</param>
public sealed record ThroughputResult(double Median, double Min, double Max, IReadOnlyList<double> Runs)
{
    /// <summary>(max − min) / median, in percent: how noisy the runs were.</summary>
    public double SpreadPercent => Median == 0 ? 0 : (Max - Min) / Median * 100;

    /// <summary>Builds the summary of <paramref name="runs"/>.</summary>
    public static ThroughputResult Of(IReadOnlyList<double> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        return new ThroughputResult(Stats.Median(runs), runs.Count == 0 ? 0 : runs.Min(), runs.Count == 0 ? 0 : runs.Max(), runs);
    }
}

/// <summary>Managed allocation on the matcher thread during the measured window.</summary>
/// <param name="BytesAllocated">Bytes allocated on the matcher thread inside the timed windows of the measured runs.</param>
/// <param name="CommandsMeasured">Commands processed inside those windows.</param>
/// <param name="WarmupBytesAllocated">Bytes allocated inside the same window of the warm-up runs (JIT and tiering; informative, not asserted).</param>
/// <param name="SteadyStateDefinition">How the window is defined.</param>
public sealed record AllocationResult(long BytesAllocated, long CommandsMeasured, long WarmupBytesAllocated, string SteadyStateDefinition)
{
    /// <summary>Bytes per command in steady state.</summary>
    public double BytesPerCommand => CommandsMeasured == 0 ? 0 : (double)BytesAllocated / CommandsMeasured;

    /// <summary>Whether the zero-allocation assertion holds (no byte allocated in steady state).</summary>
    public bool Passed => BytesAllocated == 0;
}

/// <summary>The baseline measured in the same run.</summary>
/// <param name="Name">Baseline name.</param>
/// <param name="Description">What it measures.</param>
/// <param name="Throughput">Its commands per second.</param>
/// <param name="Ratio">Matcher median / baseline median.</param>
/// <param name="MedianOfRoundRatios">Median of the per-round ratios (matcher run i / baseline run i, run back to back).</param>
public sealed record BaselineResult(string Name, string Description, ThroughputResult Throughput, double Ratio, double MedianOfRoundRatios);

/// <summary>Open-loop latency at one offered rate; latencies in microseconds.</summary>
/// <param name="OfferedRate">Commands per second offered (command i intended to start at t0 + i / rate).</param>
/// <param name="Commands">Commands in the run.</param>
/// <param name="DurationSeconds">Wall time from the first intended start to the last completion.</param>
/// <param name="AchievedRate">Commands / duration.</param>
/// <param name="P50">Median latency (completion − intended start).</param>
/// <param name="P90">90th percentile.</param>
/// <param name="P99">99th percentile.</param>
/// <param name="P999">99.9th percentile.</param>
/// <param name="P9999">99.99th percentile.</param>
/// <param name="Max">Largest (exact).</param>
/// <param name="Mean">Mean.</param>
/// <param name="LateCommands">Commands that started more than the late threshold after their intended start.</param>
/// <param name="ServiceP50">Median service time (completion − actual start): the matcher alone.</param>
/// <param name="ServiceP99">99th percentile of service time.</param>
/// <param name="ServiceP9999">99.99th percentile of service time.</param>
/// <param name="ServiceMax">Largest service time.</param>
public sealed record LatencyResult(
    long OfferedRate,
    int Commands,
    double DurationSeconds,
    double AchievedRate,
    double P50,
    double P90,
    double P99,
    double P999,
    double P9999,
    double Max,
    double Mean,
    long LateCommands,
    double ServiceP50,
    double ServiceP99,
    double ServiceP9999,
    double ServiceMax)
{
    /// <summary>Share (0..1) of commands that ran late.</summary>
    public double LateShare => Commands == 0 ? 0 : (double)LateCommands / Commands;
}

/// <summary>Journal throughput at one group-commit batch size.</summary>
/// <param name="BatchSize">Commands per commit (one write + fsync).</param>
/// <param name="Commands">Commands appended and committed.</param>
/// <param name="CommandsPerSecond">Durable commands per second (median over runs).</param>
/// <param name="FsyncsPerSecond">Commits (fsyncs) per second at that median.</param>
/// <param name="Runs">Commands per second of every run.</param>
public sealed record JournalThroughputResult(int BatchSize, int Commands, double CommandsPerSecond, double FsyncsPerSecond, IReadOnlyList<double> Runs);

/// <summary>Recovery: replay of a journal through a fresh engine.</summary>
/// <param name="Commands">Commands in the journal (pre-fill included).</param>
/// <param name="CommandsPerSecond">Commands replayed per second (median over runs): reading, CRC check, decoding and matching.</param>
/// <param name="Runs">Every run.</param>
/// <param name="StateHashMatches">Whether every recovered engine's state hash equals the generator's.</param>
/// <param name="JournalBytes">Size of the journal in bytes.</param>
public sealed record RecoveryReplayResult(int Commands, double CommandsPerSecond, IReadOnlyList<double> Runs, bool StateHashMatches, long JournalBytes);

/// <summary>Everything <see cref="QuickBench.Run"/> measured.</summary>
/// <param name="Machine">Where it ran.</param>
/// <param name="Options">What was asked.</param>
/// <param name="Workload">The generated workload.</param>
/// <param name="Throughput">Matcher throughput, one thread, no journal.</param>
/// <param name="Allocation">Allocation on the matcher thread in steady state.</param>
/// <param name="Baselines">The baselines measured in the same rounds; the first gives the headline ratio.</param>
/// <param name="Latency">Open-loop latency per offered rate.</param>
/// <param name="Journal">Journal throughput per batch size, or null when not measured.</param>
/// <param name="JournalFileSystem">File system type of the journal directory (e.g. ext4; tmpfs would make fsync free), or null.</param>
/// <param name="Recovery">Recovery replay speed, or null when not measured.</param>
/// <param name="Notes">Human-readable notes (what was left out and why).</param>
/// <param name="ElapsedSeconds">Wall time of the whole benchmark.</param>
public sealed record QuickBenchResult(
    MachineInfo Machine,
    QuickBenchOptions Options,
    WorkloadSummary Workload,
    ThroughputResult Throughput,
    AllocationResult Allocation,
    IReadOnlyList<BaselineResult> Baselines,
    IReadOnlyList<LatencyResult> Latency,
    IReadOnlyList<JournalThroughputResult>? Journal,
    string? JournalFileSystem,
    RecoveryReplayResult? Recovery,
    IReadOnlyList<string> Notes,
    double ElapsedSeconds)
{
    /// <summary>The headline baseline (the first).</summary>
    public BaselineResult Baseline => Baselines[0];

    /// <summary>Goal from the issue: matcher commands per second on one thread.</summary>
    public const double ThroughputGoal = 5_000_000;

    /// <summary>Goal from the issue: durable journal commands per second.</summary>
    public const double JournalGoal = 1_000_000;

    /// <summary>Goal from the issue: recovery replay commands per second.</summary>
    public const double RecoveryGoal = 5_000_000;

    /// <summary>exchange-core's published latency at 1M commands/s (README): p50, p99, p99.99, max in µs.</summary>
    public static IReadOnlyList<double> ExchangeCoreLatencyAt1M { get; } = [0.5, 4, 31, 45];

    /// <summary>Whether every assertion held: zero allocation in steady state, and recovery reproduced the state.</summary>
    public bool Passed => Allocation.Passed && (Recovery is null || Recovery.StateHashMatches);

    /// <summary>The result as one JSON object (snake_case fields; <c>throughput_cmd_per_s</c> is the matcher median).</summary>
    public string ToJson(bool indented = true)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteJson(w);
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("schema", "exh-bench/1");
        w.WriteBoolean("passed", Passed);
        w.WriteNumber("throughput_cmd_per_s", Math.Round(Throughput.Median));
        w.WriteNumber("alloc_bytes_per_cmd", Allocation.BytesPerCommand);
        w.WriteNumber("baseline_ratio", Math.Round(Baseline.Ratio, 3));
        w.WriteNumber("elapsed_s", Math.Round(ElapsedSeconds, 2));

        w.WriteStartObject("machine");
        w.WriteString("cpu_model", Machine.CpuModel);
        w.WriteNumber("logical_cores", Machine.LogicalCores);
        w.WriteNumber("memory_bytes", Machine.MemoryBytes);
        w.WriteString("os", Machine.OperatingSystem);
        w.WriteString("dotnet", Machine.Runtime);
        w.WriteString("architecture", Machine.Architecture);
        w.WriteNumber("load_average_1m", Machine.LoadAverage1Minute);
        w.WriteNumber("stopwatch_frequency", Machine.StopwatchFrequency);
        w.WriteNumber("timer_read_ns", Math.Round(Machine.TimerReadNanoseconds, 1));
        w.WriteEndObject();

        w.WriteStartObject("config");
        w.WriteBoolean("quick", Options.IsQuick);
        w.WriteNumber("commands", Options.Commands);
        w.WriteNumber("runs", Options.Runs);
        w.WriteNumber("warmup_runs", Options.WarmupRuns);
        w.WriteNumber("seed", Options.Seed);
        w.WriteNumber("latency_seconds", Options.LatencySeconds);
        w.WriteNumber("late_threshold_ns", Options.LateThresholdNanoseconds);
        w.WriteStartArray("rates");
        foreach (long r in Options.Rates) w.WriteNumberValue(r);
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("workload");
        w.WriteString("model", "exchange-core TestOrdersGenerator style, one market (BTC/USD)");
        w.WriteNumber("seed", Workload.Seed);
        w.WriteNumber("accounts", Workload.Accounts);
        w.WriteNumber("prefill_commands", Workload.PreFillCommands);
        w.WriteNumber("commands", Workload.Commands);
        w.WriteNumber("target_resting_orders", Workload.TargetRestingOrders);
        w.WriteNumber("min_resting_orders", Workload.MinRestingOrders);
        w.WriteNumber("max_resting_orders", Workload.MaxRestingOrders);
        w.WriteNumber("price_levels", Workload.PriceLevels);
        w.WriteNumber("reject_share", Workload.RejectShare);
        w.WriteNumber("trades_per_cmd", Math.Round(Workload.TradesPerCommand, 4));
        w.WriteNumber("reports_per_cmd", Math.Round(Workload.ReportsPerCommand, 4));
        w.WriteStartObject("mix");
        foreach (var (kind, share) in Workload.Mix) w.WriteNumber(kind, Math.Round(share, 4));
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("throughput");
        w.WriteString("what", "matcher on one thread, no journal, counting sink, pre-generated commands");
        WriteThroughput(w, Throughput);
        w.WriteNumber("goal_cmd_per_s", ThroughputGoal);
        w.WriteBoolean("goal_met", Throughput.Median >= ThroughputGoal);
        w.WriteEndObject();

        w.WriteStartObject("allocation");
        w.WriteNumber("bytes_allocated", Allocation.BytesAllocated);
        w.WriteNumber("commands_measured", Allocation.CommandsMeasured);
        w.WriteNumber("bytes_per_cmd", Allocation.BytesPerCommand);
        w.WriteNumber("warmup_bytes_allocated", Allocation.WarmupBytesAllocated);
        w.WriteString("steady_state", Allocation.SteadyStateDefinition);
        w.WriteBoolean("passed", Allocation.Passed);
        w.WriteEndObject();

        w.WriteStartObject("baseline");
        WriteBaseline(w, Baseline);
        w.WriteEndObject();
        w.WriteStartArray("baselines");
        foreach (var b in Baselines)
        {
            w.WriteStartObject();
            WriteBaseline(w, b);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("latency");
        foreach (var l in Latency)
        {
            w.WriteStartObject();
            w.WriteNumber("offered_rate_cmd_per_s", l.OfferedRate);
            w.WriteNumber("commands", l.Commands);
            w.WriteNumber("duration_s", Math.Round(l.DurationSeconds, 4));
            w.WriteNumber("achieved_rate_cmd_per_s", Math.Round(l.AchievedRate));
            w.WriteNumber("p50_us", Math.Round(l.P50, 3));
            w.WriteNumber("p90_us", Math.Round(l.P90, 3));
            w.WriteNumber("p99_us", Math.Round(l.P99, 3));
            w.WriteNumber("p99_9_us", Math.Round(l.P999, 3));
            w.WriteNumber("p99_99_us", Math.Round(l.P9999, 3));
            w.WriteNumber("max_us", Math.Round(l.Max, 3));
            w.WriteNumber("mean_us", Math.Round(l.Mean, 3));
            w.WriteNumber("late_commands", l.LateCommands);
            w.WriteNumber("late_share", Math.Round(l.LateShare, 6));
            w.WriteNumber("service_p50_us", Math.Round(l.ServiceP50, 3));
            w.WriteNumber("service_p99_us", Math.Round(l.ServiceP99, 3));
            w.WriteNumber("service_p99_99_us", Math.Round(l.ServiceP9999, 3));
            w.WriteNumber("service_max_us", Math.Round(l.ServiceMax, 3));
            w.WriteEndObject();
        }
        w.WriteEndArray();

        if (Journal is null)
        {
            w.WriteNull("journal");
        }
        else
        {
            w.WriteString("journal_what", "JournalWriter.Append per command (sequence, timestamp, encode, CRC32C) and Commit (write + fsync) every batch_size commands, one thread, no matching");
            w.WriteString("journal_file_system", JournalFileSystem);
            w.WriteStartArray("journal");
            foreach (var j in Journal)
            {
                w.WriteStartObject();
                w.WriteNumber("batch_size", j.BatchSize);
                w.WriteNumber("commands", j.Commands);
                w.WriteNumber("durable_cmd_per_s", Math.Round(j.CommandsPerSecond));
                w.WriteNumber("fsyncs_per_s", Math.Round(j.FsyncsPerSecond, 1));
                w.WriteNumber("goal_cmd_per_s", JournalGoal);
                w.WriteBoolean("goal_met", j.CommandsPerSecond >= JournalGoal);
                w.WriteStartArray("runs");
                foreach (double r in j.Runs) w.WriteNumberValue(Math.Round(r));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }

        if (Recovery is null)
        {
            w.WriteNull("recovery");
        }
        else
        {
            w.WriteStartObject("recovery");
            w.WriteString("what", "EngineRecovery.Recover without snapshots: read + CRC + decode + match every journaled command into a fresh engine (journal in the page cache)");
            w.WriteNumber("commands", Recovery.Commands);
            w.WriteNumber("journal_bytes", Recovery.JournalBytes);
            w.WriteNumber("replay_cmd_per_s", Math.Round(Recovery.CommandsPerSecond));
            w.WriteNumber("goal_cmd_per_s", RecoveryGoal);
            w.WriteBoolean("goal_met", Recovery.CommandsPerSecond >= RecoveryGoal);
            w.WriteBoolean("state_hash_matches", Recovery.StateHashMatches);
            w.WriteStartArray("runs");
            foreach (double r in Recovery.Runs) w.WriteNumberValue(Math.Round(r));
            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteStartArray("notes");
        foreach (string n in Notes) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteBaseline(Utf8JsonWriter w, BaselineResult b)
    {
        w.WriteString("name", b.Name);
        w.WriteString("description", b.Description);
        WriteThroughput(w, b.Throughput);
        w.WriteNumber("ratio", Math.Round(b.Ratio, 3));
        w.WriteNumber("median_of_round_ratios", Math.Round(b.MedianOfRoundRatios, 3));
    }

    private static void WriteThroughput(Utf8JsonWriter w, ThroughputResult t)
    {
        w.WriteNumber("median_cmd_per_s", Math.Round(t.Median));
        w.WriteNumber("min_cmd_per_s", Math.Round(t.Min));
        w.WriteNumber("max_cmd_per_s", Math.Round(t.Max));
        w.WriteNumber("spread_pct", Math.Round(t.SpreadPercent, 1));
        w.WriteStartArray("runs_cmd_per_s");
        foreach (double r in t.Runs) w.WriteNumberValue(Math.Round(r));
        w.WriteEndArray();
    }
}

/// <summary>Small statistics helpers.</summary>
public static class Stats
{
    /// <summary>The median (mean of the middle two for an even count); 0 when empty.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return 0;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
