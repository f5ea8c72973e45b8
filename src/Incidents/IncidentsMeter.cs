namespace ExchangeHealth.Incidents;

/// <summary>
/// The one <see cref="System.Diagnostics.Metrics.Meter"/> name of the incidents module. Export it
/// with <c>PrometheusTelemetry.Create([IncidentsMeter.Name], ...)</c> (the monitor's <c>/metrics</c>).
/// </summary>
public static class IncidentsMeter
{
    /// <summary><c>ExchangeHealth.Incidents</c>.</summary>
    public const string Name = "ExchangeHealth.Incidents";
}
