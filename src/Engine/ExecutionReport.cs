using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Engine;

/// <summary>The kind of an execution report.</summary>
public enum ReportType : byte
{
    /// <summary>A new order was accepted (it may then fill, rest, or expire).</summary>
    Accepted = 1,
    /// <summary>The command was rejected; <see cref="ExecutionReport.RejectReason"/> says why. Nothing changed.</summary>
    Rejected = 2,
    /// <summary>
    /// One side of one execution. Each trade yields two fills with the same trade id: the taker's
    /// (aggressor) then the maker's (resting order). <see cref="ExecutionReport.LeavesQuantity"/> 0 means filled.
    /// </summary>
    Fill = 3,
    /// <summary>Open quantity removed by a cancel, cancel-all or self-trade prevention.</summary>
    Cancelled = 4,
    /// <summary>An amend took effect; price and quantity are the new values.</summary>
    Amended = 5,
    /// <summary>An IOC/FOK/market order's unfilled quantity expired without resting.</summary>
    Expired = 6,
    /// <summary>A market changed state.</summary>
    MarketStateChanged = 7,
    /// <summary>A cancel-all finished; <see cref="ExecutionReport.Quantity"/> holds the number of orders cancelled.</summary>
    CancelAllDone = 8,
}

/// <summary>Whether a fill added liquidity (maker, resting order) or took it (taker, aggressor).</summary>
public enum Liquidity : byte
{
    /// <summary>Not a fill.</summary>
    None = 0,
    /// <summary>The resting order.</summary>
    Maker = 1,
    /// <summary>The aggressor.</summary>
    Taker = 2,
}

/// <summary>
/// An output of the matcher. Passed by reference to an <see cref="IExecutionReportSink"/>; the
/// sink must copy what it keeps (the matcher reuses the instance).
/// </summary>
public struct ExecutionReport
{
    /// <summary>The kind of report.</summary>
    public ReportType Type;
    /// <summary>Sequence number of the command that caused it.</summary>
    public SequenceNumber Sequence;
    /// <summary>Timestamp of that command (Unix ns).</summary>
    public long Timestamp;
    /// <summary>Market id (0 for a cancel-all over every market's summary).</summary>
    public ushort MarketId;
    /// <summary>The order the report is about.</summary>
    public long OrderId;
    /// <summary>The account that owns the order.</summary>
    public long AccountId;
    /// <summary>The order's side.</summary>
    public Side Side;
    /// <summary>Fill: execution price (the resting order's price). Others: the order's limit price.</summary>
    public Price Price;
    /// <summary>Fill: executed quantity. Cancelled/Expired: quantity removed. Amended/Accepted: order quantity. CancelAllDone: orders cancelled.</summary>
    public Quantity Quantity;
    /// <summary>Open quantity left after this report (0 = the order is done).</summary>
    public Quantity LeavesQuantity;
    /// <summary>Fill: engine-wide trade id, 1, 2, 3, ...</summary>
    public long TradeId;
    /// <summary>Fill: the other side's order id.</summary>
    public long CounterOrderId;
    /// <summary>Fill: the other side's account.</summary>
    public long CounterAccountId;
    /// <summary>Fill: maker or taker.</summary>
    public Liquidity Liquidity;
    /// <summary>Rejected: why.</summary>
    public RejectReason RejectReason;
    /// <summary>Cancelled/Expired: why.</summary>
    public CancelReason CancelReason;
    /// <summary>MarketStateChanged: the new state.</summary>
    public MarketState State;
    /// <summary>The command type that caused the report.</summary>
    public CommandType CommandType;

    /// <inheritdoc/>
    public override readonly string ToString() => Type switch
    {
        ReportType.Rejected => $"#{Sequence} {Type} {CommandType} market={MarketId} order={OrderId} reason={RejectReason.Name()}",
        ReportType.Fill => $"#{Sequence} Fill trade={TradeId} market={MarketId} order={OrderId} {Side} {Liquidity} px={Price} qty={Quantity} leaves={LeavesQuantity} vs={CounterOrderId}",
        ReportType.Cancelled or ReportType.Expired => $"#{Sequence} {Type} market={MarketId} order={OrderId} qty={Quantity} reason={CancelReason.Name()}",
        ReportType.MarketStateChanged => $"#{Sequence} MarketStateChanged market={MarketId} state={State.Name()}",
        _ => $"#{Sequence} {Type} market={MarketId} order={OrderId} {Side} px={Price} qty={Quantity} leaves={LeavesQuantity}",
    };
}

/// <summary>Receives execution reports from the matcher, on the matcher thread.</summary>
/// <remarks>Implementations must not throw and must not block; they copy what they keep.</remarks>
public interface IExecutionReportSink
{
    /// <summary>Called once per report, in order.</summary>
    void OnReport(in ExecutionReport report);
}

/// <summary>A sink that drops every report.</summary>
public sealed class NullReportSink : IExecutionReportSink
{
    /// <summary>The shared instance.</summary>
    public static NullReportSink Instance { get; } = new();

    /// <inheritdoc/>
    public void OnReport(in ExecutionReport report) { }
}

/// <summary>A sink that keeps every report in a list (tests, tools). Not for the hot path.</summary>
public sealed class CollectingReportSink : IExecutionReportSink
{
    /// <summary>The reports received so far.</summary>
    public List<ExecutionReport> Reports { get; } = [];

    /// <inheritdoc/>
    public void OnReport(in ExecutionReport report) => Reports.Add(report);
}

/// <summary>
/// A sink that counts reports by type, reject reason and cancel reason without allocating, and
/// optionally forwards to another sink.
/// </summary>
public sealed class CountingReportSink(IExecutionReportSink? next = null) : IExecutionReportSink
{
    private readonly long[] _byType = new long[16];
    private readonly long[] _byReject = new long[256];
    private readonly long[] _byCancel = new long[16];

    /// <summary>Number of reports of <paramref name="type"/>.</summary>
    public long Count(ReportType type) => _byType[(int)type];

    /// <summary>Number of rejects with <paramref name="reason"/>.</summary>
    public long Count(RejectReason reason) => _byReject[(int)reason];

    /// <summary>Number of cancel/expire reports with <paramref name="reason"/>.</summary>
    public long Count(CancelReason reason) => _byCancel[(int)reason];

    /// <summary>Number of trades (each trade yields two fills).</summary>
    public long Trades => _byType[(int)ReportType.Fill] / 2;

    /// <summary>Reject reasons seen, with counts, most frequent first.</summary>
    public IReadOnlyList<(RejectReason Reason, long Count)> Rejects
    {
        get
        {
            var list = new List<(RejectReason, long)>();
            for (int i = 1; i < _byReject.Length; i++)
            {
                if (_byReject[i] > 0) list.Add(((RejectReason)i, _byReject[i]));
            }
            list.Sort((a, b) => b.Item2.CompareTo(a.Item2));
            return list;
        }
    }

    /// <inheritdoc/>
    public void OnReport(in ExecutionReport report)
    {
        _byType[(int)report.Type]++;
        if (report.Type == ReportType.Rejected) _byReject[(int)report.RejectReason]++;
        else if (report.Type is ReportType.Cancelled or ReportType.Expired) _byCancel[(int)report.CancelReason]++;
        next?.OnReport(report);
    }
}
