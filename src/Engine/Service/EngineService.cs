using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine.Service;

/// <summary>A trade, as kept for the book and trade queries.</summary>
/// <param name="TradeId">Engine-wide trade id.</param>
/// <param name="MarketId">Market.</param>
/// <param name="Price">Execution price, fixed-point units.</param>
/// <param name="Quantity">Executed quantity, fixed-point units.</param>
/// <param name="AggressorSide">The taker's side.</param>
/// <param name="Timestamp">Receipt time of the aggressor's command, Unix nanoseconds.</param>
/// <param name="Sequence">Journal sequence of the aggressor's command.</param>
public readonly record struct TradeRecord(long TradeId, ushort MarketId, long Price, long Quantity, Side AggressorSide, long Timestamp, SequenceNumber Sequence);

/// <summary>
/// The matching engine as a service, after LMAX: gateway threads publish commands into a bounded,
/// pre-allocated ring (<see cref="Submit"/>); a <b>sequencer</b> thread journals them in group
/// commits (append, then one fsync per batch); the <b>matcher</b> thread processes only commands
/// that are durable and hands the execution reports to their receivers. So every acknowledgement
/// is sent after its command is on disk, and <c>kill -9</c> loses nothing acknowledged.
/// </summary>
/// <remarks>
/// <para>
/// A full ring is not waited on: <see cref="Submit"/> returns <see cref="SubmitStatus.Overload"/>
/// at once and no queue grows without bound. A journal that cannot write (a full disk, or the
/// <c>journal_write_failure</c> fault) makes the sequencer drop the batch from the journal and
/// answer its commands <c>rejected</c>/<c>internal</c>; the next batch tries again, so the engine
/// resumes by itself when space returns. A failed fsync faults the journal: the page cache can no
/// longer be trusted (PostgreSQL's "fsyncgate"), so the service stops accepting (not ready) until
/// it is restarted and recovers from the files.
/// </para>
/// <para>
/// Duplicate detection for resends: a new order whose id is among the last
/// <see cref="EngineServiceOptions.ClientOrderIdWindow"/> journaled new-order ids is answered
/// <c>duplicate_client_order_id</c> by the sequencer and never journaled; the window is rebuilt at
/// start from the journal replayed after the snapshot and from the resting orders.
/// </para>
/// </remarks>
public sealed class EngineService : IAsyncDisposable, IEngineGaugeSource
{
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)] public long Value;
    }

    private readonly EngineServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly MatchingEngine _engine;
    private readonly JournalWriter _journal;
    private readonly RingSlot[] _slots;
    private readonly long[] _published;
    private readonly long _mask;
    private PaddedLong _claimed;   // last ring sequence claimed by a producer
    private PaddedLong _journaled; // last ring sequence the sequencer finished (journaled or rejected)
    private PaddedLong _matched;   // last ring sequence the matcher finished
    private int _inFlightSubmits;
    private volatile bool _stopping;
    private volatile bool _journalFailing;
    private volatile bool _journalFaulted;
    private int _sequencerWaiting;
    private int _matcherWaiting;
    private readonly ManualResetEventSlim _sequencerSignal = new(false);
    private readonly ManualResetEventSlim _matcherSignal = new(false);
    private readonly Thread _sequencerThread;
    private readonly Thread _matcherThread;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<Action> _control = new();
    private readonly ConcurrentDictionary<long, IReportReceiver[]> _accounts = new();
    private readonly object _accountsLock = new();
    private readonly MatcherStage _matcherStage;
    private readonly HashSet<long> _orderIdWindow = [];
    private readonly Queue<long> _orderIdWindowOrder = new();
    private readonly Dictionary<long, int> _orderIdWindowEntries = [];
    private readonly List<long> _batchOrderIds = [];
    private long _heartbeatBits;
    private long _lastSnapshotSequence;
    private Exception? _fatal;

    private EngineService(EngineServiceOptions options, IReadOnlyList<MarketDefinition> markets, RecoveryResult recovery, EngineEventLog events)
    {
        _options = options;
        _time = options.TimeProvider;
        Markets = markets;
        Recovery = recovery;
        Events = events;
        Faults = new EngineFaults(_time, events);
        _engine = recovery.Engine;
        _journal = new JournalWriter(EngineRecovery.JournalDirectory(options.DataDirectory), new JournalWriterOptions
        {
            FlushToDisk = options.FlushToDisk,
            TimeProvider = _time,
            Faults = Faults,
        });
        _lastSnapshotSequence = recovery.SnapshotSequence.Value;
        _slots = new RingSlot[options.RingCapacity];
        _published = new long[options.RingCapacity];
        Array.Fill(_published, -1L);
        _mask = options.RingCapacity - 1;
        Metrics = new EngineMetrics(markets, this);
        _matcherStage = new MatcherStage(_engine, Metrics, options, _accounts);
        foreach (var book in _engine.Books)
            foreach (var order in book.RestingOrders())
                RememberOrderId(order.OrderId);
        Heartbeat();
        _sequencerThread = new Thread(SequencerLoop) { Name = "exh-sequencer", IsBackground = true };
        _matcherThread = new Thread(MatcherLoop) { Name = "exh-matcher", IsBackground = true };
    }

    /// <summary>
    /// Recovers the engine from <see cref="EngineServiceOptions.DataDirectory"/> (creating it when
    /// new) and starts the sequencer and matcher threads.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range (ring capacity not a power of two, ...).</exception>
    /// <exception cref="ConfigException">The data directory's markets.yaml is invalid.</exception>
    /// <exception cref="JournalCorruptException">The journal is corrupt in a way recovery must not repair.</exception>
    /// <exception cref="IOException">The data directory cannot be read or written.</exception>
    public static EngineService Start(EngineServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RingCapacity < 16 || (options.RingCapacity & (options.RingCapacity - 1)) != 0)
            throw new ArgumentException($"ring capacity must be a power of two of at least 16, not {options.RingCapacity}", nameof(options));
        if (options.MaxBatch < 1) throw new ArgumentException("max batch must be at least 1", nameof(options));
        if (options.MatchLatencySampleEvery < 1) throw new ArgumentException("match latency sampling must be at least 1", nameof(options));

        string dir = options.DataDirectory;
        Directory.CreateDirectory(dir);
        var markets = EngineDataDirectory.LoadMarkets(dir);
        if (markets is null)
        {
            markets = options.Markets ?? MarketsFile.Default();
            EngineDataDirectory.Create(dir, markets, reset: false);
        }
        Directory.CreateDirectory(EngineRecovery.SnapshotDirectory(dir));
        var events = new EngineEventLog(Path.Combine(dir, "events.jsonl"), options.TimeProvider);
        try
        {
            var seen = new NewOrderIdCollector();
            var recovery = EngineRecovery.Recover(dir, markets, new RecoveryOptions { ReportSink = seen });
            var service = new EngineService(options, markets, recovery, events);
            foreach (long id in seen.Ids) service.RememberOrderId(id);
            events.Write("engine.recovered",
                $"recovered to sequence {recovery.LastSequence} in {recovery.Elapsed.TotalMilliseconds:F0} ms ({recovery.ReplayedCommands} journal records replayed)",
                new Dictionary<string, string>
                {
                    ["sequence"] = recovery.LastSequence.Value.ToString(CultureInfo.InvariantCulture),
                    ["replayed"] = recovery.ReplayedCommands.ToString(CultureInfo.InvariantCulture),
                    ["snapshot"] = recovery.SnapshotPath ?? "",
                    ["torn_tail"] = recovery.TornTail?.Reason ?? "",
                    ["elapsed_seconds"] = recovery.Elapsed.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                });
            service._sequencerThread.Start();
            service._matcherThread.Start();
            events.Write("engine.started", "engine accepting commands");
            return service;
        }
        catch
        {
            events.Dispose();
            throw;
        }
    }

    /// <summary>The markets served.</summary>
    public IReadOnlyList<MarketDefinition> Markets { get; }

    /// <summary>What recovery found at start.</summary>
    public RecoveryResult Recovery { get; }

    /// <summary>The SLI instruments.</summary>
    public EngineMetrics Metrics { get; }

    /// <summary>Fault-injection hooks (admin only).</summary>
    public EngineFaults Faults { get; }

    /// <summary>The engine's event log.</summary>
    public EngineEventLog Events { get; }

    /// <summary>The options the service runs with.</summary>
    public EngineServiceOptions Options => _options;

    /// <summary>Recovered, journal healthy and not stopping: commands are being accepted.</summary>
    public bool IsReady => !_stopping && !_journalFailing && !_journalFaulted && _fatal is null;

    /// <summary>True once <see cref="StopAsync"/> was called.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Last journal sequence number that is durable.</summary>
    public SequenceNumber DurableSequence => _journal.DurableSequence;

    /// <summary>Commands in the ring not yet finished by the matcher.</summary>
    public long QueueDepth => Math.Max(0, Volatile.Read(ref _claimed.Value) - Volatile.Read(ref _matched.Value));

    /// <summary>Why the service stopped working, if a thread died (never expected; logged as an event).</summary>
    public Exception? Fatal => _fatal;

    /// <summary>Completes when both threads have ended after <see cref="StopAsync"/> (or a fatal error).</summary>
    public Task Stopped => _stopped.Task;

    long IEngineGaugeSource.DurableSequence => _journal.DurableSequence.Value;
    double IEngineGaugeSource.HeartbeatUnixSeconds => BitConverter.Int64BitsToDouble(Volatile.Read(ref _heartbeatBits));
    MarketState IEngineGaugeSource.MarketStateOf(ushort marketId) => _engine.FindBook(marketId)?.State ?? MarketState.Halted;
    bool IEngineGaugeSource.IsFaultActive(FaultKind kind) => Faults.IsActive(kind);

    /// <summary>
    /// Publishes a command into the ring. Thread-safe, lock-free, never blocks. Sets the
    /// command's timestamp (receipt time, Unix ns) when it is 0. Its reports go to
    /// <paramref name="origin"/> (on the matcher thread); reports about other accounts' orders
    /// (maker fills) go to the receivers registered for those accounts.
    /// </summary>
    /// <param name="command">The command; copied.</param>
    /// <param name="origin">Who receives the command's reports.</param>
    /// <param name="requestClOrdId">Passed back with the reports (0 if none).</param>
    /// <param name="receivedTimestamp"><see cref="Stopwatch.GetTimestamp"/> at receipt, for the ack-latency SLI.</param>
    /// <returns>
    /// <see cref="SubmitStatus.Enqueued"/>, or why not: the caller answers <c>overload</c> /
    /// <c>internal</c> itself (the rejection is already counted) or closes the session when stopping.
    /// </returns>
    public SubmitStatus Submit(ref Command command, IReportReceiver origin, ulong requestClOrdId, long receivedTimestamp)
    {
        ArgumentNullException.ThrowIfNull(origin);
        Interlocked.Increment(ref _inFlightSubmits);
        try
        {
            if (_stopping) return SubmitStatus.Stopping;
            if (_journalFaulted || _fatal is not null)
            {
                Metrics.CountRejectedShared(command.MarketId, RejectReason.Internal);
                return SubmitStatus.NotReady;
            }
            long seq;
            while (true)
            {
                long current = Volatile.Read(ref _claimed.Value);
                seq = current + 1;
                if (seq - _slots.Length > Volatile.Read(ref _matched.Value))
                {
                    Metrics.CountRejectedShared(command.MarketId, RejectReason.Overload);
                    return SubmitStatus.Overload;
                }
                if (Interlocked.CompareExchange(ref _claimed.Value, seq, current) == current) break;
            }
            ref var slot = ref _slots[seq & _mask];
            slot.Command = command;
            if (slot.Command.Timestamp == 0) slot.Command.Timestamp = JournalWriter.UnixNanoseconds(_time);
            slot.Command.Sequence = default;
            slot.Origin = origin;
            slot.RequestClOrdId = requestClOrdId;
            slot.ReceivedTimestamp = receivedTimestamp;
            slot.Outcome = SlotOutcome.Pending;
            Interlocked.Exchange(ref _published[seq & _mask], seq);
            if (Volatile.Read(ref _sequencerWaiting) != 0) _sequencerSignal.Set();
            return SubmitStatus.Enqueued;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlightSubmits);
        }
    }

    /// <summary>Routes reports about <paramref name="accountId"/>'s orders that other sessions caused (maker fills) to <paramref name="receiver"/>. Thread-safe.</summary>
    public void RegisterAccount(long accountId, IReportReceiver receiver)
    {
        lock (_accountsLock)
        {
            var current = _accounts.TryGetValue(accountId, out var list) ? list : [];
            if (Array.IndexOf(current, receiver) >= 0) return;
            _accounts[accountId] = [.. current, receiver];
        }
    }

    /// <summary>Stops routing <paramref name="accountId"/>'s reports to <paramref name="receiver"/>. Thread-safe.</summary>
    public void UnregisterAccount(long accountId, IReportReceiver receiver)
    {
        lock (_accountsLock)
        {
            if (!_accounts.TryGetValue(accountId, out var current)) return;
            var next = Array.FindAll(current, r => !ReferenceEquals(r, receiver));
            if (next.Length == 0) _accounts.TryRemove(accountId, out _);
            else _accounts[accountId] = next;
        }
    }

    /// <summary>
    /// Runs <paramref name="query"/> on the matcher thread between two batches, so it sees a
    /// consistent engine. For book and trade queries; keep it short (the matcher waits).
    /// </summary>
    /// <exception cref="InvalidOperationException">The service has stopped.</exception>
    public Task<T> QueryAsync<T>(Func<MatchingEngine, T> query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (_stopped.Task.IsCompleted) throw new InvalidOperationException("the engine service has stopped");
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = cancellationToken.Register(() => tcs.TrySetCanceled(cancellationToken));
        _control.Enqueue(() =>
        {
            try { tcs.TrySetResult(query(_engine)); }
            catch (Exception e) { tcs.TrySetException(e); }
            finally { registration.Dispose(); }
        });
        WakeMatcher();
        return tcs.Task;
    }

    /// <summary>The last <paramref name="limit"/> trades of a market (newest last), read on the matcher thread.</summary>
    public Task<TradeRecord[]> RecentTradesAsync(ushort marketId, int limit, CancellationToken cancellationToken = default) =>
        QueryAsync(_ =>
        {
            if (!_matcherStage.Trades.TryGetValue(marketId, out var q)) return Array.Empty<TradeRecord>();
            var all = q.ToArray();
            return all.Length <= limit ? all : all[^limit..];
        }, cancellationToken);

    /// <summary>The state hash of the engine (see <see cref="MatchingEngine.ComputeStateHash"/>), on the matcher thread.</summary>
    public Task<string> ComputeStateHashAsync(CancellationToken cancellationToken = default) =>
        QueryAsync(e => e.ComputeStateHash(), cancellationToken);

    /// <summary>
    /// Graceful stop: refuse new commands, let the ring drain (every published command is
    /// journaled, processed and answered), flush the journal, write a snapshot and close.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (!_stopping)
        {
            _stopping = true;
            Events.Write("engine.stopping", "engine stopping: draining the ring");
            var spin = new SpinWait();
            while (Volatile.Read(ref _inFlightSubmits) != 0) spin.SpinOnce();
            _sequencerSignal.Set();
            WakeMatcher();
        }
        await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Metrics.Dispose();
        Events.Dispose();
        _sequencerSignal.Dispose();
        _matcherSignal.Dispose();
    }

    // ------------------------------------------------------------------ sequencer thread

    private void SequencerLoop()
    {
        long next = 1;
        try
        {
            while (true)
            {
                long available = next - 1;
                while (available + 1 - next < _options.MaxBatch && Volatile.Read(ref _published[(available + 1) & _mask]) == available + 1)
                    available++;
                if (available < next)
                {
                    if (_stopping && Volatile.Read(ref _inFlightSubmits) == 0 && Volatile.Read(ref _claimed.Value) < next) break;
                    if (_journalFailing) ProbeJournal();
                    WaitForWork(ref _sequencerWaiting, _sequencerSignal, () => Volatile.Read(ref _published[next & _mask]) == next || _stopping);
                    continue;
                }
                JournalBatch(next, available);
                Volatile.Write(ref _journaled.Value, available);
                WakeMatcher();
                next = available + 1;
            }
            if (!_journalFaulted)
            {
                try { _journal.Commit(); }
                catch (JournalWriteException) { }
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            Volatile.Write(ref _sequencerDone, 1);
            WakeMatcher();
        }
    }

    private int _sequencerDone;

    private void JournalBatch(long first, long last)
    {
        _batchOrderIds.Clear();
        bool failed = false;
        long appended = 0;
        string? failure = null;
        for (long s = first; s <= last; s++)
        {
            ref var slot = ref _slots[s & _mask];
            if (failed || _journalFaulted || Faults.ShouldRejectInternal())
            {
                slot.Outcome = SlotOutcome.RejectedInternal;
                continue;
            }
            if (slot.Command.Type == CommandType.NewOrder && slot.Command.OrderId > 0)
            {
                if (_orderIdWindow.Contains(slot.Command.OrderId))
                {
                    slot.Outcome = SlotOutcome.RejectedDuplicate;
                    continue;
                }
                RememberOrderId(slot.Command.OrderId);
                _batchOrderIds.Add(slot.Command.OrderId);
            }
            try
            {
                _journal.Append(ref slot.Command);
                slot.Outcome = SlotOutcome.Journaled;
                appended++;
            }
            catch (JournalWriteException e)
            {
                failed = true;
                failure = e.Message;
                slot.Outcome = SlotOutcome.RejectedInternal;
            }
        }
        if (!failed && appended > 0)
        {
            long start = Stopwatch.GetTimestamp();
            try
            {
                _journal.Commit();
                if (_options.MetricsEnabled && _options.FlushToDisk) Metrics.RecordFsyncLatency(Stopwatch.GetElapsedTime(start));
            }
            catch (JournalWriteException e)
            {
                failed = true;
                failure = e.Message;
            }
        }
        if (failed)
        {
            // Nothing of this batch may be acknowledged or processed: take it out of the journal.
            for (long s = first; s <= last; s++)
            {
                ref var slot = ref _slots[s & _mask];
                if (slot.Outcome == SlotOutcome.Journaled) slot.Outcome = SlotOutcome.RejectedInternal;
            }
            foreach (long id in _batchOrderIds) ForgetOrderId(id);
            if (!_journal.IsFaulted)
            {
                try { _journal.DiscardPending(); }
                catch (JournalWriteException) { }
            }
            if (_journal.IsFaulted && !_journalFaulted)
            {
                _journalFaulted = true;
                Events.Write("journal.faulted", $"journal fsync failed; the engine no longer accepts commands and must be restarted: {failure}");
            }
            if (!_journalFailing)
            {
                _journalFailing = true;
                Events.Write("journal.write_failed", $"journal write failed; commands are rejected as internal until it writes again: {failure}",
                    new Dictionary<string, string> { ["error"] = failure ?? "" });
            }
        }
        else if (_journalFailing && appended > 0)
        {
            _journalFailing = false;
            Events.Write("journal.resumed", $"journal writes again at sequence {_journal.DurableSequence}",
                new Dictionary<string, string> { ["sequence"] = _journal.DurableSequence.Value.ToString(CultureInfo.InvariantCulture) });
        }
    }

    /// <summary>
    /// While the journal is failing and no command arrives, checks about once a second whether
    /// the journal directory takes writes again (a 4 KiB probe file written, flushed and deleted,
    /// through the same fault hooks), so readiness comes back without waiting for traffic.
    /// </summary>
    private void ProbeJournal()
    {
        long now = Stopwatch.GetTimestamp();
        if (Stopwatch.GetElapsedTime(_lastProbe, now) < TimeSpan.FromSeconds(1)) return;
        _lastProbe = now;
        if (_journalFaulted) return;
        string probe = Path.Combine(EngineRecovery.JournalDirectory(_options.DataDirectory), ".write-probe");
        try
        {
            ((IJournalFaultHooks)Faults).BeforeWrite(4096);
            using (var handle = File.OpenHandle(probe, FileMode.Create, FileAccess.Write))
            {
                RandomAccess.Write(handle, new byte[4096], 0);
                RandomAccess.FlushToDisk(handle);
            }
            File.Delete(probe);
        }
        catch (IOException)
        {
            try { File.Delete(probe); } catch (IOException) { }
            return;
        }
        _journalFailing = false;
        Events.Write("journal.resumed", $"journal directory writable again (probe) at sequence {_journal.DurableSequence}",
            new Dictionary<string, string> { ["sequence"] = _journal.DurableSequence.Value.ToString(CultureInfo.InvariantCulture) });
    }

    private long _lastProbe;

    private void RememberOrderId(long orderId)
    {
        if (!_orderIdWindow.Add(orderId)) return;
        _orderIdWindowOrder.Enqueue(orderId);
        _orderIdWindowEntries[orderId] = _orderIdWindowEntries.GetValueOrDefault(orderId) + 1;
        while (_orderIdWindowOrder.Count > _options.ClientOrderIdWindow)
        {
            long oldest = _orderIdWindowOrder.Dequeue();
            int entries = _orderIdWindowEntries[oldest] - 1;
            if (entries > 0)
            {
                _orderIdWindowEntries[oldest] = entries; // remembered again later: keep it
                continue;
            }
            _orderIdWindowEntries.Remove(oldest);
            _orderIdWindow.Remove(oldest);
        }
    }

    /// <summary>Forgets an id whose batch failed to journal (a resend must be accepted); its queue entry ages out without evicting a later one.</summary>
    private void ForgetOrderId(long orderId) => _orderIdWindow.Remove(orderId);

    // ------------------------------------------------------------------ matcher thread

    private void MatcherLoop()
    {
        long next = 1;
        try
        {
            while (true)
            {
                // A stalled matcher does not beat: the heartbeat (exh_engine_heartbeat_timestamp_seconds,
                // MatcherStalled's input) stops for the fault's duration, as docs/engine-service.md says.
                var stall = Faults.TakeMatcherStall();
                if (stall > TimeSpan.Zero)
                {
                    Thread.Sleep(stall < TimeSpan.FromMilliseconds(50) ? stall : TimeSpan.FromMilliseconds(50));
                    continue;
                }
                Heartbeat();
                long available = Volatile.Read(ref _journaled.Value);
                if (available < next)
                {
                    RunControl();
                    Faults.ExpireDue();
                    if (Volatile.Read(ref _sequencerDone) == 1 && Volatile.Read(ref _journaled.Value) < next) break;
                    WaitForWork(ref _matcherWaiting, _matcherSignal,
                        () => Volatile.Read(ref _journaled.Value) >= next || !_control.IsEmpty || Volatile.Read(ref _sequencerDone) == 1);
                    continue;
                }
                double latencyFault = Faults.MatcherLatencyMicroseconds;
                _matcherStage.BeginBatch(Stopwatch.GetTimestamp());
                for (long s = next; s <= available; s++)
                {
                    _matcherStage.Process(ref _slots[s & _mask], latencyFault);
                }
                Volatile.Write(ref _matched.Value, available);
                next = available + 1;
                RunControl();
                MaybeSnapshot();
            }
            RunControl();
            WriteSnapshot("shutdown");
            _journal.Dispose();
            Events.Write("engine.stopped", $"engine stopped at sequence {_engine.LastSequence}");
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            while (_control.TryDequeue(out var action)) action();
            _stopped.TrySetResult();
        }
    }

    private void RunControl()
    {
        while (_control.TryDequeue(out var action)) action();
    }

    private void MaybeSnapshot()
    {
        if (_options.SnapshotEveryCommands <= 0) return;
        if (_engine.LastSequence.Value - _lastSnapshotSequence < _options.SnapshotEveryCommands) return;
        WriteSnapshot("periodic");
    }

    private void WriteSnapshot(string why)
    {
        if (_engine.LastSequence.Value == _lastSnapshotSequence || _engine.LastSequence.Value > _journal.DurableSequence.Value) return;
        try
        {
            string dir = EngineRecovery.SnapshotDirectory(_options.DataDirectory);
            string path = SnapshotStore.Write(dir, _engine);
            SnapshotStore.Prune(dir, _options.KeepSnapshots);
            _lastSnapshotSequence = _engine.LastSequence.Value;
            Events.Write("snapshot.written", $"{why} snapshot at sequence {_engine.LastSequence}",
                new Dictionary<string, string> { ["path"] = path, ["sequence"] = _engine.LastSequence.Value.ToString(CultureInfo.InvariantCulture) });
        }
        catch (IOException e)
        {
            // The journal still has everything; a missing snapshot only makes the next start slower.
            Events.Write("snapshot.failed", $"{why} snapshot failed: {e.Message}");
        }
    }

    private void Heartbeat() =>
        Volatile.Write(ref _heartbeatBits, BitConverter.DoubleToInt64Bits(_time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0));

    private void WakeMatcher()
    {
        if (Volatile.Read(ref _matcherWaiting) != 0) _matcherSignal.Set();
    }

    private void WaitForWork(ref int waitingFlag, ManualResetEventSlim signal, Func<bool> ready)
    {
        // Spin briefly (cheap when the next command is microseconds away), then block so an idle
        // engine leaves the cores to the gateway and the load driver.
        for (int i = 0; i < 64; i++)
        {
            if (ready()) return;
            Thread.SpinWait(30);
        }
        signal.Reset();
        Interlocked.Exchange(ref waitingFlag, 1);
        if (!ready()) signal.Wait(_options.IdleWakeInterval);
        Volatile.Write(ref waitingFlag, 0);
    }

    private void Fail(Exception e)
    {
        _fatal ??= e;
        try { Events.Write("engine.fatal", $"engine thread {Thread.CurrentThread.Name} failed: {e.GetType().Name}: {e.Message}"); }
        catch (ObjectDisposedException) { }
        _stopping = true;
        _sequencerSignal.Set();
        _matcherSignal.Set();
        if (Thread.CurrentThread == _matcherThread) _stopped.TrySetResult();
    }

    /// <summary>Collects the ids of new orders replayed during recovery (for the resend window).</summary>
    private sealed class NewOrderIdCollector : IExecutionReportSink
    {
        public List<long> Ids { get; } = [];

        public void OnReport(in ExecutionReport report)
        {
            if (report.CommandType == CommandType.NewOrder && report.Type is ReportType.Accepted or ReportType.Rejected && report.OrderId > 0)
                Ids.Add(report.OrderId);
        }
    }
}
