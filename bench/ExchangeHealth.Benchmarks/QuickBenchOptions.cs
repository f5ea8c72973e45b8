namespace ExchangeHealth.Benchmarks;

/// <summary>What <see cref="QuickBench"/> runs and for how long.</summary>
public sealed record QuickBenchOptions
{
    /// <summary>Steady-state commands per run (after the ~1,000-order pre-fill). Default 1,000,000.</summary>
    public int Commands { get; init; } = 1_000_000;

    /// <summary>Timed throughput runs of the matcher (and as many of the baseline); the median is reported. Default 7.</summary>
    public int Runs { get; init; } = 7;

    /// <summary>Steady-state commands per run of the reference-model baseline (it is slow; rates are per command). Default 20,000.</summary>
    public int ReferenceCommands { get; init; } = 20_000;

    /// <summary>Untimed warm-up runs before the timed ones (JIT tiering, caches). Default 2.</summary>
    public int WarmupRuns { get; init; } = 2;

    /// <summary>Offered rates, in commands per second, of the open-loop latency runs. Default 250K, 1M, 2M.</summary>
    public IReadOnlyList<long> Rates { get; init; } = [250_000, 1_000_000, 2_000_000];

    /// <summary>Length of each latency run in seconds (capped by <see cref="Commands"/>). Default 1.</summary>
    public double LatencySeconds { get; init; } = 1.0;

    /// <summary>
    /// A command counts as late when it starts more than this many nanoseconds after its intended
    /// start (it queued behind earlier commands or a stall). Default 1,000 (1 µs).
    /// </summary>
    public long LateThresholdNanoseconds { get; init; } = 1_000;

    /// <summary>Workload seed. Default 1.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Whether this is the short configuration CI can afford (reported, nothing else).</summary>
    public bool IsQuick { get; init; }

    /// <summary>Journal group-commit batch sizes (commands per fsync), used when the journal is available. Default 256, 1,024, 4,096.</summary>
    public IReadOnlyList<int> JournalBatchSizes { get; init; } = [256, 1_024, 4_096];

    /// <summary>Commands appended per journal throughput run (capped by <see cref="Commands"/>). Default 1,000,000.</summary>
    public int JournalCommands { get; init; } = 1_000_000;

    /// <summary>Directory for journal runs (default: a fresh directory under the system temp path, deleted afterwards).</summary>
    public string? JournalDirectory { get; init; }

    /// <summary>The CI-sized configuration: 300K commands, 3 runs, 0.25 s per rate, 200K journaled commands; well under a minute.</summary>
    public static QuickBenchOptions Quick { get; } = new()
    {
        Commands = 300_000,
        Runs = 3,
        WarmupRuns = 2,
        LatencySeconds = 0.25,
        JournalCommands = 200_000,
        ReferenceCommands = 5_000,
        IsQuick = true,
    };

    /// <summary>Checks the options.</summary>
    /// <returns>null when valid, else the problem, naming the option.</returns>
    public string? Validate()
    {
        if (Commands < 1) return "--commands must be at least 1";
        if (Runs < 1) return "--runs must be at least 1";
        if (ReferenceCommands < 1) return "reference commands must be at least 1";
        if (WarmupRuns < 0) return "warm-up runs must not be negative";
        foreach (long rate in Rates)
        {
            if (rate < 1) return "--rates must be positive";
        }
        if (!(LatencySeconds > 0)) return "latency seconds must be positive";
        if (LateThresholdNanoseconds < 0) return "late threshold must not be negative";
        foreach (int batch in JournalBatchSizes)
        {
            if (batch < 1) return "journal batch sizes must be positive";
        }
        return JournalCommands < 1 ? "journal commands must be at least 1" : null;
    }
}
