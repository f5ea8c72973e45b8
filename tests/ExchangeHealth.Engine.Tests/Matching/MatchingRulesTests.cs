using static ExchangeHealth.Engine.Tests.Matching.TestMarkets;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>
/// The matching rules of docs/engine-semantics.md, one concrete hand-computed case each. Every
/// command also runs through the reference model (<see cref="EngineHarness"/>), which must agree.
/// </summary>
public sealed class MatchingRulesTests
{
    private readonly EngineHarness _h = new();

    // ------------------------------------------------------------------ price-time priority

    [Fact]
    public void NewOrder_BuySweepsSeveralAskLevels_BestPriceFirstEachAtMakersPrice()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1020, 10),
            Command.Limit(Main, Carol, 2, Side.Sell, 1000, 10),
            Command.Limit(Main, Bob, 3, Side.Sell, 1010, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 4, Side.Buy, 1020, 25));

        Assert.Equal(
        [
            "Accepted #4 Buy px=1020 qty=25",
            "Fill #4 Taker px=1000 qty=10 leaves=15 trade=1 vs #2",
            "Fill #2 Maker px=1000 qty=10 leaves=0 trade=1 vs #4",
            "Fill #4 Taker px=1010 qty=10 leaves=5 trade=2 vs #3",
            "Fill #3 Maker px=1010 qty=10 leaves=0 trade=2 vs #4",
            "Fill #4 Taker px=1020 qty=5 leaves=0 trade=3 vs #1",
            "Fill #1 Maker px=1020 qty=5 leaves=5 trade=3 vs #4",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#1 Sell 1020x5"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_SeveralOrdersAtOneLevel_OldestFillsFirst()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 2, Side.Sell, 1000, 10),
            Command.Limit(Main, Bob, 3, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 4, Side.Buy, 1000, 15));

        Assert.Equal(
        [
            "Accepted #4 Buy px=1000 qty=15",
            "Fill #4 Taker px=1000 qty=10 leaves=5 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #4",
            "Fill #4 Taker px=1000 qty=5 leaves=0 trade=2 vs #2",
            "Fill #2 Maker px=1000 qty=5 leaves=5 trade=2 vs #4",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Sell 1000x5", "#3 Sell 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_SellBelowRestingBid_ExecutesAtMakersHigherPrice()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Buy, 1050, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 2, Side.Sell, 1000, 10));

        var taker = reports[1];
        var maker = reports[2];
        Assert.Equal((ReportType.Fill, Liquidity.Taker, 2L, Alice, Side.Sell, 1050L, 10L, 1L, Bob),
            (taker.Type, taker.Liquidity, taker.OrderId, taker.AccountId, taker.Side, taker.Price.Units, taker.Quantity.Units, taker.CounterOrderId, taker.CounterAccountId));
        Assert.Equal((ReportType.Fill, Liquidity.Maker, 1L, Bob, Side.Buy, 1050L, 10L, 2L, Alice),
            (maker.Type, maker.Liquidity, maker.OrderId, maker.AccountId, maker.Side, maker.Price.Units, maker.Quantity.Units, maker.CounterOrderId, maker.CounterAccountId));
        Assert.Equal(taker.TradeId, maker.TradeId);
        Assert.Equal(1050, _h.Engine.FindBook(Main)!.LastTradePrice);
        Assert.Empty(_h.Book(Main));
    }

    [Fact]
    public void NewOrder_GtcPartiallyFilled_RemainderRestsAheadOfLaterOrdersAtItsPrice()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 2, Side.Buy, 990, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 3, Side.Buy, 1000, 25));
        _h.Setup(Command.Limit(Main, Carol, 4, Side.Buy, 1000, 10));

        Assert.Equal(
        [
            "Accepted #3 Buy px=1000 qty=25",
            "Fill #3 Taker px=1000 qty=10 leaves=15 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #3",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#3 Buy 1000x15", "#4 Buy 1000x10", "#2 Buy 990x10"], _h.Book(Main));
    }

    // ------------------------------------------------------------------ IOC and FOK

    [Fact]
    public void NewOrder_IocPartiallyFilled_RemainderExpires()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 2, Side.Buy, 1010, 25, TimeInForce.ImmediateOrCancel));

        Assert.Equal(
        [
            "Accepted #2 Buy px=1010 qty=25",
            "Fill #2 Taker px=1000 qty=10 leaves=15 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #2",
            "Expired #2 immediate_or_cancel px=1010 qty=15",
        ], EngineHarness.Describe(reports));
        Assert.Empty(_h.Book(Main));
    }

    [Fact]
    public void NewOrder_IocNotCrossing_ExpiresWholeQuantity()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 2, Side.Buy, 990, 10, TimeInForce.ImmediateOrCancel));

        Assert.Equal(["Accepted #2 Buy px=990 qty=10", "Expired #2 immediate_or_cancel px=990 qty=10"], EngineHarness.Describe(reports));
        Assert.Equal(["#1 Sell 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_FokMoreThanAvailable_ExpiresWithoutExecuting()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 2, Side.Sell, 1010, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 3, Side.Buy, 1010, 25, TimeInForce.FillOrKill));

        Assert.Equal(["Accepted #3 Buy px=1010 qty=25", "Expired #3 fill_or_kill px=1010 qty=25"], EngineHarness.Describe(reports));
        Assert.Equal(0, _h.Engine.LastTradeId);
        Assert.Equal(["#1 Sell 1000x10", "#2 Sell 1010x10"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_FokAvailableOnlyBeyondLimit_Expires()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 2, Side.Sell, 1010, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 3, Side.Buy, 1000, 15, TimeInForce.FillOrKill));

        Assert.Equal(["Accepted #3 Buy px=1000 qty=15", "Expired #3 fill_or_kill px=1000 qty=15"], EngineHarness.Describe(reports));
        Assert.Equal(2, _h.Book(Main).Length);
    }

    [Fact]
    public void NewOrder_FokExactlyAvailable_FillsInFull()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 2, Side.Sell, 1010, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 3, Side.Buy, 1010, 20, TimeInForce.FillOrKill));

        Assert.Equal(
        [
            "Accepted #3 Buy px=1010 qty=20",
            "Fill #3 Taker px=1000 qty=10 leaves=10 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #3",
            "Fill #3 Taker px=1010 qty=10 leaves=0 trade=2 vs #2",
            "Fill #2 Maker px=1010 qty=10 leaves=0 trade=2 vs #3",
        ], EngineHarness.Describe(reports));
        Assert.Empty(_h.Book(Main));
    }

    [Fact]
    public void NewOrder_FokOwnOrderBeforeEnoughQuantity_ExpiresWithoutExecuting()
    {
        // 30 are on offer, 20 of them from others, but only 10 come before Alice's own order.
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Alice, 2, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 3, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 4, Side.Buy, 1000, 15, TimeInForce.FillOrKill));

        Assert.Equal(["Accepted #4 Buy px=1000 qty=15", "Expired #4 fill_or_kill px=1000 qty=15"], EngineHarness.Describe(reports));
        Assert.Equal(["#1 Sell 1000x10", "#2 Sell 1000x10", "#3 Sell 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_FokFillableBeforeOwnOrder_FillsWithoutSelfTradeCancel()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Alice, 2, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 3, Side.Buy, 1000, 10, TimeInForce.FillOrKill));

        Assert.Equal(
        [
            "Accepted #3 Buy px=1000 qty=10",
            "Fill #3 Taker px=1000 qty=10 leaves=0 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #3",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Sell 1000x10"], _h.Book(Main));
    }

    // ------------------------------------------------------------------ post-only

    [Theory]
    [InlineData(Side.Buy, 1000)] // equal to the best ask crosses
    [InlineData(Side.Buy, 1050)]
    [InlineData(Side.Sell, 990)] // equal to the best bid crosses
    [InlineData(Side.Sell, 900)]
    public void NewOrder_PostOnlyCrossing_RejectedPostOnlyWouldTake(Side side, long price)
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Bob, 2, Side.Buy, 990, 10));

        var rejected = _h.SendRejected(Command.Limit(Main, Alice, 3, side, price, 10, flags: OrderFlags.PostOnly), RejectReason.PostOnlyWouldTake);

        Assert.Equal((3L, Alice, side, price, 10L), (rejected.OrderId, rejected.AccountId, rejected.Side, rejected.Price.Units, rejected.Quantity.Units));
    }

    [Fact]
    public void NewOrder_PostOnlyNotCrossing_RestsAndLaterFillsAsMaker()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10));

        var placed = _h.Send(Command.Limit(Main, Alice, 2, Side.Buy, 990, 10, flags: OrderFlags.PostOnly));
        Assert.Equal(["Accepted #2 Buy px=990 qty=10"], EngineHarness.Describe(placed));
        Assert.Equal(["#2 Buy 990x10 post-only", "#1 Sell 1000x10"], _h.Book(Main));

        var hit = _h.Send(Command.Limit(Main, Carol, 3, Side.Sell, 990, 10));
        Assert.Equal("Fill #2 Maker px=990 qty=10 leaves=0 trade=1 vs #3", EngineHarness.Describe(hit[2]));
    }

    // ------------------------------------------------------------------ market orders

    [Fact]
    public void NewOrder_MarketBuy_StopsAtProtectionPriceRoundedDownToTick()
    {
        // Best ask 1030: 1030 + floor(1030 * 500 / 10000) = 1030 + 51 = 1081, floored to the tick: 1080.
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1030, 10),
            Command.Limit(Main, Carol, 2, Side.Sell, 1080, 10),
            Command.Limit(Main, Bob, 3, Side.Sell, 1090, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 4, Side.Buy, 40));

        Assert.Equal(
        [
            "Accepted #4 Buy px=0 qty=40",
            "Fill #4 Taker px=1030 qty=10 leaves=30 trade=1 vs #1",
            "Fill #1 Maker px=1030 qty=10 leaves=0 trade=1 vs #4",
            "Fill #4 Taker px=1080 qty=10 leaves=20 trade=2 vs #2",
            "Fill #2 Maker px=1080 qty=10 leaves=0 trade=2 vs #4",
            "Expired #4 no_liquidity px=0 qty=20",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#3 Sell 1090x10"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_MarketSell_StopsAtProtectionPriceRoundedUpToTick()
    {
        // Best bid 1030: 1030 - floor(1030 * 500 / 10000) = 1030 - 51 = 979, rounded up to the tick: 980.
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Buy, 1030, 10),
            Command.Limit(Main, Carol, 2, Side.Buy, 980, 10),
            Command.Limit(Main, Bob, 3, Side.Buy, 970, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 4, Side.Sell, 40));

        Assert.Equal(
        [
            "Accepted #4 Sell px=0 qty=40",
            "Fill #4 Taker px=1030 qty=10 leaves=30 trade=1 vs #1",
            "Fill #1 Maker px=1030 qty=10 leaves=0 trade=1 vs #4",
            "Fill #4 Taker px=980 qty=10 leaves=20 trade=2 vs #2",
            "Fill #2 Maker px=980 qty=10 leaves=0 trade=2 vs #4",
            "Expired #4 no_liquidity px=0 qty=20",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#3 Buy 970x10"], _h.Book(Main));
    }

    [Theory]
    [InlineData(TimeInForce.ImmediateOrCancel)]
    [InlineData(TimeInForce.FillOrKill)]
    public void NewOrder_MarketOrderWithoutOppositeOrders_ExpiresNoLiquidity(TimeInForce tif)
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Buy, 1000, 10)); // same side: not liquidity for a buy

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 2, Side.Buy, 10, tif));

        Assert.Equal(["Accepted #2 Buy px=0 qty=10", "Expired #2 no_liquidity px=0 qty=10"], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_MarketFokNeedsLevelsBeyondProtection_ExpiresFillOrKill()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1030, 10),
            Command.Limit(Main, Bob, 2, Side.Sell, 1090, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 3, Side.Buy, 20, TimeInForce.FillOrKill));

        Assert.Equal(["Accepted #3 Buy px=0 qty=20", "Expired #3 fill_or_kill px=0 qty=20"], EngineHarness.Describe(reports));
        Assert.Equal(2, _h.Book(Main).Length);
    }

    [Fact]
    public void NewOrder_MarketOrderFullyFilled_NoExpiry()
    {
        _h.Setup(Command.Limit(Main, Bob, 1, Side.Sell, 1000, 20));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 2, Side.Buy, 15));

        Assert.Equal(
        [
            "Accepted #2 Buy px=0 qty=15",
            "Fill #2 Taker px=1000 qty=15 leaves=0 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=15 leaves=5 trade=1 vs #2",
        ], EngineHarness.Describe(reports));
    }

    // ------------------------------------------------------------------ self-trade prevention

    [Fact]
    public void NewOrder_NextMakerIsOwnOrder_CancelsNewestKeepsEarlierFills()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 10),
            Command.Limit(Main, Alice, 2, Side.Sell, 1000, 10),
            Command.Limit(Main, Carol, 3, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 4, Side.Buy, 1000, 25));

        Assert.Equal(
        [
            "Accepted #4 Buy px=1000 qty=25",
            "Fill #4 Taker px=1000 qty=10 leaves=15 trade=1 vs #1",
            "Fill #1 Maker px=1000 qty=10 leaves=0 trade=1 vs #4",
            "Cancelled #4 self_trade_prevention px=1000 qty=15",
        ], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Sell 1000x10", "#3 Sell 1000x10"], _h.Book(Main));
        Assert.Equal(1, _h.Engine.LastTradeId);
    }

    [Theory]
    [InlineData(TimeInForce.GoodTillCancel)]
    [InlineData(TimeInForce.ImmediateOrCancel)]
    public void NewOrder_OwnOrderAtBestPrice_CancelsWholeAggressorOnly(TimeInForce tif)
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 2, Side.Buy, 1010, 10, tif));

        Assert.Equal(["Accepted #2 Buy px=1010 qty=10", "Cancelled #2 self_trade_prevention px=1010 qty=10"], EngineHarness.Describe(reports));
        Assert.Equal(["#1 Sell 1000x10"], _h.Book(Main));
    }

    [Fact]
    public void NewOrder_MarketOrderMeetsOwnOrder_CancelledSelfTradePrevention()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Sell, 1000, 10));

        var reports = _h.Send(Command.MarketOrder(Main, Alice, 2, Side.Buy, 10));

        Assert.Equal(["Accepted #2 Buy px=0 qty=10", "Cancelled #2 self_trade_prevention px=0 qty=10"], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_OwnOrderOnOtherSideNotCrossed_BothRest()
    {
        _h.Setup(Command.Limit(Main, Alice, 1, Side.Sell, 1010, 10));

        var reports = _h.Send(Command.Limit(Main, Alice, 2, Side.Buy, 1000, 10));

        Assert.Equal(["Accepted #2 Buy px=1000 qty=10"], EngineHarness.Describe(reports));
        Assert.Equal(["#2 Buy 1000x10", "#1 Sell 1010x10"], _h.Book(Main));
    }

    // ------------------------------------------------------------------ trade ids

    [Fact]
    public void NewOrder_TradesInTwoMarkets_TradeIdsConsecutiveEngineWide()
    {
        _h.Setup(
            Command.Limit(Main, Bob, 1, Side.Sell, 1000, 20),
            Command.Limit(Other, Bob, 1, Side.Sell, 100, 5)); // the same order id in another market is fine

        var first = _h.Send(Command.Limit(Main, Alice, 2, Side.Buy, 1000, 10));
        var second = _h.Send(Command.Limit(Other, Alice, 2, Side.Buy, 100, 5));
        var third = _h.Send(Command.Limit(Main, Alice, 3, Side.Buy, 1000, 10));

        Assert.Equal([1L, 1L], first.Where(r => r.Type == ReportType.Fill).Select(r => r.TradeId));
        Assert.Equal([2L, 2L], second.Where(r => r.Type == ReportType.Fill).Select(r => r.TradeId));
        Assert.Equal([3L, 3L], third.Where(r => r.Type == ReportType.Fill).Select(r => r.TradeId));
        Assert.Equal(3, _h.Engine.LastTradeId);
    }

    // ------------------------------------------------------------------ price collar

    [Theory]
    [InlineData(900, true)]
    [InlineData(1100, true)]
    [InlineData(895, false)]
    [InlineData(1105, false)]
    public void NewOrder_CollarAroundConfiguredReference_InclusiveBounds(long price, bool accepted)
    {
        // Reference 1000, 10%: [1000 - 100, 1000 + 100].
        var command = Command.Limit(Collared, Alice, 1, Side.Buy, price, 1);
        if (accepted) Assert.Equal(ReportType.Accepted, Assert.Single(_h.Send(command)).Type);
        else _h.SendRejected(command, RejectReason.PriceOutsideCollar);
    }

    [Theory]
    [InlineData(915, true)]
    [InlineData(910, false)]
    [InlineData(1115, true)]
    [InlineData(1120, false)]
    public void NewOrder_AfterTrade_CollarFollowsLastTradePriceRoundedInwardToTick(long price, bool accepted)
    {
        // A trade at 1015 makes it the reference: 1015 +- floor(101.5) = [914, 1116] -> ticks [915, 1115].
        _h.Setup(
            Command.Limit(Collared, Bob, 1, Side.Sell, 1015, 1),
            Command.Limit(Collared, Carol, 2, Side.Buy, 1015, 1));
        Assert.Equal(1015, _h.Engine.FindBook(Collared)!.ReferencePrice);

        var command = Command.Limit(Collared, Alice, 3, Side.Buy, price, 1);
        if (accepted) Assert.Equal(ReportType.Accepted, Assert.Single(_h.Send(command)).Type);
        else _h.SendRejected(command, RejectReason.PriceOutsideCollar);
    }

    [Fact]
    public void NewOrder_CommandWithSeveralTrades_ReferenceIsItsLastTradePrice()
    {
        _h.Setup(
            Command.Limit(Collared, Bob, 1, Side.Sell, 1000, 1),
            Command.Limit(Collared, Carol, 2, Side.Sell, 1050, 1),
            Command.Limit(Collared, Alice, 3, Side.Buy, 1050, 2));

        var book = _h.Engine.FindBook(Collared)!;
        Assert.Equal((1050L, 1050L), (book.ReferencePrice, book.LastTradePrice));
        // 1050 +- 105 = [945, 1155]: 940 was inside the old collar and is now outside.
        _h.SendRejected(Command.Limit(Collared, Alice, 4, Side.Buy, 940, 1), RejectReason.PriceOutsideCollar);
    }

    [Fact]
    public void NewOrder_CollarWithoutReferencePrice_DisabledUntilFirstTrade()
    {
        _h.Setup(
            Command.Limit(NoReference, Bob, 1, Side.Sell, 99_999, 1),
            Command.Limit(NoReference, Bob, 2, Side.Buy, 1, 1),
            Command.Limit(NoReference, Bob, 3, Side.Sell, 500, 1),
            Command.Limit(NoReference, Alice, 4, Side.Buy, 500, 1));

        // Reference 500, 10%: [450, 550].
        _h.SendRejected(Command.Limit(NoReference, Alice, 5, Side.Buy, 449, 1), RejectReason.PriceOutsideCollar);
        _h.SendRejected(Command.Limit(NoReference, Alice, 5, Side.Sell, 551, 1), RejectReason.PriceOutsideCollar);
        _h.Setup(Command.Limit(NoReference, Alice, 5, Side.Buy, 450, 1), Command.Limit(NoReference, Alice, 6, Side.Sell, 550, 1));
    }
}
