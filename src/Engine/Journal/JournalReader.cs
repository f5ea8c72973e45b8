using System.Buffers.Binary;
using ExchangeHealth.Engine.Primitives;
using Microsoft.Win32.SafeHandles;

namespace ExchangeHealth.Engine.Journal;

/// <summary>Receives one journaled command, decoded into a reused struct (copy what you keep).</summary>
public delegate void JournalCommandHandler(ref Command command);

/// <summary>A torn or corrupt record found at the end of the last segment.</summary>
/// <param name="File">The segment file.</param>
/// <param name="Offset">Byte offset of the first bad record: the journal's valid end.</param>
/// <param name="BytesDiscarded">Bytes from <paramref name="Offset"/> to the end of the file.</param>
/// <param name="Reason">What was wrong (partial header, bad length, past end of file, CRC mismatch, sequence).</param>
/// <param name="Truncated">Whether the file was truncated at <paramref name="Offset"/> (repair mode).</param>
public sealed record JournalTornTail(string File, long Offset, long BytesDiscarded, string Reason, bool Truncated)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{(Truncated ? "truncated" : "would truncate")} {BytesDiscarded} byte(s) of torn tail at offset {Offset} of {File}: {Reason}";
}

/// <summary>What a journal scan found.</summary>
public sealed record JournalScanResult
{
    /// <summary>Sequence number of the first record in the journal (0 when empty).</summary>
    public SequenceNumber FirstSequence { get; init; }

    /// <summary>Sequence number of the last valid record (0 when empty).</summary>
    public SequenceNumber LastSequence { get; init; }

    /// <summary>Valid records read and checked (segments wholly before the start point are skipped unread).</summary>
    public long RecordsRead { get; init; }

    /// <summary>Records handed to the handler (those after the start point).</summary>
    public long RecordsDelivered { get; init; }

    /// <summary>Number of segment files.</summary>
    public int SegmentCount { get; init; }

    /// <summary>The torn tail, if the last segment ended with one.</summary>
    public JournalTornTail? TornTail { get; init; }

    /// <summary>The last segment file (null when the journal is empty).</summary>
    public string? LastSegmentPath { get; init; }

    /// <summary>Byte length of the valid part of the last segment.</summary>
    public long LastSegmentValidLength { get; init; }

    /// <summary>First sequence number of the last segment.</summary>
    public SequenceNumber LastSegmentFirstSequence { get; init; }
}

/// <summary>Reads and checks a journal directory (format: <see cref="JournalFormat"/>).</summary>
public static class JournalReader
{
    private const int BufferSize = 4 << 20;

    /// <summary>
    /// Reads the journal in <paramref name="directory"/> and hands every command with a sequence
    /// number above <paramref name="after"/> to <paramref name="handler"/>, in order.
    /// </summary>
    /// <param name="directory">The journal directory (missing or empty means an empty journal).</param>
    /// <param name="after">Deliver records after this sequence number; segments wholly at or before it are not read.</param>
    /// <param name="handler">Receives each delivered command; null to only check.</param>
    /// <param name="repairTornTail">Truncate a torn tail of the last segment (and delete a last segment whose header is torn).</param>
    /// <returns>What was found.</returns>
    /// <exception cref="JournalCorruptException">Corruption that is not a torn tail: a bad record followed by valid ones, a bad record in an older segment, a sequence gap, or missing segments before <paramref name="after"/>.</exception>
    /// <exception cref="IOException">The files cannot be read (or truncated in repair mode).</exception>
    public static JournalScanResult Read(string directory, SequenceNumber after, JournalCommandHandler? handler, bool repairTornTail)
    {
        var segments = ListSegments(directory);
        if (segments.Count == 0) return new JournalScanResult();

        SequenceNumber journalFirst = segments[0].First;
        if (journalFirst.Value > after.Value + 1 && journalFirst.Value != 1)
            throw new JournalCorruptException($"the journal starts at sequence {journalFirst} but commands after {after} are needed: older segments are missing", segments[0].Path);

        // Skip segments whose successor starts at or before after + 1: they hold nothing to deliver.
        int start = 0;
        while (start + 1 < segments.Count && segments[start + 1].First.Value <= after.Value + 1) start++;

        var buffer = new byte[BufferSize];
        var command = new Command();
        long read = 0, delivered = 0;
        SequenceNumber expected = segments[start].First;
        JournalTornTail? torn = null;
        long lastValidLength = 0;
        int lastIndex = segments.Count - 1;

        for (int i = start; i < segments.Count; i++)
        {
            var (path, first) = segments[i];
            bool isLast = i == lastIndex;
            if (first != expected)
                throw new JournalCorruptException($"segment {Path.GetFileName(path)} starts at sequence {first} but {expected} was expected: a segment is missing or misnamed", path);

            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, repairTornTail && isLast ? FileAccess.ReadWrite : FileAccess.Read, FileShare.ReadWrite);
            long length = RandomAccess.GetLength(handle);

            // Header.
            string? headerProblem = null;
            if (length < JournalFormat.SegmentHeaderSize) headerProblem = "segment header is incomplete";
            else
            {
                Span<byte> header = buffer.AsSpan(0, JournalFormat.SegmentHeaderSize);
                ReadExactly(handle, header, 0);
                if (!header[..8].SequenceEqual(JournalFormat.SegmentMagic)) headerProblem = "segment header has the wrong magic";
                else if (BinaryPrimitives.ReadInt64LittleEndian(header[8..]) != first.Value) headerProblem = "segment header's first sequence does not match its file name";
            }
            if (headerProblem is not null)
            {
                if (!isLast || (length >= JournalFormat.SegmentHeaderSize && HasValidRecordAfter(handle, JournalFormat.SegmentHeaderSize, length, expected)))
                    throw new JournalCorruptException($"{Path.GetFileName(path)}: {headerProblem}", path, 0);
                // A crash right after creating the segment: nothing in it was ever acknowledged.
                torn = new JournalTornTail(path, 0, length, headerProblem, repairTornTail);
                if (repairTornTail)
                {
                    handle.Dispose();
                    File.Delete(path);
                    DirectorySync.Flush(directory);
                }
                lastValidLength = 0;
                break;
            }

            long pos = JournalFormat.SegmentHeaderSize;
            long bufStart = 0;
            int bufLen = 0;
            string? problem = null;
            while (pos < length)
            {
                // Make sure the record header (and then the whole record) is in the buffer.
                if (pos + JournalFormat.RecordHeaderSize > bufStart + bufLen)
                {
                    bufStart = pos;
                    bufLen = Fill(handle, buffer, pos, length);
                }
                if (length - pos < JournalFormat.RecordHeaderSize) { problem = "partial record header"; break; }
                int local = (int)(pos - bufStart);
                uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(local));
                if (payloadLength == 0 || payloadLength > JournalFormat.MaxPayloadSize) { problem = $"invalid record length {payloadLength}"; break; }
                int size = JournalFormat.RecordSize((int)payloadLength);
                if (pos + size > length) { problem = $"record of {size} bytes extends past the end of the file"; break; }
                if (pos + size > bufStart + bufLen)
                {
                    bufStart = pos;
                    bufLen = Fill(handle, buffer, pos, length);
                    local = 0;
                }
                var record = buffer.AsSpan(local, size);
                uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
                if (storedCrc != JournalFormat.RecordCrc(record, (int)payloadLength)) { problem = "CRC mismatch"; break; }
                long sequence = BinaryPrimitives.ReadInt64LittleEndian(record[8..]);
                if (sequence != expected.Value) { problem = $"sequence {sequence} where {expected} was expected"; break; }
                read++;
                if (sequence > after.Value)
                {
                    if (payloadLength != JournalFormat.CommandPayloadSize)
                        throw new JournalCorruptException($"{Path.GetFileName(path)}: record {sequence} has an unknown payload length {payloadLength}", path, pos);
                    if (handler is not null)
                    {
                        long timestamp = BinaryPrimitives.ReadInt64LittleEndian(record[16..]);
                        JournalFormat.DecodeCommand(record.Slice(JournalFormat.RecordHeaderSize, JournalFormat.CommandPayloadSize), new SequenceNumber(sequence), timestamp, ref command);
                        handler(ref command);
                    }
                    delivered++;
                }
                expected = expected.Next;
                pos += size;
            }

            if (problem is not null)
            {
                if (!isLast)
                    throw new JournalCorruptException($"{Path.GetFileName(path)} offset {pos}: {problem} in a segment that is not the last one", path, pos);
                if (HasValidRecordAfter(handle, pos + 8, length, expected))
                    throw new JournalCorruptException($"{Path.GetFileName(path)} offset {pos}: {problem}, and valid records follow it: this is corruption, not a torn write; refusing to truncate", path, pos);
                torn = new JournalTornTail(path, pos, length - pos, problem, repairTornTail);
                if (repairTornTail)
                {
                    RandomAccess.SetLength(handle, pos);
                    RandomAccess.FlushToDisk(handle);
                }
            }
            lastValidLength = pos;
        }

        int segmentCount = segments.Count;
        if (torn is { Offset: 0, Truncated: true })
        {
            // The torn last segment was deleted: the previous one (complete, as checked or as
            // named) is now the last.
            segmentCount--;
            lastValidLength = segmentCount > 0 ? new FileInfo(segments[segmentCount - 1].Path).Length : 0;
        }
        return new JournalScanResult
        {
            FirstSequence = segmentCount > 0 ? journalFirst : default,
            LastSequence = new SequenceNumber(expected.Value - 1),
            RecordsRead = read,
            RecordsDelivered = delivered,
            SegmentCount = segmentCount,
            TornTail = torn,
            LastSegmentPath = segmentCount > 0 ? segments[segmentCount - 1].Path : null,
            LastSegmentValidLength = lastValidLength,
            LastSegmentFirstSequence = segmentCount > 0 ? segments[segmentCount - 1].First : default,
        };
    }

    /// <summary>The segment files of <paramref name="directory"/>, by first sequence number.</summary>
    public static IReadOnlyList<(string Path, SequenceNumber First)> ListSegments(string directory)
    {
        var list = new List<(string, SequenceNumber)>();
        if (!Directory.Exists(directory)) return list;
        foreach (string path in Directory.EnumerateFiles(directory, "journal-*.log"))
        {
            if (JournalFormat.TryParseSegmentFileName(Path.GetFileName(path), out var first)) list.Add((path, first));
        }
        list.Sort((a, b) => a.Item2.CompareTo(b.Item2));
        return list;
    }

    private static int Fill(SafeFileHandle handle, byte[] buffer, long offset, long length)
    {
        int want = (int)Math.Min(buffer.Length, length - offset);
        ReadExactly(handle, buffer.AsSpan(0, want), offset);
        return want;
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        while (destination.Length > 0)
        {
            int n = RandomAccess.Read(handle, destination, offset);
            if (n == 0) throw new EndOfStreamException("journal segment shrank while being read");
            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>
    /// Whether any 8-byte aligned offset from <paramref name="from"/> holds a record with a valid
    /// CRC and a sequence number at or after <paramref name="expected"/>: if so, the bad record
    /// before it is corruption in the middle of the journal, not a torn write at its end.
    /// </summary>
    private static bool HasValidRecordAfter(SafeFileHandle handle, long from, long length, SequenceNumber expected)
    {
        long start = (from + 7) & ~7L;
        if (start >= length) return false;
        var tail = new byte[length - start];
        ReadExactly(handle, tail, start);
        for (int off = 0; off + JournalFormat.RecordHeaderSize <= tail.Length; off += 8)
        {
            uint payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(off));
            if (payloadLength == 0 || payloadLength > JournalFormat.MaxPayloadSize) continue;
            int size = JournalFormat.RecordSize((int)payloadLength);
            if (off + size > tail.Length) continue;
            var record = tail.AsSpan(off, size);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record[4..]) != JournalFormat.RecordCrc(record, (int)payloadLength)) continue;
            if (BinaryPrimitives.ReadInt64LittleEndian(record[8..]) >= expected.Value) return true;
        }
        return false;
    }
}
