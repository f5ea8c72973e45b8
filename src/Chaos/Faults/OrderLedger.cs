using System.Collections.Concurrent;
using System.Net;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Load.Client;

namespace ExchangeHealth.Chaos.Faults;

/// <summary>What the engine answered to one new order of an <see cref="OrderLedger"/>.</summary>
public enum LedgerOutcome
{
    /// <summary>Sent; no answer yet (it is resent after a reconnect).</summary>
    Pending,

    /// <summary>Acknowledged (accepted, or filled at once): the engine journaled it at <see cref="LedgerOrder.Sequence"/> before answering.</summary>
    Accepted,

    /// <summary>A resend answered <c>duplicate_client_order_id</c> (or <c>duplicate_order_id</c>): the engine had journaled the original (its acknowledgement was lost with the old session).</summary>
    AcceptedBefore,

    /// <summary>Rejected (<see cref="LedgerOrder.Reason"/> says why; sequence 0 when it was refused before the journal, e.g. <c>internal</c> on a full disk).</summary>
    Rejected,

    /// <summary>No answer by the time the ledger stopped.</summary>
    Unanswered,
}

/// <summary>One new order the ledger sent and what became of it.</summary>
/// <param name="ClOrdId">The client order id (unique per account; the ledger never reuses one).</param>
/// <param name="AccountId">The account of the session that sent it (0 if it never got an answer and the session never logged on).</param>
/// <param name="Session">The ledger's session index (0-based) that sent it.</param>
/// <param name="MarketId">The market.</param>
/// <param name="Side">Buy or sell.</param>
/// <param name="Price">Limit price, market units.</param>
/// <param name="Quantity">Quantity, market units.</param>
/// <param name="SentAt">When it was first sent.</param>
/// <param name="Outcome">What the engine answered.</param>
/// <param name="Sequence">The journal sequence of its acknowledgement (0 when unknown or not journaled).</param>
/// <param name="Reason">The reject reason (<c>internal</c>, <c>overload</c>, ...) or session error name; null when not rejected.</param>
/// <param name="Sends">How many times it was sent (1 + resends after reconnects).</param>
public sealed record LedgerOrder(ulong ClOrdId, long AccountId, int Session, ushort MarketId, Side Side, long Price, long Quantity,
    DateTimeOffset SentAt, LedgerOutcome Outcome, long Sequence, string? Reason, int Sends)
{
    /// <summary>The engine's order id, <c>account &lt;&lt; 40 | cl_ord_id</c> (docs/order-entry-protocol.md).</summary>
    public long OrderId => (AccountId << 40) | (long)ClOrdId;

    /// <summary>True when the engine said it has the order durably (<see cref="LedgerOutcome.Accepted"/> or <see cref="LedgerOutcome.AcceptedBefore"/>).</summary>
    public bool IsAcknowledged => Outcome is LedgerOutcome.Accepted or LedgerOutcome.AcceptedBefore;
}

/// <summary>The ledger's counts.</summary>
/// <param name="Sent">Distinct new orders sent.</param>
/// <param name="Acknowledged">Orders the engine acknowledged as journaled (accepted, plus resends answered as duplicates of a journaled original).</param>
/// <param name="AcceptedBefore">Of <paramref name="Acknowledged"/>: resends answered <c>duplicate_client_order_id</c> (the original was journaled, its acknowledgement lost with the old session).</param>
/// <param name="Rejected">Orders rejected.</param>
/// <param name="RejectedByReason">Rejections by reason name (<c>internal</c>, <c>overload</c>, ...).</param>
/// <param name="Pending">Orders without an answer yet (while running) or never answered (after stop).</param>
/// <param name="Resends">Resends of unanswered orders after reconnects.</param>
/// <param name="Connects">Successful logons (the first ones plus reconnects).</param>
/// <param name="ConnectFailures">Failed connection or logon attempts.</param>
public sealed record OrderLedgerCounts(long Sent, long Acknowledged, long AcceptedBefore, long Rejected, IReadOnlyDictionary<string, long> RejectedByReason,
    long Pending, long Resends, long Connects, long ConnectFailures);

/// <summary>Settings of an <see cref="OrderLedger"/>.</summary>
public sealed record OrderLedgerOptions
{
    /// <summary>Where to connect, asked before every (re)connect (the engine may come back on another port); null = not reachable now.</summary>
    public required Func<EndPoint?> Endpoint { get; init; }

    /// <summary>The API keys, one per session (1 or 2 sessions, each its own account).</summary>
    public required IReadOnlyList<string> ApiKeys { get; init; }

    /// <summary>The markets to trade (reference price, tick and lot sizes); orders rotate over them.</summary>
    public required IReadOnlyList<MarketDefinition> Markets { get; init; }

    /// <summary>New orders per second, over all sessions (default 50, at most 5000).</summary>
    public double OrdersPerSecond { get; init; } = 50;

    /// <summary>
    /// The first client order id (ids then count up by one). Default: milliseconds since
    /// 2025-01-01 UTC, so a later ledger on the same accounts never reuses an id while each sends
    /// fewer than 1000 orders per second.
    /// </summary>
    public ulong? FirstClOrdId { get; init; }

    /// <summary>At most this many unanswered orders per session; sending pauses above it (default 2000).</summary>
    public int MaxOutstanding { get; init; } = 2000;

    /// <summary>First reconnect delay (default 50 ms); it doubles per failed attempt up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest reconnect delay (default 1 s).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Seed of the order generator (prices, sizes).</summary>
    public int Seed { get; init; } = 20261121;

    /// <summary>The clock (null: the system clock).</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// Options for the engine whose data directory is <paramref name="dataDirectory"/>: the endpoint
    /// from its <c>engine.json</c> (re-read on every reconnect), the first <paramref name="sessions"/>
    /// trader keys of its <c>credentials.yaml</c> (not the canary's), and the markets of its <c>markets.yaml</c>
    /// (only <paramref name="marketIds"/> when given).
    /// </summary>
    /// <exception cref="IOException">The credentials or markets file is missing or unreadable.</exception>
    /// <exception cref="ArgumentException">Fewer trader keys than sessions, or an unknown market id.</exception>
    public static OrderLedgerOptions ForEngine(string dataDirectory, int sessions = 2, double ordersPerSecond = 50, IReadOnlyList<ushort>? marketIds = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sessions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sessions, 2);
        var credentials = EngineCredentials.Load(Path.Combine(dataDirectory, EngineCredentials.FileName));
        var keys = credentials.ApiKeys.Where(k => k.Name != EngineCredentials.CanaryKeyName).Take(sessions).Select(k => k.Key).ToArray();
        if (keys.Length < sessions) throw new ArgumentException($"{EngineCredentials.FileName} has {keys.Length} trader keys; {sessions} sessions need {sessions}", nameof(sessions));
        var markets = EngineDataDirectory.LoadMarkets(dataDirectory)
            ?? throw new IOException($"{EngineDataDirectory.MarketsPath(dataDirectory)} is missing: start the engine on this directory first");
        IReadOnlyList<MarketDefinition> chosen = markets;
        if (marketIds is not null)
        {
            chosen = [.. marketIds.Select(id => markets.FirstOrDefault(m => m.Id == id) ?? throw new ArgumentException($"market {id} is not in {EngineDataDirectory.MarketsFileName}", nameof(marketIds)))];
        }
        return new OrderLedgerOptions
        {
            Endpoint = () => EngineEndpoints.TryRead(dataDirectory, out var e, out _) ? e!.Tcp : null,
            ApiKeys = keys,
            Markets = chosen,
            OrdersPerSecond = ordersPerSecond,
        };
    }

    internal string? Validate()
    {
        if (ApiKeys is not { Count: 1 or 2 }) return "api_keys: one or two (one per session)";
        if (Markets is not { Count: > 0 }) return "markets: at least one";
        if (Markets.Any(m => m.ReferencePrice <= 0)) return "markets: each needs a reference price";
        if (double.IsNaN(OrdersPerSecond) || OrdersPerSecond <= 0 || OrdersPerSecond > 5000) return "orders_per_second: must be in (0, 5000]";
        if (FirstClOrdId is 0 or > OrderEntryProtocol.MaxClOrdId) return "first_cl_ord_id: must be 1 .. 2^40-1";
        if (MaxOutstanding < 1) return "max_outstanding: must be ≥ 1";
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff) return "backoff: 0 < initial ≤ max";
        return null;
    }
}

/// <summary>
/// Recorded order flow for loss checks: sends limit GTC new orders at a fixed rate over one or two
/// TCP sessions (<see cref="OrderEntryClient"/>), alternating sides within a few ticks of each
/// market's reference price (so some trade), and records every client order id it sent with the
/// engine's answer. It survives the engine dying: each session reconnects with exponential backoff
/// until stopped and resends the orders it has no answer for (a resend of an order the engine has
/// journaled is answered <c>duplicate_client_order_id</c> and not executed twice, as
/// docs/order-entry-protocol.md promises). <see cref="LossChecks"/> compares it with the journal.
/// </summary>
public sealed class OrderLedger : IAsyncDisposable
{
    private static readonly DateTimeOffset IdEpoch = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly OrderLedgerOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<ulong, Entry> _orders = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _sessions;
    private long _nextClOrdId;
    private long _resends, _connects, _connectFailures;
    private int _stopped;

    private OrderLedger(OrderLedgerOptions options)
    {
        _options = options;
        _time = options.TimeProvider ?? TimeProvider.System;
        ulong first = options.FirstClOrdId ?? (ulong)Math.Max(1, (long)(_time.GetUtcNow() - IdEpoch).TotalMilliseconds);
        _nextClOrdId = (long)first - 1;
        _sessions = new Task[options.ApiKeys.Count];
        for (int i = 0; i < _sessions.Length; i++)
        {
            int session = i;
            _sessions[i] = Task.Run(() => RunSessionAsync(session));
        }
    }

    /// <summary>Starts sending (sessions connect in the background and keep retrying until <see cref="StopAsync"/>).</summary>
    /// <exception cref="ArgumentException">The options are invalid (the message names the field).</exception>
    public static OrderLedger Start(OrderLedgerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem) throw new ArgumentException(problem, nameof(options));
        return new OrderLedger(options);
    }

    /// <summary>The last connection or session error (for reports); null when none.</summary>
    public string? LastError { get; private set; }

    /// <summary>True while at least one session is logged on.</summary>
    public bool IsConnected => _connected > 0;

    private int _connected;

    /// <summary>The counts now.</summary>
    public OrderLedgerCounts Counts
    {
        get
        {
            long sent = 0, acked = 0, before = 0, rejected = 0, pending = 0;
            var reasons = new SortedDictionary<string, long>(StringComparer.Ordinal);
            foreach (var entry in _orders.Values)
            {
                var o = entry.Snapshot();
                sent++;
                if (o.IsAcknowledged)
                {
                    acked++;
                    if (o.Outcome == LedgerOutcome.AcceptedBefore) before++;
                }
                else if (o.Outcome == LedgerOutcome.Rejected)
                {
                    rejected++;
                    string reason = o.Reason ?? "unknown";
                    reasons[reason] = reasons.GetValueOrDefault(reason) + 1;
                }
                else pending++;
            }
            return new OrderLedgerCounts(sent, acked, before, rejected, reasons, pending, Interlocked.Read(ref _resends),
                Interlocked.Read(ref _connects), Interlocked.Read(ref _connectFailures));
        }
    }

    /// <summary>Every order sent so far, by client order id.</summary>
    public IReadOnlyList<LedgerOrder> Orders => [.. _orders.Values.Select(e => e.Snapshot()).OrderBy(o => o.ClOrdId)];

    /// <summary>Waits until at least <paramref name="count"/> orders are acknowledged, or <paramref name="timeout"/> passes.</summary>
    /// <returns>True when the count was reached.</returns>
    public async Task<bool> WaitForAcknowledgedAsync(long count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = _time.GetTimestamp();
        while (Counts.Acknowledged < count)
        {
            if (_time.GetElapsedTime(deadline) >= timeout) return false;
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>
    /// Stops sending, waits up to <paramref name="drain"/> (default 3 s) for the answers to the
    /// orders in flight, then closes the sessions; orders still without an answer become
    /// <see cref="LedgerOutcome.Unanswered"/>. Idempotent.
    /// </summary>
    public async Task StopAsync(TimeSpan? drain = null)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            await Task.WhenAll(_sessions).ConfigureAwait(false);
            return;
        }
        _draining = true;
        long start = _time.GetTimestamp();
        var limit = drain ?? TimeSpan.FromSeconds(3);
        while (_orders.Values.Any(e => e.Outcome == LedgerOutcome.Pending) && _time.GetElapsedTime(start) < limit && IsConnected)
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_sessions).ConfigureAwait(false);
        foreach (var entry in _orders.Values) entry.MarkUnanswered();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _stop.Dispose();
    }

    private volatile bool _draining;

    private async Task RunSessionAsync(int session)
    {
        var token = _stop.Token;
        var random = new Random(_options.Seed + session);
        var backoff = _options.InitialBackoff;
        OutstandingRequest[] unanswered = [];
        double perSecond = _options.OrdersPerSecond / _options.ApiKeys.Count;
        int orderIndex = session;
        while (!token.IsCancellationRequested)
        {
            var client = new OrderEntryClient(new OrderEntryClientOptions { TimeProvider = _time, ConnectTimeout = TimeSpan.FromSeconds(2), LogonTimeout = TimeSpan.FromSeconds(3) });
            client.Acknowledged += OnAcknowledged;
            client.RequestFailed += OnRequestFailed;
            try
            {
                var endpoint = _options.Endpoint() ?? throw new OrderEntryException("the engine's endpoint is not known (not running?)");
                await client.ConnectAsync(endpoint, _options.ApiKeys[session], token).ConfigureAwait(false);
                Interlocked.Increment(ref _connects);
                Interlocked.Increment(ref _connected);
                backoff = _options.InitialBackoff;
                try
                {
                    // Resend what the previous session had no answer for (idempotent by client order id).
                    foreach (var request in unanswered)
                    {
                        if (_orders.TryGetValue(request.ClOrdId, out var e)) e.Resent(client.AccountId); // before its answer can arrive
                        client.EnqueueResend(request);
                        Interlocked.Increment(ref _resends);
                    }
                    if (unanswered.Length > 0) client.Flush();
                    unanswered = [];
                    await SendLoopAsync(client, session, perSecond, random, () => orderIndex++, token).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _connected);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { }
            catch (Exception e) when (e is OrderEntryException or InvalidOperationException or IOException or System.Net.Sockets.SocketException)
            {
                LastError = $"session {session}: {e.Message}";
                if (client.State != OrderEntryClientState.Closed || client.AccountId == 0) Interlocked.Increment(ref _connectFailures);
            }
            // Keep what neither this session nor an earlier one got an answer for (deduplicated: a
            // session that failed while resending holds part of the list already).
            var left = client.GetOutstandingRequests();
            if (left.Length > 0) unanswered = [.. unanswered.Concat(left).DistinctBy(r => r.ClOrdId)];
            if (token.IsCancellationRequested) await client.LogoutAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
            if (token.IsCancellationRequested) break;
            try { await Task.Delay(backoff, _time, token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            backoff = TimeSpan.FromTicks(Math.Min(_options.MaxBackoff.Ticks, backoff.Ticks * 2));
        }
    }

    private async Task SendLoopAsync(OrderEntryClient client, int session, double perSecond, Random random, Func<int> nextIndex, CancellationToken token)
    {
        long start = _time.GetTimestamp();
        long sentHere = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5), _time);
        while (client.IsConnected && await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
        {
            if (_draining) continue;
            long due = (long)(_time.GetElapsedTime(start).TotalSeconds * perSecond) - sentHere;
            for (; due > 0 && client.IsConnected && client.OutstandingCount < _options.MaxOutstanding; due--, sentHere++)
            {
                var market = _options.Markets[nextIndex() % _options.Markets.Count];
                var side = (sentHere & 1) == 0 ? Side.Buy : Side.Sell;
                // Within 3 ticks either side of the reference: buys and sells overlap, so some trade.
                long price = market.ReferencePrice + random.Next(-3, 4) * market.TickSize;
                long quantity = Math.Max(market.MinQuantity, market.LotSize) + market.LotSize * random.Next(0, 10);
                ulong id = (ulong)Interlocked.Increment(ref _nextClOrdId);
                var order = new NewOrderMessage(id, market.Id, side, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, price, quantity);
                _orders[id] = new Entry(new LedgerOrder(id, client.AccountId, session, market.Id, side, price, quantity, _time.GetUtcNow(),
                    LedgerOutcome.Pending, 0, null, 1));
                try { client.EnqueueNewOrder(order); }
                catch (OrderEntryException)
                {
                    // The session ended. Registered as outstanding: it is resent after the reconnect;
                    // refused before registration: it was never sent, so it is not in the ledger.
                    if (!Array.Exists(client.GetOutstandingRequests(), r => r.ClOrdId == id)) _orders.TryRemove(id, out _);
                    return;
                }
            }
            try { client.Flush(); }
            catch (OrderEntryException) { return; }
        }
    }

    private void OnAcknowledged(OrderEntryClient client, in OutstandingRequest request, in ExecutionReport report, long receivedTimestamp)
    {
        if (request.Type != MessageType.NewOrder || !_orders.TryGetValue(request.ClOrdId, out var entry)) return;
        if (report.Type == ReportType.Rejected)
        {
            // A resend of an order the engine journaled: duplicate_client_order_id (in the id window)
            // or duplicate_order_id (older, still resting). A first send is never a duplicate (ids are unique).
            if (report.RejectReason is RejectReason.DuplicateClientOrderId or RejectReason.DuplicateOrderId && entry.Snapshot().Sends > 1)
                entry.Answer(LedgerOutcome.AcceptedBefore, 0, null);
            else entry.Answer(LedgerOutcome.Rejected, report.Sequence.Value, report.RejectReason.Name());
        }
        else entry.Answer(LedgerOutcome.Accepted, report.Sequence.Value, null);
    }

    private void OnRequestFailed(OrderEntryClient client, in OutstandingRequest request, SessionErrorMessage error)
    {
        if (request.Type == MessageType.NewOrder && _orders.TryGetValue(request.ClOrdId, out var entry))
            entry.Answer(LedgerOutcome.Rejected, 0, "session:" + error.Code.Name());
    }

    /// <summary>A mutable ledger row behind a lock (answers arrive on the sessions' receive loops).</summary>
    private sealed class Entry(LedgerOrder order)
    {
        private readonly object _gate = new();
        private LedgerOrder _order = order;

        public LedgerOutcome Outcome
        {
            get { lock (_gate) return _order.Outcome; }
        }

        public LedgerOrder Snapshot()
        {
            lock (_gate) return _order;
        }

        public void Answer(LedgerOutcome outcome, long sequence, string? reason)
        {
            lock (_gate)
            {
                if (_order.Outcome != LedgerOutcome.Pending) return;
                _order = _order with { Outcome = outcome, Sequence = sequence, Reason = reason };
            }
        }

        public void Resent(long accountId)
        {
            lock (_gate) _order = _order with { Sends = _order.Sends + 1, AccountId = _order.AccountId == 0 ? accountId : _order.AccountId };
        }

        public void MarkUnanswered()
        {
            lock (_gate)
            {
                if (_order.Outcome == LedgerOutcome.Pending) _order = _order with { Outcome = LedgerOutcome.Unanswered };
            }
        }
    }
}
