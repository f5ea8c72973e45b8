using System.Net;
using ExchangeHealth.Chaos.Faults;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Journal;

namespace ExchangeHealth.Chaos.Tests.Faults;

/// <summary>The loss checks on journals written with the engine's own <see cref="JournalWriter"/> (no engine process).</summary>
public sealed class LossChecksOfflineTests : IDisposable
{
    private const long Account = 7;
    private readonly string _data = Directory.CreateTempSubdirectory("exh-loss-offline-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public void AnAcknowledgedOrderJournaledTwice_FailsAsExecutedTwice()
    {
        long orderId = (Account << 40) | 5;
        WriteJournal(
            Command.Limit(1, Account, orderId, Side.Buy, 6_000_000_000_000, 10_000),
            Command.Limit(1, Account, (Account << 40) | 6, Side.Sell, 6_000_100_000_000, 10_000),
            Command.Limit(1, Account, orderId, Side.Buy, 6_000_000_000_000, 10_000)); // the resend executed again
        var orders = new[]
        {
            Order(5, LedgerOutcome.Accepted, sequence: 1),
            Order(6, LedgerOutcome.Accepted, sequence: 2),
        };
        var result = LossChecks.AcknowledgedOrdersDurable(orders, _data);
        Assert.False(result.Passed, result.Summary);
        Assert.Equal(0, result.Counts["missing"]);
        Assert.Equal(1, result.Counts["journaled_twice"]);
        Assert.Contains("more than once", result.Summary, StringComparison.Ordinal);
        Assert.True(LossChecks.GaplessSequence(_data).Passed); // the sequence itself is fine
    }

    [Fact]
    public void AcknowledgedAtTheWrongSequence_OrNotAtAll_IsMissing_AndAcceptedBeforeIsFoundByOrderId()
    {
        WriteJournal(
            Command.Limit(1, Account, (Account << 40) | 1, Side.Buy, 6_000_000_000_000, 10_000),
            Command.Limit(1, Account, (Account << 40) | 2, Side.Buy, 6_000_000_000_000, 10_000));
        var passing = LossChecks.AcknowledgedOrdersDurable([Order(1, LedgerOutcome.Accepted, 1), Order(2, LedgerOutcome.AcceptedBefore, 0),
            Order(9, LedgerOutcome.Rejected, 0), Order(10, LedgerOutcome.Unanswered, 0)], _data);
        Assert.True(passing.Passed, passing.Summary);
        Assert.Equal(2, passing.Counts["acknowledged"]);

        var wrongSequence = LossChecks.AcknowledgedOrdersDurable([Order(1, LedgerOutcome.Accepted, 2)], _data);
        Assert.False(wrongSequence.Passed);
        var absent = LossChecks.AcknowledgedOrdersDurable([Order(3, LedgerOutcome.AcceptedBefore, 0)], _data);
        Assert.False(absent.Passed);
        Assert.Equal(1, absent.Counts["missing"]);
    }

    [Fact]
    public void EmptyOrMissingJournal_IsGapless_ButAcknowledgedOrdersAreMissing()
    {
        Assert.True(LossChecks.GaplessSequence(_data).Passed);
        Assert.False(LossChecks.AcknowledgedOrdersDurable([Order(1, LedgerOutcome.Accepted, 1)], _data).Passed);
    }

    [Fact]
    public void LedgerOptions_AreValidatedByField()
    {
        var markets = new[] { new MarketDefinition { Id = 1, Symbol = "BTC/USD", TickSize = 1_000_000, LotSize = 10_000, ReferencePrice = 6_000_000_000_000 } };
        var good = new OrderLedgerOptions { Endpoint = () => new IPEndPoint(IPAddress.Loopback, 1), ApiKeys = ["k"], Markets = markets };
        Assert.Contains("api_keys", Assert.Throws<ArgumentException>(() => OrderLedger.Start(good with { ApiKeys = ["a", "b", "c"] })).Message, StringComparison.Ordinal);
        Assert.Contains("orders_per_second", Assert.Throws<ArgumentException>(() => OrderLedger.Start(good with { OrdersPerSecond = 0 })).Message, StringComparison.Ordinal);
        Assert.Contains("first_cl_ord_id", Assert.Throws<ArgumentException>(() => OrderLedger.Start(good with { FirstClOrdId = 1UL << 40 })).Message, StringComparison.Ordinal);
    }

    private static LedgerOrder Order(ulong clOrdId, LedgerOutcome outcome, long sequence) =>
        new(clOrdId, Account, 0, 1, Side.Buy, 6_000_000_000_000, 10_000, DateTimeOffset.UnixEpoch, outcome, sequence,
            outcome == LedgerOutcome.Rejected ? "internal" : null, 1);

    private void WriteJournal(params Command[] commands)
    {
        using var writer = new JournalWriter(EngineRecovery.JournalDirectory(_data), new JournalWriterOptions { FlushToDisk = false });
        for (int i = 0; i < commands.Length; i++) writer.Append(ref commands[i]);
        writer.Commit();
    }
}
