using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Replay;

/// <summary>Options of a <see cref="JournalingReplayHook"/>.</summary>
public sealed record JournalingReplayOptions
{
    /// <summary>Group commit: commit (write + fsync) once this many commands are pending. Default 1024.</summary>
    public int CommitEvery { get; init; } = 1024;

    /// <summary>Write a snapshot every this many commands (0: none). Default 25,000.</summary>
    public long SnapshotEvery { get; init; } = 25_000;

    /// <summary>Snapshots to keep. Default 3.</summary>
    public int KeepSnapshots { get; init; } = 3;

    /// <summary>Options of the journal writer (fsync on by default).</summary>
    public JournalWriterOptions Writer { get; init; } = new();
}

/// <summary>
/// Journals a replay into an engine data directory: every command is appended (getting its
/// sequence number and timestamp) before the engine processes it, batches are committed with
/// fsync (group commit), and a snapshot is written every <see cref="JournalingReplayOptions.SnapshotEvery"/>
/// commands, right after a commit, so it never covers a command that is not durable.
/// </summary>
/// <remarks>
/// A replay is not a live exchange: the engine may process a command before its batch is
/// committed, because nobody is waiting for an acknowledgement. The journal is complete once
/// <see cref="Complete"/> returns. Create the data directory with <see cref="EngineDataDirectory.Create"/> first.
/// </remarks>
public sealed class JournalingReplayHook : IReplayHook, IDisposable
{
    private readonly string _dataDirectory;
    private readonly JournalingReplayOptions _options;
    private readonly JournalWriter _writer;
    private SequenceNumber _lastSnapshot;

    /// <summary>Opens the journal of <paramref name="dataDirectory"/> for appending.</summary>
    /// <exception cref="JournalCorruptException">The existing journal has a torn tail or is corrupt.</exception>
    public JournalingReplayHook(string dataDirectory, JournalingReplayOptions? options = null)
    {
        _dataDirectory = dataDirectory;
        _options = options ?? new JournalingReplayOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.CommitEvery, 1);
        _writer = new JournalWriter(EngineRecovery.JournalDirectory(dataDirectory), _options.Writer);
        _lastSnapshot = _writer.LastAppended;
    }

    /// <summary>Snapshots written.</summary>
    public int Snapshots { get; private set; }

    /// <summary>Group commits (fsyncs) done.</summary>
    public long Commits => _writer.FlushCount;

    /// <summary>Bytes written to the journal.</summary>
    public long BytesWritten => _writer.BytesWritten;

    /// <summary>Last sequence number appended.</summary>
    public SequenceNumber LastSequence => _writer.LastAppended;

    /// <summary>Last sequence number that is durable.</summary>
    public SequenceNumber DurableSequence => _writer.DurableSequence;

    /// <inheritdoc/>
    public void BeforeCommand(ref Command command) => _writer.Append(ref command);

    /// <inheritdoc/>
    public void AfterRecord(long recordNumber, MatchingEngine engine)
    {
        if (_writer.PendingCommands < _options.CommitEvery) return;
        _writer.Commit();
        MaybeSnapshot(engine);
    }

    /// <summary>
    /// Commits what is pending. Call once after the replay. No snapshot is taken here, so the
    /// next recovery exercises snapshot + journal tail.
    /// </summary>
    public void Complete() => _writer.Commit();

    private void MaybeSnapshot(MatchingEngine engine)
    {
        if (_options.SnapshotEvery <= 0 || engine.LastSequence.Value - _lastSnapshot.Value < _options.SnapshotEvery) return;
        string snapshots = EngineRecovery.SnapshotDirectory(_dataDirectory);
        SnapshotStore.Write(snapshots, engine);
        SnapshotStore.Prune(snapshots, _options.KeepSnapshots);
        _lastSnapshot = engine.LastSequence;
        Snapshots++;
    }

    /// <summary>Closes the journal (without committing: call <see cref="Complete"/> first).</summary>
    public void Dispose() => _writer.Dispose();
}
