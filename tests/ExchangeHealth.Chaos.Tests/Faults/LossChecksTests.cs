using ExchangeHealth.Chaos.Faults;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.TestKit;
using Xunit.Abstractions;

namespace ExchangeHealth.Chaos.Tests.Faults;

/// <summary>
/// The order ledger and the loss invariants against a real <c>exh engine</c> child: order flow over
/// two TCP sessions, <c>kill -9</c>, restart on the same data directory, more flow, and the three
/// checks; then copies of the journal with a flipped byte or a cut tail, which the checks must catch.
/// </summary>
public sealed class LossChecksTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("exh-loss-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task LedgerAcrossKill9AndRestart_AllThreeChecksPass()
    {
        string data = Path.Combine(_root, "engine");
        var engine = await EngineProcess.StartAsync(data);
        try
        {
            await using var ledger = OrderLedger.Start(OrderLedgerOptions.ForEngine(data, sessions: 2, ordersPerSecond: 300) with { FirstClOrdId = 1 });
            Assert.True(await ledger.WaitForAcknowledgedAsync(150, TimeSpan.FromSeconds(20)), $"no order flow before the kill: {ledger.LastError}");
            await engine.KillAsync();
            await engine.DisposeAsync();
            long ackedBeforeRestart = ledger.Counts.Acknowledged;
            engine = await EngineProcess.StartAsync(data);
            Assert.True(await ledger.WaitForAcknowledgedAsync(ackedBeforeRestart + 150, TimeSpan.FromSeconds(20)),
                $"the ledger did not resume after the restart: {ledger.LastError}");
            await ledger.StopAsync();
            var counts = ledger.Counts;
            output.WriteLine($"sent {counts.Sent}, acknowledged {counts.Acknowledged}, rejected {counts.Rejected} ({string.Join(", ", counts.RejectedByReason.Select(r => $"{r.Key} {r.Value}"))}), unanswered {counts.Pending}, resends {counts.Resends} ({counts.AcceptedBefore} answered as already journaled), logons {counts.Connects}");
            Assert.True(counts.Connects >= 4, $"two sessions should have logged on twice each, saw {counts.Connects}");
            Assert.Equal(0, counts.Pending); // every order, also those in flight at the kill, got an answer after the resend
            Assert.Equal(counts.Sent, counts.Acknowledged + counts.Rejected);

            var durable = LossChecks.AcknowledgedOrdersDurable(ledger.Orders, data);
            var gapless = LossChecks.GaplessSequence(data);
            var credentials = EngineCredentials.Load(Path.Combine(data, EngineCredentials.FileName));
            var hash = await LossChecks.StateHashMatchesReplayAsync(data, engine.HttpAddress, credentials.AdminToken);
            foreach (var r in new[] { durable, gapless, hash }) output.WriteLine(r.ToString());
            Assert.True(durable.Passed, durable.Summary);
            Assert.Equal(counts.Acknowledged, durable.Counts["found"]);
            Assert.True(gapless.Passed, gapless.Summary);
            Assert.True(hash.Passed, hash.Summary);
            Assert.True(hash.Counts["engine_sequence"] >= counts.Acknowledged);
        }
        finally
        {
            await engine.DisposeAsync();
        }
    }

    [Fact]
    public async Task CorruptedOrTruncatedJournalCopies_FailTheChecks()
    {
        string data = Path.Combine(_root, "engine");
        await using var engine = await EngineProcess.StartAsync(data);
        await using var ledger = OrderLedger.Start(OrderLedgerOptions.ForEngine(data, sessions: 1, ordersPerSecond: 400) with { FirstClOrdId = 1 });
        Assert.True(await ledger.WaitForAcknowledgedAsync(300, TimeSpan.FromSeconds(20)), $"no order flow: {ledger.LastError}");
        await ledger.StopAsync();
        var orders = ledger.Orders;
        string token = EngineCredentials.Load(Path.Combine(data, EngineCredentials.FileName)).AdminToken;
        Assert.True((await LossChecks.StateHashMatchesReplayAsync(data, engine.HttpAddress, token)).Passed, "the intact journal should match");

        // A flipped byte in an early record, valid records after it: corruption, not a torn tail.
        string flipped = CopyData(data, "flipped");
        string segment = LastSegment(flipped);
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = 200;
            int b = file.ReadByte();
            file.Position = 200;
            file.WriteByte((byte)(b ^ 0x5A));
        }
        var gapless = LossChecks.GaplessSequence(flipped);
        output.WriteLine(gapless.ToString());
        Assert.False(gapless.Passed);
        var hash = await LossChecks.StateHashMatchesReplayAsync(flipped, engine.HttpAddress, token, TimeSpan.FromSeconds(1));
        output.WriteLine(hash.ToString());
        Assert.False(hash.Passed);

        // The last half of the journal cut off: what is left is gapless (a torn tail), but acknowledged
        // orders are missing and the replay no longer reaches the engine's state.
        string cut = CopyData(data, "cut");
        segment = LastSegment(cut);
        using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite)) file.SetLength(file.Length / 2 + 7);
        var durable = LossChecks.AcknowledgedOrdersDurable(orders, cut);
        hash = await LossChecks.StateHashMatchesReplayAsync(cut, engine.HttpAddress, token, TimeSpan.FromSeconds(1));
        output.WriteLine(durable.ToString());
        output.WriteLine(hash.ToString());
        Assert.False(durable.Passed);
        Assert.True(durable.Counts["missing"] > 0);
        Assert.False(hash.Passed);
        Assert.True(LossChecks.GaplessSequence(cut).Counts["torn_tail_bytes"] > 0);
    }

    private string CopyData(string data, string name)
    {
        string copy = Path.Combine(_root, name);
        foreach (string file in Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories))
        {
            if (file.EndsWith(".log", StringComparison.Ordinal) && !file.Contains(EngineRecovery.JournalDirectoryName, StringComparison.Ordinal)) continue;
            string target = Path.Combine(copy, Path.GetRelativePath(data, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var destination = File.Create(target);
            source.CopyTo(destination);
        }
        return copy;
    }

    private static string LastSegment(string data) => JournalReader.ListSegments(EngineRecovery.JournalDirectory(data))[^1].Path;
}
