using ExchangeHealth.Engine.Primitives;
using static ExchangeHealth.Engine.Tests.Matching.TestMarkets;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>Disagreements between the fast engine and docs/engine-semantics.md found by the differential test, pinned.</summary>
public sealed class RegressionTests
{
    private readonly EngineHarness _h = new();

    /// <summary>The engine echoed the command's (ignored) price field into a market order's reports; the doc says 0.</summary>
    [Fact]
    public void NewOrder_MarketOrderCarryingPriceField_ReportsPriceZeroWhenItExpires()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 2, Side.Buy, 20) with { Price = new Price(1230) });

        Assert.Equal(
        [
            "Accepted #2 Buy px=0 qty=20",
            "Fill #2 Taker px=1000 qty=10 leaves=10 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #2",
            "Expired #2 no_liquidity px=0 qty=10",
        ], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_MarketFokCarryingPriceField_ReportsPriceZeroWhenKilled()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 2, Side.Buy, 20, TimeInForce.FillOrKill) with { Price = new Price(1230) });

        Assert.Equal(["Accepted #2 Buy px=0 qty=20", "Expired #2 fill_or_kill px=0 qty=20"], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_MarketOrderCarryingPriceField_ReportsPriceZeroOnSelfTradeCancel()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 2, Side.Buy, 20) with { Price = new Price(990) });

        Assert.Equal(["Accepted #2 Buy px=0 qty=20", "Cancelled #2 self_trade_prevention px=0 qty=20"], EngineHarness.Describe(reports));
    }

    /// <summary>In a post_only market only post-only limit orders are accepted; the engine let a post-only market order through to unsupported_order.</summary>
    [Theory]
    [InlineData(TimeInForce.ImmediateOrCancel)]
    [InlineData(TimeInForce.FillOrKill)]
    public void NewOrder_PostOnlyFlaggedMarketOrderInPostOnlyMarket_RejectedMarketPostOnly(TimeInForce tif)
    {
        _h.Setup(Command.ChangeMarketState(Main, MarketState.PostOnly));

        _h.SendRejected(Command.MarketOrder(Main, Alice, 1, Side.Buy, 10, tif) with { Flags = OrderFlags.PostOnly }, RejectReason.MarketPostOnly);
    }

    /// <summary>
    /// The random streams stay small; this one grows every structure of a book started with
    /// capacity 1 (order array, level array, price ladders beyond 256 levels, id and account maps).
    /// </summary>
    [Fact]
    public void Process_DeepBookFromTinyInitialCapacity_MatchesReferenceModel()
    {
        var commands = new List<Command>();
        for (int i = 0; i < 300; i++)
        {
            commands.Add(Command.Limit(Other, Alice, 1 + i, Side.Buy, 1000 + i, 1 + i % 3));
            commands.Add(Command.Limit(Other, Bob, 1000 + i, Side.Sell, 1300 + i, 1 + i % 4));
            commands.Add(Command.Limit(Other, 10 + i % 17, 2000 + i, i % 2 == 0 ? Side.Buy : Side.Sell, i % 2 == 0 ? 900 : 1700, 1));
        }
        for (int i = 0; i < 300; i += 7) commands.Add(Command.CancelOrder(Other, Alice, 1 + i));
        for (int i = 0; i < 300; i += 5) commands.Add(Command.AmendOrder(Other, Bob, 1000 + i, 1301 + i, 2 + i % 4));
        commands.Add(Command.Limit(Other, Carol, 5000, Side.Buy, 1450, 500, TimeInForce.ImmediateOrCancel));
        commands.Add(Command.Limit(Other, Carol, 5001, Side.Sell, 1100, 10_000, TimeInForce.ImmediateOrCancel));
        commands.Add(Command.CancelAllOrders(Alice));
        commands.Add(Command.CancelAllOrders(Bob, Other));
        for (int i = 0; i < commands.Count; i++) commands[i] = commands[i] with { Sequence = new SequenceNumber(i + 1) };

        Assert.Null(Differential.FindDivergence(All, commands, initialOrderCapacity: 1));

        var engine = new MatchingEngine(All, initialOrderCapacity: 1);
        foreach (var original in commands)
        {
            var command = original;
            engine.Process(ref command);
        }
        Assert.True(engine.LastTradeId > 200, "the sweeps must trade through many levels");
        Assert.Equal(300, engine.FindBook(Other)!.OrderCount);
    }
}
