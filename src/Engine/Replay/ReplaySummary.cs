namespace ExchangeHealth.Engine.Replay;

/// <summary>The best bid and ask of one market after a replay, as decimal text in the market's units.</summary>
/// <param name="Symbol">Market symbol.</param>
/// <param name="State">Market state name (<c>online</c>, <c>halted</c>, ...).</param>
/// <param name="BidPrice">Best bid price, or null when there is no bid.</param>
/// <param name="BidQuantity">Open quantity at the best bid, or null.</param>
/// <param name="AskPrice">Best ask price, or null when there is no ask.</param>
/// <param name="AskQuantity">Open quantity at the best ask, or null.</param>
/// <param name="Orders">Resting orders.</param>
/// <param name="BidLevels">Bid price levels.</param>
/// <param name="AskLevels">Ask price levels.</param>
public sealed record TopOfBook(string Symbol, string State, string? BidPrice, string? BidQuantity, string? AskPrice, string? AskQuantity,
    int Orders, int BidLevels, int AskLevels);

/// <summary>What a replay did: counts, final books, state hash and throughput.</summary>
public sealed record ReplaySummary
{
    /// <summary>The replayed file.</summary>
    public required string File { get; init; }

    /// <summary>Its format.</summary>
    public required OrderFlowFormat Format { get; init; }

    /// <summary>Input records read (lines, feed updates, snapshot entries; the LOBSTER seed counts as one).</summary>
    public long Records { get; init; }

    /// <summary>Commands given to the engine.</summary>
    public long Commands { get; init; }

    /// <summary>Commands not rejected.</summary>
    public long Accepted => Commands - Rejected;

    /// <summary>Commands rejected (one <c>Rejected</c> report each).</summary>
    public long Rejected { get; init; }

    /// <summary>Rejects by reason name (e.g. <c>unknown_order</c>), most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> RejectsByReason { get; init; } = [];

    /// <summary>Trades (each trade is a taker fill plus a maker fill).</summary>
    public long Trades { get; init; }

    /// <summary><c>Cancelled</c> reports by reason (<c>requested</c>, <c>cancel_all</c>, <c>self_trade_prevention</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Cancels { get; init; } = [];

    /// <summary><c>Expired</c> reports by reason (<c>immediate_or_cancel</c>, <c>fill_or_kill</c>, <c>no_liquidity</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Expiries { get; init; } = [];

    /// <summary>Amends that took effect.</summary>
    public long Amends { get; init; }

    /// <summary>Final best bid/ask per market, by market id.</summary>
    public IReadOnlyList<TopOfBook> TopOfBook { get; init; } = [];

    /// <summary>The engine's state hash after the replay (<see cref="MatchingEngine.ComputeStateHash"/>).</summary>
    public required string StateHash { get; init; }

    /// <summary>Commands the engine reported as internal errors (bugs); 0 in a healthy engine.</summary>
    public long InternalErrors { get; init; }

    /// <summary>Wall time of the replay, reading and translating included.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>
    /// Time spent inside <see cref="MatchingEngine.Process"/>, read around every command, so it
    /// includes one clock read (about 30 ns here) per command; <c>exh bench</c> measures the matcher
    /// without that.
    /// </summary>
    public TimeSpan EngineTime { get; init; }

    /// <summary>Commands per second of wall time (end to end).</summary>
    public double CommandsPerSecond => Elapsed > TimeSpan.Zero ? Commands / Elapsed.TotalSeconds : 0;

    /// <summary>Commands per second of <see cref="EngineTime"/>.</summary>
    public double EngineCommandsPerSecond => EngineTime > TimeSpan.Zero ? Commands / EngineTime.TotalSeconds : 0;

    /// <summary>The source's format-specific counters.</summary>
    public IReadOnlyList<ReplayCounter> Counters { get; init; } = [];

    /// <summary>The malformed record that stopped the replay, or null when the whole file was replayed.</summary>
    public ReplayFormatException? Error { get; init; }

    /// <summary>Whether the replay was cancelled before the end.</summary>
    public bool Cancelled { get; init; }

    /// <summary>The value of counter <paramref name="name"/>, or 0.</summary>
    public long Counter(string name)
    {
        foreach (var c in Counters)
        {
            if (c.Name == name) return c.Value;
        }
        return 0;
    }

    /// <summary>Builds the summary from a finished replay.</summary>
    internal static ReplaySummary Create(IOrderFlowSource source, MatchingEngine engine, CountingReportSink counts,
        long records, long commands, TimeSpan elapsed, TimeSpan engineTime, ReplayFormatException? error, bool cancelled)
    {
        var rejects = new List<KeyValuePair<string, long>>();
        foreach (var (reason, count) in counts.Rejects) rejects.Add(new(reason.Name(), count));
        var cancels = new List<KeyValuePair<string, long>>();
        var expiries = new List<KeyValuePair<string, long>>();
        foreach (var reason in (ReadOnlySpan<CancelReason>)[CancelReason.Requested, CancelReason.CancelAll, CancelReason.SelfTradePrevention])
        {
            if (counts.Count(reason) > 0) cancels.Add(new(reason.Name(), counts.Count(reason)));
        }
        foreach (var reason in (ReadOnlySpan<CancelReason>)[CancelReason.ImmediateOrCancel, CancelReason.FillOrKill, CancelReason.NoLiquidity])
        {
            if (counts.Count(reason) > 0) expiries.Add(new(reason.Name(), counts.Count(reason)));
        }
        var tops = new List<TopOfBook>();
        foreach (var book in engine.Books)
        {
            var m = book.Market;
            bool hasBid = book.TryGetBest(Side.Buy, out var bid);
            bool hasAsk = book.TryGetBest(Side.Sell, out var ask);
            tops.Add(new TopOfBook(m.Symbol, book.State.Name(),
                hasBid ? m.FormatPrice(bid.Price.Units) : null, hasBid ? m.FormatQuantity(bid.Quantity.Units) : null,
                hasAsk ? m.FormatPrice(ask.Price.Units) : null, hasAsk ? m.FormatQuantity(ask.Quantity.Units) : null,
                book.OrderCount, book.BidLevelCount, book.AskLevelCount));
        }
        return new ReplaySummary
        {
            File = source.FileName,
            Format = source.Format,
            Records = records,
            Commands = commands,
            Rejected = counts.Count(ReportType.Rejected),
            RejectsByReason = rejects,
            Trades = counts.Trades,
            Cancels = cancels,
            Expiries = expiries,
            Amends = counts.Count(ReportType.Amended),
            TopOfBook = tops,
            StateHash = engine.ComputeStateHash(),
            InternalErrors = engine.InternalErrors,
            Elapsed = elapsed,
            EngineTime = engineTime,
            Counters = source.Counters,
            Error = error,
            Cancelled = cancelled,
        };
    }
}
