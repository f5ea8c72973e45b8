using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ExchangeHealth.Engine.Service;

/// <summary>
/// The engine's SLI instruments (the metric contract in ARCHITECTURE.md), on one
/// <see cref="Meter"/> named <see cref="MeterName"/>. Exposed in Prometheus format by the host
/// (dots become underscores, units become suffixes, counters get <c>_total</c>).
/// </summary>
/// <remarks>
/// <para>
/// Counters that move on the matcher thread (received, rejected, trades) are plain
/// <see cref="long"/> cells written by that one thread and published through observable
/// instruments, after Garnet's per-session counters: no lock, no interlocked operation and no
/// tag lookup per command. Counts made on gateway threads (overload) use interlocked adds.
/// </para>
/// <para>
/// Histograms (<c>exh_order_ack_latency_seconds</c>, <c>exh_match_latency_seconds</c>,
/// <c>exh_journal_fsync_latency_seconds</c>) record through <see cref="Histogram{T}"/> with
/// pre-built tag lists; their buckets are <see cref="LatencyBucketsSeconds"/>, which contain the
/// SLO thresholds (100 µs, 250 µs, 500 µs, 1 ms, 2.5 ms, 5 ms).
/// </para>
/// </remarks>
public sealed class EngineMetrics : IDisposable
{
    /// <summary>Name of the engine's meter.</summary>
    public const string MeterName = "ExchangeHealth.Engine";

    /// <summary>Instrument name of <c>exh_order_ack_latency_seconds</c>.</summary>
    public const string AckLatencyInstrument = "exh.order.ack_latency";
    /// <summary>Instrument name of <c>exh_match_latency_seconds</c>.</summary>
    public const string MatchLatencyInstrument = "exh.match.latency";
    /// <summary>Instrument name of <c>exh_journal_fsync_latency_seconds</c>.</summary>
    public const string FsyncLatencyInstrument = "exh.journal.fsync_latency";

    /// <summary>
    /// Bucket upper bounds (seconds) of every engine latency histogram: 25 µs .. 10 s, including
    /// the SLO thresholds 100 µs, 250 µs, 500 µs, 1 ms, 2.5 ms and 5 ms.
    /// </summary>
    public static IReadOnlyList<double> LatencyBucketsSeconds { get; } =
    [
        0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ];

    /// <summary>The histogram instruments and their bucket bounds, for the exporter's views.</summary>
    public static IReadOnlyList<(string Instrument, IReadOnlyList<double> Buckets)> HistogramViews { get; } =
    [
        (AckLatencyInstrument, LatencyBucketsSeconds),
        (MatchLatencyInstrument, LatencyBucketsSeconds),
        (FsyncLatencyInstrument, LatencyBucketsSeconds),
    ];

    private const int CommandTypes = 6;      // CommandType values 1..5
    private const int Categories = 6;        // RejectCategory values 0..5
    private static readonly string[] CommandTypeNames = ["none", "new_order", "cancel", "amend", "cancel_all", "set_market_state"];

    private readonly Meter _meter;
    private readonly IReadOnlyList<MarketDefinition> _markets;
    private readonly int[] _slotOfMarket = new int[MarketDefinition.MaxMarketId + 1];
    private readonly KeyValuePair<string, object?>[][] _marketTag;
    private readonly long[] _received;       // [slot * CommandTypes + type], matcher thread
    private readonly long[] _rejected;       // [slot * Categories + category], matcher thread
    private readonly long[] _rejectedShared; // [slot * Categories + category], any thread (interlocked)
    private readonly long[] _trades;         // [slot], matcher thread
    private readonly Histogram<double> _ackLatency;
    private readonly Histogram<double> _matchLatency;
    private readonly Histogram<double> _fsyncLatency;
    private long _authFailures;
    private long _sessions;

    /// <summary>Creates the instruments for <paramref name="markets"/>; <paramref name="source"/> supplies the observable gauges.</summary>
    internal EngineMetrics(IReadOnlyList<MarketDefinition> markets, IEngineGaugeSource source)
    {
        _markets = markets;
        _meter = new Meter(MeterName, "1.0");
        _marketTag = new KeyValuePair<string, object?>[markets.Count][];
        for (int i = 0; i < markets.Count; i++)
        {
            _slotOfMarket[markets[i].Id] = i + 1;
            _marketTag[i] = [new("market", markets[i].Symbol)];
        }
        int slots = markets.Count + 1; // slot 0: unknown market
        _received = new long[slots * CommandTypes];
        _rejected = new long[slots * Categories];
        _rejectedShared = new long[slots * Categories];
        _trades = new long[slots];

        _meter.CreateObservableCounter("exh.orders.received", ObserveReceived, "{command}", "Commands accepted for processing (journaled), by market and command type.");
        _meter.CreateObservableCounter("exh.orders.rejected", ObserveRejected, "{command}", "Commands rejected, by market and reason category (validation, risk, state, overload, internal).");
        _meter.CreateObservableCounter("exh.trades", ObserveTrades, "{trade}", "Executions, by market.");
        _ackLatency = _meter.CreateHistogram<double>(AckLatencyInstrument, "s", "Gateway receipt of a command to its acknowledgement written to the client (the main latency SLI).");
        _matchLatency = _meter.CreateHistogram<double>(MatchLatencyInstrument, "s", "Time inside the matcher for one command (sampled: see MatchLatencySampleEvery).");
        _fsyncLatency = _meter.CreateHistogram<double>(FsyncLatencyInstrument, "s", "One durable flush (group commit) of the journal.");
        _meter.CreateObservableGauge("exh.inbound.queue_depth", () => source.QueueDepth, "{command}", "Commands waiting for the matcher.");
        _meter.CreateObservableGauge("exh.engine.heartbeat_timestamp", () => source.HeartbeatUnixSeconds, "s", "Last time the matcher loop ran, Unix seconds (liveness).");
        _meter.CreateObservableGauge("exh.market.state", () => ObserveMarketStates(source), "{state}", "1 for each market's current state, 0 for the other states.");
        _meter.CreateObservableGauge("exh.journal.sequence", () => source.DurableSequence, "{command}", "Last durable journal sequence number.");
        _meter.CreateObservableGauge("exh.fault.active", () => ObserveFaults(source), "{fault}", "1 while a fault-injection hook is active.");
        _meter.CreateObservableGauge("exh.engine.ready", () => source.IsReady ? 1 : 0, "{state}", "1 when recovered and accepting commands.");
        _meter.CreateObservableCounter("exh.gateway.auth_failures", () => Volatile.Read(ref _authFailures), "{request}", "Logons and API calls refused for a wrong API key or admin token.");
        _meter.CreateObservableGauge("exh.gateway.sessions", () => Volatile.Read(ref _sessions), "{session}", "Open order-entry TCP sessions.");
    }

    /// <summary>The meter (for tests and listeners).</summary>
    public Meter Meter => _meter;

    /// <summary>
    /// Records one acknowledgement's latency: from <paramref name="receivedTimestamp"/>
    /// (<see cref="Stopwatch.GetTimestamp"/> at gateway receipt) to now. Call after the report is
    /// written to the client. Thread-safe.
    /// </summary>
    public void RecordAckLatency(ushort marketId, long receivedTimestamp)
    {
        if (receivedTimestamp == 0) return;
        double seconds = Stopwatch.GetElapsedTime(receivedTimestamp).TotalSeconds;
        _ackLatency.Record(seconds, TagOf(marketId));
    }

    /// <summary>Counts a logon or API call refused for a wrong key or token. Thread-safe.</summary>
    public void CountAuthFailure() => Interlocked.Increment(ref _authFailures);

    /// <summary>Counts an order-entry session opened (+1) or closed (-1). Thread-safe.</summary>
    public void AddSessions(int delta) => Interlocked.Add(ref _sessions, delta);

    /// <summary>Refused logons and API calls so far.</summary>
    public long AuthFailures => Volatile.Read(ref _authFailures);

    // Market ids and command types come from clients: out-of-range ones count under slot/type 0
    // (the matcher rejects them), never index past the arrays.
    internal void CountReceived(ushort marketId, CommandType type) =>
        _received[Slot(marketId) * CommandTypes + ((uint)type < CommandTypes ? (int)type : 0)]++;

    internal void CountRejected(ushort marketId, RejectReason reason) => _rejected[Slot(marketId) * Categories + (int)reason.Category()]++;

    internal void CountRejectedShared(ushort marketId, RejectReason reason) =>
        Interlocked.Increment(ref _rejectedShared[Slot(marketId) * Categories + (int)reason.Category()]);

    internal void CountTrade(ushort marketId) => _trades[Slot(marketId)]++;

    internal void RecordMatchLatency(ushort marketId, long elapsedTicks) =>
        _matchLatency.Record(elapsedTicks / (double)Stopwatch.Frequency, TagOf(marketId));

    internal void RecordFsyncLatency(TimeSpan elapsed) => _fsyncLatency.Record(elapsed.TotalSeconds);

    /// <summary>Rejected commands so far by reason category, all markets (for tests and summaries).</summary>
    public long RejectedTotal(RejectCategory category)
    {
        long n = 0;
        for (int s = 0; s <= _markets.Count; s++)
            n += Volatile.Read(ref _rejected[s * Categories + (int)category]) + Volatile.Read(ref _rejectedShared[s * Categories + (int)category]);
        return n;
    }

    /// <summary>Commands accepted for processing so far, all markets and types.</summary>
    public long ReceivedTotal
    {
        get
        {
            long n = 0;
            foreach (var v in _received) n += v;
            return n;
        }
    }

    private int Slot(ushort marketId) => marketId <= MarketDefinition.MaxMarketId ? _slotOfMarket[marketId] : 0;

    private ReadOnlySpan<KeyValuePair<string, object?>> TagOf(ushort marketId)
    {
        int slot = Slot(marketId);
        return slot == 0 ? UnknownMarketTag : _marketTag[slot - 1];
    }

    private static readonly KeyValuePair<string, object?>[] UnknownMarketTag = [new("market", "unknown")];

    private string SymbolOfSlot(int slot) => slot == 0 ? "unknown" : _markets[slot - 1].Symbol;

    private IEnumerable<Measurement<long>> ObserveReceived()
    {
        for (int s = 0; s <= _markets.Count; s++)
            for (int t = 1; t < CommandTypes; t++)
            {
                long v = Volatile.Read(ref _received[s * CommandTypes + t]);
                if (v == 0 && s == 0) continue;
                yield return new Measurement<long>(v, new("market", SymbolOfSlot(s)), new("type", CommandTypeNames[t]));
            }
    }

    private IEnumerable<Measurement<long>> ObserveRejected()
    {
        for (int s = 0; s <= _markets.Count; s++)
            for (int c = 1; c < Categories; c++)
            {
                long v = Volatile.Read(ref _rejected[s * Categories + c]) + Volatile.Read(ref _rejectedShared[s * Categories + c]);
                if (v == 0 && s == 0) continue;
                yield return new Measurement<long>(v, new("market", SymbolOfSlot(s)), new("reason", ((RejectCategory)c).Name()));
            }
    }

    private IEnumerable<Measurement<long>> ObserveTrades()
    {
        for (int s = 1; s <= _markets.Count; s++)
            yield return new Measurement<long>(Volatile.Read(ref _trades[s]), new KeyValuePair<string, object?>("market", SymbolOfSlot(s)));
    }

    private IEnumerable<Measurement<int>> ObserveMarketStates(IEngineGaugeSource source)
    {
        foreach (var m in _markets)
        {
            var current = source.MarketStateOf(m.Id);
            foreach (var state in Reasons.AllMarketStates)
                yield return new Measurement<int>(state == current ? 1 : 0, new("market", m.Symbol), new("state", state.Name()));
        }
    }

    private static IEnumerable<Measurement<int>> ObserveFaults(IEngineGaugeSource source)
    {
        foreach (var kind in EngineFaults.All)
            yield return new Measurement<int>(source.IsFaultActive(kind) ? 1 : 0, new KeyValuePair<string, object?>("fault", EngineFaults.NameOf(kind)));
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}

/// <summary>What the engine's observable gauges read. Implemented by <see cref="EngineService"/>.</summary>
internal interface IEngineGaugeSource
{
    long QueueDepth { get; }
    double HeartbeatUnixSeconds { get; }
    long DurableSequence { get; }
    bool IsReady { get; }
    MarketState MarketStateOf(ushort marketId);
    bool IsFaultActive(FaultKind kind);
}
