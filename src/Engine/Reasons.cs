namespace ExchangeHealth.Engine;

/// <summary>
/// Why a command was rejected. A rejected command changes no state. Values are stable (they
/// appear in execution reports on the wire); each belongs to one <see cref="RejectCategory"/>.
/// </summary>
public enum RejectReason : byte
{
    /// <summary>Not rejected.</summary>
    None = 0,
    /// <summary>The command type, side, order type, time in force, flags or state is not a defined value. (validation)</summary>
    MalformedCommand = 1,
    /// <summary>No market with this id. (validation)</summary>
    UnknownMarket = 2,
    /// <summary>Quantity is zero or negative. (validation)</summary>
    InvalidQuantity = 3,
    /// <summary>Quantity is not a multiple of the lot size. (validation)</summary>
    QuantityOffLotGrid = 4,
    /// <summary>Price is zero, negative or above the largest price the market allows. (validation)</summary>
    InvalidPrice = 5,
    /// <summary>Price is not a multiple of the tick size. (validation)</summary>
    PriceOffTickGrid = 6,
    /// <summary>An order with this id is live in the market. (validation)</summary>
    DuplicateOrderId = 7,
    /// <summary>No live order with this id in the market. (validation)</summary>
    UnknownOrder = 8,
    /// <summary>The order belongs to another account. (validation)</summary>
    NotOrderOwner = 9,
    /// <summary>The combination is not supported: market GTC, post-only not GTC limit, and similar. (validation)</summary>
    UnsupportedOrder = 10,
    /// <summary>Amend to the same price and quantity. (validation)</summary>
    NothingToAmend = 11,
    /// <summary>Order id is zero or negative. (validation)</summary>
    InvalidOrderId = 12,
    /// <summary>
    /// A new order whose client order id the engine has already journaled: a resend after a
    /// reconnect. Not executed again; the report names the original order id. Raised by the
    /// service's sequencer, never by the matcher. (validation)
    /// </summary>
    DuplicateClientOrderId = 13,
    /// <summary>Quantity below the market's minimum order quantity. (risk)</summary>
    QuantityBelowMinimum = 20,
    /// <summary>Quantity above the market's maximum order quantity. (risk)</summary>
    QuantityAboveMaximum = 21,
    /// <summary>Limit price outside the price collar around the reference price. (risk)</summary>
    PriceOutsideCollar = 22,
    /// <summary>A post-only order (or amend of one) would execute on entry. (risk)</summary>
    PostOnlyWouldTake = 23,
    /// <summary>The market is halted. (state)</summary>
    MarketHalted = 30,
    /// <summary>The market accepts only cancels. (state)</summary>
    MarketCancelOnly = 31,
    /// <summary>The market accepts only post-only limit orders. (state)</summary>
    MarketPostOnly = 32,
    /// <summary>The market accepts only limit orders. (state)</summary>
    MarketLimitOnly = 33,
    /// <summary>The engine cannot take more commands now: the inbound ring is full. (overload)</summary>
    Overload = 40,
    /// <summary>The engine failed to process or persist the command. (internal)</summary>
    Internal = 50,
}

/// <summary>The category of a <see cref="RejectReason"/>: the <c>reason</c> label of <c>exh_orders_rejected_total</c>.</summary>
public enum RejectCategory : byte
{
    /// <summary>Not rejected.</summary>
    None,
    /// <summary>The command is malformed or refers to something that does not exist.</summary>
    Validation,
    /// <summary>A risk check refused it.</summary>
    Risk,
    /// <summary>The market's state refused it.</summary>
    State,
    /// <summary>The engine is overloaded. Counts against the availability SLI.</summary>
    Overload,
    /// <summary>The engine failed. Counts against the availability SLI.</summary>
    Internal,
}

/// <summary>Why (part of) an order left the book or never rested. Values are stable.</summary>
public enum CancelReason : byte
{
    /// <summary>Not cancelled.</summary>
    None = 0,
    /// <summary>The owner cancelled it.</summary>
    Requested = 1,
    /// <summary>The owner's cancel-all.</summary>
    CancelAll = 2,
    /// <summary>It would have traded with the same account; the newest order is cancelled.</summary>
    SelfTradePrevention = 3,
    /// <summary>Immediate-or-cancel remainder.</summary>
    ImmediateOrCancel = 4,
    /// <summary>Fill-or-kill order could not be filled in full.</summary>
    FillOrKill = 5,
    /// <summary>Market order: no opposite liquidity within the protection price.</summary>
    NoLiquidity = 6,
}

/// <summary>Names and categories of the reason enums, as used in reports, logs and metric labels.</summary>
public static class Reasons
{
    /// <summary>The category of <paramref name="reason"/>.</summary>
    public static RejectCategory Category(this RejectReason reason) => (byte)reason switch
    {
        0 => RejectCategory.None,
        < 20 => RejectCategory.Validation,
        < 30 => RejectCategory.Risk,
        < 40 => RejectCategory.State,
        < 50 => RejectCategory.Overload,
        _ => RejectCategory.Internal,
    };

    /// <summary>snake_case name of a reject reason, e.g. <c>price_off_tick_grid</c>.</summary>
    public static string Name(this RejectReason reason) => reason switch
    {
        RejectReason.None => "none",
        RejectReason.MalformedCommand => "malformed_command",
        RejectReason.UnknownMarket => "unknown_market",
        RejectReason.InvalidQuantity => "invalid_quantity",
        RejectReason.QuantityOffLotGrid => "quantity_off_lot_grid",
        RejectReason.InvalidPrice => "invalid_price",
        RejectReason.PriceOffTickGrid => "price_off_tick_grid",
        RejectReason.DuplicateOrderId => "duplicate_order_id",
        RejectReason.UnknownOrder => "unknown_order",
        RejectReason.NotOrderOwner => "not_order_owner",
        RejectReason.UnsupportedOrder => "unsupported_order",
        RejectReason.NothingToAmend => "nothing_to_amend",
        RejectReason.InvalidOrderId => "invalid_order_id",
        RejectReason.DuplicateClientOrderId => "duplicate_client_order_id",
        RejectReason.QuantityBelowMinimum => "quantity_below_minimum",
        RejectReason.QuantityAboveMaximum => "quantity_above_maximum",
        RejectReason.PriceOutsideCollar => "price_outside_collar",
        RejectReason.PostOnlyWouldTake => "post_only_would_take",
        RejectReason.MarketHalted => "market_halted",
        RejectReason.MarketCancelOnly => "market_cancel_only",
        RejectReason.MarketPostOnly => "market_post_only",
        RejectReason.MarketLimitOnly => "market_limit_only",
        RejectReason.Overload => "overload",
        RejectReason.Internal => "internal",
        _ => "unknown_" + ((byte)reason).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Lower-case name of a category: <c>validation</c>, <c>risk</c>, <c>state</c>, <c>overload</c>, <c>internal</c>.</summary>
    public static string Name(this RejectCategory category) => category switch
    {
        RejectCategory.None => "none",
        RejectCategory.Validation => "validation",
        RejectCategory.Risk => "risk",
        RejectCategory.State => "state",
        RejectCategory.Overload => "overload",
        RejectCategory.Internal => "internal",
        _ => "unknown",
    };

    /// <summary>snake_case name of a cancel reason, e.g. <c>self_trade_prevention</c>.</summary>
    public static string Name(this CancelReason reason) => reason switch
    {
        CancelReason.None => "none",
        CancelReason.Requested => "requested",
        CancelReason.CancelAll => "cancel_all",
        CancelReason.SelfTradePrevention => "self_trade_prevention",
        CancelReason.ImmediateOrCancel => "immediate_or_cancel",
        CancelReason.FillOrKill => "fill_or_kill",
        CancelReason.NoLiquidity => "no_liquidity",
        _ => "unknown",
    };

    /// <summary>snake_case name of a market state as in the markets file: <c>online</c>, <c>post_only</c>, <c>limit_only</c>, <c>cancel_only</c>, <c>halted</c>.</summary>
    public static string Name(this MarketState state) => state switch
    {
        MarketState.Online => "online",
        MarketState.PostOnly => "post_only",
        MarketState.LimitOnly => "limit_only",
        MarketState.CancelOnly => "cancel_only",
        MarketState.Halted => "halted",
        _ => "unknown",
    };

    /// <summary>Parses a market state name (see <see cref="Name(MarketState)"/>).</summary>
    public static bool TryParseMarketState(string text, out MarketState state)
    {
        foreach (var s in AllMarketStates)
        {
            if (string.Equals(s.Name(), text, StringComparison.OrdinalIgnoreCase)) { state = s; return true; }
        }
        state = default;
        return false;
    }

    /// <summary>Every market state, in value order.</summary>
    public static IReadOnlyList<MarketState> AllMarketStates { get; } =
        [MarketState.Online, MarketState.PostOnly, MarketState.LimitOnly, MarketState.CancelOnly, MarketState.Halted];
}
