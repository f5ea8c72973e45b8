using System.Text;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Tests.Journal;

public sealed class JournalTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string JournalDir => _dir.Combine("journal");

    private static JournalWriterOptions NoFsync(int buffer = 1 << 16, long segment = 256L << 20) =>
        new() { FlushToDisk = false, BufferSizeBytes = buffer, SegmentSizeBytes = segment };

    private List<Command> ReadAll(SequenceNumber after = default, bool repair = true)
    {
        var list = new List<Command>();
        JournalReader.Read(JournalDir, after, (ref Command c) => list.Add(c), repair);
        return list;
    }

    private void WriteJournal(Command[] commands, int commitEvery, JournalWriterOptions? options = null)
    {
        using var writer = new JournalWriter(JournalDir, options ?? NoFsync());
        for (int i = 0; i < commands.Length; i++)
        {
            writer.Append(ref commands[i]);
            if ((i + 1) % commitEvery == 0) writer.Commit();
        }
        writer.Commit();
    }

    [Fact]
    public void Crc32C_StandardCheckValue_MatchesRfc3720()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0u, Crc32C.Compute([]));
    }

    [Fact]
    public void AppendCommit_ThenRead_ReturnsSameCommandsWithConsecutiveSequences()
    {
        var commands = RandomCommands.Generate(seed: 1, count: 500);
        WriteJournal(commands, commitEvery: 64);

        var read = ReadAll();
        Assert.Equal(500, read.Count);
        for (int i = 0; i < read.Count; i++)
        {
            Assert.Equal(i + 1, read[i].Sequence.Value);
            Assert.Equal(commands[i], read[i]);
        }
    }

    [Fact]
    public void Commit_AdvancesDurableSequenceToLastAppended()
    {
        using var writer = new JournalWriter(JournalDir, new JournalWriterOptions { BufferSizeBytes = 4096 });
        var c = Command.Limit(1, 1, 1, Side.Buy, 6_000_000_000_000, 10_000);
        Assert.Equal(1, writer.Append(ref c).Value);
        c.Timestamp = 0;
        c.OrderId = 2;
        writer.Append(ref c);
        Assert.Equal(0, writer.DurableSequence.Value);
        Assert.Equal(2, writer.PendingCommands);
        writer.Commit();
        Assert.Equal(2, writer.DurableSequence.Value);
        Assert.Equal(1, writer.FlushCount);
        Assert.True(c.Timestamp > 0, "a command without timestamp gets one from the clock");
    }

    [Fact]
    public void Reopen_ContinuesAfterLastSequence()
    {
        var commands = RandomCommands.Generate(seed: 2, count: 100);
        WriteJournal(commands[..60], commitEvery: 10);
        using (var writer = new JournalWriter(JournalDir, NoFsync()))
        {
            Assert.Equal(60, writer.LastAppended.Value);
            for (int i = 60; i < 100; i++) writer.Append(ref commands[i]);
            writer.Commit();
        }
        var read = ReadAll();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), read.Select(c => c.Sequence.Value));
    }

    [Fact]
    public void SmallSegments_RollAndReadBackAcrossSegments()
    {
        var commands = RandomCommands.Generate(seed: 3, count: 1000);
        // 4 KiB buffer, 8 KiB segments: ~127 records per segment.
        WriteJournal(commands, commitEvery: 50, NoFsync(buffer: 4096, segment: 8192));

        var segments = JournalReader.ListSegments(JournalDir);
        Assert.True(segments.Count > 5, $"expected several segments, got {segments.Count}");
        Assert.Equal(1, segments[0].First.Value);
        Assert.All(segments, s => Assert.True(new FileInfo(s.Path).Length <= 8192));
        Assert.Equal(1000, ReadAll().Count);

        // Reading after a sequence skips whole earlier segments but still delivers the exact tail.
        var tail = ReadAll(after: new SequenceNumber(777));
        Assert.Equal(Enumerable.Range(778, 223).Select(i => (long)i), tail.Select(c => c.Sequence.Value));
    }

    [Theory]
    [InlineData(1)]    // inside the last record's header
    [InlineData(30)]   // inside its payload
    [InlineData(63)]   // one byte short
    public void TornLastRecord_IsReportedAndTruncated_EarlierRecordsKept(int bytesOfLastRecord)
    {
        WriteJournal(RandomCommands.Generate(seed: 4, count: 20), commitEvery: 5);
        string segment = JournalReader.ListSegments(JournalDir)[0].Path;
        long full = new FileInfo(segment).Length;
        long cut = full - JournalFormat.CommandRecordSize + bytesOfLastRecord;
        using (var f = new FileStream(segment, FileMode.Open)) f.SetLength(cut);

        var result = JournalReader.Read(JournalDir, default, null, repairTornTail: true);

        Assert.NotNull(result.TornTail);
        Assert.True(result.TornTail!.Truncated);
        Assert.Equal(full - JournalFormat.CommandRecordSize, result.TornTail.Offset);
        Assert.Equal(19, result.LastSequence.Value);
        Assert.Equal(full - JournalFormat.CommandRecordSize, new FileInfo(segment).Length);

        // After the repair the writer appends sequence 20 again and the journal reads cleanly.
        using (var writer = new JournalWriter(JournalDir, NoFsync()))
        {
            var c = Command.CancelAllOrders(1);
            Assert.Equal(20, writer.Append(ref c).Value);
            writer.Commit();
        }
        var clean = JournalReader.Read(JournalDir, default, null, repairTornTail: false);
        Assert.Null(clean.TornTail);
        Assert.Equal(20, clean.LastSequence.Value);
    }

    [Fact]
    public void TornTail_WithoutRepair_IsReportedButFileUntouched()
    {
        WriteJournal(RandomCommands.Generate(seed: 5, count: 10), commitEvery: 10);
        string segment = JournalReader.ListSegments(JournalDir)[0].Path;
        using (var f = new FileStream(segment, FileMode.Append)) f.Write(new byte[10]);
        long length = new FileInfo(segment).Length;

        var result = JournalReader.Read(JournalDir, default, null, repairTornTail: false);

        Assert.NotNull(result.TornTail);
        Assert.False(result.TornTail!.Truncated);
        Assert.Equal(10, result.LastSequence.Value);
        Assert.Equal(length, new FileInfo(segment).Length);
        Assert.Throws<JournalCorruptException>(() => new JournalWriter(JournalDir, NoFsync()));
    }

    [Fact]
    public void ZeroFilledTail_AsAfterACrashThatExtendedTheFile_IsTruncated()
    {
        WriteJournal(RandomCommands.Generate(seed: 6, count: 10), commitEvery: 10);
        string segment = JournalReader.ListSegments(JournalDir)[0].Path;
        long valid = new FileInfo(segment).Length;
        using (var f = new FileStream(segment, FileMode.Append)) f.Write(new byte[4096]);

        var result = JournalReader.Read(JournalDir, default, null, repairTornTail: true);

        Assert.Contains("length 0", result.TornTail!.Reason, StringComparison.Ordinal);
        Assert.Equal(valid, new FileInfo(segment).Length);
        Assert.Equal(10, result.LastSequence.Value);
    }

    [Fact]
    public void CorruptLastRecord_CrcMismatch_IsTruncatedAsTornTail()
    {
        WriteJournal(RandomCommands.Generate(seed: 7, count: 10), commitEvery: 10);
        string segment = JournalReader.ListSegments(JournalDir)[0].Path;
        long length = new FileInfo(segment).Length;
        FlipByte(segment, length - 3);

        var result = JournalReader.Read(JournalDir, default, null, repairTornTail: true);

        Assert.Equal("CRC mismatch", result.TornTail!.Reason);
        Assert.Equal(9, result.LastSequence.Value);
    }

    [Fact]
    public void CorruptRecordFollowedByValidRecords_IsCorruption_NotTruncated()
    {
        WriteJournal(RandomCommands.Generate(seed: 8, count: 10), commitEvery: 10);
        string segment = JournalReader.ListSegments(JournalDir)[0].Path;
        long length = new FileInfo(segment).Length;
        FlipByte(segment, JournalFormat.SegmentHeaderSize + 4 * JournalFormat.CommandRecordSize + 30);

        var e = Assert.Throws<JournalCorruptException>(() => JournalReader.Read(JournalDir, default, null, repairTornTail: true));

        Assert.Contains("valid records follow", e.Message, StringComparison.Ordinal);
        Assert.Equal(JournalFormat.SegmentHeaderSize + 4 * JournalFormat.CommandRecordSize, e.Offset);
        Assert.Equal(length, new FileInfo(segment).Length);
    }

    [Fact]
    public void CorruptRecordInOlderSegment_IsCorruption()
    {
        WriteJournal(RandomCommands.Generate(seed: 9, count: 400), commitEvery: 20, NoFsync(buffer: 4096, segment: 8192));
        var segments = JournalReader.ListSegments(JournalDir);
        FlipByte(segments[0].Path, new FileInfo(segments[0].Path).Length - 10);

        var e = Assert.Throws<JournalCorruptException>(() => JournalReader.Read(JournalDir, default, null, repairTornTail: true));
        Assert.Contains("not the last", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingSegment_IsReportedAsGap()
    {
        WriteJournal(RandomCommands.Generate(seed: 10, count: 400), commitEvery: 20, NoFsync(buffer: 4096, segment: 8192));
        var segments = JournalReader.ListSegments(JournalDir);
        File.Delete(segments[1].Path);

        var e = Assert.Throws<JournalCorruptException>(() => JournalReader.Read(JournalDir, default, null, repairTornTail: true));
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TornSegmentHeader_OfLastSegment_IsDeleted()
    {
        WriteJournal(RandomCommands.Generate(seed: 11, count: 30), commitEvery: 10);
        string torn = Path.Combine(JournalDir, JournalFormat.SegmentFileName(new SequenceNumber(31)));
        File.WriteAllBytes(torn, "EXHJ"u8.ToArray());

        var result = JournalReader.Read(JournalDir, default, null, repairTornTail: true);

        Assert.False(File.Exists(torn));
        Assert.Equal(30, result.LastSequence.Value);
        Assert.Equal(1, result.SegmentCount);
        using var writer = new JournalWriter(JournalDir, NoFsync());
        Assert.Equal(30, writer.LastAppended.Value);
    }

    [Fact]
    public void DiscardPending_RemovesRecordsAlreadyWrittenByEarlyBufferFlush()
    {
        var commands = RandomCommands.Generate(seed: 12, count: 300);
        using (var writer = new JournalWriter(JournalDir, NoFsync(buffer: 1024)))
        {
            for (int i = 0; i < 100; i++) writer.Append(ref commands[i]);
            writer.Commit();
            // 1 KiB buffer = 16 records: these 200 appends write most of them to the file early.
            for (int i = 100; i < 300; i++) writer.Append(ref commands[i]);
            Assert.Equal(200, writer.DiscardPending());
            Assert.Equal(100, writer.LastAppended.Value);

            var replacement = Command.CancelAllOrders(42);
            Assert.Equal(101, writer.Append(ref replacement).Value);
            writer.Commit();
        }
        var read = ReadAll(repair: false);
        Assert.Equal(101, read.Count);
        Assert.Equal(42, read[100].AccountId);
    }

    [Fact]
    public void Fsync_WhenEnabled_IsCountedPerCommit()
    {
        var commands = RandomCommands.Generate(seed: 13, count: 64);
        using var writer = new JournalWriter(JournalDir, new JournalWriterOptions { BufferSizeBytes = 1 << 16 });
        for (int i = 0; i < commands.Length; i++)
        {
            writer.Append(ref commands[i]);
            if ((i + 1) % 16 == 0) writer.Commit();
        }
        Assert.Equal(4, writer.FlushCount);
        Assert.True(writer.LastFlushDuration > TimeSpan.Zero);
    }

    internal static void FlipByte(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x5A));
    }
}
