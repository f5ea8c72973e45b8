using System.Globalization;
using System.Net;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Diagnostics;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Replay;
using ExchangeHealth.Load.Client;
using ExchangeHealth.Load.Workloads;

namespace ExchangeHealth.Load;

/// <summary>One execution of <see cref="LoadRunner.RunAsync"/>: connections, dispatcher thread, sampler, report.</summary>
internal sealed class LoadRun
{
    /// <summary>Tag of pre-fill requests (not measured).</summary>
    private const long PreFillTag = long.MinValue;
    private const int PreFillWindow = 256;
    private const int FlushBatch = 128;

    private readonly LoadOptions _options;
    private readonly IPEndPoint _endPoint;
    private readonly LoadWorkload _workload;
    private readonly AccountIds[] _ids;
    private readonly IProgress<LoadProgress>? _progress;
    private readonly TimeProvider _time;
    private readonly double _nanosecondsPerTick;
    private readonly Connection[] _connections;
    private readonly OpenModelScheduler? _scheduler;
    private readonly object _sampleLock = new();
    private readonly LatencyHistogram _responseTotal = new();
    private readonly LatencyHistogram _serviceTotal = new();
    private readonly LatencyHistogram _intervalResponse = new();
    private readonly LatencyHistogram _intervalService = new();
    private readonly List<LoadTimelinePoint> _timeline = [];
    private readonly List<ConnectionError> _connectionErrors = [];
    private long _startTimestamp;
    private long _sendEndTimestamp;
    private long _closedSent;
    private long _closedNotSent;
    private volatile bool _measuring;
    private LoadStopReason _stopReason;
    private string? _stopMessage;
    // Sampler state: totals at the previous sample.
    private double _lastSampleSeconds;
    private Totals _lastTotals;

    public LoadRun(LoadOptions options, IPEndPoint endPoint, LoadWorkload workload, AccountIds[] ids, IProgress<LoadProgress>? progress)
    {
        _options = options;
        _endPoint = endPoint;
        _workload = workload;
        _ids = ids;
        _progress = progress;
        _time = options.TimeProvider;
        _nanosecondsPerTick = 1e9 / _time.TimestampFrequency;
        _connections = new Connection[options.Connections];
        for (int i = 0; i < _connections.Length; i++) _connections[i] = new Connection(this, i);
        if (options.Model == LoadModel.Open)
            _scheduler = new OpenModelScheduler(options.Rate, _time, options.LateThreshold, options.Duration, options.Count);
    }

    public async Task<LoadReport> ExecuteAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset startedAt = _time.GetUtcNow();
        await ConnectAllAsync(cancellationToken).ConfigureAwait(false);
        if (_connectionErrors.Count > 0 || cancellationToken.IsCancellationRequested)
        {
            _stopReason = cancellationToken.IsCancellationRequested && _connectionErrors.Count == 0 ? LoadStopReason.Cancelled : LoadStopReason.ConnectFailed;
            _stopMessage = _connectionErrors.Count > 0
                ? $"{_connectionErrors.Count} of {_connections.Length} connections could not be opened; nothing was sent"
                : "cancelled while connecting";
            _startTimestamp = _sendEndTimestamp = _time.GetTimestamp();
            await CloseAllAsync().ConfigureAwait(false);
            return BuildReport(startedAt, null);
        }
        AssignClientOrderIds();

        PreFillSummary? preFill = null;
        var preFillCommands = _options.PreFill ? _workload.PreFill() : [];
        if (preFillCommands.Count > 0)
        {
            preFill = await Task.Factory.StartNew(() => RunPreFill(preFillCommands, cancellationToken), cancellationToken,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }

        startedAt = _time.GetUtcNow();
        _startTimestamp = _time.GetTimestamp();
        _measuring = true;
        using var samplerStop = new CancellationTokenSource();
        Task sampler = SampleLoopAsync(samplerStop.Token);
        try
        {
            await Task.Factory.StartNew(() => Dispatch(cancellationToken), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
            await DrainAsync().ConfigureAwait(false);
        }
        finally
        {
            await samplerStop.CancelAsync().ConfigureAwait(false);
            await sampler.ConfigureAwait(false);
        }
        // Log out first: acknowledgements still on their way arrive before LogoutAccepted and are counted.
        await CloseAllAsync().ConfigureAwait(false);
        Sample(final: true);
        return BuildReport(startedAt, preFill);
    }

    // ------------------------------------------------------------------ connections

    private async Task ConnectAllAsync(CancellationToken cancellationToken)
    {
        var clientOptions = (_options.ClientOptions ?? new OrderEntryClientOptions()) with { TimeProvider = _time };
        var tasks = new Task[_connections.Length];
        for (int i = 0; i < _connections.Length; i++)
        {
            var c = _connections[i];
            c.Client = new OrderEntryClient(clientOptions);
            c.Attach();
            string key = _options.ApiKeys[i % _options.ApiKeys.Count];
            tasks[i] = ConnectOneAsync(c, key, cancellationToken);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task ConnectOneAsync(Connection c, string key, CancellationToken cancellationToken)
    {
        try
        {
            await c.Client.ConnectAsync(_endPoint, key, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (OrderEntryException e)
        {
            AddConnectionError(c.Index, 0, -1, $"connection {c.Index} (key #{c.Index % _options.ApiKeys.Count + 1}): {e.Message}");
        }
    }

    private void AssignClientOrderIds()
    {
        long lastSequence = 0;
        foreach (var c in _connections) lastSequence = Math.Max(lastSequence, c.Client.LastSequenceAtLogon);
        ulong first = _options.ClOrdIdBase ?? (ulong)(lastSequence + 1);
        var byAccount = new Dictionary<long, AccountIds>();
        foreach (var c in _connections)
        {
            long account = c.Client.AccountId;
            if (!byAccount.TryGetValue(account, out var ids)) byAccount[account] = ids = new AccountIds(account, first);
            _ids[c.Index] = ids;
        }
    }

    private async Task CloseAllAsync()
    {
        var tasks = new List<Task>();
        foreach (var c in _connections)
        {
            if (c.Client is null) continue;
            // A session we log out ourselves is not a lost connection; one that already died (its
            // Disconnected event may still be on its way) is.
            if (c.Client.IsConnected) c.ClosingByUs = true;
            tasks.Add(CloseOneAsync(c.Client));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private static async Task CloseOneAsync(OrderEntryClient client)
    {
        try { await client.LogoutAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false); }
        finally { await client.DisposeAsync().ConfigureAwait(false); }
    }

    private void AddConnectionError(int connection, long account, double elapsedSeconds, string message)
    {
        lock (_connectionErrors) _connectionErrors.Add(new ConnectionError(connection, account, elapsedSeconds, message));
    }

    private double ElapsedSeconds(long timestamp) => _measuring ? (timestamp - _startTimestamp) * _nanosecondsPerTick / 1e9 : -1;

    private bool AllConnectionsLost()
    {
        foreach (var c in _connections)
        {
            if (c.Client.IsConnected) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ sending

    private PreFillSummary RunPreFill(IReadOnlyList<OutboundCommand> commands, CancellationToken cancellationToken)
    {
        PreciseSleep.ReduceTimerSlackOfThisThread();
        long start = _time.GetTimestamp();
        long sent = 0;
        foreach (var command in commands)
        {
            if (cancellationToken.IsCancellationRequested) break;
            var c = _connections[command.Connection];
            while (Volatile.Read(ref c.InFlight) >= PreFillWindow && c.Client.IsConnected)
            {
                FlushDirty();
                PreciseSleep.Sleep(50_000);
            }
            if (!c.Client.IsConnected) continue;
            Interlocked.Increment(ref c.InFlight);
            if (!TryEnqueue(c, command, PreFillTag))
            {
                Interlocked.Decrement(ref c.InFlight);
                continue;
            }
            sent++;
            c.Dirty = true;
            if (sent % FlushBatch == 0) FlushDirty();
        }
        FlushDirty();
        WaitForInFlight(_time.GetTimestamp() + (long)(_options.DrainTimeout.TotalSeconds * _time.TimestampFrequency));
        long acknowledged = 0, rejected = 0;
        foreach (var c in _connections)
        {
            lock (c.Gate)
            {
                acknowledged += c.PreFillAcknowledged;
                rejected += c.PreFillRejected;
            }
        }
        return new PreFillSummary(sent, acknowledged, rejected, _time.GetElapsedTime(start));
    }

    private void Dispatch(CancellationToken cancellationToken)
    {
        PreciseSleep.ReduceTimerSlackOfThisThread();
        try
        {
            if (_scheduler is not null) DispatchOpen(_scheduler, cancellationToken);
            else DispatchClosed(cancellationToken);
        }
        catch (ReplayFormatException e)
        {
            _stopReason = LoadStopReason.InputError;
            _stopMessage = e.Message;
        }
        catch (IOException e)
        {
            _stopReason = LoadStopReason.InputError;
            _stopMessage = $"{_options.ReplayFile}: {e.Message}";
        }
        finally
        {
            FlushDirty();
            _sendEndTimestamp = _time.GetTimestamp();
        }
    }

    private void DispatchOpen(OpenModelScheduler scheduler, CancellationToken cancellationToken)
    {
        scheduler.Start(_startTimestamp);
        long spinTicks = (long)(50e-6 * _time.TimestampFrequency);
        int batch = 0;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested) { _stopReason = LoadStopReason.Cancelled; return; }
            if (!scheduler.TryPeekNext(out long intended))
            {
                _stopReason = _options.Count is { } n && scheduler.Scheduled >= n ? LoadStopReason.Count : LoadStopReason.Duration;
                return;
            }
            long now = _time.GetTimestamp();
            if (intended > now)
            {
                if (batch > 0)
                {
                    FlushDirty();
                    batch = 0;
                }
                if (AllConnectionsLost()) { _stopReason = LoadStopReason.ConnectionsLost; return; }
                WaitUntil(intended, spinTicks, cancellationToken);
                continue;
            }
            if (!_workload.TryNext(out var command)) { _stopReason = LoadStopReason.EndOfInput; return; }
            var c = _connections[command.Connection];
            if (!c.Client.IsConnected)
            {
                scheduler.RecordNotSent();
                _workload.MarkDropped(command);
                continue;
            }
            if (Volatile.Read(ref c.InFlight) >= _options.MaxInFlightPerConnection)
            {
                scheduler.RecordDropped();
                _workload.MarkDropped(command);
                continue;
            }
            Interlocked.Increment(ref c.InFlight);
            if (!TryEnqueue(c, command, intended))
            {
                Interlocked.Decrement(ref c.InFlight);
                scheduler.RecordNotSent();
                _workload.MarkDropped(command);
                continue;
            }
            scheduler.RecordSent(now);
            c.Dirty = true;
            if (++batch >= FlushBatch)
            {
                FlushDirty();
                batch = 0;
            }
        }
    }

    private void DispatchClosed(CancellationToken cancellationToken)
    {
        long deadline = _options.Duration is { } d ? _startTimestamp + (long)(d.TotalSeconds * _time.TimestampFrequency) : long.MaxValue;
        long count = _options.Count ?? long.MaxValue;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested) { _stopReason = LoadStopReason.Cancelled; return; }
            if (_time.GetTimestamp() >= deadline) { _stopReason = LoadStopReason.Duration; return; }
            if (Volatile.Read(ref _closedSent) + Volatile.Read(ref _closedNotSent) >= count) { _stopReason = LoadStopReason.Count; return; }
            if (AllConnectionsLost()) { _stopReason = LoadStopReason.ConnectionsLost; return; }
            if (!_workload.TryNext(out var command)) { _stopReason = LoadStopReason.EndOfInput; return; }
            var c = _connections[command.Connection];
            bool slot = false;
            while (!slot && c.Client.IsConnected && !cancellationToken.IsCancellationRequested && _time.GetTimestamp() < deadline)
                slot = c.Slots!.Wait(20, CancellationToken.None);
            if (!slot)
            {
                _workload.MarkDropped(command);
                if (c.Client.IsConnected) continue; // cancelled or out of time: the checks at the top end the loop
                Interlocked.Increment(ref _closedNotSent);
                continue;
            }
            long now = _time.GetTimestamp();
            Interlocked.Increment(ref c.InFlight);
            if (!TryEnqueue(c, command, now))
            {
                Interlocked.Decrement(ref c.InFlight);
                c.Slots!.Release();
                Interlocked.Increment(ref _closedNotSent);
                _workload.MarkDropped(command);
                continue;
            }
            try
            {
                c.Client.Flush();
            }
            catch (OrderEntryException)
            {
                // The connection is gone: the request stays outstanding and counts as unacknowledged.
            }
            Interlocked.Increment(ref _closedSent);
        }
    }

    private void WaitUntil(long timestamp, long spinTicks, CancellationToken cancellationToken)
    {
        var spinner = new SpinWait();
        while (!cancellationToken.IsCancellationRequested)
        {
            long remaining = timestamp - _time.GetTimestamp();
            if (remaining <= 0) return;
            if (remaining > spinTicks)
            {
                long ns = (long)((remaining - spinTicks / 2) * _nanosecondsPerTick);
                if (_time == TimeProvider.System) PreciseSleep.Sleep(Math.Min(ns, 50_000_000));
                else Thread.Sleep(1);
            }
            else
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    private static bool TryEnqueue(Connection c, in OutboundCommand command, long tag)
    {
        try
        {
            switch (command.Type)
            {
                case MessageType.NewOrder:
                    c.Client.EnqueueNewOrder(new NewOrderMessage(command.ClOrdId, command.MarketId, command.Side, command.OrderType,
                        command.TimeInForce, command.Flags, command.Price, command.Quantity), tag);
                    break;
                case MessageType.Cancel:
                    c.Client.EnqueueCancel(new CancelMessage(command.ClOrdId, command.MarketId, command.OrigClOrdId), tag);
                    break;
                case MessageType.Amend:
                    c.Client.EnqueueAmend(new AmendMessage(command.ClOrdId, command.MarketId, command.OrigClOrdId, command.Price, command.Quantity), tag);
                    break;
                default:
                    c.Client.EnqueueCancelAll(new CancelAllMessage(command.ClOrdId, command.MarketId), tag);
                    break;
            }
            return true;
        }
        catch (OrderEntryException)
        {
            return false;
        }
    }

    private void FlushDirty()
    {
        foreach (var c in _connections)
        {
            if (!c.Dirty) continue;
            c.Dirty = false;
            try { c.Client.Flush(); }
            catch (OrderEntryException)
            {
                // Lost connection: its requests stay outstanding and count as unacknowledged.
            }
        }
    }

    private void WaitForInFlight(long deadline)
    {
        while (_time.GetTimestamp() < deadline)
        {
            bool done = true;
            foreach (var c in _connections)
            {
                if (c.Client.IsConnected && Volatile.Read(ref c.InFlight) > 0) { done = false; break; }
            }
            if (done) return;
            if (_time == TimeProvider.System) PreciseSleep.Sleep(1_000_000);
            else Thread.Sleep(1);
        }
    }

    private Task DrainAsync() => Task.Factory.StartNew(
        () => WaitForInFlight(_time.GetTimestamp() + (long)(_options.DrainTimeout.TotalSeconds * _time.TimestampFrequency)),
        CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // ------------------------------------------------------------------ sampling and the report

    private readonly record struct Totals(long Sent, long Acknowledged, long Rejected, long Errors, long Late, long Dropped);

    private async Task SampleLoopAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.SampleInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false)) Sample(final: false);
        }
        catch (OperationCanceledException) { }
    }

    private Totals CurrentTotals(out long inFlight)
    {
        long acknowledged = 0, rejected = 0, sessionErrors = 0;
        inFlight = 0;
        foreach (var c in _connections)
        {
            lock (c.Gate)
            {
                acknowledged += c.Acknowledged;
                rejected += c.Rejected;
                sessionErrors += c.SessionErrorTotal;
            }
            inFlight += Math.Max(0, Volatile.Read(ref c.InFlight));
        }
        int connectionErrors;
        lock (_connectionErrors) connectionErrors = _connectionErrors.Count;
        long sent = _scheduler?.Sent ?? Volatile.Read(ref _closedSent);
        long notSent = _scheduler?.NotSent ?? Volatile.Read(ref _closedNotSent);
        return new Totals(sent, acknowledged, rejected, sessionErrors + connectionErrors + notSent,
            _scheduler?.Late ?? 0, _scheduler?.Dropped ?? 0);
    }

    /// <summary>Moves every connection's interval histograms into the totals and appends a timeline point.</summary>
    private void Sample(bool final)
    {
        lock (_sampleLock)
        {
            long now = _time.GetTimestamp();
            double elapsed = (now - _startTimestamp) * _nanosecondsPerTick / 1e9;
            double interval = elapsed - _lastSampleSeconds;
            foreach (var c in _connections)
            {
                lock (c.Gate)
                {
                    _intervalResponse.Add(c.IntervalResponse);
                    _intervalService.Add(c.IntervalService);
                    c.IntervalResponse.Reset();
                    c.IntervalService.Reset();
                }
            }
            _responseTotal.Add(_intervalResponse);
            _serviceTotal.Add(_intervalService);
            var totals = CurrentTotals(out long inFlight);
            if (final && _timeline.Count > 0 && totals == _lastTotals && _intervalResponse.Count == 0)
            {
                // Nothing happened after the last full interval: no point of its own.
                _intervalService.Reset();
                return;
            }
            double offered = 0;
            if (_scheduler is not null)
            {
                double end = Math.Min(elapsed, _options.Duration?.TotalSeconds ?? double.PositiveInfinity);
                double start = Math.Min(_lastSampleSeconds, end);
                double limit = _options.Count ?? double.PositiveInfinity;
                offered = Math.Min(_options.Rate.CountBefore(end), limit) - Math.Min(_options.Rate.CountBefore(start), limit);
            }
            var last = _lastTotals;
            _timeline.Add(new LoadTimelinePoint(_timeline.Count + 1, Math.Round(elapsed, 6), Math.Round(interval, 6), Math.Round(offered, 3),
                totals.Sent - last.Sent, totals.Acknowledged - last.Acknowledged, totals.Rejected - last.Rejected, totals.Errors - last.Errors,
                totals.Late - last.Late, totals.Dropped - last.Dropped, inFlight,
                _intervalResponse.ValueAtPercentile(50), _intervalResponse.ValueAtPercentile(90), _intervalResponse.ValueAtPercentile(99),
                _intervalResponse.Max));
            _intervalResponse.Reset();
            _intervalService.Reset();
            _lastSampleSeconds = elapsed;
            _lastTotals = totals;
            if (!final && _progress is not null && interval > 0)
            {
                _progress.Report(new LoadProgress(TimeSpan.FromSeconds(elapsed), offered / interval, (totals.Sent - last.Sent) / interval,
                    (totals.Acknowledged - last.Acknowledged) / interval, inFlight, totals.Sent, totals.Acknowledged, totals.Rejected,
                    totals.Errors, totals.Late, totals.Dropped, _responseTotal.ValueAtPercentile(50), _responseTotal.ValueAtPercentile(99)));
            }
        }
    }

    private LoadReport BuildReport(DateTimeOffset startedAt, PreFillSummary? preFill)
    {
        double sendEnd = Math.Max(0, (_sendEndTimestamp - _startTimestamp) * _nanosecondsPerTick / 1e9);
        long scheduled = _scheduler?.Scheduled ?? Volatile.Read(ref _closedSent) + Volatile.Read(ref _closedNotSent);
        long sent = _scheduler?.Sent ?? Volatile.Read(ref _closedSent);
        double sendWindow = _stopReason switch
        {
            LoadStopReason.Duration when _options.Duration is { } d => d.TotalSeconds,
            // The schedule ended at the slot of the command that was not sent (count reached, input ended).
            LoadStopReason.Count or LoadStopReason.EndOfInput when _scheduler is not null => SafeSeconds(_scheduler.SecondsOf(scheduled)),
            _ => sendEnd,
        };
        long acknowledged = 0, rejected = 0, failed = 0, lastAck = 0;
        var rejects = new long[256];
        var sessionErrors = new Dictionary<ProtocolErrorCode, long>();
        var orders = new List<AcknowledgedOrder>();
        foreach (var c in _connections)
        {
            lock (c.Gate)
            {
                acknowledged += c.Acknowledged;
                rejected += c.Rejected;
                failed += c.Failed;
                lastAck = Math.Max(lastAck, c.LastAckTimestamp);
                for (int i = 0; i < rejects.Length; i++) rejects[i] += c.RejectsByReason[i];
                foreach (var (code, n) in c.SessionErrors) sessionErrors[code] = sessionErrors.GetValueOrDefault(code) + n;
                if (c.AcknowledgedOrders is not null) orders.AddRange(c.AcknowledgedOrders);
            }
        }
        double lastAckSeconds = lastAck == 0 ? 0 : (lastAck - _startTimestamp) * _nanosecondsPerTick / 1e9;
        double elapsed = Math.Max(sendWindow, lastAckSeconds);
        var rejectList = new List<RejectCount>();
        for (int i = 1; i < rejects.Length; i++)
        {
            if (rejects[i] > 0) rejectList.Add(new RejectCount((RejectReason)i, rejects[i]));
        }
        rejectList.Sort((a, b) => b.Count.CompareTo(a.Count));
        var sessionList = sessionErrors.Select(kv => new SessionErrorCount(kv.Key, kv.Value)).OrderByDescending(e => e.Count).ToList();
        List<ConnectionError> connectionErrors;
        lock (_connectionErrors) connectionErrors = [.. _connectionErrors];

        var report = new LoadReport
        {
            StartedAt = startedAt,
            Target = _endPoint.ToString(),
            Model = _options.Model,
            LoadShape = _options.Model == LoadModel.Open
                ? _options.Rate.ToString()
                : string.Create(CultureInfo.InvariantCulture, $"closed: {_options.Concurrency} in flight per connection"),
            Connections = _connections.Length,
            Accounts = _connections.Select(c => c.Client?.AccountId ?? 0).ToList(),
            Workload = _workload.Description,
            StopReason = _stopReason,
            StopMessage = _stopMessage,
            Duration = _options.Duration,
            Count = _options.Count,
            SendWindow = TimeSpan.FromSeconds(sendWindow),
            Elapsed = TimeSpan.FromSeconds(elapsed),
            Scheduled = scheduled,
            Sent = sent,
            Acknowledged = acknowledged,
            Rejected = rejected,
            Late = _scheduler?.Late ?? 0,
            LateThreshold = _options.LateThreshold,
            MaxLateness = _scheduler?.MaxLateness ?? TimeSpan.Zero,
            Dropped = _scheduler?.Dropped ?? 0,
            MaxInFlightPerConnection = _options.MaxInFlightPerConnection,
            NotSent = _scheduler?.NotSent ?? Volatile.Read(ref _closedNotSent),
            Unacknowledged = Math.Max(0, sent - acknowledged - failed),
            Skipped = _workload.Skipped,
            OfferedRate = _scheduler is null ? null : (sendWindow > 0 ? scheduled / sendWindow : 0),
            SentRate = sendWindow > 0 ? sent / sendWindow : 0,
            AchievedRate = elapsed > 0 ? acknowledged / elapsed : 0,
            ResponseTime = _responseTotal,
            ServiceTime = _serviceTotal,
            RejectsByReason = rejectList,
            SessionErrors = sessionList,
            ConnectionErrors = connectionErrors,
            WorkloadCounters = _workload.Counters,
            PreFill = preFill,
            Timeline = [.. _timeline],
            AcknowledgedOrders = orders,
        };
        var results = new List<ThresholdResult>();
        foreach (var t in _options.Thresholds) results.Add(t.Evaluate(report));
        return report with { Thresholds = results };
    }

    private static double SafeSeconds(double seconds) => double.IsFinite(seconds) ? seconds : 0;

    // ------------------------------------------------------------------ per connection

    /// <summary>One session and what it measured. Written on its receive loop under <see cref="Gate"/>; harvested by the sampler.</summary>
    private sealed class Connection(LoadRun run, int index)
    {
        public readonly object Gate = new();
        public readonly int Index = index;
        public OrderEntryClient Client = null!;
        public long InFlight;
        public bool Dirty;
        public volatile bool ClosingByUs;
        public readonly SemaphoreSlim? Slots = run._options.Model == LoadModel.Closed ? new SemaphoreSlim(run._options.Concurrency) : null;
        public readonly LatencyHistogram IntervalResponse = new();
        public readonly LatencyHistogram IntervalService = new();
        public readonly long[] RejectsByReason = new long[256];
        public readonly Dictionary<ProtocolErrorCode, long> SessionErrors = [];
        public long SessionErrorTotal;
        public long Acknowledged;
        public long Rejected;
        public long Failed;
        public long PreFillAcknowledged;
        public long PreFillRejected;
        public long LastAckTimestamp;
        public readonly List<AcknowledgedOrder>? AcknowledgedOrders = run._options.RecordAcknowledged ? [] : null;

        public void Attach()
        {
            Client.Acknowledged += OnAcknowledged;
            Client.RequestFailed += OnRequestFailed;
            Client.SessionErrorReceived += OnSessionError;
            Client.Disconnected += OnDisconnected;
        }

        private void OnAcknowledged(OrderEntryClient client, in OutstandingRequest request, in ExecutionReport ack, long received)
        {
            bool rejected = ack.Type == ReportType.Rejected;
            lock (Gate)
            {
                if (request.Tag == PreFillTag)
                {
                    PreFillAcknowledged++;
                    if (rejected) PreFillRejected++;
                }
                else
                {
                    IntervalResponse.Record((long)((received - request.Tag) * run._nanosecondsPerTick));
                    IntervalService.Record((long)((received - request.SentTimestamp) * run._nanosecondsPerTick));
                    Acknowledged++;
                    if (rejected)
                    {
                        Rejected++;
                        RejectsByReason[(int)ack.RejectReason]++;
                    }
                    if (received > LastAckTimestamp) LastAckTimestamp = received;
                }
                if (AcknowledgedOrders is not null && request.Type == MessageType.NewOrder)
                {
                    long orderId = ack.OrderId != 0 ? ack.OrderId : OrderEntryProtocol.OrderIdOf(client.AccountId, request.ClOrdId);
                    AcknowledgedOrders.Add(new AcknowledgedOrder(request.ClOrdId, client.AccountId, orderId, ack.Sequence.Value, request.MarketId,
                        ack.Type, ack.RejectReason, Index));
                }
            }
            Interlocked.Decrement(ref InFlight);
            if (request.Tag != PreFillTag) Slots?.Release(); // pre-fill requests never took a closed-model slot
        }

        private void OnRequestFailed(OrderEntryClient client, in OutstandingRequest request, SessionErrorMessage error)
        {
            if (request.Tag != PreFillTag)
            {
                lock (Gate) Failed++;
                Slots?.Release();
            }
            Interlocked.Decrement(ref InFlight);
        }

        private void OnSessionError(OrderEntryClient client, SessionErrorMessage error)
        {
            lock (Gate)
            {
                SessionErrors[error.Code] = SessionErrors.GetValueOrDefault(error.Code) + 1;
                SessionErrorTotal++;
            }
        }

        private void OnDisconnected(OrderEntryClient client, Exception? error)
        {
            if (ClosingByUs) return;
            run.AddConnectionError(Index, client.AccountId, run.ElapsedSeconds(run._time.GetTimestamp()),
                $"connection {Index} (account {client.AccountId}) lost: {error?.Message ?? "closed"}");
        }
    }
}
