using ExchangeHealth.Engine;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>Settings of a <see cref="CanaryProber"/>. <see cref="Markets"/> and <see cref="ResolveTarget"/> are required.</summary>
public sealed record CanaryOptions
{
    /// <summary>
    /// The markets to probe, as configured in the engine's markets file (id, symbol, tick, lot,
    /// minimum quantity, price collar, reference price). The <c>market</c> label is the symbol, as
    /// in the engine's own metrics.
    /// </summary>
    public required IReadOnlyList<MarketDefinition> Markets { get; init; }

    /// <summary>
    /// Finds the engine and the canary's API key; called before every (re)connection. See
    /// <see cref="CanaryTargets"/>. A <see cref="CanaryTargetException"/> (or any exception) makes
    /// the round's probes <c>disconnected</c>.
    /// </summary>
    public required Func<CancellationToken, ValueTask<CanaryTarget>> ResolveTarget { get; init; }

    /// <summary>Time between the starts of two probe rounds (every market once per round). Default 5 s.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Longest time from sending the probe order to receiving its cancel's acknowledgement (and the
    /// longest wait for a connection, a logon or a sweep). Default 2 s.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Clock of the interval, the time-outs and the latency measurements. Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Receives one line per failed probe and per connection problem (never a secret). Null: no log.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// First client order id to use (null: derived from the clock, see <see cref="CanaryProber"/>);
    /// the canary also never goes below the engine's last durable sequence + 1 at logon.
    /// </summary>
    public ulong? ClOrdIdBase { get; init; }

    /// <summary>Checks the options.</summary>
    /// <returns>null when valid, else the problem naming the setting.</returns>
    public string? Validate()
    {
        if (Markets is null || Markets.Count == 0) return "markets: at least one market is required";
        if (ResolveTarget is null) return "target: required";
        if (Interval < TimeSpan.FromMilliseconds(10)) return "interval: must be at least 10ms";
        if (Timeout < TimeSpan.FromMilliseconds(10)) return "timeout: must be at least 10ms";
        var ids = new HashSet<ushort>();
        foreach (var m in Markets)
            if (!ids.Add(m.Id)) return $"markets: market {m.Id} ({m.Symbol}) is listed twice";
        if (ClOrdIdBase is 0 or > Engine.Gateway.Protocol.OrderEntryProtocol.MaxClOrdId)
            return $"cl_ord_id base: must be 1..{Engine.Gateway.Protocol.OrderEntryProtocol.MaxClOrdId}";
        return null;
    }
}
