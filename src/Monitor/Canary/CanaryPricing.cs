using ExchangeHealth.Engine;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>
/// Where the canary's post-only buy goes: far below the touch but inside the price collar, so the
/// engine accepts it (a price outside the collar is rejected <c>price_outside_collar</c>) and
/// nobody is likely to sell into it during the milliseconds it rests. The collar is the engine's
/// (<c>OrderBook.UpdateCollar</c>): <c>[ceil_tick(ref - ref*collar), floor_tick(ref + ref*collar)]</c>
/// around the reference price (the last trade price, or the configured reference before any trade).
/// </summary>
internal static class CanaryPricing
{
    /// <summary>Share of the collar's half-width kept between the probe price and the collar's lower edge: 1/10.</summary>
    internal const int EdgeMarginDivisor = 10;

    /// <summary>
    /// The probe's buy price in price units:
    /// <list type="bullet">
    /// <item>with a collar and a reference: the reference minus 90% of the collar's half-width, rounded
    /// up to the tick (for a 10% collar around 60,000: 54,600). The 10% margin above the collar's edge
    /// absorbs a rise of the reference of up to ~1% between reading it and the order's arrival;</item>
    /// <item>with a reference but no collar: half the reference, rounded down to the tick;</item>
    /// <item>with neither: one tick (the lowest valid price).</item>
    /// </list>
    /// Always at least one tick and at most the market's maximum price.
    /// </summary>
    /// <param name="market">The market (tick size, collar, maximum price).</param>
    /// <param name="reference">The collar's current reference price in price units (0: unknown).</param>
    public static long BuyPrice(MarketDefinition market, long reference)
    {
        long tick = market.TickSize;
        long price;
        if (market.PriceCollarBasisPoints > 0 && reference > 0)
        {
            long offset = (long)((Int128)reference * market.PriceCollarBasisPoints / 10_000);
            long low = reference - offset;
            price = CeilToTick(low + offset / EdgeMarginDivisor, tick);
        }
        else if (reference > 0)
        {
            price = reference / 2 / tick * tick;
        }
        else
        {
            price = tick;
        }
        long max = market.MaxPrice / tick * tick;
        return Math.Clamp(price, tick, Math.Max(tick, max));
    }

    /// <summary>The probe's quantity: the market's minimum order quantity (at least one lot), in quantity units.</summary>
    public static long Quantity(MarketDefinition market) => Math.Max(market.MinQuantity, market.LotSize);

    private static long CeilToTick(long price, long tick) => (price + tick - 1) / tick * tick;
}
