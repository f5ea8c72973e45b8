using System.Buffers.Binary;
using System.Diagnostics;
using ExchangeHealth.Engine.Primitives;
using Microsoft.Win32.SafeHandles;

namespace ExchangeHealth.Engine.Journal;

/// <summary>Options of a <see cref="JournalWriter"/>.</summary>
public sealed record JournalWriterOptions
{
    /// <summary>A segment is closed and a new one started when it would grow past this many bytes. Default 256 MiB.</summary>
    public long SegmentSizeBytes { get; init; } = 256L << 20;

    /// <summary>Size of the batch buffer in bytes; a fuller batch is written (not flushed) early. Default 1 MiB.</summary>
    public int BufferSizeBytes { get; init; } = 1 << 20;

    /// <summary>
    /// Whether <see cref="JournalWriter.Commit"/> calls fsync. Only tests and benchmarks that
    /// measure without durability turn it off. Default true.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;

    /// <summary>Clock for timestamps of commands appended without one. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Fault-injection hooks for chaos experiments (null = none). Called on the writing thread.</summary>
    public IJournalFaultHooks? Faults { get; init; }
}

/// <summary>
/// Appends commands to the journal with group commit: <see cref="Append"/> assigns the next
/// sequence number and buffers the record; <see cref="Commit"/> writes the batch and flushes it
/// durably (fsync) in one go. A command may be acknowledged only when <see cref="DurableSequence"/>
/// has reached its sequence number.
/// </summary>
/// <remarks>
/// <para>Not thread-safe: one journaling thread owns it (reading <see cref="DurableSequence"/> from
/// other threads is safe).</para>
/// <para>Failures: a failed write (for example a full disk) throws <see cref="JournalWriteException"/>
/// and keeps the batch; <see cref="Commit"/> may be retried, or <see cref="DiscardPending"/> drops the
/// batch (its sequence numbers are then reused). A failed fsync makes the writer
/// <see cref="IsFaulted"/>: after a failed fsync the kernel may have dropped the data, so nothing may
/// be acknowledged any more; recover from the files instead.</para>
/// </remarks>
public sealed class JournalWriter : IDisposable
{
    private readonly string _directory;
    private readonly JournalWriterOptions _options;
    private readonly byte[] _buffer;
    private SafeFileHandle? _segment;
    private string? _segmentPath;
    private long _segmentOffset;      // bytes of the current segment on disk (written)
    private int _pending;             // bytes in _buffer not yet written
    private long _pendingRecords;
    private bool _directoryDirty;     // a segment was created since the last directory fsync
    private SequenceNumber _lastAppended;
    private SequenceNumber _lastWritten;
    private long _durable;
    private bool _faulted;
    private bool _disposed;

    /// <summary>
    /// Opens the journal in <paramref name="directory"/> for appending after its last valid record
    /// (creating the directory when missing).
    /// </summary>
    /// <exception cref="JournalCorruptException">The last segment is corrupt, or has a torn tail: run recovery (<see cref="EngineRecovery"/>) first.</exception>
    /// <exception cref="IOException">The directory or segment cannot be opened.</exception>
    public JournalWriter(string directory, JournalWriterOptions? options = null)
    {
        _directory = directory;
        _options = options ?? new JournalWriterOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.BufferSizeBytes, JournalFormat.CommandRecordSize * 4);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.SegmentSizeBytes, (long)JournalFormat.SegmentHeaderSize + _options.BufferSizeBytes);
        Directory.CreateDirectory(directory);
        _buffer = GC.AllocateUninitializedArray<byte>(_options.BufferSizeBytes, pinned: true);

        var scan = JournalReader.Read(directory, new SequenceNumber(long.MaxValue - 1), handler: null, repairTornTail: false);
        if (scan.TornTail is not null)
            throw new JournalCorruptException($"the journal has a torn tail ({scan.TornTail.Reason} at offset {scan.TornTail.Offset} of {scan.TornTail.File}); recover it before appending", scan.TornTail.File, scan.TornTail.Offset);
        _lastAppended = scan.LastSequence;
        _lastWritten = scan.LastSequence;
        _durable = scan.LastSequence.Value;
        if (scan.LastSegmentPath is not null)
        {
            _segmentPath = scan.LastSegmentPath;
            _segment = File.OpenHandle(_segmentPath, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            _segmentOffset = scan.LastSegmentValidLength;
        }
    }

    /// <summary>Sequence number of the last appended command (durable or not).</summary>
    public SequenceNumber LastAppended => _lastAppended;

    /// <summary>Sequence number up to which every command is on disk and flushed. Safe to read from any thread.</summary>
    public SequenceNumber DurableSequence => new(Volatile.Read(ref _durable));

    /// <summary>Commands appended but not yet committed.</summary>
    public long PendingCommands => _lastAppended.Value - DurableSequence.Value;

    /// <summary>Whether an fsync failed; every further call throws.</summary>
    public bool IsFaulted => _faulted;

    /// <summary>Number of fsyncs done (group commits, segment rolls).</summary>
    public long FlushCount { get; private set; }

    /// <summary>Total bytes written to segments by this writer.</summary>
    public long BytesWritten { get; private set; }

    /// <summary>Duration of the last fsync (the <c>exh_journal_fsync_latency_seconds</c> SLI).</summary>
    public TimeSpan LastFlushDuration { get; private set; }

    /// <summary>The segment file being appended to (null before the first append of an empty journal).</summary>
    public string? CurrentSegmentPath => _segmentPath;

    /// <summary>
    /// Assigns the next sequence number to <paramref name="command"/> (and a timestamp from the
    /// clock when it has none) and buffers its record. Not durable until <see cref="Commit"/>.
    /// </summary>
    /// <returns>The sequence number assigned.</returns>
    /// <exception cref="JournalWriteException">Writing out a full buffer failed (the command was not appended).</exception>
    /// <exception cref="InvalidOperationException">The writer is faulted or disposed.</exception>
    public SequenceNumber Append(ref Command command)
    {
        ThrowIfUnusable();
        int size = JournalFormat.CommandRecordSize;
        if (_segment is null || _segmentOffset + _pending + size > _options.SegmentSizeBytes)
            RollSegment(_lastAppended.Next);
        else if (_pending + size > _buffer.Length)
            WritePending();

        var sequence = _lastAppended.Next;
        command.Sequence = sequence;
        if (command.Timestamp == 0) command.Timestamp = UnixNanoseconds(_options.TimeProvider);
        JournalFormat.WriteCommandRecord(_buffer.AsSpan(_pending, size), command);
        _pending += size;
        _pendingRecords++;
        _lastAppended = sequence;
        return sequence;
    }

    /// <summary>
    /// Writes the buffered batch and flushes it to disk (group commit). On return every appended
    /// command is durable and <see cref="DurableSequence"/> equals <see cref="LastAppended"/>.
    /// </summary>
    /// <exception cref="JournalWriteException">The write or the flush failed; see the class remarks.</exception>
    /// <exception cref="InvalidOperationException">The writer is faulted or disposed.</exception>
    public void Commit()
    {
        ThrowIfUnusable();
        if (_lastAppended.Value == Volatile.Read(ref _durable)) return;
        WritePending();
        Flush();
        Volatile.Write(ref _durable, _lastAppended.Value);
    }

    /// <summary>
    /// Drops every appended command that is not durable yet (after a failed <see cref="Commit"/>),
    /// removes anything of them already written, and rewinds <see cref="LastAppended"/> to
    /// <see cref="DurableSequence"/>, so their sequence numbers are reused.
    /// </summary>
    /// <returns>How many commands were dropped.</returns>
    /// <exception cref="JournalWriteException">The file could not be truncated back; the writer is now faulted.</exception>
    public long DiscardPending()
    {
        ThrowIfUnusable();
        long dropped = _lastAppended.Value - Volatile.Read(ref _durable);
        _pending = 0;
        _pendingRecords = 0;
        if (_lastWritten.Value != Volatile.Read(ref _durable) || (_segment is not null && RandomAccess.GetLength(_segment) != _segmentOffset))
        {
            // Records of the dropped batch may have reached the file (an early buffer write, or a
            // partial write before the failure). They must go, or recovery would replay them.
            try
            {
                long durableEnd = DurableEndOffset();
                RandomAccess.SetLength(_segment!, durableEnd);
                RandomAccess.FlushToDisk(_segment!);
                _segmentOffset = durableEnd;
            }
            catch (IOException e)
            {
                _faulted = true;
                throw new JournalWriteException("could not remove a discarded batch from the journal; the writer is faulted", e);
            }
        }
        _lastAppended = new SequenceNumber(Volatile.Read(ref _durable));
        _lastWritten = _lastAppended;
        return dropped;
    }

    private long DurableEndOffset()
    {
        // Records are fixed-size in version 1, and a segment rolls only after a flush, so the
        // durable end of the current segment follows from its first sequence number.
        JournalFormat.TryParseSegmentFileName(Path.GetFileName(_segmentPath!), out var first);
        long durableInSegment = Math.Max(0, Volatile.Read(ref _durable) - first.Value + 1);
        return JournalFormat.SegmentHeaderSize + durableInSegment * JournalFormat.CommandRecordSize;
    }

    private void WritePending()
    {
        if (_pending == 0) return;
        try
        {
            _options.Faults?.BeforeWrite(_pending);
            RandomAccess.Write(_segment!, new ReadOnlySpan<byte>(_buffer, 0, _pending), _segmentOffset);
        }
        catch (IOException e)
        {
            throw new JournalWriteException($"writing {_pendingRecords} journal record(s) to {_segmentPath} failed: {e.Message}", e);
        }
        _segmentOffset += _pending;
        BytesWritten += _pending;
        _pending = 0;
        _pendingRecords = 0;
        _lastWritten = _lastAppended;
    }

    private void Flush()
    {
        _options.Faults?.BeforeFlush();
        if (!_options.FlushToDisk) return;
        long start = Stopwatch.GetTimestamp();
        try
        {
            RandomAccess.FlushToDisk(_segment!);
            if (_directoryDirty)
            {
                DirectorySync.Flush(_directory);
                _directoryDirty = false;
            }
        }
        catch (IOException e)
        {
            _faulted = true;
            throw new JournalWriteException($"fsync of {_segmentPath} failed; the writer is faulted: {e.Message}", e);
        }
        LastFlushDuration = Stopwatch.GetElapsedTime(start);
        FlushCount++;
    }

    private void RollSegment(SequenceNumber firstSequence)
    {
        if (_segment is not null)
        {
            // Everything in the old segment becomes durable before the new one starts, so only the
            // last segment can ever have a torn tail.
            WritePending();
            Flush();
            Volatile.Write(ref _durable, _lastAppended.Value);
            _segment.Dispose();
        }
        string path = Path.Combine(_directory, JournalFormat.SegmentFileName(firstSequence));
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
            Span<byte> header = stackalloc byte[JournalFormat.SegmentHeaderSize];
            JournalFormat.SegmentMagic.CopyTo(header);
            BinaryPrimitives.WriteInt64LittleEndian(header[8..], firstSequence.Value);
            RandomAccess.Write(handle, header, 0);
        }
        catch (IOException e)
        {
            _segment = null;
            throw new JournalWriteException($"creating journal segment {path} failed: {e.Message}", e);
        }
        _segment = handle;
        _segmentPath = path;
        _segmentOffset = JournalFormat.SegmentHeaderSize;
        _directoryDirty = true;
    }

    private void ThrowIfUnusable()
    {
        if (_faulted) throw new InvalidOperationException("the journal writer is faulted after a failed fsync; recover from the journal files");
        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    /// <summary>Closes the segment. Does not commit: call <see cref="Commit"/> first to keep buffered commands.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _segment?.Dispose();
    }

    /// <summary>Unix time in nanoseconds from <paramref name="time"/>.</summary>
    public static long UnixNanoseconds(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    }
}

/// <summary>A journal write or flush failed. Commands of the failed batch must not be acknowledged.</summary>
public sealed class JournalWriteException : IOException
{
    /// <summary>Creates the exception.</summary>
    public JournalWriteException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Fault-injection hooks of a <see cref="JournalWriter"/> (the engine's chaos faults: a journal
/// that cannot write, as on a full disk; a slow fsync).
/// </summary>
public interface IJournalFaultHooks
{
    /// <summary>Called before each write of buffered records; throw an <see cref="IOException"/> to fail it as a full disk would (the batch is kept for retry or discard).</summary>
    /// <param name="bytes">Bytes about to be written.</param>
    void BeforeWrite(int bytes);

    /// <summary>Called before each fsync; may block to make the flush slow.</summary>
    void BeforeFlush();
}
