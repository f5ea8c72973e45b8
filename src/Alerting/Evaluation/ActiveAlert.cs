using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Evaluation;

/// <summary>The state of one alert instance of an alerting rule, as Prometheus's <c>rules.AlertState</c>.</summary>
public enum AlertState
{
    /// <summary>Resolved: the condition stopped holding; kept for 15 min so the resolution is sent.</summary>
    Inactive,

    /// <summary>The condition holds but not yet for the rule's <c>for</c> duration.</summary>
    Pending,

    /// <summary>The condition has held for at least <c>for</c>.</summary>
    Firing,
}

/// <summary>
/// One alert instance of an alerting rule: one per result series of the rule's expression
/// (Prometheus <c>rules.Alert</c>). Mutable; owned by its <see cref="AlertingRuleState"/>.
/// </summary>
public sealed class ActiveAlert
{
    internal ActiveAlert(LabelSet labels, LabelSet annotations, double value, DateTimeOffset activeAt)
    {
        Labels = labels;
        Annotations = annotations;
        Value = value;
        ActiveAt = activeAt;
        State = AlertState.Pending;
    }

    /// <summary>Identity: the series labels without <c>__name__</c>, the rule's (templated) labels and <c>alertname</c>.</summary>
    public LabelSet Labels { get; }

    /// <summary>Annotations rendered at the last evaluation that saw the series.</summary>
    public LabelSet Annotations { get; internal set; }

    /// <summary>The expression's value at the last evaluation that saw the series.</summary>
    public double Value { get; internal set; }

    /// <summary>Current state.</summary>
    public AlertState State { get; internal set; }

    /// <summary>Evaluation time at which the alert became pending (the <c>for</c> clock's start; Prometheus's <c>ALERTS_FOR_STATE</c> value).</summary>
    public DateTimeOffset ActiveAt { get; internal set; }

    /// <summary>Evaluation time at which it became firing.</summary>
    public DateTimeOffset? FiredAt { get; internal set; }

    /// <summary>Evaluation time at which it resolved.</summary>
    public DateTimeOffset? ResolvedAt { get; internal set; }

    /// <summary>First evaluation at which the condition no longer held while <c>keep_firing_for</c> kept it firing.</summary>
    public DateTimeOffset? KeepFiringSince { get; internal set; }
}
