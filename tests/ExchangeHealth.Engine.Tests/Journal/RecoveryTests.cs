using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;
using FsCheck;
using FsCheck.Fluent;

namespace ExchangeHealth.Engine.Tests.Journal;

public sealed class RecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly IReadOnlyList<MarketDefinition> Markets = MarketsFile.Default();

    public void Dispose() => _dir.Dispose();

    private static JournalWriterOptions NoFsync => new() { FlushToDisk = false, BufferSizeBytes = 1 << 16 };

    /// <summary>Runs commands through a live engine, journaling each batch before processing it; snapshots after <paramref name="snapshotAfter"/> commands.</summary>
    private static string RunLive(string dataDir, Command[] commands, int batch, params int[] snapshotAfter)
    {
        var engine = new MatchingEngine(Markets);
        using var writer = new JournalWriter(EngineRecovery.JournalDirectory(dataDir), NoFsync);
        for (int start = 0; start < commands.Length; start += batch)
        {
            int end = Math.Min(commands.Length, start + batch);
            for (int i = start; i < end; i++) writer.Append(ref commands[i]);
            writer.Commit();
            for (int i = start; i < end; i++)
            {
                engine.Process(ref commands[i]);
                if (Array.IndexOf(snapshotAfter, i + 1) >= 0) SnapshotStore.Write(EngineRecovery.SnapshotDirectory(dataDir), engine);
            }
        }
        Assert.Equal(0, engine.InternalErrors);
        return engine.ComputeStateHash();
    }

    private static string HashOfPrefix(Command[] commands, int count)
    {
        var engine = new MatchingEngine(Markets);
        for (int i = 0; i < count; i++)
        {
            var c = commands[i];
            engine.Process(ref c);
        }
        return engine.ComputeStateHash();
    }

    [Fact]
    public void Recover_EmptyDirectory_GivesEmptyEngine()
    {
        var result = EngineRecovery.Recover(_dir.Path, Markets);
        Assert.Equal(0, result.LastSequence.Value);
        Assert.Null(result.SnapshotPath);
        Assert.Equal(new MatchingEngine(Markets).ComputeStateHash(), result.Engine.ComputeStateHash());
    }

    [Fact]
    public void Recover_FromSnapshotPlusTail_EqualsLiveStateAndFullReplay()
    {
        var commands = RandomCommands.Generate(seed: 21, count: 3000);
        string live = RunLive(_dir.Path, commands, batch: 100, snapshotAfter: [1000, 2200]);

        var fromSnapshot = EngineRecovery.Recover(_dir.Path, Markets);
        var full = EngineRecovery.Recover(_dir.Path, Markets, new RecoveryOptions { IgnoreSnapshots = true });

        Assert.Equal(2200, fromSnapshot.SnapshotSequence.Value);
        Assert.Equal(800, fromSnapshot.ReplayedCommands);
        Assert.Equal(3000, full.ReplayedCommands);
        Assert.Equal(live, fromSnapshot.Engine.ComputeStateHash());
        Assert.Equal(live, full.Engine.ComputeStateHash());
        Assert.Equal(3000, fromSnapshot.LastSequence.Value);
        Assert.Equal(full.Engine.LastTradeId, fromSnapshot.Engine.LastTradeId);
        // The stream must exercise the book for this to mean anything.
        Assert.True(full.Engine.LastTradeId > 100, $"only {full.Engine.LastTradeId} trades");
        Assert.True(full.Engine.Books.Sum(b => b.OrderCount) > 20, "too few resting orders");
    }

    [Fact]
    public void SnapshotPlusTail_EqualsFullReplay_ForRandomStreamsAndSnapshotPoints()
    {
        // Property: for any command stream and any snapshot point, snapshot + tail == full replay.
        var gen =
            from seed in Gen.Choose(0, int.MaxValue)
            from count in Gen.Choose(1, 600)
            from snapshotAt in Gen.Choose(0, count)
            from batch in Gen.Choose(1, 64)
            select (seed, count, snapshotAt, batch);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            using var dir = new TempDirectory();
            var commands = RandomCommands.Generate(t.seed, t.count);
            string live = RunLive(dir.Path, commands, t.batch, t.snapshotAt);
            var recovered = EngineRecovery.Recover(dir.Path, Markets);
            var full = EngineRecovery.Recover(dir.Path, Markets, new RecoveryOptions { IgnoreSnapshots = true });
            return recovered.Engine.ComputeStateHash() == live
                && full.Engine.ComputeStateHash() == live
                && recovered.SnapshotSequence.Value == t.snapshotAt
                && recovered.ReplayedCommands == t.count - t.snapshotAt;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void TornTailAtAnyByte_RecoversExactlyTheCompleteRecords()
    {
        // Property: cut the last segment at any byte; recovery keeps exactly the complete records
        // and the state equals a replay of that prefix.
        var gen =
            from seed in Gen.Choose(0, int.MaxValue)
            from count in Gen.Choose(1, 300)
            from cutFraction in Gen.Choose(0, 1000)
            select (seed, count, cutFraction);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            using var dir = new TempDirectory();
            var commands = RandomCommands.Generate(t.seed, t.count);
            RunLive(dir.Path, commands, batch: 16);
            string segment = JournalReader.ListSegments(EngineRecovery.JournalDirectory(dir.Path))[0].Path;
            long length = new FileInfo(segment).Length;
            long cut = JournalFormat.SegmentHeaderSize + (length - JournalFormat.SegmentHeaderSize) * t.cutFraction / 1000;
            using (var f = new FileStream(segment, FileMode.Open)) f.SetLength(cut);
            int complete = (int)((cut - JournalFormat.SegmentHeaderSize) / JournalFormat.CommandRecordSize);

            var result = EngineRecovery.Recover(dir.Path, Markets);

            bool tornExpected = (cut - JournalFormat.SegmentHeaderSize) % JournalFormat.CommandRecordSize != 0;
            return result.LastSequence.Value == complete
                && (result.TornTail is not null) == tornExpected
                && result.Engine.ComputeStateHash() == HashOfPrefix(commands, complete);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void CorruptNewestSnapshot_FallsBackToOlderOne_WithWarning()
    {
        var commands = RandomCommands.Generate(seed: 22, count: 1500);
        string live = RunLive(_dir.Path, commands, batch: 50, snapshotAfter: [500, 1000]);
        var newest = SnapshotStore.List(EngineRecovery.SnapshotDirectory(_dir.Path))[0];
        Assert.Equal(1000, newest.Sequence.Value);
        JournalTests.FlipByte(newest.Path, 40);

        var result = EngineRecovery.Recover(_dir.Path, Markets);

        Assert.Equal(500, result.SnapshotSequence.Value);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("CRC mismatch", warning, StringComparison.Ordinal);
        Assert.Equal(live, result.Engine.ComputeStateHash());
    }

    [Fact]
    public void TruncatedSnapshot_IsRejected()
    {
        var commands = RandomCommands.Generate(seed: 23, count: 300);
        RunLive(_dir.Path, commands, batch: 50, snapshotAfter: [300]);
        string path = SnapshotStore.List(EngineRecovery.SnapshotDirectory(_dir.Path))[0].Path;
        using (var f = new FileStream(path, FileMode.Open)) f.SetLength(f.Length / 2);

        Assert.Throws<InvalidDataException>(() => SnapshotStore.Read(path, Markets));
    }

    [Fact]
    public void Snapshot_WithMarketMissingFromMarketsFile_IsRejected()
    {
        var commands = RandomCommands.Generate(seed: 24, count: 200);
        RunLive(_dir.Path, commands, batch: 50, snapshotAfter: [200]);
        string path = SnapshotStore.List(EngineRecovery.SnapshotDirectory(_dir.Path))[0].Path;

        var e = Assert.Throws<InvalidDataException>(() => SnapshotStore.Read(path, Markets.Take(2).ToList()));
        Assert.Contains("not in the markets file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JournalBehindSnapshot_IsCorruption()
    {
        var commands = RandomCommands.Generate(seed: 25, count: 200);
        RunLive(_dir.Path, commands, batch: 50, snapshotAfter: [200]);
        Directory.Delete(EngineRecovery.JournalDirectory(_dir.Path), recursive: true);

        var e = Assert.Throws<JournalCorruptException>(() => EngineRecovery.Recover(_dir.Path, Markets));
        Assert.Contains("journal ends at sequence 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SnapshotPrune_KeepsNewest()
    {
        var commands = RandomCommands.Generate(seed: 26, count: 400);
        RunLive(_dir.Path, commands, batch: 50, snapshotAfter: [100, 200, 300, 400]);
        string snapshots = EngineRecovery.SnapshotDirectory(_dir.Path);

        Assert.Equal(2, SnapshotStore.Prune(snapshots, keep: 2));
        Assert.Equal([400L, 300L], SnapshotStore.List(snapshots).Select(s => s.Sequence.Value));
    }

    [Fact]
    public void RecoveredEngine_ContinuesIdenticallyToLiveEngine()
    {
        var commands = RandomCommands.Generate(seed: 27, count: 2000);
        RunLive(_dir.Path, commands[..1200], batch: 64, snapshotAfter: [700]);
        var recovered = EngineRecovery.Recover(_dir.Path, Markets).Engine;
        var live = new MatchingEngine(Markets);
        var recoveredReports = new CollectingReportSink();
        var liveReports = new CollectingReportSink();
        for (int i = 0; i < 1200; i++)
        {
            var c = commands[i];
            live.Process(ref c);
        }
        recovered.ReportSink = recoveredReports;
        live.ReportSink = liveReports;
        for (int i = 1200; i < 2000; i++)
        {
            var a = commands[i];
            var b = commands[i];
            recovered.Process(ref a);
            live.Process(ref b);
        }
        Assert.Equal(liveReports.Reports, recoveredReports.Reports);
        Assert.Equal(live.ComputeStateHash(), recovered.ComputeStateHash());
    }
}
