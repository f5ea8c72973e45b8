using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Load.Client;
using ExchangeHealth.Telemetry;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>
/// The canary prober: per market, every <see cref="CanaryOptions.Interval"/>, places a post-only
/// limit buy far from the touch (<see cref="CanaryPricing"/>) through the engine's real order-entry
/// gateway (binary TCP, <see cref="OrderEntryClient"/>), waits for its acknowledgement, cancels it
/// and waits for the cancel's acknowledgement. A probe succeeds only when both acknowledgements
/// arrive within <see cref="CanaryOptions.Timeout"/> of the send. This is the synthetic
/// end-to-end check of the availability SLI (ARCHITECTURE.md, "Availability SLI": "plus the
/// canary's success"), as Google's SRE book calls black-box probing.
/// </summary>
/// <remarks>
/// <para>
/// Metrics, on the meter <see cref="MeterName"/> (export with <see cref="CreateTelemetry"/>):
/// <c>exh_probe_success{market}</c> (gauge, 1/0, the last probe; absent before a market's first
/// probe), <c>exh_probe_latency_seconds{market}</c> (histogram of successful probes' round trips,
/// buckets <see cref="LatencyBucketsSeconds"/>), <c>exh_probe_total{market,outcome}</c> (counter;
/// outcomes in <see cref="ProbeOutcomes"/>; <c>ok</c>, <c>timeout</c>, <c>disconnected</c> and
/// <c>executed</c> start at 0 for every market).
/// </para>
/// <para>
/// Sessions: one TCP session for all markets, opened on demand and reopened after the engine
/// restarts (the target is resolved again each time, see <see cref="CanaryTargets"/>); nothing the
/// engine does (refusing connections, dying mid-probe, stalling) ends the prober: it counts
/// <c>disconnected</c> or <c>timeout</c> and tries again next round. After a time-out the session is
/// checked with a heartbeat and dropped when the echo does not come back in time.
/// </para>
/// <para>
/// No order is left behind: a market whose probe did not end with a cancelled order (time-out,
/// lost session, rejected cancel, cancellation) is swept with a cancel-all of the canary's account
/// in that market before its next probe, every market is swept after each (re)connection, and
/// <see cref="DisposeAsync"/> sweeps before logging out. The canary's API key must be its own
/// account's (<see cref="Engine.Gateway.EngineCredentials.CanaryKeyName"/>): the sweeps cancel
/// every order of the account.
/// </para>
/// <para>
/// Client order ids are unique per account for its lifetime (docs/order-entry-protocol.md). The
/// canary numbers its requests from <c>max(seconds since 2025-01-01 × 1024, the engine's last
/// durable sequence at logon + 1)</c> upward, so a restarted canary does not reuse the ids of an
/// earlier run as long as it averaged fewer than 1,024 requests per second (about two per market
/// per interval); <see cref="CanaryOptions.ClOrdIdBase"/> overrides the clock-based start.
/// </para>
/// </remarks>
public sealed class CanaryProber : IAsyncDisposable
{
    /// <summary>Name of the canary's <see cref="Meter"/>.</summary>
    public const string MeterName = "ExchangeHealth.Canary";
    /// <summary>Instrument of <c>exh_probe_success</c>.</summary>
    public const string SuccessInstrument = "exh.probe.success";
    /// <summary>Instrument of <c>exh_probe_latency_seconds</c>.</summary>
    public const string LatencyInstrument = "exh.probe.latency";
    /// <summary>Instrument of <c>exh_probe_total</c>.</summary>
    public const string ProbesInstrument = "exh.probe";

    /// <summary>
    /// Bucket upper bounds (seconds) of <c>exh_probe_latency_seconds</c>: 0.5 ms .. 5 s. A probe is
    /// two journaled commands, each acknowledged after an fsync, so it takes milliseconds; the fine
    /// buckets are between 1 and 25 ms, and the default time-out (2 s) is a bound.
    /// </summary>
    public static IReadOnlyList<double> LatencyBucketsSeconds { get; } =
        [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];

    private static readonly DateTimeOffset _idEpoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly CanaryOptions _options;
    private readonly TimeProvider _time;
    private readonly Meter _meter;
    private readonly Histogram<double> _latency;
    private readonly Counter<long> _probes;
    private readonly int[] _lastSuccess; // per market index: -1 none yet, 0, 1
    private readonly bool[] _needsSweep; // per market index
    private readonly Dictionary<ushort, LiveMarket> _live = [];
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly Lock _idLock = new();
    private readonly ConcurrentDictionary<ulong, byte> _executed = new();
    private Session? _session;
    private ulong _nextClOrdId;
    private long _fills;
    private bool _marketDataFailing;
    private int _disposed;

    /// <summary>Creates the prober and its instruments; nothing connects before the first round.</summary>
    /// <param name="options">Markets, target, interval, time-out, clock, log.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message names the setting).</exception>
    public CanaryProber(CanaryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem) throw new ArgumentException(problem, nameof(options));
        _options = options;
        _time = options.TimeProvider;
        _lastSuccess = new int[options.Markets.Count];
        Array.Fill(_lastSuccess, -1);
        _needsSweep = new bool[options.Markets.Count];
        Array.Fill(_needsSweep, true);
        _http = new HttpClient { Timeout = options.Timeout };
        _nextClOrdId = options.ClOrdIdBase ?? ClockBasedClOrdIdBase(_time.GetUtcNow());

        _meter = new Meter(MeterName, "1.0");
        _meter.CreateObservableGauge(SuccessInstrument, ObserveSuccess, null,
            "1 when the market's last canary probe (post-only order placed and cancelled through the gateway) succeeded, else 0.");
        _latency = _meter.CreateHistogram<double>(LatencyInstrument, "s",
            "Canary probe round trip: order sent to the cancel's acknowledgement received (successful probes).");
        _probes = _meter.CreateCounter<long>(ProbesInstrument, "{probe}", "Canary probes by market and outcome (ok, timeout, disconnected, executed, rejected:<reason>).");
        foreach (var m in options.Markets)
            foreach (string outcome in ProbeOutcomes.Initial)
                _probes.Add(0, new("market", m.Symbol), new("outcome", outcome));
    }

    /// <summary>
    /// The explicit-bucket views of the canary's histograms, for <see cref="PrometheusTelemetry.Create"/>.
    /// </summary>
    public static IReadOnlyList<(string Instrument, IReadOnlyList<double> Buckets)> HistogramViews { get; } =
        [(LatencyInstrument, LatencyBucketsSeconds)];

    /// <summary>
    /// The canary process's metric pipeline: the canary's meter with its buckets, plus the .NET
    /// <c>System.Runtime</c> meter, as <c>exh engine</c> builds its own (EngineTelemetry).
    /// </summary>
    public static PrometheusTelemetry CreateTelemetry() =>
        PrometheusTelemetry.Create([MeterName], HistogramViews.Select(v => (v.Instrument, v.Buckets.ToArray())), includeRuntimeMetrics: true);

    /// <summary>Fills of canary orders seen so far (should stay 0: every one is also an <see cref="ProbeOutcomes.Executed"/> probe and a log line).</summary>
    public long ExecutedFills => Interlocked.Read(ref _fills);

    /// <summary>Whether a session is logged on now.</summary>
    public bool IsConnected => _session?.Client.IsConnected == true;

    /// <summary>The canary account (from <c>LogonAccepted</c> of the current or last session; 0 before the first logon).</summary>
    public long AccountId { get; private set; }

    /// <summary>
    /// Probes every <see cref="CanaryOptions.Interval"/> until <paramref name="cancellationToken"/> is
    /// cancelled; the first round starts at once. Never throws for engine failures (they are probe
    /// outcomes); returns normally when cancelled.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The prober was disposed.</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var timer = new PeriodicTimer(_options.Interval, _time);
        try
        {
            do
            {
                try
                {
                    await ProbeOnceAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException && e is not ObjectDisposedException)
                {
                    // A bug must not silence the canary: log it and try again next round.
                    _options.Log?.Invoke($"canary: probe round failed: {e.GetType().Name}: {e.Message}");
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One round: (re)connects when needed, reads the markets' live reference prices, sweeps markets
    /// that may hold a canary order, then probes every market concurrently and records the results.
    /// Rounds do not overlap (a call waits for the previous one).
    /// </summary>
    /// <returns>One result per market, in the order of <see cref="CanaryOptions.Markets"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the interrupted markets are swept next time).</exception>
    /// <exception cref="ObjectDisposedException">The prober was disposed.</exception>
    public async Task<IReadOnlyList<ProbeResult>> ProbeOnceAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _round.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var markets = _options.Markets;
            var results = new ProbeResult[markets.Count];
            var (session, problem) = await EnsureSessionAsync(cancellationToken).ConfigureAwait(false);
            if (session is null)
            {
                for (int i = 0; i < results.Length; i++)
                    results[i] = new ProbeResult(markets[i].Symbol, ProbeOutcomes.Disconnected, null, problem);
            }
            else
            {
                await RefreshMarketDataAsync(session, cancellationToken).ConfigureAwait(false);
                var tasks = new Task<ProbeResult>[markets.Count];
                for (int i = 0; i < tasks.Length; i++) tasks[i] = ProbeMarketAsync(session, i, cancellationToken);
                await Task.WhenAll(tasks).ConfigureAwait(false);
                for (int i = 0; i < tasks.Length; i++) results[i] = tasks[i].Result;
                if (Array.Exists(results, r => r.Outcome == ProbeOutcomes.Timeout))
                    await CheckSessionAsync(session, cancellationToken).ConfigureAwait(false);
            }
            for (int i = 0; i < results.Length; i++) Record(i, results[i]);
            return results;
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>
    /// Sweeps every market that may hold a canary order (bounded by the time-out), logs out and
    /// releases the meter. Does not wait for a <see cref="RunAsync"/> in progress: cancel it first.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _round.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_session is { } session)
            {
                if (session.Client.IsConnected)
                {
                    var sweeps = new List<Task>();
                    for (int i = 0; i < _options.Markets.Count; i++)
                        if (_needsSweep[i]) sweeps.Add(SweepAsync(session, i, CancellationToken.None));
                    await Task.WhenAll(sweeps).ConfigureAwait(false);
                    await session.Client.LogoutAsync(_options.Timeout).ConfigureAwait(false);
                }
                await session.Client.DisposeAsync().ConfigureAwait(false);
                _session = null;
            }
        }
        finally
        {
            _round.Release();
        }
        _meter.Dispose();
        _http.Dispose();
    }

    /// <summary>The clock-based first client order id: whole seconds since 2025-01-01 UTC × 1024 (at least 1; 2^40 is reached in 2059).</summary>
    internal static ulong ClockBasedClOrdIdBase(DateTimeOffset now)
    {
        double seconds = Math.Max(0, (now - _idEpoch).TotalSeconds);
        ulong id = (ulong)seconds * 1024 + 1;
        return id > OrderEntryProtocol.MaxClOrdId ? 1 : id;
    }

    // ------------------------------------------------------------------ one market

    private async Task<ProbeResult> ProbeMarketAsync(Session session, int index, CancellationToken cancellationToken)
    {
        var market = _options.Markets[index];
        if (_needsSweep[index]) await SweepAsync(session, index, cancellationToken).ConfigureAwait(false);

        long reference = _live.TryGetValue(market.Id, out var live) && live.ReferencePrice > 0 ? live.ReferencePrice : market.ReferencePrice;
        long price = CanaryPricing.BuyPrice(market, reference);
        long quantity = CanaryPricing.Quantity(market);
        ulong orderId = NextClOrdId(), cancelId = NextClOrdId();
        bool clean = false; // true once nothing of this probe can rest in the book
        try
        {
            long start = _time.GetTimestamp();
            var order = new NewOrderMessage(orderId, market.Id, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.PostOnly, price, quantity);
            var placed = await RequestAsync(session, orderId, c => c.SendNewOrder(order), start, cancellationToken).ConfigureAwait(false);
            if (placed.Outcome is { } failed)
            {
                // A session error refusing the request (rejected:invalid_field, ...) means nothing was submitted.
                clean = failed.StartsWith(ProbeOutcomes.RejectedPrefix, StringComparison.Ordinal);
                return Fail(market, failed, placed.Detail ?? $"new order at {market.FormatPrice(price)}");
            }
            if (placed.Report.Type == ReportType.Rejected)
            {
                clean = true;
                return Fail(market, ProbeOutcomes.Rejected(placed.Report.RejectReason.Name()),
                    $"post-only buy {market.FormatQuantity(quantity)} at {market.FormatPrice(price)} rejected");
            }

            var cancel = new CancelMessage(cancelId, market.Id, orderId);
            var cancelled = await RequestAsync(session, cancelId, c => c.SendCancel(cancel), start, cancellationToken).ConfigureAwait(false);
            bool executed = _executed.TryRemove(orderId, out _);
            if (cancelled.Outcome is { } cancelFailed)
                return Fail(market, executed ? ProbeOutcomes.Executed : cancelFailed, cancelled.Detail ?? "cancel");
            if (cancelled.Report.Type != ReportType.Cancelled)
            {
                string why = cancelled.Report.Type == ReportType.Rejected ? cancelled.Report.RejectReason.Name() : cancelled.Report.Type.ToString();
                return Fail(market, executed ? ProbeOutcomes.Executed : ProbeOutcomes.Rejected(why), $"cancel of order {orderId} answered {why}");
            }
            clean = true;
            if (executed)
                return Fail(market, ProbeOutcomes.Executed, $"order {orderId} at {market.FormatPrice(price)} traded before it was cancelled");
            return new ProbeResult(market.Symbol, ProbeOutcomes.Ok, _time.GetElapsedTime(start, cancelled.ReceivedTimestamp), null);
        }
        finally
        {
            _executed.TryRemove(orderId, out _);
            if (!clean) _needsSweep[index] = true;
        }
    }

    private static ProbeResult Fail(MarketDefinition market, string outcome, string detail) => new(market.Symbol, outcome, null, detail);

    /// <summary>Sends one request and waits for its answer until <paramref name="start"/> + time-out.</summary>
    private async Task<Answer> RequestAsync(Session session, ulong clOrdId, Action<OrderEntryClient> send, long start, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<Answer>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.Waiters[clOrdId] = waiter;
        try
        {
            send(session.Client);
        }
        catch (OrderEntryException e)
        {
            session.Waiters.TryRemove(clOrdId, out _);
            return Answer.Failed(ProbeOutcomes.Disconnected, e.Message);
        }
        catch (InvalidOperationException e)
        {
            session.Waiters.TryRemove(clOrdId, out _);
            return Answer.Failed(ProbeOutcomes.Disconnected, e.Message);
        }
        TimeSpan remaining = _options.Timeout - _time.GetElapsedTime(start);
        try
        {
            if (remaining <= TimeSpan.Zero) throw new TimeoutException();
            return await waiter.Task.WaitAsync(remaining, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            session.Waiters.TryRemove(clOrdId, out _);
            return Answer.Failed(ProbeOutcomes.Timeout, string.Create(CultureInfo.InvariantCulture,
                $"no acknowledgement of request {clOrdId} within {_options.Timeout.TotalMilliseconds:0} ms"));
        }
        catch (OperationCanceledException)
        {
            session.Waiters.TryRemove(clOrdId, out _);
            throw;
        }
    }

    /// <summary>Cancel-all of the canary account in one market; clears the market's sweep flag when acknowledged as done.</summary>
    private async Task SweepAsync(Session session, int index, CancellationToken cancellationToken)
    {
        var market = _options.Markets[index];
        ulong id = NextClOrdId();
        var answer = await RequestAsync(session, id, c => c.SendCancelAll(new CancelAllMessage(id, market.Id)), _time.GetTimestamp(), cancellationToken)
            .ConfigureAwait(false);
        if (answer.Outcome is null && answer.Report.Type == ReportType.CancelAllDone)
        {
            _needsSweep[index] = false;
            if (answer.Report.Quantity.Units > 0)
                _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"canary: {market.Symbol}: swept {answer.Report.Quantity.Units} canary order(s) left resting"));
        }
    }

    // ------------------------------------------------------------------ session

    private async Task<(Session? Session, string? Problem)> EnsureSessionAsync(CancellationToken cancellationToken)
    {
        if (_session is { } current)
        {
            if (current.Client.IsConnected) return (current, null);
            await current.Client.DisposeAsync().ConfigureAwait(false);
            _session = null;
        }
        CanaryTarget target;
        try
        {
            target = await _options.ResolveTarget(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, e.Message);
        }
        var client = new OrderEntryClient(new OrderEntryClientOptions
        {
            TimeProvider = _time,
            ConnectTimeout = _options.Timeout,
            LogonTimeout = _options.Timeout,
            SendBufferSize = 4096,
            ReceiveBufferSize = 16 * 1024,
            ExpectedOutstanding = 16,
        });
        var session = new Session(client, target);
        client.Acknowledged += session.OnAcknowledged;
        client.RequestFailed += session.OnRequestFailed;
        client.Disconnected += session.OnDisconnected;
        client.ReportReceived += OnReport;
        try
        {
            await client.ConnectAsync(target.OrderEntry, target.ApiKey, cancellationToken).ConfigureAwait(false);
        }
        catch (OrderEntryException e)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            return (null, e.Message);
        }
        catch (OperationCanceledException)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        AccountId = client.AccountId;
        ulong floor = (ulong)Math.Max(0, client.LastSequenceAtLogon) + 1;
        lock (_idLock)
        {
            if (_nextClOrdId < floor) _nextClOrdId = floor;
        }
        Array.Fill(_needsSweep, true); // orders of an earlier session (or canary process) may rest
        _session = session;
        _options.Log?.Invoke($"canary: connected to {target} as account {client.AccountId}");
        return (session, null);
    }

    /// <summary>After a time-out: a heartbeat echo proves the session alive (the gateway answers it without the matcher); otherwise drop it.</summary>
    private async Task CheckSessionAsync(Session session, CancellationToken cancellationToken)
    {
        var ping = session.Client.PingAsync(cancellationToken);
        try
        {
            await ping.WaitAsync(_options.Timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OrderEntryException or InvalidOperationException)
        {
            _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"canary: no heartbeat echo from {session.Target} within {_options.Timeout.TotalMilliseconds:0} ms; reconnecting"));
            await session.Client.DisposeAsync().ConfigureAwait(false);
            _ = ping.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    private async Task RefreshMarketDataAsync(Session session, CancellationToken cancellationToken)
    {
        if (session.Target.Http is not { } http) return;
        try
        {
            var live = await CanaryMarketData.FetchAsync(_http, http, session.Target.ApiKey, _options.Markets, cancellationToken).ConfigureAwait(false);
            foreach (var (id, market) in live) _live[id] = market;
            if (_marketDataFailing) _options.Log?.Invoke($"canary: market data from {http} available again");
            _marketDataFailing = false;
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException
                                   || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Probe with the last known (or configured) reference prices; a price outside the collar shows as a rejection.
            if (!_marketDataFailing) _options.Log?.Invoke($"canary: cannot read market data from {http}: {e.Message}");
            _marketDataFailing = true;
        }
    }

    private void OnReport(OrderEntryClient client, in ExecutionReport report, ulong clOrdId, ulong requestClOrdId, long receivedTimestamp)
    {
        if (report.Type != ReportType.Fill) return;
        Interlocked.Increment(ref _fills);
        _executed[clOrdId] = 0;
        _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"canary: WARNING: canary order {clOrdId} in market {report.MarketId} traded {report.Quantity.Units} units at {report.Price.Units} (trade {report.TradeId})"));
    }

    // ------------------------------------------------------------------ recording

    private void Record(int index, ProbeResult result)
    {
        var market = _options.Markets[index];
        Volatile.Write(ref _lastSuccess[index], result.Succeeded ? 1 : 0);
        _probes.Add(1, new("market", market.Symbol), new("outcome", result.Outcome));
        if (result is { Succeeded: true, Latency: { } latency })
            _latency.Record(latency.TotalSeconds, new KeyValuePair<string, object?>("market", market.Symbol));
        else
            _options.Log?.Invoke($"canary: {market.Symbol}: probe failed: {result.Outcome}" + (result.Detail is null ? "" : $" ({result.Detail})"));
    }

    private IEnumerable<Measurement<int>> ObserveSuccess()
    {
        var markets = _options.Markets;
        for (int i = 0; i < markets.Count; i++)
        {
            int value = Volatile.Read(ref _lastSuccess[i]);
            if (value >= 0) yield return new Measurement<int>(value, new KeyValuePair<string, object?>("market", markets[i].Symbol));
        }
    }

    private ulong NextClOrdId()
    {
        lock (_idLock)
        {
            ulong id = _nextClOrdId++;
            if (_nextClOrdId > OrderEntryProtocol.MaxClOrdId) _nextClOrdId = 1;
            return id;
        }
    }

    // ------------------------------------------------------------------ types

    /// <summary>The answer to one request: an acknowledgement, or a failure outcome.</summary>
    private readonly record struct Answer(ExecutionReport Report, long ReceivedTimestamp, string? Outcome, string? Detail)
    {
        public static Answer Failed(string outcome, string? detail) => new(default, 0, outcome, detail);
    }

    /// <summary>One logged-on session and the requests waiting for their answer on it.</summary>
    private sealed class Session(OrderEntryClient client, CanaryTarget target)
    {
        public OrderEntryClient Client { get; } = client;
        public CanaryTarget Target { get; } = target;
        public ConcurrentDictionary<ulong, TaskCompletionSource<Answer>> Waiters { get; } = new();

        public void OnAcknowledged(OrderEntryClient c, in OutstandingRequest request, in ExecutionReport acknowledgement, long receivedTimestamp)
        {
            if (Waiters.TryRemove(request.ClOrdId, out var waiter))
                waiter.TrySetResult(new Answer(acknowledgement, receivedTimestamp, null, null));
        }

        public void OnRequestFailed(OrderEntryClient c, in OutstandingRequest request, SessionErrorMessage error)
        {
            if (!Waiters.TryRemove(request.ClOrdId, out var waiter)) return;
            string detail = $"session error {error.Code.Name()}" + (error.Text.Length > 0 ? $": {error.Text}" : "");
            waiter.TrySetResult(error.Code == ProtocolErrorCode.ServerShuttingDown
                ? Answer.Failed(ProbeOutcomes.Disconnected, detail)
                : Answer.Failed(ProbeOutcomes.Rejected(error.Code.Name()), detail));
        }

        public void OnDisconnected(OrderEntryClient c, Exception? error)
        {
            string detail = "connection lost" + (error is null ? "" : ": " + error.Message);
            foreach (var id in Waiters.Keys)
                if (Waiters.TryRemove(id, out var waiter)) waiter.TrySetResult(Answer.Failed(ProbeOutcomes.Disconnected, detail));
        }
    }
}
