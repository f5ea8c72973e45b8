using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine;

/// <summary>The kind of an input command. Values are part of the journal format: never renumber.</summary>
public enum CommandType : byte
{
    /// <summary>Place a new order (<see cref="Command.OrderId"/> chosen by the sender, unique per market).</summary>
    NewOrder = 1,
    /// <summary>Cancel one resting order of the account.</summary>
    Cancel = 2,
    /// <summary>Change price and/or open quantity of a resting order.</summary>
    Amend = 3,
    /// <summary>Cancel every resting order of the account, in one market or (market 0) in all.</summary>
    CancelAll = 4,
    /// <summary>Change a market's trading state (an administrative command).</summary>
    SetMarketState = 5,
}

/// <summary>Order side. Values are part of the journal format.</summary>
public enum Side : byte
{
    /// <summary>A bid.</summary>
    Buy = 1,
    /// <summary>An ask (offer).</summary>
    Sell = 2,
}

/// <summary>Order type. Values are part of the journal format.</summary>
public enum OrderType : byte
{
    /// <summary>Executes at its limit price or better.</summary>
    Limit = 1,
    /// <summary>
    /// Executes against the book up to a protection price (the best opposite price moved by the
    /// market's <c>market_order_protection_percent</c>); the rest expires. Must be IOC or FOK.
    /// </summary>
    Market = 2,
}

/// <summary>Time in force. Values are part of the journal format.</summary>
public enum TimeInForce : byte
{
    /// <summary>Good till cancel: the unfilled rest stays in the book.</summary>
    GoodTillCancel = 1,
    /// <summary>Immediate or cancel: fill what is possible now, the rest expires.</summary>
    ImmediateOrCancel = 2,
    /// <summary>Fill or kill: fill all now or nothing; never rests.</summary>
    FillOrKill = 3,
}

/// <summary>Order flags. Values are part of the journal format.</summary>
[Flags]
public enum OrderFlags : byte
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>Post-only (maker-only): rejected if any part would execute on entry. GTC limit orders only.</summary>
    PostOnly = 1,
}

/// <summary>
/// A market's trading state, after Kraken's market states. Values are part of the journal format.
/// </summary>
/// <remarks>
/// What each state accepts (anything else is rejected with a reason of category <c>state</c>):
/// <list type="table">
/// <item><term>online</term><description>everything.</description></item>
/// <item><term>post_only</term><description>new post-only limit orders, cancels, cancel-all, amends that do not take.</description></item>
/// <item><term>limit_only</term><description>limit orders (any time in force), cancels, cancel-all, amends.</description></item>
/// <item><term>cancel_only</term><description>cancels and cancel-all only.</description></item>
/// <item><term>halted</term><description>nothing: the book is frozen until the state changes.</description></item>
/// </list>
/// </remarks>
public enum MarketState : byte
{
    /// <summary>Normal trading.</summary>
    Online = 1,
    /// <summary>Only post-only limit orders may be placed; nothing executes on entry.</summary>
    PostOnly = 2,
    /// <summary>Only limit orders may be placed.</summary>
    LimitOnly = 3,
    /// <summary>Orders may only be cancelled.</summary>
    CancelOnly = 4,
    /// <summary>No command is accepted.</summary>
    Halted = 5,
}

/// <summary>
/// One input command, as journaled and as processed by the matcher. A plain struct passed by
/// reference: the matcher never allocates for it.
/// </summary>
/// <remarks>
/// Field use by type: <see cref="CommandType.NewOrder"/> uses all order fields;
/// <see cref="CommandType.Cancel"/> uses market, account, order id;
/// <see cref="CommandType.Amend"/> uses market, account, order id, <see cref="Price"/> (the new
/// limit price) and <see cref="Quantity"/> (the new open quantity);
/// <see cref="CommandType.CancelAll"/> uses account and market (0 = every market);
/// <see cref="CommandType.SetMarketState"/> uses market and <see cref="State"/>.
/// </remarks>
public struct Command
{
    /// <summary>Journal sequence number, assigned by the sequencer (0 when not journaled).</summary>
    public SequenceNumber Sequence;
    /// <summary>Gateway receipt time in Unix nanoseconds, assigned by the sequencer. The matcher never reads a clock.</summary>
    public long Timestamp;
    /// <summary>Command kind.</summary>
    public CommandType Type;
    /// <summary>Market id from the markets file (1..<see cref="MarketDefinition.MaxMarketId"/>).</summary>
    public ushort MarketId;
    /// <summary>Order side (new order).</summary>
    public Side Side;
    /// <summary>Order type (new order).</summary>
    public OrderType OrderType;
    /// <summary>Time in force (new order).</summary>
    public TimeInForce TimeInForce;
    /// <summary>Order flags (new order).</summary>
    public OrderFlags Flags;
    /// <summary>Target state (set market state).</summary>
    public MarketState State;
    /// <summary>The account that owns the order.</summary>
    public long AccountId;
    /// <summary>The order id: unique among the market's live orders, chosen by the sender.</summary>
    public long OrderId;
    /// <summary>Limit price (new order, amend); ignored for market orders.</summary>
    public Price Price;
    /// <summary>Order quantity (new order) or new open quantity (amend).</summary>
    public Quantity Quantity;

    /// <summary>A new limit order.</summary>
    public static Command Limit(ushort market, long account, long orderId, Side side, long price, long quantity,
        TimeInForce tif = TimeInForce.GoodTillCancel, OrderFlags flags = OrderFlags.None) => new()
    {
        Type = CommandType.NewOrder, MarketId = market, AccountId = account, OrderId = orderId, Side = side,
        OrderType = OrderType.Limit, TimeInForce = tif, Flags = flags, Price = new Price(price), Quantity = new Quantity(quantity),
    };

    /// <summary>A new market order (IOC unless <paramref name="tif"/> says FOK).</summary>
    public static Command MarketOrder(ushort market, long account, long orderId, Side side, long quantity,
        TimeInForce tif = TimeInForce.ImmediateOrCancel) => new()
    {
        Type = CommandType.NewOrder, MarketId = market, AccountId = account, OrderId = orderId, Side = side,
        OrderType = OrderType.Market, TimeInForce = tif, Quantity = new Quantity(quantity),
    };

    /// <summary>Cancel one order.</summary>
    public static Command CancelOrder(ushort market, long account, long orderId) => new()
    {
        Type = CommandType.Cancel, MarketId = market, AccountId = account, OrderId = orderId,
    };

    /// <summary>Amend one order to a new limit price and open quantity.</summary>
    public static Command AmendOrder(ushort market, long account, long orderId, long newPrice, long newQuantity) => new()
    {
        Type = CommandType.Amend, MarketId = market, AccountId = account, OrderId = orderId,
        Price = new Price(newPrice), Quantity = new Quantity(newQuantity),
    };

    /// <summary>Cancel all of an account's orders in one market, or in every market when <paramref name="market"/> is 0.</summary>
    public static Command CancelAllOrders(long account, ushort market = 0) => new()
    {
        Type = CommandType.CancelAll, MarketId = market, AccountId = account,
    };

    /// <summary>Change a market's state.</summary>
    public static Command ChangeMarketState(ushort market, MarketState state) => new()
    {
        Type = CommandType.SetMarketState, MarketId = market, State = state,
    };
}
