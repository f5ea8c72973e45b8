using System.Diagnostics.Metrics;

namespace ExchangeHealth.Alerting.Evaluation;

/// <summary>
/// The monitor's own health, from the metric contract: <c>exh_rule_evaluations_total{group}</c>,
/// <c>exh_rule_evaluation_failures_total{group}</c>, <c>exh_rule_evaluation_duration_seconds{group}</c>
/// and <c>exh_alerts{alertname,state}</c> (pending / firing instances, observed from the registered
/// evaluators at each scrape).
/// </summary>
public sealed class EvaluationMetrics
{
    /// <summary>Histogram buckets of the evaluation duration, seconds (1 ms .. 30 s).</summary>
    public static IReadOnlyList<double> DurationBucketsSeconds { get; } = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Instrument name of the duration histogram (for views).</summary>
    public const string DurationInstrument = "exh.rule.evaluation.duration";

    private readonly Counter<long> _evaluations;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _duration;
    private readonly Func<IEnumerable<RuleGroupEvaluator>> _evaluators;

    /// <summary>Creates the instruments on <paramref name="meter"/>; <paramref name="evaluators"/> lists the live group evaluators for <c>exh_alerts</c>.</summary>
    public EvaluationMetrics(Meter meter, Func<IEnumerable<RuleGroupEvaluator>> evaluators)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _evaluators = evaluators ?? throw new ArgumentNullException(nameof(evaluators));
        _evaluations = meter.CreateCounter<long>("exh.rule.evaluations", "{evaluation}", "Rule group evaluations.");
        _failures = meter.CreateCounter<long>("exh.rule.evaluation.failures", "{evaluation}", "Rule evaluations that failed (query error, unreachable Prometheus, duplicate label sets, limit).");
        _duration = meter.CreateHistogram<double>(DurationInstrument, "s", "Duration of one rule group evaluation.");
        meter.CreateObservableGauge("exh.alerts", ObserveAlerts, "{alert}", "Alert instances by name and state (pending, firing).");
    }

    internal void Record(string group, TimeSpan duration, int failedRules)
    {
        var tag = new KeyValuePair<string, object?>("group", group);
        _evaluations.Add(1, tag);
        if (failedRules > 0) _failures.Add(failedRules, tag);
        _duration.Record(duration.TotalSeconds, tag);
    }

    private IEnumerable<Measurement<long>> ObserveAlerts()
    {
        var counts = new Dictionary<(string Name, AlertState State), long>();
        foreach (var evaluator in _evaluators())
        {
            foreach (var rule in evaluator.Rules)
            {
                // Every rule reports both states so a cleared alert drops to 0 rather than vanishing.
                counts.TryAdd((rule.Rule.Name, AlertState.Pending), 0);
                counts.TryAdd((rule.Rule.Name, AlertState.Firing), 0);
                foreach (var alert in evaluator.SnapshotAlerts(rule))
                {
                    if (alert.State is AlertState.Pending or AlertState.Firing) counts[(rule.Rule.Name, alert.State)]++;
                }
            }
        }
        foreach (var ((name, state), n) in counts)
        {
            yield return new Measurement<long>(n,
                new KeyValuePair<string, object?>("alertname", name),
                new KeyValuePair<string, object?>("state", state == AlertState.Firing ? "firing" : "pending"));
        }
    }
}
