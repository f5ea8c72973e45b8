using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Evaluation;

/// <summary>
/// An alerting rule and its alert instances across evaluations, with Prometheus's semantics
/// (<c>rules.AlertingRule.Eval</c>): one alert per result series; a new series is pending from
/// its first evaluation and firing once it has been present for <c>for</c>; a pending alert whose
/// series vanishes is dropped; a firing one stays firing for <c>keep_firing_for</c> and then
/// resolves; a resolved alert is kept 15 min so its resolution is sent, and a series that
/// reappears in that time starts a new pending alert.
/// </summary>
public sealed class AlertingRuleState
{
    /// <summary>How long a resolved alert is kept (Prometheus's <c>resolvedRetention</c>).</summary>
    public static readonly TimeSpan ResolvedRetention = TimeSpan.FromMinutes(15);

    private readonly Dictionary<LabelSet, ActiveAlert> _active = [];

    /// <summary>Creates the state of <paramref name="rule"/> (whose labels already include its group's) in a group with <c>limit</c> <paramref name="limit"/>.</summary>
    public AlertingRuleState(AlertingRule rule, int limit)
    {
        ArgumentNullException.ThrowIfNull(rule);
        Rule = rule;
        Limit = limit;
    }

    /// <summary>The rule.</summary>
    public AlertingRule Rule { get; }

    /// <summary>The group's <c>limit</c> on alerts per rule (0: none).</summary>
    public int Limit { get; }

    /// <summary>The rule's alert instances: pending, firing and recently resolved.</summary>
    public IReadOnlyCollection<ActiveAlert> Alerts => _active.Values;

    /// <summary>Error of the last evaluation, null when it succeeded.</summary>
    public string? LastError { get; private set; }

    /// <summary>Time of the last evaluation.</summary>
    public DateTimeOffset? LastEvaluation { get; private set; }

    /// <summary>Restores an alert from persisted state (after a monitor restart). Replaces one with the same labels.</summary>
    public void Restore(ActiveAlert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        _active[alert.Labels] = alert;
    }

    /// <summary>Records a failed evaluation (query error): alerts keep their state, as in Prometheus.</summary>
    public void Fail(string error, DateTimeOffset ts)
    {
        LastError = error;
        LastEvaluation = ts;
    }

    /// <summary>
    /// Applies the expression's result at evaluation time <paramref name="ts"/>.
    /// </summary>
    /// <param name="samples">The instant vector the expression returned at <paramref name="ts"/> (a scalar result must be refused by the caller).</param>
    /// <param name="ts">The evaluation timestamp.</param>
    /// <exception cref="RuleEvaluationException">
    /// Two series have the same labels once the rule's labels are applied (Prometheus: "vector
    /// contains metrics with the same labelset after applying alert labels"), or the group's
    /// <c>limit</c> is exceeded (all alerts of the rule are then dropped, as in Prometheus).
    /// </exception>
    public void Apply(IReadOnlyList<PromSample> samples, DateTimeOffset ts)
    {
        ArgumentNullException.ThrowIfNull(samples);
        LastEvaluation = ts;
        var seen = new Dictionary<LabelSet, (LabelSet Annotations, double Value)>(samples.Count);
        foreach (var sample in samples)
        {
            // $labels in templates are the series labels (with __name__ when the expression keeps it).
            var seriesLabels = sample.Labels;
            // The rule's label templates already carry its group's labels (RuleFileLoader merges them).
            var labels = seriesLabels.Without("__name__");
            if (Rule.LabelTemplates.Count > 0)
            {
                // As Prometheus's labels.Builder.Set: a label that renders empty removes the series' label of that name.
                labels = LabelSet.From(labels.Concat(Rule.LabelTemplates.Select(t =>
                    new KeyValuePair<string, string>(t.Key, t.Value.Render(seriesLabels, sample.Value, Rule.Name)))));
            }
            labels = labels.With("alertname", Rule.Name);
            var annotations = LabelSet.From(Rule.Annotations.Select(t =>
                new KeyValuePair<string, string>(t.Key, t.Value.Render(seriesLabels, sample.Value, Rule.Name))));
            if (!seen.TryAdd(labels, (annotations, sample.Value)))
            {
                LastError = "vector contains metrics with the same labelset after applying alert labels";
                throw new RuleEvaluationException(Rule.Name, LastError);
            }
        }

        foreach (var (labels, (annotations, value)) in seen)
        {
            if (_active.TryGetValue(labels, out var alert) && alert.State != AlertState.Inactive)
            {
                alert.Value = value;
                alert.Annotations = annotations;
                continue;
            }
            _active[labels] = new ActiveAlert(labels, annotations, value, ts);
        }

        int activeCount = 0;
        foreach (var (labels, alert) in _active.ToList())
        {
            if (!seen.ContainsKey(labels))
            {
                bool keepFiring = false;
                if (alert.State == AlertState.Firing && Rule.KeepFiringFor > TimeSpan.Zero)
                {
                    alert.KeepFiringSince ??= ts;
                    keepFiring = ts - alert.KeepFiringSince.Value < Rule.KeepFiringFor;
                }
                if (alert.State == AlertState.Pending ||
                    (alert.ResolvedAt is { } resolvedAt && ts - resolvedAt > ResolvedRetention))
                {
                    _active.Remove(labels);
                }
                if (alert.State != AlertState.Inactive && !keepFiring)
                {
                    alert.State = AlertState.Inactive;
                    alert.ResolvedAt = ts;
                }
                if (!keepFiring) continue;
            }
            else
            {
                alert.KeepFiringSince = null;
            }

            activeCount++;
            if (alert.State == AlertState.Pending && ts - alert.ActiveAt >= Rule.For)
            {
                alert.State = AlertState.Firing;
                alert.FiredAt = ts;
            }
        }

        if (Limit > 0 && activeCount > Limit)
        {
            _active.Clear();
            LastError = $"exceeded limit of {Limit} with {activeCount} alerts";
            throw new RuleEvaluationException(Rule.Name, LastError);
        }
        LastError = null;
    }
}

/// <summary>An alerting rule's evaluation failed (query error, duplicate label sets, limit exceeded).</summary>
public sealed class RuleEvaluationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RuleEvaluationException(string rule, string reason, Exception? inner = null)
        : base($"rule {rule}: {reason}", inner)
    {
        RuleName = rule;
        Reason = reason;
    }

    /// <summary>The alert rule's name.</summary>
    public string RuleName { get; }

    /// <summary>What went wrong.</summary>
    public string Reason { get; }
}
