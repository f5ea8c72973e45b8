namespace ExchangeHealth.Engine.Service;

/// <summary>
/// Something that receives execution reports from the engine service: a TCP session, an HTTP
/// request waiting for its answer, a test.
/// </summary>
/// <remarks>
/// <see cref="OnReport"/> is called on the matcher thread (and, for reports the service makes
/// itself such as <c>overload</c> rejects, on the submitting thread). It must not block and must
/// not throw; it copies what it keeps. A receiver that falls behind must drop its client, never
/// stall the matcher.
/// </remarks>
public interface IReportReceiver
{
    /// <summary>One execution report.</summary>
    /// <param name="report">The report; valid only during the call.</param>
    /// <param name="requestClOrdId">The client order id of the request this report answers (0 for an unsolicited report such as a maker fill).</param>
    /// <param name="receivedTimestamp">
    /// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> of the gateway's receipt of that
    /// request (0 for unsolicited reports): the start of the ack-latency SLI.
    /// </param>
    void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp);
}

/// <summary>Outcome of <see cref="EngineService.Submit"/>.</summary>
public enum SubmitStatus
{
    /// <summary>In the ring; reports follow on the receiver.</summary>
    Enqueued,
    /// <summary>The ring is full: the command was not taken (answer <c>rejected</c>, reason <c>overload</c>; counted by the service).</summary>
    Overload,
    /// <summary>The service is not ready (the journal is faulted): not taken (answer <c>rejected</c>, reason <c>internal</c>; counted).</summary>
    NotReady,
    /// <summary>The service is stopping: not taken (close the session with <c>server_shutting_down</c>).</summary>
    Stopping,
}
