using System.Diagnostics.Metrics;
using ExchangeHealth.Alerting.Slack;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>
/// Counts requests to the Slack endpoints that were refused as unauthentic: the counter
/// <c>exh.slack.requests.rejected</c> (unit <c>{request}</c>) on the meter
/// <see cref="IncidentMetrics.MeterName"/>, exposed as
/// <c>exh_slack_requests_rejected_total{endpoint, reason}</c>. Both labels are bounded:
/// <c>endpoint</c> is <see cref="CommandsEndpoint"/> or <see cref="InteractionsEndpoint"/>,
/// <c>reason</c> one of <c>missing_signature</c>, <c>bad_signature</c>, <c>stale_timestamp</c>,
/// <c>replay</c> (and <c>overloaded</c> when the replay guard is full).
/// </summary>
public sealed class SlackRequestMetrics : IDisposable
{
    /// <summary>The instrument name.</summary>
    public const string RejectedInstrument = "exh.slack.requests.rejected";

    /// <summary>Label value for <c>POST /slack/commands</c>.</summary>
    public const string CommandsEndpoint = "commands";

    /// <summary>Label value for <c>POST /slack/interactions</c>.</summary>
    public const string InteractionsEndpoint = "interactions";

    private readonly Meter? _ownedMeter;
    private readonly Counter<long> _rejected;

    /// <summary>Creates the counter on its own meter named <see cref="IncidentMetrics.MeterName"/> (disposed with this object).</summary>
    public SlackRequestMetrics()
    {
        _ownedMeter = new Meter(IncidentMetrics.MeterName, "1.0");
        _rejected = Create(_ownedMeter);
    }

    /// <summary>Creates the counter on <paramref name="meter"/> (owned by the caller; it should be named <see cref="IncidentMetrics.MeterName"/>).</summary>
    public SlackRequestMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _rejected = Create(meter);
    }

    /// <summary>The meter the counter lives on.</summary>
    public Meter Meter => _rejected.Meter;

    /// <summary>Counts one refused request.</summary>
    /// <param name="endpoint"><see cref="CommandsEndpoint"/> or <see cref="InteractionsEndpoint"/>.</param>
    /// <param name="rejection">Why (not <see cref="SlackRejection.None"/>).</param>
    /// <exception cref="ArgumentException">Another endpoint name, or <see cref="SlackRejection.None"/>.</exception>
    public void Rejected(string endpoint, SlackRejection rejection)
    {
        if (endpoint is not (CommandsEndpoint or InteractionsEndpoint))
            throw new ArgumentException($"endpoint must be \"{CommandsEndpoint}\" or \"{InteractionsEndpoint}\" (a bounded label)", nameof(endpoint));
        if (rejection == SlackRejection.None) throw new ArgumentException("not a rejection", nameof(rejection));
        _rejected.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("reason", SlackRequestVerdict.Code(rejection)));
    }

    /// <inheritdoc/>
    public void Dispose() => _ownedMeter?.Dispose();

    private static Counter<long> Create(Meter meter) =>
        meter.CreateCounter<long>(RejectedInstrument, "{request}", "Requests to the Slack endpoints refused as unsigned, forged, stale or replayed");
}
