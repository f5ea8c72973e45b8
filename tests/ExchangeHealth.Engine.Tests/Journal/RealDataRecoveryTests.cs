using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Replay;
using ExchangeHealth.Engine.Tests.Replay;

namespace ExchangeHealth.Engine.Tests.Journal;

/// <summary>
/// The recovery property on real order flow: after a journaled replay with snapshots,
/// snapshot + tail replay and a full replay from sequence 1 both give the live engine's state hash.
/// </summary>
public sealed class RealDataRecoveryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("bitfinex", 512, 30_000)]
    [InlineData("lobster", 128, 300)]
    public void JournaledReplay_SnapshotPlusTail_EqualsFullReplayAndLiveState(string format, int commitEvery, long snapshotEvery)
    {
        string file = format == "bitfinex" ? ReplayTestData.Bitfinex : ReplayTestData.LobsterMessages;
        string data = _dir.Combine("data");
        using var source = OrderFlowSources.Open(file);
        EngineDataDirectory.Create(data, source.Markets, reset: false);
        ReplaySummary summary;
        MatchingEngine live;
        using (var hook = new JournalingReplayHook(data, new JournalingReplayOptions
        {
            CommitEvery = commitEvery,
            SnapshotEvery = snapshotEvery,
            Writer = new JournalWriterOptions { FlushToDisk = false },
        }))
        {
            var runner = new ReplayRunner(source, new ReplayOptions { Hook = hook });
            summary = runner.Run();
            hook.Complete();
            live = runner.Engine;
            Assert.True(hook.Snapshots >= 2, $"only {hook.Snapshots} snapshots");
        }
        Assert.Null(summary.Error);
        Assert.True(summary.Trades > 0);

        var markets = EngineDataDirectory.LoadMarkets(data)!;
        var fromSnapshot = EngineRecovery.Recover(data, markets);
        var full = EngineRecovery.Recover(data, markets, new RecoveryOptions { IgnoreSnapshots = true });

        Assert.NotNull(fromSnapshot.SnapshotPath);
        Assert.True(fromSnapshot.SnapshotSequence.Value > 0);
        Assert.Equal(summary.Commands - fromSnapshot.SnapshotSequence.Value, fromSnapshot.ReplayedCommands);
        Assert.Equal(summary.Commands, full.ReplayedCommands);
        Assert.Equal(summary.StateHash, live.ComputeStateHash());
        Assert.Equal(summary.StateHash, fromSnapshot.Engine.ComputeStateHash());
        Assert.Equal(summary.StateHash, full.Engine.ComputeStateHash());
        Assert.Equal(live.LastTradeId, full.Engine.LastTradeId);
    }

    [Fact]
    public void MarketsYaml_RoundTrips_ForReplayMarketsAndDefaults()
    {
        using var bitfinex = OrderFlowSources.Open(ReplayTestData.Bitfinex);
        using var lobster = OrderFlowSources.Open(ReplayTestData.LobsterMessages);
        IEnumerable<MarketDefinition> all = [.. MarketsFile.Default(), .. bitfinex.Markets, .. lobster.Markets];
        foreach (var m in all.DistinctBy(m => m.Symbol))
        {
            var back = Assert.Single(MarketsFile.Parse(MarketsFile.ToYaml([m]), "roundtrip.yaml"));
            Assert.Equal(m with { MinQuantity = Math.Max(m.MinQuantity, m.LotSize) }, back);
        }
    }

    [Fact]
    public void CreateDataDirectory_Twice_RefusesWithoutReset()
    {
        string data = _dir.Combine("data");
        var markets = MarketsFile.Default();
        EngineDataDirectory.Create(data, markets, reset: false);
        using (var writer = new JournalWriter(EngineRecovery.JournalDirectory(data)))
        {
            var c = Command.CancelAllOrders(1);
            writer.Append(ref c);
            writer.Commit();
        }

        Assert.Throws<InvalidOperationException>(() => EngineDataDirectory.Create(data, markets, reset: false));
        EngineDataDirectory.Create(data, markets, reset: true);
        Assert.False(EngineDataDirectory.HasState(data));
    }
}
