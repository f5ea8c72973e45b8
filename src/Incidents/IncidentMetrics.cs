using System.Diagnostics.Metrics;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents;

/// <summary>
/// The leadership figures of the metric contract (ARCHITECTURE.md): <c>exh_incidents_open{severity}</c>
/// and the MTTA / MTTR histograms <c>exh_incident_time_to_acknowledge_seconds{severity}</c> and
/// <c>exh_incident_time_to_resolve_seconds{severity}</c>, on the meter <see cref="MeterName"/>.
/// </summary>
/// <remarks>
/// Time to acknowledge is acknowledged − detected (the page); time to resolve is resolved −
/// started (the impact start), as the post-incident report defines them. Histograms are recorded
/// by the node that applied the transition; the open gauge reads the store's counts (cached,
/// refreshed on every change and at least every 30 s), so every node of a PostgreSQL-backed
/// cluster reports the same value: aggregate with <c>max</c>, not <c>sum</c>.
/// </remarks>
public sealed class IncidentMetrics : IDisposable
{
    /// <summary>Meter of the incidents module.</summary>
    public const string MeterName = "ExchangeHealth.Incidents";

    /// <summary>Instrument name of the time-to-acknowledge histogram.</summary>
    public const string TimeToAcknowledgeInstrument = "exh.incident.time_to_acknowledge";

    /// <summary>Instrument name of the time-to-resolve histogram.</summary>
    public const string TimeToResolveInstrument = "exh.incident.time_to_resolve";

    /// <summary>Bucket upper bounds in seconds: 30 s to 1 day (pages are acknowledged in minutes, resolved in hours).</summary>
    public static IReadOnlyList<double> BucketsSeconds { get; } = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];

    private readonly Meter _meter;
    private readonly Histogram<double> _timeToAck;
    private readonly Histogram<double> _timeToResolve;
    private volatile IReadOnlyDictionary<IncidentSeverity, int> _open = new Dictionary<IncidentSeverity, int>();

    /// <summary>Creates the instruments on a new meter named <see cref="MeterName"/>.</summary>
    public IncidentMetrics()
    {
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge("exh.incidents.open", ObserveOpen, "{incident}", "Open incidents (triggered, acknowledged, mitigated) by severity.");
        _timeToAck = _meter.CreateHistogram<double>(TimeToAcknowledgeInstrument, "s", "Incident time to acknowledge (acknowledged - detected), by severity.");
        _timeToResolve = _meter.CreateHistogram<double>(TimeToResolveInstrument, "s", "Incident time to resolve (resolved - started), by severity.");
    }

    /// <summary>Replaces the open-incident counts the gauge reports.</summary>
    public void SetOpen(IReadOnlyDictionary<IncidentSeverity, int> counts) => _open = counts ?? throw new ArgumentNullException(nameof(counts));

    /// <summary>Records the transitions between <paramref name="before"/> and <paramref name="after"/>: a first acknowledgement, a resolution.</summary>
    public void RecordChange(Incident? before, Incident after)
    {
        ArgumentNullException.ThrowIfNull(after);
        var tag = new KeyValuePair<string, object?>("severity", IncidentNames.Format(after.Severity));
        if (before?.AcknowledgedAt is null && after.AcknowledgedAt is { } acked)
            _timeToAck.Record(Math.Max(0, (acked - (after.DetectedAt ?? after.StartedAt)).TotalSeconds), tag);
        if (before?.ResolvedAt is null && after.ResolvedAt is { } resolved)
            _timeToResolve.Record(Math.Max(0, (resolved - after.StartedAt).TotalSeconds), tag);
    }

    private IEnumerable<Measurement<int>> ObserveOpen()
    {
        var open = _open;
        foreach (var severity in Enum.GetValues<IncidentSeverity>())
            yield return new Measurement<int>(open.GetValueOrDefault(severity), new KeyValuePair<string, object?>("severity", IncidentNames.Format(severity)));
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
