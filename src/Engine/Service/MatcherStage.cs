using System.Collections.Concurrent;
using System.Diagnostics;

namespace ExchangeHealth.Engine.Service;

/// <summary>What the sequencer decided about a ring slot.</summary>
internal enum SlotOutcome : byte
{
    /// <summary>Published, not yet journaled.</summary>
    Pending,
    /// <summary>Durable in the journal: the matcher processes it.</summary>
    Journaled,
    /// <summary>Not journaled (journal failure or the internal_rejects fault): answered <c>internal</c>.</summary>
    RejectedInternal,
    /// <summary>A resend of a journaled new order: answered <c>duplicate_client_order_id</c>.</summary>
    RejectedDuplicate,
}

/// <summary>One slot of the inbound ring: the command and where its reports go.</summary>
internal struct RingSlot
{
    public Command Command;
    public IReportReceiver? Origin;
    public ulong RequestClOrdId;
    public long ReceivedTimestamp;
    public SlotOutcome Outcome;
}

/// <summary>
/// The matcher thread's work for one ring slot: process it (or answer the sequencer's reject),
/// count it in the SLI cells, time a sample of commands, keep the recent trades and route every
/// report. Runs on the matcher thread only; separate from <see cref="EngineService"/> so the
/// metrics-overhead benchmark runs exactly this code on one thread.
/// </summary>
internal sealed class MatcherStage
{
    /// <summary>Trades kept per market for the trade query.</summary>
    public const int TradeHistory = 1000;

    private readonly MatchingEngine _engine;
    private readonly EngineMetrics _metrics;
    private readonly bool _metricsEnabled;
    private readonly int _sampleEvery;
    private readonly ReportRouter _router;
    private int _sampleCountdown;

    public MatcherStage(MatchingEngine engine, EngineMetrics metrics, EngineServiceOptions options, ConcurrentDictionary<long, IReportReceiver[]> accounts)
    {
        _engine = engine;
        _metrics = metrics;
        _metricsEnabled = options.MetricsEnabled;
        _sampleEvery = options.MatchLatencySampleEvery;
        foreach (var book in engine.Books) Trades[book.Market.Id] = new Queue<TradeRecord>();
        _router = new ReportRouter(this, accounts);
        engine.ReportSink = _router;
    }

    /// <summary>The last <see cref="TradeHistory"/> trades per market (matcher thread only).</summary>
    public Dictionary<ushort, Queue<TradeRecord>> Trades { get; } = [];

    /// <summary>
    /// Called before each batch the matcher takes from the ring: the batch's first command is
    /// timed when no command was timed in the last millisecond. So at low rates every command is
    /// timed, and under load one in <see cref="EngineServiceOptions.MatchLatencySampleEvery"/>
    /// plus at most 1,000 batch starts a second.
    /// </summary>
    /// <param name="nowTicks"><see cref="Stopwatch.GetTimestamp"/> at the batch start.</param>
    public void BeginBatch(long nowTicks)
    {
        if (nowTicks - _lastTimedTicks >= MinBatchTimingInterval) _sampleCountdown = 0;
    }

    private static readonly long MinBatchTimingInterval = Stopwatch.Frequency / 1000;
    private long _lastTimedTicks;

    /// <summary>Processes one slot and releases its receiver reference.</summary>
    public void Process(ref RingSlot slot, double latencyFaultMicroseconds)
    {
        _router.Begin(ref slot);
        switch (slot.Outcome)
        {
            case SlotOutcome.Journaled:
                if (latencyFaultMicroseconds > 0) BusyWait(latencyFaultMicroseconds);
                if (_metricsEnabled)
                {
                    _metrics.CountReceived(slot.Command.MarketId, slot.Command.Type);
                    if (--_sampleCountdown <= 0)
                    {
                        _sampleCountdown = _sampleEvery;
                        long start = Stopwatch.GetTimestamp();
                        _lastTimedTicks = start;
                        _engine.Process(ref slot.Command);
                        _metrics.RecordMatchLatency(slot.Command.MarketId, Stopwatch.GetTimestamp() - start);
                    }
                    else
                    {
                        _engine.Process(ref slot.Command);
                    }
                }
                else
                {
                    _engine.Process(ref slot.Command);
                }
                break;
            case SlotOutcome.RejectedInternal:
                _router.RejectCurrent(RejectReason.Internal);
                break;
            case SlotOutcome.RejectedDuplicate:
                _router.RejectCurrent(RejectReason.DuplicateClientOrderId);
                break;
        }
        slot.Origin = null;
    }

    private static void BusyWait(double microseconds)
    {
        long until = Stopwatch.GetTimestamp() + (long)(microseconds * Stopwatch.Frequency / 1_000_000);
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
    }

    /// <summary>Routes the matcher's reports for the command being processed (matcher thread only).</summary>
    private sealed class ReportRouter(MatcherStage stage, ConcurrentDictionary<long, IReportReceiver[]> accounts) : IExecutionReportSink
    {
        private IReportReceiver? _origin;
        private ulong _requestClOrdId;
        private long _receivedTimestamp;
        private long _accountId;
        private CommandType _type;
        private Command _command;

        public void Begin(ref RingSlot slot)
        {
            _origin = slot.Origin;
            _requestClOrdId = slot.RequestClOrdId;
            _receivedTimestamp = slot.ReceivedTimestamp;
            _accountId = slot.Command.AccountId;
            _type = slot.Command.Type;
            _command = slot.Command;
        }

        public void RejectCurrent(RejectReason reason)
        {
            var report = new ExecutionReport
            {
                Type = ReportType.Rejected,
                Timestamp = _command.Timestamp,
                MarketId = _command.MarketId,
                OrderId = _command.OrderId,
                AccountId = _command.AccountId,
                Side = _command.Side,
                Price = _command.Price,
                Quantity = _command.Quantity,
                RejectReason = reason,
                CommandType = _command.Type,
            };
            OnReport(in report);
        }

        public void OnReport(in ExecutionReport report)
        {
            if (stage._metricsEnabled)
            {
                if (report.Type == ReportType.Rejected) stage._metrics.CountRejected(report.MarketId, report.RejectReason);
                else if (report.Type == ReportType.Fill && report.Liquidity == Liquidity.Taker) stage._metrics.CountTrade(report.MarketId);
            }
            if (report.Type == ReportType.Fill && report.Liquidity == Liquidity.Taker && stage.Trades.TryGetValue(report.MarketId, out var trades))
            {
                if (trades.Count == TradeHistory) trades.Dequeue();
                trades.Enqueue(new TradeRecord(report.TradeId, report.MarketId, report.Price.Units, report.Quantity.Units, report.Side, report.Timestamp, report.Sequence));
            }
            if (report.AccountId == _accountId || _type == CommandType.SetMarketState || report.Type == ReportType.MarketStateChanged)
            {
                Deliver(_origin, report, _requestClOrdId, _receivedTimestamp);
            }
            else if (accounts.TryGetValue(report.AccountId, out var receivers))
            {
                foreach (var r in receivers) Deliver(r, report, 0, 0);
            }
        }

        private static void Deliver(IReportReceiver? receiver, in ExecutionReport report, ulong request, long received)
        {
            if (receiver is null) return;
            try
            {
                receiver.OnReport(report, request, received);
            }
            catch (Exception)
            {
                // A receiver must not throw (see IReportReceiver); one that does loses this report,
                // the matcher goes on.
            }
        }
    }
}
