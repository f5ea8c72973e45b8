using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.TestKit;
using static ExchangeHealth.Engine.Tests.Matching.TestMarkets;

namespace ExchangeHealth.Engine.Tests.Matching;

/// <summary>
/// Every reject reason that bad input can cause, and the documented order of the checks (the
/// first failing check wins). Market <see cref="TestMarkets.Main"/>: tick 10, lot 5, quantity
/// 10..1000, price up to 100000; Alice's order #7 (buy 1000 x 10) is live in it.
/// </summary>
public sealed class ValidationTests
{
    private readonly EngineHarness _h = new();

    public ValidationTests() => _h.Setup(Command.Limit(Main, Alice, 7, Side.Buy, 1000, 10));

    [Theory]
    // market id first
    [InlineData((ushort)9, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.UnknownMarket)]
    [InlineData((ushort)0, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.UnknownMarket)]
    [InlineData((ushort)1025, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.UnknownMarket)]
    [InlineData((ushort)9, (Side)3, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 0L, 0L, 0L, RejectReason.UnknownMarket)]
    // 1. malformed values
    [InlineData(Main, (Side)0, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, (Side)3, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, Side.Buy, (OrderType)0, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, Side.Buy, (OrderType)3, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, Side.Buy, OrderType.Limit, (TimeInForce)0, OrderFlags.None, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, Side.Buy, OrderType.Limit, (TimeInForce)4, OrderFlags.None, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, (OrderFlags)2, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, (OrderFlags)3, 1L, 1000L, 10L, RejectReason.MalformedCommand)]
    [InlineData(Main, (Side)3, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 0L, 0L, 0L, RejectReason.MalformedCommand)]
    // 2. order id
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 0L, 1000L, 10L, RejectReason.InvalidOrderId)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, -1L, 1000L, 10L, RejectReason.InvalidOrderId)]
    [InlineData(Main, Side.Buy, OrderType.Market, TimeInForce.GoodTillCancel, OrderFlags.None, 0L, 0L, 0L, RejectReason.InvalidOrderId)]
    // 4. unsupported combinations
    [InlineData(Main, Side.Buy, OrderType.Market, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 0L, 10L, RejectReason.UnsupportedOrder)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.ImmediateOrCancel, OrderFlags.PostOnly, 1L, 990L, 10L, RejectReason.UnsupportedOrder)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.FillOrKill, OrderFlags.PostOnly, 1L, 990L, 10L, RejectReason.UnsupportedOrder)]
    [InlineData(Main, Side.Buy, OrderType.Market, TimeInForce.ImmediateOrCancel, OrderFlags.PostOnly, 1L, 0L, 10L, RejectReason.UnsupportedOrder)]
    [InlineData(Main, Side.Buy, OrderType.Market, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 0L, 0L, RejectReason.UnsupportedOrder)]
    // 5. quantity grid
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 0L, RejectReason.InvalidQuantity)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, -5L, RejectReason.InvalidQuantity)]
    [InlineData(Main, Side.Buy, OrderType.Market, TimeInForce.ImmediateOrCancel, OrderFlags.None, 1L, 0L, 0L, RejectReason.InvalidQuantity)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1005L, 0L, RejectReason.InvalidQuantity)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 12L, RejectReason.QuantityOffLotGrid)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 0L, 12L, RejectReason.QuantityOffLotGrid)]
    // 6. price grid
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 0L, 10L, RejectReason.InvalidPrice)]
    [InlineData(Main, Side.Sell, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, -10L, 10L, RejectReason.InvalidPrice)]
    [InlineData(Main, Side.Sell, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 100_010L, 10L, RejectReason.InvalidPrice)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 7L, 0L, 10L, RejectReason.InvalidPrice)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1005L, 10L, RejectReason.PriceOffTickGrid)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 7L, 1005L, 10L, RejectReason.PriceOffTickGrid)]
    // 7. duplicate id (any account, any side)
    [InlineData(Main, Side.Sell, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 7L, 1200L, 10L, RejectReason.DuplicateOrderId)]
    [InlineData(Main, Side.Sell, OrderType.Market, TimeInForce.ImmediateOrCancel, OrderFlags.None, 7L, 0L, 10L, RejectReason.DuplicateOrderId)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 7L, 1000L, 5L, RejectReason.DuplicateOrderId)]
    // 8. size limits
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 5L, RejectReason.QuantityBelowMinimum)]
    [InlineData(Main, Side.Buy, OrderType.Market, TimeInForce.ImmediateOrCancel, OrderFlags.None, 1L, 0L, 5L, RejectReason.QuantityBelowMinimum)]
    [InlineData(Main, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1L, 1000L, 1005L, RejectReason.QuantityAboveMaximum)]
    [InlineData(Main, Side.Sell, OrderType.Market, TimeInForce.FillOrKill, OrderFlags.None, 1L, 0L, 1005L, RejectReason.QuantityAboveMaximum)]
    public void NewOrder_InvalidInput_RejectedWithFirstFailingCheck(ushort market, Side side, OrderType type, TimeInForce tif,
        OrderFlags flags, long orderId, long price, long quantity, RejectReason expected)
    {
        var command = new Command
        {
            Type = CommandType.NewOrder, MarketId = market, AccountId = Bob, OrderId = orderId, Side = side, OrderType = type,
            TimeInForce = tif, Flags = flags, Price = new Price(price), Quantity = new Quantity(quantity),
        };

        _h.SendRejected(command, expected);
    }

    [Theory]
    [InlineData(1000L, 10L)] // the lower quantity bound and a price on the grid
    [InlineData(100_000L, 1000L)] // the largest price and quantity
    public void NewOrder_AtTheLimits_Accepted(long price, long quantity)
    {
        var reports = _h.Send(Command.Limit(Main, Bob, 1, Side.Sell, price, quantity));

        Assert.Equal(ReportType.Accepted, reports[0].Type);
    }

    [Theory]
    [InlineData(-5L)]
    [InlineData(1005L)]
    [InlineData(long.MinValue)]
    public void NewOrder_MarketOrderWithAnyPriceField_PriceIgnored(long price)
    {
        var command = Command.MarketOrder(Main, Bob, 1, Side.Sell, 10) with { Price = new Price(price) };

        var reports = _h.Send(command);

        Assert.Equal(
        [
            "Accepted #1 Sell px=0 qty=10",
            "Fill #1 Taker px=1000 qty=10 leaves=0 trade=1 vs #7",
            "Fill #7 Maker px=1000 qty=10 leaves=0 trade=1 vs #1",
        ], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_SameIdInAnotherMarket_Accepted()
    {
        var reports = _h.Send(Command.Limit(Other, Alice, 7, Side.Buy, 100, 1));

        Assert.Equal(["Accepted #7 Buy px=100 qty=1"], EngineHarness.Describe(reports));
    }

    [Fact]
    public void NewOrder_SizeAndCollarBothFail_SizeCheckWins()
    {
        // The generator's collar market: tick 5, lot 10, quantity 20..300, 10% collar around 1000.
        var h = new EngineHarness(CommandStreamGenerator.Markets);
        const ushort market = CommandStreamGenerator.CollarMarketId;

        h.SendRejected(Command.Limit(market, Alice, 1, Side.Buy, 1500, 10), RejectReason.QuantityBelowMinimum);
        h.SendRejected(Command.Limit(market, Alice, 1, Side.Buy, 1500, 310), RejectReason.QuantityAboveMaximum);
        h.SendRejected(Command.Limit(market, Alice, 1, Side.Buy, 1500, 20), RejectReason.PriceOutsideCollar);
        h.Setup(Command.Limit(market, Bob, 2, Side.Sell, 1050, 20));
        // Outside the collar and would take: the collar check comes first.
        h.SendRejected(Command.Limit(market, Alice, 1, Side.Buy, 1105, 20, flags: OrderFlags.PostOnly), RejectReason.PriceOutsideCollar);
    }

    [Theory]
    [InlineData((ushort)9, Bob, 7L, 1000L, 20L, RejectReason.UnknownMarket)]
    [InlineData(Main, Alice, 8L, 1000L, 20L, RejectReason.UnknownOrder)]
    [InlineData(Main, Alice, 0L, 1000L, 20L, RejectReason.UnknownOrder)]
    [InlineData(Main, Bob, 7L, 0L, 0L, RejectReason.NotOrderOwner)]
    [InlineData(Main, Alice, 7L, 1000L, 0L, RejectReason.InvalidQuantity)]
    [InlineData(Main, Alice, 7L, 0L, -5L, RejectReason.InvalidQuantity)]
    [InlineData(Main, Alice, 7L, 0L, 12L, RejectReason.QuantityOffLotGrid)]
    [InlineData(Main, Alice, 7L, 0L, 5L, RejectReason.InvalidPrice)]
    [InlineData(Main, Alice, 7L, 100_010L, 20L, RejectReason.InvalidPrice)]
    [InlineData(Main, Alice, 7L, 1005L, 5L, RejectReason.PriceOffTickGrid)]
    [InlineData(Main, Alice, 7L, 1000L, 5L, RejectReason.QuantityBelowMinimum)]
    [InlineData(Main, Alice, 7L, 1000L, 1005L, RejectReason.QuantityAboveMaximum)]
    [InlineData(Main, Alice, 7L, 1000L, 10L, RejectReason.NothingToAmend)]
    public void Amend_InvalidInput_RejectedWithFirstFailingCheck(ushort market, long account, long orderId, long price, long quantity, RejectReason expected)
    {
        _h.SendRejected(Command.AmendOrder(market, account, orderId, price, quantity), expected);
    }

    [Theory]
    [InlineData((ushort)9, Alice, 7L, RejectReason.UnknownMarket)]
    [InlineData(Main, Alice, 8L, RejectReason.UnknownOrder)]
    [InlineData(Main, Bob, 7L, RejectReason.NotOrderOwner)]
    public void Cancel_InvalidInput_Rejected(ushort market, long account, long orderId, RejectReason expected)
    {
        _h.SendRejected(Command.CancelOrder(market, account, orderId), expected);
    }

    [Theory]
    [InlineData((byte)0, Main)]
    [InlineData((byte)6, Main)]
    [InlineData((byte)255, (ushort)9)]
    public void Process_UndefinedCommandType_RejectedMalformedCommand(byte type, ushort market)
    {
        var command = Command.Limit(market, Alice, 1, Side.Buy, 1000, 10) with { Type = (CommandType)type };

        _h.SendRejected(command, RejectReason.MalformedCommand);
    }

    [Fact]
    public void Process_Rejected_EchoesCommandFieldsAndNothingElse()
    {
        var command = new Command
        {
            Type = CommandType.NewOrder, MarketId = Main, AccountId = Carol, OrderId = 99, Side = Side.Sell, OrderType = OrderType.Limit,
            TimeInForce = TimeInForce.GoodTillCancel, Price = new Price(1234), Quantity = new Quantity(17),
        };

        var r = _h.SendRejected(command, RejectReason.QuantityOffLotGrid);

        Assert.Equal((CommandType.NewOrder, Main, 99L, Carol, Side.Sell, 1234L, 17L),
            (r.CommandType, r.MarketId, r.OrderId, r.AccountId, r.Side, r.Price.Units, r.Quantity.Units));
        Assert.Equal((0L, 0L, 0L, 0L, Liquidity.None, CancelReason.None, (MarketState)0),
            (r.LeavesQuantity.Units, r.TradeId, r.CounterOrderId, r.CounterAccountId, r.Liquidity, r.CancelReason, r.State));
    }
}
