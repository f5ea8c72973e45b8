using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Diagnostics;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Replay;

namespace ExchangeHealth.Load;

/// <summary>Why a load run ended.</summary>
public enum LoadStopReason
{
    /// <summary>The duration passed.</summary>
    Duration,
    /// <summary>The command count was reached.</summary>
    Count,
    /// <summary>The replay file ended.</summary>
    EndOfInput,
    /// <summary>Cancelled (Ctrl+C); the report covers what ran.</summary>
    Cancelled,
    /// <summary>Every connection was lost.</summary>
    ConnectionsLost,
    /// <summary>A connection could not be opened or logged on; nothing was sent.</summary>
    ConnectFailed,
    /// <summary>The replay file has a malformed record; the report covers the commands before it.</summary>
    InputError,
}

/// <summary>One acknowledged new order (kept when <see cref="LoadOptions.RecordAcknowledged"/>).</summary>
/// <param name="ClOrdId">The client order id.</param>
/// <param name="AccountId">The account (of the connection's API key).</param>
/// <param name="OrderId">The engine's order id (<c>account &lt;&lt; 40 | cl_ord_id</c>).</param>
/// <param name="Sequence">The journal sequence of the command (0 for an <c>overload</c> reject, which is not journaled).</param>
/// <param name="MarketId">The market.</param>
/// <param name="Outcome"><see cref="ReportType.Accepted"/> or <see cref="ReportType.Rejected"/>.</param>
/// <param name="RejectReason">Why it was rejected (<see cref="RejectReason.None"/> when accepted).</param>
/// <param name="Connection">The connection (0-based) that sent it.</param>
public readonly record struct AcknowledgedOrder(ulong ClOrdId, long AccountId, long OrderId, long Sequence, ushort MarketId,
    ReportType Outcome, RejectReason RejectReason, int Connection);

/// <summary>Rejected acknowledgements with one reason.</summary>
/// <param name="Reason">The reason.</param>
/// <param name="Count">How many.</param>
public sealed record RejectCount(RejectReason Reason, long Count)
{
    /// <summary>snake_case name, e.g. <c>unknown_order</c>.</summary>
    public string Name => Reason.Name();

    /// <summary>The category: validation, risk, state, overload or internal.</summary>
    public string Category => Reason.Category().Name();
}

/// <summary>Session errors with one code.</summary>
/// <param name="Code">The code.</param>
/// <param name="Count">How many.</param>
public sealed record SessionErrorCount(ProtocolErrorCode Code, long Count)
{
    /// <summary>snake_case name, e.g. <c>invalid_field</c>.</summary>
    public string Name => Client.ProtocolNames.Name(Code);
}

/// <summary>A connection that failed to open or was lost.</summary>
/// <param name="Connection">The connection (0-based).</param>
/// <param name="AccountId">Its account (0 if it never logged on).</param>
/// <param name="ElapsedSeconds">When, seconds after the measured run started (negative: before it, while connecting or pre-filling).</param>
/// <param name="Message">What happened.</param>
public sealed record ConnectionError(int Connection, long AccountId, double ElapsedSeconds, string Message);

/// <summary>The pre-fill phase of the generator (not part of the measured run).</summary>
/// <param name="Commands">Pre-fill commands sent.</param>
/// <param name="Acknowledged">Of which acknowledged.</param>
/// <param name="Rejected">Of which rejected.</param>
/// <param name="Elapsed">How long it took.</param>
public sealed record PreFillSummary(long Commands, long Acknowledged, long Rejected, TimeSpan Elapsed);

/// <summary>
/// One interval (normally one second) of the timeline. Counts are of events inside the interval;
/// latencies are of the acknowledgements received in it.
/// </summary>
/// <param name="Second">1-based number of the interval.</param>
/// <param name="ElapsedSeconds">Seconds from the start to the end of the interval.</param>
/// <param name="IntervalSeconds">Length of the interval (the last one may be shorter).</param>
/// <param name="Offered">Commands due by the schedule in the interval (open model; 0 in the closed model).</param>
/// <param name="Sent">Commands sent.</param>
/// <param name="Acknowledged">Acknowledgements received (rejects included).</param>
/// <param name="Rejected">Rejected acknowledgements.</param>
/// <param name="Errors">Errors: session errors, connection errors, commands not sent because the connection was down (unacknowledged commands are counted at the end, not here).</param>
/// <param name="Late">Late sends.</param>
/// <param name="Dropped">Dropped sends.</param>
/// <param name="InFlight">Requests in flight at the end of the interval.</param>
/// <param name="P50Nanoseconds">Median response time of the interval's acknowledgements (0 if none).</param>
/// <param name="P90Nanoseconds">90th percentile.</param>
/// <param name="P99Nanoseconds">99th percentile.</param>
/// <param name="MaxNanoseconds">Largest.</param>
public sealed record LoadTimelinePoint(int Second, double ElapsedSeconds, double IntervalSeconds, double Offered, long Sent, long Acknowledged,
    long Rejected, long Errors, long Late, long Dropped, long InFlight, long P50Nanoseconds, long P90Nanoseconds, long P99Nanoseconds, long MaxNanoseconds);

/// <summary>What a running load test reports about once per second (<see cref="LoadRunner.RunAsync"/>'s progress).</summary>
/// <param name="Elapsed">Time since the measured run started.</param>
/// <param name="OfferedRate">Commands due per second by the schedule over the last interval (open model; 0 in the closed model).</param>
/// <param name="SentRate">Commands sent per second over the last interval.</param>
/// <param name="AchievedRate">Acknowledgements per second over the last interval.</param>
/// <param name="InFlight">Requests in flight now.</param>
/// <param name="Sent">Commands sent so far.</param>
/// <param name="Acknowledged">Acknowledgements so far.</param>
/// <param name="Rejected">Rejected acknowledgements so far.</param>
/// <param name="Errors">Errors so far (session, connection, not sent).</param>
/// <param name="Late">Late sends so far.</param>
/// <param name="Dropped">Dropped sends so far.</param>
/// <param name="P50Nanoseconds">Median response time so far.</param>
/// <param name="P99Nanoseconds">99th percentile response time so far.</param>
public sealed record LoadProgress(TimeSpan Elapsed, double OfferedRate, double SentRate, double AchievedRate, long InFlight, long Sent,
    long Acknowledged, long Rejected, long Errors, long Late, long Dropped, long P50Nanoseconds, long P99Nanoseconds);

/// <summary>
/// The result of a load run. Definitions (also in every written report):
/// <list type="bullet">
/// <item><b>response time</b>: from a command's intended send time (open model: its slot in the schedule; closed model: when it was sent) to the arrival of its acknowledgement. Time the driver spent behind schedule is included (no coordinated omission).</item>
/// <item><b>service time</b>: from the actual send to the acknowledgement.</item>
/// <item><b>acknowledgement</b>: the first report answering a request: accepted, rejected, amended, cancelled (by request) or cancel-all done.</item>
/// <item><b>late send</b>: a command sent more than <see cref="LateThreshold"/> after its intended time (it is still sent and measured).</item>
/// <item><b>dropped send</b>: a command not sent because its connection already had <see cref="LoadOptions.MaxInFlightPerConnection"/> requests in flight.</item>
/// <item><b>unacknowledged</b>: sent, but no acknowledgement before the drain timeout or before its connection was lost.</item>
/// <item><b>errors</b>: unacknowledged commands + commands not sent because their connection was down + session errors + connection errors.</item>
/// </list>
/// </summary>
public sealed record LoadReport
{
    /// <summary>Bucket width of the latency histograms relative to the value (1/128 ≈ 0.78 %); percentiles are within half of it (±0.4 %).</summary>
    public static double HistogramRelativeError => LatencyHistogram.RelativeResolution;

    /// <summary>The percentiles every report lists.</summary>
    public static IReadOnlyList<double> ReportedPercentiles { get; } = [50, 90, 99, 99.9, 99.99];

    /// <summary>When the measured run started (UTC).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>The target, <c>host:port</c>.</summary>
    public required string Target { get; init; }

    /// <summary>Open or closed model.</summary>
    public required LoadModel Model { get; init; }

    /// <summary>Open model: the rate schedule as text (e.g. <c>5000/s constant</c>); closed model: the concurrency.</summary>
    public required string LoadShape { get; init; }

    /// <summary>Number of connections.</summary>
    public required int Connections { get; init; }

    /// <summary>The account of each connection (0 for one that never logged on).</summary>
    public required IReadOnlyList<long> Accounts { get; init; }

    /// <summary>The workload, described (e.g. <c>generator (seed 1, markets 1, 1,000 resting orders)</c>).</summary>
    public required string Workload { get; init; }

    /// <summary>Why the run ended.</summary>
    public required LoadStopReason StopReason { get; init; }

    /// <summary>Details of the stop (the input error, the connection failure), or null.</summary>
    public string? StopMessage { get; init; }

    /// <summary>The configured duration, or null.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The configured count, or null.</summary>
    public long? Count { get; init; }

    /// <summary>The sending phase: from the start until the schedule ended (the duration, or the last command's slot) or the run was stopped.</summary>
    public required TimeSpan SendWindow { get; init; }

    /// <summary>From the start to the later of the end of the send window and the last acknowledgement.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Commands whose turn came: sent, dropped, or not sent because the connection was down.</summary>
    public required long Scheduled { get; init; }

    /// <summary>Commands sent.</summary>
    public required long Sent { get; init; }

    /// <summary>Acknowledgements received (rejects included).</summary>
    public required long Acknowledged { get; init; }

    /// <summary>Rejected acknowledgements.</summary>
    public required long Rejected { get; init; }

    /// <summary>Late sends (see the definitions).</summary>
    public required long Late { get; init; }

    /// <summary>The lateness above which a send is late.</summary>
    public required TimeSpan LateThreshold { get; init; }

    /// <summary>Largest lateness of a send.</summary>
    public required TimeSpan MaxLateness { get; init; }

    /// <summary>Dropped sends (see the definitions).</summary>
    public required long Dropped { get; init; }

    /// <summary>The in-flight bound per connection that makes a send dropped.</summary>
    public required int MaxInFlightPerConnection { get; init; }

    /// <summary>Commands not sent because their connection was down.</summary>
    public required long NotSent { get; init; }

    /// <summary>Commands sent and never acknowledged (drain timeout or connection lost).</summary>
    public required long Unacknowledged { get; init; }

    /// <summary>Workload commands that cannot be sent over order entry (e.g. a replay's <c>set_state</c>) or that act on a dropped order; not scheduled.</summary>
    public required long Skipped { get; init; }

    /// <summary>Open model: commands due per second over the send window; null in the closed model.</summary>
    public double? OfferedRate { get; init; }

    /// <summary>Commands sent per second over the send window.</summary>
    public required double SentRate { get; init; }

    /// <summary>Acknowledgements per second over <see cref="Elapsed"/>.</summary>
    public required double AchievedRate { get; init; }

    /// <summary>Response times of every acknowledgement, nanoseconds (see the definitions), merged over the connections.</summary>
    public required LatencyHistogram ResponseTime { get; init; }

    /// <summary>Service times (actual send to acknowledgement), nanoseconds.</summary>
    public required LatencyHistogram ServiceTime { get; init; }

    /// <summary>Rejects by reason, most frequent first.</summary>
    public required IReadOnlyList<RejectCount> RejectsByReason { get; init; }

    /// <summary>Session errors by code, most frequent first.</summary>
    public required IReadOnlyList<SessionErrorCount> SessionErrors { get; init; }

    /// <summary>Connections that failed to open or were lost.</summary>
    public required IReadOnlyList<ConnectionError> ConnectionErrors { get; init; }

    /// <summary>Counts from the workload (replay source counters, skipped commands by kind).</summary>
    public required IReadOnlyList<ReplayCounter> WorkloadCounters { get; init; }

    /// <summary>The generator's pre-fill, or null when there was none.</summary>
    public PreFillSummary? PreFill { get; init; }

    /// <summary>One point per <see cref="LoadOptions.SampleInterval"/>.</summary>
    public required IReadOnlyList<LoadTimelinePoint> Timeline { get; init; }

    /// <summary>Every threshold's outcome, in the order given.</summary>
    public IReadOnlyList<ThresholdResult> Thresholds { get; init; } = [];

    /// <summary>Acknowledged new orders (only with <see cref="LoadOptions.RecordAcknowledged"/>), in arrival order per connection.</summary>
    public IReadOnlyList<AcknowledgedOrder> AcknowledgedOrders { get; init; } = [];

    /// <summary>Total session errors.</summary>
    public long SessionErrorCount => SessionErrors.Sum(e => e.Count);

    /// <summary>Errors: unacknowledged + not sent + session errors + connection errors.</summary>
    public long Errors => Unacknowledged + NotSent + SessionErrorCount + ConnectionErrors.Count;

    /// <summary>Errors as a share of the commands sent, 0..1 (1 when errors happened and nothing was sent).</summary>
    public double ErrorShare => Sent == 0 ? (Errors == 0 ? 0 : 1) : (double)Errors / Sent;

    /// <summary>Rejects as a share of the acknowledgements, 0..1.</summary>
    public double RejectShare => Acknowledged == 0 ? 0 : (double)Rejected / Acknowledged;

    /// <summary>True when every threshold passed (and there were no thresholds or all passed).</summary>
    public bool ThresholdsPassed => Thresholds.All(t => t.Passed);

    /// <summary>The definitions of the report's terms, as printed in the Markdown report and the CLI help.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Definitions { get; } =
    [
        new("response time", "from a command's intended send time (open model: its slot in the schedule; closed model: when it was sent) to the arrival of its acknowledgement; time the driver spent behind schedule is included, so there is no coordinated omission"),
        new("service time", "from the actual send to the acknowledgement"),
        new("acknowledgement", "the first report answering a request: accepted, rejected, amended, cancelled (by request) or cancel-all done"),
        new("late send", "a command sent more than the late threshold after its intended time; it is still sent and its response time includes the lateness"),
        new("dropped send", "a command not sent because its connection already had the maximum number of requests in flight (open model)"),
        new("unacknowledged", "sent, but no acknowledgement before the drain timeout or before its connection was lost"),
        new("errors", "unacknowledged commands + commands not sent because their connection was down + session errors + connection errors; error share = errors / commands sent"),
        new("rejects", "rejected acknowledgements; reject share = rejects / acknowledgements"),
        new("offered rate", "commands due per second by the schedule over the send window"),
        new("achieved rate", "acknowledgements per second over the elapsed time (start to the later of the end of the send window and the last acknowledgement)"),
        new("percentiles", "from log-linear histograms with buckets 1/128 (0.78%) of their value wide, merged over the connections; a percentile is its bucket's middle, within 0.4% of the exact value; min, max and mean are exact"),
    ];
}
