using System.Diagnostics;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Journal;

/// <summary>Options of <see cref="EngineRecovery.Recover"/>.</summary>
public sealed record RecoveryOptions
{
    /// <summary>Truncate a torn tail of the journal (default). When false, recovery only reports it.</summary>
    public bool RepairTornTail { get; init; } = true;

    /// <summary>Ignore snapshots and replay the whole journal from sequence 1.</summary>
    public bool IgnoreSnapshots { get; init; }

    /// <summary>Where the execution reports of replayed commands go (default: dropped).</summary>
    public IExecutionReportSink? ReportSink { get; init; }
}

/// <summary>What recovery did.</summary>
public sealed record RecoveryResult
{
    /// <summary>The recovered engine, at <see cref="LastSequence"/>.</summary>
    public required MatchingEngine Engine { get; init; }

    /// <summary>The snapshot used, or null when the journal was replayed from the start.</summary>
    public string? SnapshotPath { get; init; }

    /// <summary>Sequence number of the snapshot used (0 when none).</summary>
    public SequenceNumber SnapshotSequence { get; init; }

    /// <summary>Journal commands replayed on top of the snapshot.</summary>
    public long ReplayedCommands { get; init; }

    /// <summary>Sequence number of the last command recovered.</summary>
    public SequenceNumber LastSequence { get; init; }

    /// <summary>The torn tail found (and truncated, in repair mode), if any.</summary>
    public JournalTornTail? TornTail { get; init; }

    /// <summary>Snapshots that could not be used, with the reason (an older one or the full journal was used instead).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Wall time of the whole recovery.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>Wall time of the journal replay part.</summary>
    public TimeSpan ReplayElapsed { get; init; }
}

/// <summary>
/// Recovery = newest valid snapshot + replay of the journal tail after it. Layout of a data
/// directory: <c>journal/</c> (segments, see <see cref="JournalFormat"/>) and <c>snapshots/</c>
/// (see <see cref="SnapshotStore"/>).
/// </summary>
public static class EngineRecovery
{
    /// <summary>Name of the journal subdirectory of a data directory.</summary>
    public const string JournalDirectoryName = "journal";

    /// <summary>Name of the snapshot subdirectory of a data directory.</summary>
    public const string SnapshotDirectoryName = "snapshots";

    /// <summary>The journal directory of <paramref name="dataDirectory"/>.</summary>
    public static string JournalDirectory(string dataDirectory) => Path.Combine(dataDirectory, JournalDirectoryName);

    /// <summary>The snapshot directory of <paramref name="dataDirectory"/>.</summary>
    public static string SnapshotDirectory(string dataDirectory) => Path.Combine(dataDirectory, SnapshotDirectoryName);

    /// <summary>
    /// Rebuilds the engine from <paramref name="dataDirectory"/>: loads the newest snapshot that is
    /// valid (falling back to older ones, then to an empty engine), replays the journal after it,
    /// and detects, reports and (by default) truncates a torn journal tail.
    /// </summary>
    /// <exception cref="JournalCorruptException">The journal is corrupt in a way truncation must not fix, or it ends before the snapshot.</exception>
    /// <exception cref="IOException">Files cannot be read or repaired.</exception>
    public static RecoveryResult Recover(string dataDirectory, IReadOnlyList<MarketDefinition> markets, RecoveryOptions? options = null)
    {
        options ??= new RecoveryOptions();
        long start = Stopwatch.GetTimestamp();
        var warnings = new List<string>();
        MatchingEngine? engine = null;
        string? snapshotPath = null;
        if (!options.IgnoreSnapshots)
        {
            foreach (var (path, _) in SnapshotStore.List(SnapshotDirectory(dataDirectory)))
            {
                try
                {
                    engine = SnapshotStore.Read(path, markets, options.ReportSink);
                    snapshotPath = path;
                    break;
                }
                catch (InvalidDataException e)
                {
                    warnings.Add($"snapshot skipped: {e.Message}");
                }
            }
        }
        engine ??= new MatchingEngine(markets, options.ReportSink);
        var snapshotSequence = engine.LastSequence;

        long replayStart = Stopwatch.GetTimestamp();
        var scan = JournalReader.Read(JournalDirectory(dataDirectory), snapshotSequence,
            (ref Command command) => engine.Process(ref command), options.RepairTornTail);
        var replayElapsed = Stopwatch.GetElapsedTime(replayStart);

        if (scan.LastSequence < snapshotSequence)
            throw new JournalCorruptException(
                $"the journal ends at sequence {scan.LastSequence} but snapshot {Path.GetFileName(snapshotPath)} is at {snapshotSequence}: journal records the snapshot covers are missing");

        return new RecoveryResult
        {
            Engine = engine,
            SnapshotPath = snapshotPath,
            SnapshotSequence = snapshotSequence,
            ReplayedCommands = scan.RecordsDelivered,
            LastSequence = engine.LastSequence,
            TornTail = scan.TornTail,
            Warnings = warnings,
            Elapsed = Stopwatch.GetElapsedTime(start),
            ReplayElapsed = replayElapsed,
        };
    }
}
