using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Engine.Gateway.Http;

/// <summary>
/// Collects the execution reports of one HTTP command and completes when the matcher has finished
/// that command, so the response can carry every report of it (fills and expiry included).
/// </summary>
/// <remarks>
/// <para>
/// <see cref="OnReport"/> runs on the matcher thread: it only appends to a list and completes a
/// task (continuations run asynchronously), so it never blocks the matcher.
/// </para>
/// <para>
/// When the command is finished: all reports of one command are delivered within one matcher step.
/// An acknowledgement that is always the command's last report (<c>rejected</c>,
/// <c>cancelled</c> of a cancel, <c>cancel_all_done</c>, <c>market_state_changed</c>) completes at
/// once. After <c>accepted</c> or <c>amended</c>, fills, a self-trade-prevention cancel or an
/// expiry may follow in the same step, so the receiver queues a no-op through
/// <see cref="EngineService.QueryAsync{T}"/>: the matcher runs queued queries only between
/// batches, after this command's last report.
/// </para>
/// </remarks>
internal sealed class HttpCommandReceiver(EngineService engine) : IReportReceiver
{
    private readonly List<ExecutionReport> _reports = new(4);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _ackIndex = -1;

    /// <summary>Completes when every report of the command has arrived.</summary>
    public Task Completion => _done.Task;

    /// <summary>The reports, in engine order. Read only after <see cref="Completion"/>.</summary>
    public IReadOnlyList<ExecutionReport> Reports => _reports;

    /// <summary>The acknowledgement. Read only after <see cref="Completion"/>.</summary>
    public ExecutionReport Acknowledgement => _reports[_ackIndex];

    /// <inheritdoc/>
    public void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp)
    {
        if (_done.Task.IsCompleted) return;
        _reports.Add(report);
        if (_ackIndex >= 0 || !OrderEntryProtocol.IsAcknowledgement(report)) return;
        _ackIndex = _reports.Count - 1;
        if (report.Type is ReportType.Accepted or ReportType.Amended)
        {
            try
            {
                _ = engine.QueryAsync(MarkDone);
            }
            catch (InvalidOperationException)
            {
                _done.TrySetResult(); // the service stopped: nothing more can arrive
            }
        }
        else
        {
            _done.TrySetResult();
        }
    }

    private bool MarkDone(MatchingEngine _) => _done.TrySetResult();
}
