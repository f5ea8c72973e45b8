namespace ExchangeHealth.Engine.Replay;

/// <summary>The order-flow file formats <c>exh replay</c> understands.</summary>
public enum OrderFlowFormat
{
    /// <summary>Detect from the content (see <see cref="OrderFlowSources.Detect"/>).</summary>
    Auto = 0,
    /// <summary>Bitfinex raw order book (<c>prec: R0</c>, order by order) as one JSON array of websocket messages.</summary>
    Bitfinex = 1,
    /// <summary>LOBSTER message file (CSV without header, 6 columns), optionally with its orderbook file beside it.</summary>
    Lobster = 2,
    /// <summary>Our canonical order-flow CSV (header row, one command per line; <c>docs/order-flow-csv.md</c>).</summary>
    Csv = 3,
}

/// <summary>A named, format-specific count reported by a source (e.g. <c>deferred</c>, <c>unknown_order_ids</c>).</summary>
/// <param name="Name">snake_case name, stable (used as a JSON key).</param>
/// <param name="Value">The count.</param>
/// <param name="Description">One line saying what is counted.</param>
public sealed record ReplayCounter(string Name, long Value, string Description);

/// <summary>
/// A stream of engine commands read from an order-flow file, one input record at a time.
/// </summary>
/// <remarks>
/// <para>
/// Sources stream: they hold one record (plus what a feed translation needs to remember, such as
/// the live orders), never the whole file. A record is one CSV line, one feed update or one
/// snapshot entry; it implies zero or more commands (a feed update may become a cancel plus a
/// new order, a heartbeat becomes nothing).
/// </para>
/// <para>
/// Feed translations (Bitfinex, LOBSTER) keep a model of the engine's book and assume every
/// command they emit is applied before the next record is read; the runner guarantees that.
/// </para>
/// </remarks>
public interface IOrderFlowSource : IDisposable
{
    /// <summary>The format being read.</summary>
    OrderFlowFormat Format { get; }

    /// <summary>The file, as named by the user (used in messages).</summary>
    string FileName { get; }

    /// <summary>The markets the commands refer to. The runner builds the engine from exactly these.</summary>
    IReadOnlyList<MarketDefinition> Markets { get; }

    /// <summary>Bytes of the file consumed so far (approximate: includes read-ahead), for progress.</summary>
    long BytesRead { get; }

    /// <summary>Size of the file in bytes (0 when unknown).</summary>
    long TotalBytes { get; }

    /// <summary>
    /// Number of the record whose commands <see cref="ReadNext"/> returned last: the 1-based line
    /// for line formats (the LOBSTER message number equals the orderbook row number), 0 for the
    /// book seed a LOBSTER replay starts with, the 1-based entry number (snapshot entries, then
    /// updates) for Bitfinex.
    /// </summary>
    long RecordNumber { get; }

    /// <summary>
    /// Reads the next record and replaces the content of <paramref name="batch"/> with the
    /// commands it implies (possibly none).
    /// </summary>
    /// <returns><see langword="false"/> at the end of the input (the batch is then empty).</returns>
    /// <exception cref="ReplayFormatException">The record is malformed; nothing of it was emitted.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    bool ReadNext(CommandBatch batch);

    /// <summary>Format-specific counts so far: what was translated how, skipped or unknown.</summary>
    IReadOnlyList<ReplayCounter> Counters { get; }
}
