namespace ExchangeHealth.Engine.Replay;

/// <summary>
/// Order ids and accounts that feed translations invent. Feed orders keep their venue order id and
/// get one account each (account = order id), so self-trade prevention never fires between two
/// feed orders; invented orders and accounts live above <see cref="MaxFeedOrderId"/>.
/// </summary>
public static class ReplayIds
{
    /// <summary>Largest venue order id a feed may use (ids above it are reserved for invented orders).</summary>
    public const long MaxFeedOrderId = 8_999_999_999_999_999_999;

    /// <summary>Invented order ids are this plus 1, 2, 3, ... (synthetic IOC takers, LOBSTER seed orders).</summary>
    public const long SyntheticOrderIdBase = 9_000_000_000_000_000_000;

    /// <summary>The account of every synthetic marketable (IOC) order that turns a feed fill into a trade.</summary>
    public const long TakerAccount = 9_000_000_000_000_000_001;

    /// <summary>The account of the LOBSTER seed orders (one per price level of the book before the first message).</summary>
    public const long SeedAccount = 9_000_000_000_000_000_002;
}
