namespace ExchangeHealth.Monitor.Canary;

/// <summary>The result of one probe of one market (one place → acknowledge → cancel → acknowledge round trip).</summary>
/// <param name="Market">The market's symbol (the <c>market</c> label).</param>
/// <param name="Outcome">The <c>outcome</c> label of <c>exh_probe_total</c>: see <see cref="ProbeOutcomes"/>.</param>
/// <param name="Latency">Send of the order to receipt of the cancel's acknowledgement; only for <see cref="ProbeOutcomes.Ok"/>.</param>
/// <param name="Detail">Why it failed, for the log line (never a secret); null for a success.</param>
public sealed record ProbeResult(string Market, string Outcome, TimeSpan? Latency, string? Detail)
{
    /// <summary>Whether both acknowledgements arrived in time and the order was cancelled unexecuted.</summary>
    public bool Succeeded => Outcome == ProbeOutcomes.Ok;
}

/// <summary>Values of the <c>outcome</c> label of <c>exh_probe_total</c>.</summary>
public static class ProbeOutcomes
{
    /// <summary>Accepted and cancelled, both acknowledgements within the time-out.</summary>
    public const string Ok = "ok";

    /// <summary>An acknowledgement did not arrive within the time-out (the engine is slow or stalled).</summary>
    public const string Timeout = "timeout";

    /// <summary>No session: the engine cannot be found or reached, the logon failed, or the connection was lost during the probe.</summary>
    public const string Disconnected = "disconnected";

    /// <summary>
    /// The probe order traded although it was placed post-only far from the touch (someone sold
    /// into it while it rested). Never expected; every fill is also logged.
    /// </summary>
    public const string Executed = "executed";

    /// <summary>Prefix of a rejection: <c>rejected:</c> + the engine's reject reason (<c>rejected:market_halted</c>) or session error (<c>rejected:invalid_field</c>).</summary>
    public const string RejectedPrefix = "rejected:";

    /// <summary>The outcomes every market's counter starts with (at 0), so that rates and alerts see the series before the first failure.</summary>
    public static IReadOnlyList<string> Initial { get; } = [Ok, Timeout, Disconnected, Executed];

    /// <summary><c>rejected:</c> + <paramref name="reason"/>.</summary>
    public static string Rejected(string reason) => RejectedPrefix + reason;
}
