using static ExchangeHealth.Engine.Tests.Matching.TestMarkets;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>Amend, cancel and cancel-all as docs/engine-semantics.md defines them.</summary>
public sealed class AmendCancelTests
{
    private readonly EngineHarness _h = new();

    // ------------------------------------------------------------------ amend

    [Fact]
    public void Amend_QuantityDownSamePrice_KeepsQueuePosition()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 20),
            Command.Limit(Main, Bob, 2, Side.Buy, 1000, 10));

        var amended = _h.Send(Command.AmendOrder(Main, Alice, 1, 1000, 10));
        var hit = _h.Send(Command.Limit(Main, Carol, 3, Side.Sell, 1000, 10));

        Assert.Equal(["Amended #1 px=1000 qty=10"], EngineHarness.Describe(amended));
        Assert.Equal("Fill #3 Taker px=1000 qty=10 leaves=0 trade=1 vs #1", EngineHarness.Describe(hit[1]));
        Assert.Equal(["#2 Buy 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void Amend_QuantityUpSamePrice_LosesQueuePosition()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Main, Bob, 2, Side.Buy, 1000, 10));

        var amended = _h.Send(Command.AmendOrder(Main, Alice, 1, 1000, 20));

        Assert.Equal(["Amended #1 px=1000 qty=20"], EngineHarness.Describe(amended));
        Assert.Equal(["#2 Buy 1000x10", "#1 Buy 1000x20"], _h.Book(Main));
        var hit = _h.Send(Command.Limit(Main, Carol, 3, Side.Sell, 1000, 10));
        Assert.Equal("Fill #3 Taker px=1000 qty=10 leaves=0 trade=1 vs #2", EngineHarness.Describe(hit[1]));
    }

    [Fact]
    public void Amend_PriceChange_JoinsBackOfNewLevel()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Sell, 1010, 10),
            Command.Limit(Main, Bob, 2, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 3, Side.Sell, 1000, 10));

        var amended = _h.Send(Command.AmendOrder(Main, Alice, 1, 1000, 10));

        Assert.Equal(["Amended #1 px=1000 qty=10"], EngineHarness.Describe(amended));
        Assert.Equal(["#2 Sell 1000x10", "#3 Sell 1000x10", "#1 Sell 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void Amend_PriceChangeAwayAndBack_LosesQueuePosition()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Main, Bob, 2, Side.Buy, 1000, 10),
            Command.AmendOrder(Main, Alice, 1, 990, 10),
            Command.AmendOrder(Main, Alice, 1, 1000, 10));

        Assert.Equal(["#2 Buy 1000x10", "#1 Buy 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void Amend_NewPriceCrosses_ExecutesAsAggressorThenRestsRemainder()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1010, 10),
            Command.Limit(Main, Alice, 2, Side.Buy, 1000, 25));

        var reports = _h.Send(Command.AmendOrder(Main, Alice, 2, 1010, 25));

        Assert.Equal(
        [
            "Amended #2 px=1010 qty=25",
            "Fill #2 Taker px=1010 qty=10 leaves=15 trade=1 vs #1",
            "Fill #1 Maker px=1010 qty=10 leaves=0 trade=1 vs #2",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Buy 1010x15"], _h.Book(Main));
        Assert.Equal(1010, _h.Engine.FindBook(Main)!.LastTradePrice);
    }

    [Fact]
    public void Amend_CrossingIntoOwnOrder_CancelsRemainderKeepsFills()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1010, 10),
            Command.Limit(Main, Alice, 2, Side.Sell, 1020, 10),
            Command.Limit(Main, Alice, 3, Side.Buy, 1000, 30));

        var reports = _h.Send(Command.AmendOrder(Main, Alice, 3, 1020, 30));

        Assert.Equal(
        [
            "Amended #3 px=1020 qty=30",
            "Fill #3 Taker px=1010 qty=10 leaves=20 trade=1 vs #1",
            "Fill #1 Maker px=1010 qty=10 leaves=0 trade=1 vs #3",
            "Cancelled #3 self_trade_prevention px=1020 qty=20",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Sell 1020x10"], _h.Book(Main));
    }

    [Fact]
    public void Amend_PostOnlyOrderToCrossingPrice_RejectedPostOnlyWouldTake()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1010, 10),
            Command.Limit(Main, Alice, 2, Side.Buy, 1000, 10, flags: OrderFlags.PostOnly));

        _h.SendRejected(Command.AmendOrder(Main, Alice, 2, 1010, 10), RejectReason.PostOnlyWouldTake);

        // Not crossing, it may move and keeps its flag.
        _h.Setup(Command.AmendOrder(Main, Alice, 2, 990, 10));
        Assert.Equal(["#2 Buy 990x10 post-only", "#1 Sell 1010x10"], _h.Book(Main));
    }

    [Fact]
    public void Amend_SamePriceAndQuantity_RejectedNothingToAmend()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10));

        _h.SendRejected(Command.AmendOrder(Main, Alice, 1, 1000, 10), RejectReason.NothingToAmend);
    }

    [Fact]
    public void Amend_QuantityIsNewOpenQuantity_BackToOriginalAfterPartialFillLosesPriority()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 25),
            Command.Limit(Main, Bob, 2, Side.Buy, 1000, 10),
            Command.Limit(Main, Carol, 3, Side.Sell, 1000, 10));
        Assert.Equal(["#1 Buy 1000x15", "#2 Buy 1000x10"], _h.Book(Main));

        var reports = _h.Send(Command.AmendOrder(Main, Alice, 1, 1000, 25));

        Assert.Equal(["Amended #1 px=1000 qty=25"], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Buy 1000x10", "#1 Buy 1000x25"], _h.Book(Main));
        // Amending to the open quantity it already has is nothing to amend.
        _h.SendRejected(Command.AmendOrder(Main, Alice, 1, 1000, 25), RejectReason.NothingToAmend);
    }

    [Fact]
    public void Amend_UnchangedPriceOutsideMovedCollar_AllowedButNewPriceOutsideRejected()
    {
        _h.Setup(
            Command.Limit(Collared, Alice, 1, Side.Buy, 900, 5),
            Command.Limit(Collared, Bob, 2, Side.Sell, 1050, 1),
            Command.Limit(Collared, Carol, 3, Side.Buy, 1050, 1));
        // Reference 1050: collar [945, 1155]; order #1 at 900 is now outside it.

        _h.Setup(Command.AmendOrder(Collared, Alice, 1, 900, 8));
        _h.SendRejected(Command.AmendOrder(Collared, Alice, 1, 905, 8), RejectReason.PriceOutsideCollar);
        _h.Setup(Command.AmendOrder(Collared, Alice, 1, 945, 8));
    }

    [Fact]
    public void Amend_OtherAccountsOrder_RejectedNotOrderOwner()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10));

        _h.SendRejected(Command.AmendOrder(Main, Bob, 1, 1000, 20), RejectReason.NotOrderOwner);
        _h.SendRejected(Command.AmendOrder(Main, Alice, 2, 1000, 20), RejectReason.UnknownOrder);
        _h.SendRejected(Command.AmendOrder(Other, Alice, 1, 1000, 20), RejectReason.UnknownOrder);
    }

    // ------------------------------------------------------------------ cancel

    [Fact]
    public void Cancel_PartlyFilledOwnOrder_CancelledRequestedWithOpenQuantity()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 25),
            Command.Limit(Main, Bob, 2, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.CancelOrder(Main, Alice, 1));

        var cancelled = Assert.Single(reports);
        Assert.Equal("Cancelled #1 requested px=1000 qty=15", EngineHarness.Describe(cancelled));
        Assert.Equal((Alice, Side.Buy, 0L, Main), (cancelled.AccountId, cancelled.Side, cancelled.LeavesQuantity.Units, cancelled.MarketId));
        Assert.Empty(_h.Book(Main));
    }

    [Fact]
    public void Cancel_OtherAccountsOrder_RejectedNotOrderOwner()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10));

        _h.SendRejected(Command.CancelOrder(Main, Bob, 1), RejectReason.NotOrderOwner);

        Assert.Equal(["#1 Buy 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void Cancel_OrderAlreadyGone_RejectedUnknownOrderAndIdReusable()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.CancelOrder(Main, Alice, 1));

        _h.SendRejected(Command.CancelOrder(Main, Alice, 1), RejectReason.UnknownOrder);
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1200, 10));
        Assert.Equal(["#1 Sell 1200x10"], _h.Book(Main));
    }

    // ------------------------------------------------------------------ cancel-all

    [Fact]
    public void CancelAll_OneMarket_AccountsOrdersNewestFirstThenDoneWithCount()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Main, Alice, 2, Side.Sell, 1100, 10),
            Command.Limit(Main, Bob, 3, Side.Buy, 990, 10),
            Command.Limit(Main, Alice, 4, Side.Buy, 980, 10),
            Command.Limit(Other, Alice, 5, Side.Buy, 50, 1));

        var reports = _h.Send(Command.CancelAllOrders(Alice, Main));

        Assert.Equal(
        [
            "Cancelled #4 cancel_all px=980 qty=10",
            "Cancelled #2 cancel_all px=1100 qty=10",
            "Cancelled #1 cancel_all px=1000 qty=10",
            "CancelAllDone market=1 count=3",
        ], EngineHarness.Describe(reports));
        Assert.Equal(Alice, reports[^1].AccountId);
        Assert.Equal(["#3 Buy 990x10"], _h.Book(Main));
        Assert.Equal(["#5 Buy 50x1"], _h.Book(Other));
    }

    [Fact]
    public void CancelAll_EveryMarket_MarketsInIdOrderNewestFirstWithin()
    {
        _h.Setup(
            Command.Limit(Other, Alice, 1, Side.Buy, 50, 1),
            Command.Limit(Main, Alice, 2, Side.Buy, 1000, 10),
            Command.Limit(Other, Alice, 3, Side.Sell, 60, 1),
            Command.Limit(Collared, Bob, 4, Side.Sell, 1000, 1));

        var reports = _h.Send(Command.CancelAllOrders(Alice));

        Assert.Equal(
        [
            "Cancelled #2 cancel_all px=1000 qty=10",
            "Cancelled #3 cancel_all px=60 qty=1",
            "Cancelled #1 cancel_all px=50 qty=1",
            "CancelAllDone market=0 count=3",
        ], EngineHarness.Describe(reports));
        Assert.Equal([Main, Other, Other, (ushort)0], reports.Select(r => r.MarketId));
        Assert.Equal(["#4 Sell 1000x1"], _h.Book(Collared));
    }

    [Fact]
    public void CancelAll_EveryMarketWithOneHalted_SkipsHaltedMarket()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Other, Alice, 2, Side.Buy, 50, 1),
            Command.ChangeMarketState(Main, MarketState.Halted));

        var reports = _h.Send(Command.CancelAllOrders(Alice));

        Assert.Equal(["Cancelled #2 cancel_all px=50 qty=1", "CancelAllDone market=0 count=1"], EngineHarness.Describe(reports));
        Assert.Equal(["#1 Buy 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void CancelAll_HaltedMarket_RejectedMarketHalted()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.ChangeMarketState(Main, MarketState.Halted));

        _h.SendRejected(Command.CancelAllOrders(Alice, Main), RejectReason.MarketHalted);
    }

    [Fact]
    public void CancelAll_NoOrders_DoneWithZero()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Buy, 1000, 10));

        Assert.Equal(["CancelAllDone market=1 count=0"], EngineHarness.Describe(_h.Send(Command.CancelAllOrders(Alice, Main))));
        Assert.Equal(["CancelAllDone market=0 count=0"], EngineHarness.Describe(_h.Send(Command.CancelAllOrders(Alice))));
    }

    [Fact]
    public void CancelAll_OrderAmendedAfterLaterOrder_NewestByEntryNotByQueuePosition()
    {
        _h.Setup(
            Command.Limit(Main, Alice, 1, Side.Buy, 1000, 10),
            Command.Limit(Main, Alice, 2, Side.Buy, 990, 10),
            Command.AmendOrder(Main, Alice, 1, 1010, 20));

        var reports = _h.Send(Command.CancelAllOrders(Alice, Main));

        Assert.Equal(
        [
            "Cancelled #2 cancel_all px=990 qty=10",
            "Cancelled #1 cancel_all px=1010 qty=20",
            "CancelAllDone market=1 count=2",
        ], EngineHarness.Describe(reports));
    }

    [Fact]
    public void CancelAll_UnknownMarket_RejectedUnknownMarket()
    {
        _h.SendRejected(Command.CancelAllOrders(Alice, 9), RejectReason.UnknownMarket);
    }
}
