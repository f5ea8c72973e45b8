using System.Globalization;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>Markets of the focused tests; numbers are small so expectations can be computed by hand.</summary>
internal static class TestMarkets
{
    /// <summary>Tick 10, lot 5, min 10, max 1000, max price 100000, protection 5%, no collar.</summary>
    public const ushort Main = 1;

    /// <summary>Tick 1, lot 1, max price 10000, protection 5%, no collar.</summary>
    public const ushort Other = 2;

    /// <summary>Tick 5, lot 1, 10% collar around a reference price of 1000.</summary>
    public const ushort Collared = 3;

    /// <summary>Tick 1, lot 1, 10% collar but no reference price (no collar until the first trade).</summary>
    public const ushort NoReference = 4;

    public const long Alice = 1;
    public const long Bob = 2;
    public const long Carol = 3;

    public static IReadOnlyList<MarketDefinition> All { get; } =
    [
        new MarketDefinition
        {
            Id = Main, Symbol = "BTC/USD", TickSize = 10, LotSize = 5, MinQuantity = 10, MaxQuantity = 1000,
            MaxPrice = 100_000, MarketOrderProtectionBasisPoints = 500,
        },
        new MarketDefinition
        {
            Id = Other, Symbol = "ETH/USD", TickSize = 1, LotSize = 1, MaxPrice = 10_000, MarketOrderProtectionBasisPoints = 500,
        },
        new MarketDefinition
        {
            Id = Collared, Symbol = "COL/USD", TickSize = 5, LotSize = 1, MaxPrice = 100_000, PriceCollarBasisPoints = 1000,
            ReferencePrice = 1000, MarketOrderProtectionBasisPoints = 500,
        },
        new MarketDefinition
        {
            Id = NoReference, Symbol = "NRF/USD", TickSize = 1, LotSize = 1, MaxPrice = 100_000, PriceCollarBasisPoints = 1000,
            MarketOrderProtectionBasisPoints = 500,
        },
    ];
}

/// <summary>
/// The fast engine and the reference model side by side: every command goes to both, and
/// <see cref="Send"/> asserts that they agree (reports field by field, books, state hash) before
/// returning the engine's reports, so each focused test checks both implementations.
/// </summary>
internal sealed class EngineHarness
{
    private readonly CollectingReportSink _sink = new();
    private long _sequence;

    public EngineHarness(IReadOnlyList<MarketDefinition>? markets = null)
    {
        var definitions = markets ?? TestMarkets.All;
        Engine = new MatchingEngine(definitions, _sink);
        Model = new ReferenceEngine(definitions);
    }

    public MatchingEngine Engine { get; }

    public ReferenceEngine Model { get; }

    /// <summary>Processes <paramref name="command"/> (with the next sequence number) in both engines.</summary>
    /// <returns>The engine's reports for this command.</returns>
    public List<ExecutionReport> Send(Command command)
    {
        command.Sequence = new SequenceNumber(++_sequence);
        command.Timestamp = 1_000_000 + _sequence;
        var expected = Model.Process(command);
        _sink.Reports.Clear();
        Engine.Process(ref command);
        var actual = _sink.Reports.ToList();

        string? difference = ReportComparison.CompareSequences(expected, actual);
        Assert.True(difference is null, difference);
        Assert.Equal(0, Engine.InternalErrors);
        foreach (var id in Model.MarketIds) Assert.Equal(Model.Book(id), Engine.FindBook(id)!.RestingOrders().ToList());
        Assert.Equal(Model.ComputeStateHash(), Engine.ComputeStateHash());
        foreach (var r in actual)
        {
            Assert.Equal(command.Sequence, r.Sequence);
            Assert.Equal(command.Timestamp, r.Timestamp);
            Assert.Equal(command.Type, r.CommandType);
        }
        return actual;
    }

    /// <summary>Sends each command and returns the reports of the last one.</summary>
    public List<ExecutionReport> Send(params Command[] commands)
    {
        List<ExecutionReport> last = [];
        foreach (var c in commands) last = Send(c);
        return last;
    }

    /// <summary>Sends a command that must be accepted without a rejection.</summary>
    public void Setup(params Command[] commands)
    {
        foreach (var c in commands)
        {
            var reports = Send(c);
            Assert.DoesNotContain(reports, r => r.Type == ReportType.Rejected);
        }
    }

    /// <summary>Sends a command, asserts it was rejected with <paramref name="reason"/> and changed nothing; returns the rejection.</summary>
    public ExecutionReport SendRejected(Command command, RejectReason reason)
    {
        string before = Engine.ComputeStateHash();
        var reports = Send(command);
        var rejected = Assert.Single(reports);
        Assert.Equal(ReportType.Rejected, rejected.Type);
        Assert.Equal(reason, rejected.RejectReason);
        Assert.Equal(before, Engine.ComputeStateHash());
        return rejected;
    }

    /// <summary>The engine's canonical book of <paramref name="market"/> as short text, e.g. <c>#1 Buy 1000x10</c>.</summary>
    public string[] Book(ushort market) =>
        [.. Engine.FindBook(market)!.RestingOrders().Select(o => string.Create(CultureInfo.InvariantCulture,
            $"#{o.OrderId} {o.Side} {o.Price.Units}x{o.Quantity.Units}{(o.Flags == OrderFlags.PostOnly ? " post-only" : "")}"))];

    /// <summary>Short text of reports, for hand-written expectations.</summary>
    public static string[] Describe(IEnumerable<ExecutionReport> reports) => [.. reports.Select(Describe)];

    /// <summary>
    /// Short text of one report: <c>Accepted #4 Buy px=1000 qty=25</c>,
    /// <c>Fill #4 Taker px=1000 qty=10 leaves=15 trade=1 vs #2</c>, <c>Expired #4 immediate_or_cancel px=1000 qty=15</c>,
    /// <c>Cancelled #1 requested px=1000 qty=10</c>, <c>Amended #1 px=1000 qty=10</c>, <c>Rejected duplicate_order_id</c>,
    /// <c>CancelAllDone market=1 count=3</c>, <c>MarketStateChanged market=1 halted</c>.
    /// </summary>
    public static string Describe(ExecutionReport r) => r.Type switch
    {
        ReportType.Accepted => Invariant($"Accepted #{r.OrderId} {r.Side} px={r.Price.Units} qty={r.Quantity.Units}")
            + (r.LeavesQuantity == r.Quantity ? "" : Invariant($" leaves={r.LeavesQuantity.Units}")),
        ReportType.Fill => Invariant($"Fill #{r.OrderId} {r.Liquidity} px={r.Price.Units} qty={r.Quantity.Units} leaves={r.LeavesQuantity.Units} trade={r.TradeId} vs #{r.CounterOrderId}"),
        ReportType.Cancelled or ReportType.Expired => Invariant($"{r.Type} #{r.OrderId} {r.CancelReason.Name()} px={r.Price.Units} qty={r.Quantity.Units}")
            + (r.LeavesQuantity.Units == 0 ? "" : Invariant($" leaves={r.LeavesQuantity.Units}")),
        ReportType.Amended => Invariant($"Amended #{r.OrderId} px={r.Price.Units} qty={r.Quantity.Units}")
            + (r.LeavesQuantity == r.Quantity ? "" : Invariant($" leaves={r.LeavesQuantity.Units}")),
        ReportType.Rejected => "Rejected " + r.RejectReason.Name(),
        ReportType.CancelAllDone => Invariant($"CancelAllDone market={r.MarketId} count={r.Quantity.Units}"),
        ReportType.MarketStateChanged => Invariant($"MarketStateChanged market={r.MarketId} {r.State.Name()}"),
        _ => r.ToString(),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
