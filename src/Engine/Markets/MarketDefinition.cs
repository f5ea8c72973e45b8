using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine;

/// <summary>
/// One market (instrument) as configured in the markets file. Prices are integers in price units
/// (<c>10^-PriceScale</c> of the quote currency), quantities in quantity units (<c>10^-QuantityScale</c>
/// of the base asset).
/// </summary>
public sealed record MarketDefinition
{
    /// <summary>Largest market id; ids are 1..1024 so books live in an array indexed by id.</summary>
    public const int MaxMarketId = 1024;

    /// <summary>Market id used on the wire and in the journal, 1..<see cref="MaxMarketId"/>.</summary>
    public required ushort Id { get; init; }

    /// <summary>Symbol such as <c>BTC/USD</c>.</summary>
    public required string Symbol { get; init; }

    /// <summary>Decimal places of the integer price representation, 0..18.</summary>
    public int PriceScale { get; init; } = 8;

    /// <summary>Decimal places of the integer quantity representation, 0..18.</summary>
    public int QuantityScale { get; init; } = 8;

    /// <summary>Tick size in price units (&gt; 0): every order price is a multiple of it.</summary>
    public required long TickSize { get; init; }

    /// <summary>Lot size in quantity units (&gt; 0): every order quantity is a multiple of it.</summary>
    public required long LotSize { get; init; }

    /// <summary>Smallest order quantity in quantity units (default: one lot).</summary>
    public long MinQuantity { get; init; }

    /// <summary>
    /// Upper bound of <see cref="MaxQuantity"/>: 2^47 quantity units (1,407,374.88355328 at scale 8).
    /// A price level sums the open quantities of its orders in a <see cref="long"/>; with every
    /// order at most 2^47, 65,536 of them at one price still cannot overflow it.
    /// </summary>
    public const long QuantityLimit = 1L << 47;

    /// <summary>Largest order quantity in quantity units (default and upper bound: <see cref="QuantityLimit"/>).</summary>
    public long MaxQuantity { get; init; } = QuantityLimit;

    /// <summary>Largest accepted limit price in price units (default: half of <see cref="long.MaxValue"/>).</summary>
    public long MaxPrice { get; init; } = long.MaxValue / 2;

    /// <summary>
    /// Price collar in basis points (1/100 of a percent) around the reference price: a limit price
    /// outside <c>reference * (1 ± collar)</c> is rejected. 0 disables the collar.
    /// </summary>
    public int PriceCollarBasisPoints { get; init; }

    /// <summary>
    /// Market order protection in basis points: a market order executes no further than the best
    /// opposite price at entry moved by this much; the rest expires. Default 500 (5%).
    /// </summary>
    public int MarketOrderProtectionBasisPoints { get; init; } = 500;

    /// <summary>Reference price for the collar until the first trade (0: no collar until then).</summary>
    public long ReferencePrice { get; init; }

    /// <summary>State at start (before any journaled state change).</summary>
    public MarketState InitialState { get; init; } = MarketState.Online;

    /// <summary>Formats a price of this market as decimal text.</summary>
    public string FormatPrice(long units) => FixedPoint.Format(units, PriceScale);

    /// <summary>Formats a quantity of this market as decimal text.</summary>
    public string FormatQuantity(long units) => FixedPoint.Format(units, QuantityScale);

    /// <summary>
    /// Checks the definition's internal consistency.
    /// </summary>
    /// <returns>null when consistent, else the first problem, naming the field.</returns>
    public string? Validate()
    {
        if (Id < 1 || Id > MaxMarketId) return $"id: {Id} is outside 1..{MaxMarketId}";
        if (string.IsNullOrWhiteSpace(Symbol)) return "symbol: must not be empty";
        if (PriceScale is < 0 or > FixedPoint.MaxScale) return $"price_scale: {PriceScale} is outside 0..{FixedPoint.MaxScale}";
        if (QuantityScale is < 0 or > FixedPoint.MaxScale) return $"quantity_scale: {QuantityScale} is outside 0..{FixedPoint.MaxScale}";
        if (TickSize <= 0) return "tick_size: must be positive";
        if (LotSize <= 0) return "lot_size: must be positive";
        if (MinQuantity < 0) return "min_quantity: must not be negative";
        if (MinQuantity % LotSize != 0) return "min_quantity: must be a multiple of lot_size";
        if (MaxQuantity < Math.Max(MinQuantity, LotSize)) return "max_quantity: must be at least min_quantity and one lot";
        if (MaxQuantity > QuantityLimit) return $"max_quantity: must be at most 2^47 = {QuantityLimit} quantity units ({FormatQuantity(QuantityLimit)}), so price-level totals cannot overflow";
        if (MaxPrice < TickSize) return "max_price: must be at least one tick";
        if (PriceCollarBasisPoints is < 0 or >= 10_000) return "price_collar_percent: must be in [0, 100)";
        if (MarketOrderProtectionBasisPoints is < 0 or >= 10_000) return "market_order_protection_percent: must be in [0, 100)";
        if (ReferencePrice < 0) return "reference_price: must not be negative";
        if (ReferencePrice % TickSize != 0) return "reference_price: must be a multiple of tick_size";
        if (!Enum.IsDefined(InitialState)) return "state: unknown market state";
        return null;
    }
}
