using static ExchangeHealth.Engine.Tests.Matching.TestMarkets;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>The market-state matrix of docs/engine-semantics.md ("Market states"), cell by cell.</summary>
public sealed class MarketStateTests
{
    private readonly EngineHarness _h = new();

    public static TheoryData<MarketState, string, RejectReason> Matrix()
    {
        const RejectReason Ok = RejectReason.None;
        var data = new TheoryData<MarketState, string, RejectReason>();
        string[] actions =
            ["limit", "limit-ioc", "post-only", "market", "post-only-market", "cancel", "amend", "amend-crossing", "cancel-all-market", "cancel-all", "set-state"];
        RejectReason[][] expected =
        [
            // limit, limit-ioc, post-only, market, post-only-market, cancel, amend, amend-crossing, cancel-all-market, cancel-all, set-state
            [Ok, Ok, Ok, Ok, RejectReason.UnsupportedOrder, Ok, Ok, Ok, Ok, Ok, Ok], // online
            [RejectReason.MarketPostOnly, RejectReason.MarketPostOnly, Ok, RejectReason.MarketPostOnly, RejectReason.MarketPostOnly,
                Ok, Ok, RejectReason.MarketPostOnly, Ok, Ok, Ok], // post_only
            [Ok, Ok, Ok, RejectReason.MarketLimitOnly, RejectReason.MarketLimitOnly, Ok, Ok, Ok, Ok, Ok, Ok], // limit_only
            [RejectReason.MarketCancelOnly, RejectReason.MarketCancelOnly, RejectReason.MarketCancelOnly, RejectReason.MarketCancelOnly,
                RejectReason.MarketCancelOnly, Ok, RejectReason.MarketCancelOnly, RejectReason.MarketCancelOnly, Ok, Ok, Ok], // cancel_only
            [RejectReason.MarketHalted, RejectReason.MarketHalted, RejectReason.MarketHalted, RejectReason.MarketHalted, RejectReason.MarketHalted,
                RejectReason.MarketHalted, RejectReason.MarketHalted, RejectReason.MarketHalted, RejectReason.MarketHalted, Ok, Ok], // halted
        ];
        for (int s = 0; s < expected.Length; s++)
        {
            for (int a = 0; a < actions.Length; a++) data.Add((MarketState)(s + 1), actions[a], expected[s][a]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Process_CommandInMarketState_AcceptedOrRejectedAsTheMatrixSays(MarketState state, string action, RejectReason expected)
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Main, Bob, 2, Side.Sell, 1100, 10),
            Command.ChangeMarketState(Main, state));

        var command = action switch
        {
            "limit" => Command.Limit(Main, Carol, 3, Side.Buy, 990, 10),
            "limit-ioc" => Command.Limit(Main, Carol, 3, Side.Buy, 990, 10, TimeInForce.ImmediateOrCancel),
            "post-only" => Command.Limit(Main, Carol, 3, Side.Buy, 990, 10, flags: OrderFlags.PostOnly),
            "market" => Command.MarketOrder(Main, Carol, 3, Side.Buy, 10),
            "post-only-market" => Command.MarketOrder(Main, Carol, 3, Side.Buy, 10) with { Flags = OrderFlags.PostOnly },
            "cancel" => Command.CancelOrder(Main, Alice, 1),
            "amend" => Command.AmendOrder(Main, Alice, 1, 990, 10),
            "amend-crossing" => Command.AmendOrder(Main, Alice, 1, 1100, 10),
            "cancel-all-market" => Command.CancelAllOrders(Alice, Main),
            "cancel-all" => Command.CancelAllOrders(Alice),
            "set-state" => Command.ChangeMarketState(Main, MarketState.Online),
            _ => throw new ArgumentOutOfRangeException(nameof(action)),
        };

        if (expected != RejectReason.None)
        {
            _h.SendRejected(command, expected);
            return;
        }
        var reports = _h.Send(command);
        Assert.NotEmpty(reports);
        Assert.DoesNotContain(reports, r => r.Type == ReportType.Rejected);
        if (action == "cancel-all")
        {
            // Over every market: a halted market is skipped, the others are cancelled.
            Assert.Equal(state == MarketState.Halted ? 0 : 1, reports[^1].Quantity.Units);
        }
    }

    [Fact]
    public void SetMarketState_AnyStateChange_ReportsMarketStateChangedAndKeepsOrders()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10));

        foreach (var state in Reasons.AllMarketStates)
        {
            var report = Assert.Single(_h.Send(Command.ChangeMarketState(Main, state)));
            Assert.Equal("MarketStateChanged market=1 " + state.Name(), EngineHarness.Describe(report));
            Assert.Equal(state, _h.Engine.FindBook(Main)!.State);
        }
        // Setting the state it already has is still a state change report.
        Assert.Equal(ReportType.MarketStateChanged, Assert.Single(_h.Send(Command.ChangeMarketState(Main, MarketState.Halted))).Type);
        Assert.Equal(["#1 Buy 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void SetMarketState_UndefinedStateOrUnknownMarket_Rejected()
    {
        _h.SendRejected(Command.ChangeMarketState(Main, (MarketState)0), RejectReason.MalformedCommand);
        _h.SendRejected(Command.ChangeMarketState(Main, (MarketState)6), RejectReason.MalformedCommand);
        _h.SendRejected(Command.ChangeMarketState(9, MarketState.Online), RejectReason.UnknownMarket);
        // Both wrong: the state value is checked first.
        _h.SendRejected(Command.ChangeMarketState(9, (MarketState)6), RejectReason.MalformedCommand);
    }

    [Fact]
    public void NewOrder_HaltedMarket_StateCheckedAfterOrderIdBeforeOrderCombination()
    {
        _h.Setup(Command.ChangeMarketState(Main, MarketState.Halted));

        _h.SendRejected(Command.Limit(Main, Alice, 0, Side.Buy, 1000, 10), RejectReason.InvalidOrderId);
        _h.SendRejected(Command.MarketOrder(Main, Alice, 1, Side.Buy, 10, TimeInForce.GoodTillCancel), RejectReason.MarketHalted);
        _h.SendRejected(Command.Limit(Main, Alice, 1, Side.Buy, 1000, 0), RejectReason.MarketHalted);
    }

    [Fact]
    public void Amend_HaltedOrCancelOnlyMarket_StateCheckedBeforeOrderLookup()
    {
        _h.Setup(Command.ChangeMarketState(Main, MarketState.CancelOnly));
        _h.SendRejected(Command.AmendOrder(Main, Alice, 42, 1000, 10), RejectReason.MarketCancelOnly);
        _h.Setup(Command.ChangeMarketState(Main, MarketState.Halted));
        _h.SendRejected(Command.AmendOrder(Main, Alice, 42, 1000, 10), RejectReason.MarketHalted);
        _h.SendRejected(Command.CancelOrder(Main, Alice, 42), RejectReason.MarketHalted);
    }

    [Fact]
    public void Amend_CrossingInLimitOnlyMarket_Executes()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Main, Bob, 2, Side.Sell, 1100, 10),
            Command.ChangeMarketState(Main, MarketState.LimitOnly));

        var reports = _h.Send(Command.AmendOrder(Main, Alice, 1, 1100, 10));

        Assert.Equal(
        [
            "Amended #1 px=1100 qty=10",
            "Fill #1 Taker px=1100 qty=10 leaves=0 trade=1 vs #2",
            "Fill #2 Maker px=1100 qty=10 leaves=0 trade=1 vs #1",
        ], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_PostOnlyMarketStatePostOnlyOrderThatWouldTake_RejectedPostOnlyWouldTake()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1100, 10),
            Command.ChangeMarketState(Main, MarketState.PostOnly));

        _h.SendRejected(Command.Limit(Main, Alice, 2, Side.Buy, 1100, 10, flags: OrderFlags.PostOnly), RejectReason.PostOnlyWouldTake);
    }
}
