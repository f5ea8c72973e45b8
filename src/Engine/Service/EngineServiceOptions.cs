
namespace ExchangeHealth.Engine.Service;

/// <summary>Settings of an <see cref="EngineService"/>. Every property has a working default except the data directory.</summary>
public sealed record EngineServiceOptions
{
    /// <summary>The data directory (journal/, snapshots/, markets.yaml, events.jsonl). Created when missing.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>
    /// Markets for a new data directory. An existing data directory keeps its own markets.yaml;
    /// null means that file, or the embedded default for a new directory.
    /// </summary>
    public IReadOnlyList<MarketDefinition>? Markets { get; init; }

    /// <summary>Slots of the inbound ring (a power of two). A full ring rejects with <c>overload</c>. Default 65,536.</summary>
    public int RingCapacity { get; init; } = 1 << 16;

    /// <summary>Most commands journaled in one group commit (one fsync). Default 4,096.</summary>
    public int MaxBatch { get; init; } = 4096;

    /// <summary>Write a snapshot after this many journaled commands (0 = only at shutdown). Default 1,000,000.</summary>
    public long SnapshotEveryCommands { get; init; } = 1_000_000;

    /// <summary>Snapshots kept on disk. Default 3.</summary>
    public int KeepSnapshots { get; init; } = 3;

    /// <summary>fsync the journal (false only for tests and benchmarks that measure without the disk).</summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>
    /// Time the matcher for one command in this many (a systematic sample), and for the first
    /// command of a batch taken from the ring when none was timed in the last millisecond: at
    /// low rates every command is timed, under load one in N. The <c>exh_match_latency_seconds</c> histogram counts only timed
    /// commands (rates come from <c>exh_orders_received_total</c>). Default 128: timing and
    /// recording a command costs two clock reads and an SDK histogram update, about 130 ns on
    /// this machine, as much as matching it; measured with <c>exh bench service</c> (bench/RESULTS.md).
    /// </summary>
    public int MatchLatencySampleEvery { get; init; } = 128;

    /// <summary>Journaled new-order ids remembered for duplicate detection of resends, besides resting orders. Default 1,048,576.</summary>
    public int ClientOrderIdWindow { get; init; } = 1 << 20;

    /// <summary>The matcher loop wakes at least this often when idle, so the heartbeat gauge moves. Default 100 ms.</summary>
    public TimeSpan IdleWakeInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Clock for timestamps, fault expiry and events.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Record SLI metrics (false = the "metrics off" side of the overhead benchmark).</summary>
    public bool MetricsEnabled { get; init; } = true;
}
