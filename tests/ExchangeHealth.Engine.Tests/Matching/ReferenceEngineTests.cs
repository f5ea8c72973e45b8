using ExchangeHealth.TestKit;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>Sanity checks of the reference model itself (the oracle must be right on simple cases).</summary>
public sealed class ReferenceEngineTests
{
    private static readonly IReadOnlyList<MarketDefinition> Markets = CommandStreamGenerator.Markets;

    [Fact]
    public void ComputeStateHash_EmptyBooks_EqualsEngineHash()
    {
        var model = new ReferenceEngine(Markets);
        var engine = new MatchingEngine(Markets);

        Assert.Equal(engine.ComputeStateHash(), model.ComputeStateHash());
    }

    [Fact]
    public void Process_SellCrossesRestingBuy_FillsAtMakerPrice()
    {
        var model = new ReferenceEngine(Markets);
        model.Process(Command.Limit(2, account: 1, orderId: 1, Side.Buy, price: 50, quantity: 9));

        var reports = model.Process(Command.Limit(2, account: 2, orderId: 2, Side.Sell, price: 46, quantity: 6));

        Assert.Equal([ReportType.Accepted, ReportType.Fill, ReportType.Fill], reports.Select(r => r.Type));
        Assert.Equal((2L, Liquidity.Taker, 50L, 6L, 0L, 1L), (reports[1].OrderId, reports[1].Liquidity, reports[1].Price.Units, reports[1].Quantity.Units, reports[1].LeavesQuantity.Units, reports[1].CounterOrderId));
        Assert.Equal((1L, Liquidity.Maker, 50L, 6L, 3L, 2L), (reports[2].OrderId, reports[2].Liquidity, reports[2].Price.Units, reports[2].Quantity.Units, reports[2].LeavesQuantity.Units, reports[2].CounterOrderId));
        Assert.Equal([new RestingOrder(1, 1, Side.Buy, new(50), new(3), OrderFlags.None)], model.Book(2));
        Assert.Equal(1, model.LastTradeId);
    }

    [Fact]
    public void Process_GeneratedStream_MatchesEngineAtEnd()
    {
        var commands = CommandStreamGenerator.Generate(seed: 42);
        var model = new ReferenceEngine(Markets);
        var sink = new CollectingReportSink();
        var engine = new MatchingEngine(Markets, sink);
        var expected = new List<ExecutionReport>();
        foreach (var command in commands)
        {
            expected.AddRange(model.Process(command));
            var c = command;
            engine.Process(ref c);
        }

        Assert.Null(ReportComparison.CompareSequences(expected, sink.Reports));
        Assert.Equal(engine.ComputeStateHash(), model.ComputeStateHash());
    }
}
