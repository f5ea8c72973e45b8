using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Model;

/// <summary>Whether an alert (or a notification about a group of alerts) is firing or resolved.</summary>
public enum AlertStatus
{
    /// <summary>The condition holds (Prometheus state <c>firing</c>).</summary>
    Firing,

    /// <summary>The condition no longer holds.</summary>
    Resolved,
}

/// <summary>
/// An alert as it enters routing, in Alertmanager's model (<c>types.Alert</c>): the labels are its
/// identity, <see cref="EndsAt"/> set and not in the future means resolved. Produced by our rule
/// evaluation, by the monitor's self-checks and by the Alertmanager intake.
/// </summary>
/// <param name="Labels">Identity: rule labels and series labels, <c>alertname</c> included.</param>
/// <param name="Annotations">Templated annotations (summary, description, runbook_url, dashboard_url, ...).</param>
/// <param name="StartsAt">When the alert started firing (Prometheus: <c>ActiveAt</c> of the firing alert).</param>
/// <param name="EndsAt">When it resolved; null while firing.</param>
/// <param name="GeneratorUrl">Link back to the expression (a Prometheus graph URL), or empty.</param>
/// <param name="Value">The expression's value at the last evaluation (NaN when unknown).</param>
public sealed record Alert(
    LabelSet Labels,
    LabelSet Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    string GeneratorUrl,
    double Value = double.NaN)
{
    /// <summary>The alert's name (label <c>alertname</c>).</summary>
    public string Name => Labels["alertname"];

    /// <summary>Alertmanager's fingerprint of the labels: 16 hex digits.</summary>
    public string Fingerprint => Labels.FingerprintHex;

    /// <summary>Firing, or resolved when <see cref="EndsAt"/> is at or before <paramref name="now"/>.</summary>
    public AlertStatus StatusAt(DateTimeOffset now) => EndsAt is { } end && end <= now ? AlertStatus.Resolved : AlertStatus.Firing;
}
