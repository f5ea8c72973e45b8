using System.Diagnostics;
using System.Text;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Alerting.Evaluation;

/// <summary>The outcome of one evaluation of a rule group.</summary>
/// <param name="Timestamp">The evaluation time (the time every query was run at).</param>
/// <param name="Duration">Wall time the evaluation took.</param>
/// <param name="FailedRules">Rules whose query or result failed.</param>
/// <param name="PrometheusUnreachable">True when at least one query failed because Prometheus could not be reached.</param>
/// <param name="Errors">One message per failed rule.</param>
/// <param name="Alerts">Firing and recently resolved alerts, as handed to routing.</param>
public sealed record GroupEvaluation(
    DateTimeOffset Timestamp, TimeSpan Duration, int FailedRules, bool PrometheusUnreachable,
    IReadOnlyList<string> Errors, IReadOnlyList<Alert> Alerts);

/// <summary>
/// Evaluates one rule group: each alerting rule's expression as an instant query at the group's
/// evaluation time, in file order (as Prometheus evaluates a group sequentially), then applies
/// Prometheus's alert state machine (<see cref="AlertingRuleState"/>), persists the state when it
/// changed and returns the alerts for routing. Recording rules are left to Prometheus, which loads
/// the same files. Thread-safe: evaluations of one group are serialized.
/// </summary>
public sealed class RuleGroupEvaluator
{
    /// <summary>Persisted state older than this is not restored (Prometheus's default <c>rules.alert.for-outage-tolerance</c>).</summary>
    public static readonly TimeSpan OutageTolerance = TimeSpan.FromHours(1);

    private readonly PrometheusApiClient _client;
    private readonly AlertStateStore? _store;
    private readonly TimeSpan _queryTimeout;
    private readonly string _externalUrl;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly object _stateLock = new();
    private string _savedSignature = "";
    private string _lastErrors = "";

    /// <summary>Creates the evaluator and restores the group's persisted alerts younger than <see cref="OutageTolerance"/>.</summary>
    /// <param name="group">The group.</param>
    /// <param name="client">Prometheus HTTP API.</param>
    /// <param name="store">Persistence of alert state; null for none.</param>
    /// <param name="defaultInterval">Interval when the group sets none.</param>
    /// <param name="queryTimeout">Timeout of each query.</param>
    /// <param name="externalUrl">Prometheus URL used in generator links (usually the query URL).</param>
    /// <param name="now">Current time, for the restore cut-off.</param>
    /// <param name="log">Logger.</param>
    /// <param name="restore">False when the state comes from a previous evaluator instead (<see cref="TakeStateFrom"/>, on reload); the store is still written.</param>
    public RuleGroupEvaluator(RuleGroup group, PrometheusApiClient client, AlertStateStore? store, TimeSpan defaultInterval,
        TimeSpan queryTimeout, string externalUrl, DateTimeOffset now, ILogger? log = null, bool restore = true)
    {
        Group = group ?? throw new ArgumentNullException(nameof(group));
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _store = store;
        _queryTimeout = queryTimeout;
        _externalUrl = externalUrl.TrimEnd('/');
        _log = log ?? NullLogger.Instance;
        Interval = group.Interval ?? defaultInterval;
        Key = KeyOf(group);
        Rules = [.. group.AlertingRules.Select(r => new AlertingRuleState(r, group.Limit))];
        if (store is not null && restore) Restore(store.LoadGroup(Key), now);
    }

    /// <summary>The group.</summary>
    public RuleGroup Group { get; }

    /// <summary>Identity of the group across reloads and restarts: <c>&lt;file name&gt;:&lt;group name&gt;</c>.</summary>
    public string Key { get; }

    /// <summary>Evaluation interval.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The group's alerting rules with their alert state.</summary>
    public IReadOnlyList<AlertingRuleState> Rules { get; }

    /// <summary>Time and outcome of the last evaluation.</summary>
    public GroupEvaluation? LastEvaluation { get; private set; }

    /// <summary>The key of <paramref name="group"/>.</summary>
    public static string KeyOf(RuleGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return $"{Path.GetFileName(group.File)}:{group.Name}";
    }

    /// <summary>A copy of a rule's alerts, safe to read while evaluations run.</summary>
    public IReadOnlyList<ActiveAlertSnapshot> SnapshotAlerts(AlertingRuleState rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        lock (_stateLock) return [.. rule.Alerts.Select(ActiveAlertSnapshot.Of)];
    }

    /// <summary>Moves the alert state of rules with the same name from <paramref name="previous"/> (a reload keeps pending timers and firing alerts).</summary>
    public void TakeStateFrom(RuleGroupEvaluator previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        lock (previous._stateLock)
        lock (_stateLock)
        {
            foreach (var rule in Rules)
            {
                var old = previous.Rules.FirstOrDefault(r => r.Rule.Name == rule.Rule.Name);
                if (old is null) continue;
                foreach (var a in old.Alerts) rule.Restore(a);
            }
        }
    }

    /// <summary>
    /// Evaluates the group at <paramref name="ts"/>. Query failures fail only their rule (its
    /// alerts keep their state, as in Prometheus) and are reported in the result.
    /// </summary>
    public async Task<GroupEvaluation> EvaluateAsync(DateTimeOffset ts, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long start = Stopwatch.GetTimestamp();
            var errors = new List<string>();
            bool unreachable = false;
            foreach (var rule in Rules)
            {
                PromQueryResult result;
                try
                {
                    result = await _client.QueryAsync(rule.Rule.Expr, ts, _queryTimeout, cancellationToken).ConfigureAwait(false);
                }
                catch (PrometheusApiException e)
                {
                    unreachable |= e.IsUnreachable;
                    lock (_stateLock) rule.Fail(e.Message, ts);
                    errors.Add($"{rule.Rule.Name}: {e.Message}");
                    continue;
                }
                try
                {
                    lock (_stateLock) rule.Apply(result.Samples, ts);
                }
                catch (RuleEvaluationException e)
                {
                    errors.Add(e.Message);
                }
            }

            var alerts = new List<Alert>();
            var persisted = new List<PersistedAlert>();
            lock (_stateLock)
            {
                foreach (var rule in Rules)
                {
                    foreach (var a in rule.Alerts)
                    {
                        persisted.Add(new PersistedAlert(Key, rule.Rule.Name, a.Labels, a.Annotations, a.State, a.Value, a.ActiveAt, a.FiredAt, a.ResolvedAt, a.KeepFiringSince, ts));
                        if (a.State == AlertState.Pending) continue;
                        if (a.State == AlertState.Inactive && a.FiredAt is null) continue; // never fired: nothing to resolve
                        alerts.Add(new Alert(
                            a.Labels, a.Annotations,
                            a.FiredAt ?? a.ActiveAt,
                            a.State == AlertState.Inactive ? a.ResolvedAt : null,
                            GeneratorUrl(rule.Rule.Expr),
                            a.Value));
                    }
                }
            }
            SaveIfChanged(persisted);
            var evaluation = new GroupEvaluation(ts, Stopwatch.GetElapsedTime(start), errors.Count, unreachable, errors, alerts);
            LastEvaluation = evaluation;
            // Log a failure streak once (and when its errors change) and its end, not every tick.
            string errorText = string.Join("; ", errors);
            if (errorText != _lastErrors)
            {
                if (errors.Count > 0) _log.LogWarning("rule group {Group}: {Count} of {Rules} rules failed at {Time:O}: {Error}", Key, errors.Count, Rules.Count, ts, errorText);
                else _log.LogInformation("rule group {Group}: evaluations succeed again at {Time:O}", Key, ts);
                _lastErrors = errorText;
            }
            return evaluation;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void SaveIfChanged(List<PersistedAlert> alerts)
    {
        if (_store is null) return;
        var sb = new StringBuilder();
        foreach (var a in alerts)
        {
            sb.Append(a.Rule).Append('|').Append(a.Labels.FingerprintHex).Append('|').Append(a.State).Append('|')
              .Append(a.ActiveAt.ToUnixTimeMilliseconds()).Append('|').Append(a.FiredAt?.ToUnixTimeMilliseconds()).Append('|')
              .Append(a.ResolvedAt?.ToUnixTimeMilliseconds()).Append('|').Append(a.KeepFiringSince?.ToUnixTimeMilliseconds()).Append(';');
        }
        string signature = sb.ToString();
        if (signature == _savedSignature) return;
        try
        {
            _store.SaveGroup(Key, alerts);
            _savedSignature = signature;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException)
        {
            // Evaluation and notification go on; the state is saved at the next change.
            _log.LogError(e, "rule group {Group}: could not persist alert state", Key);
        }
    }

    private void Restore(IReadOnlyList<PersistedAlert> saved, DateTimeOffset now)
    {
        int restored = 0;
        foreach (var p in saved)
        {
            if (now - p.SavedAt > OutageTolerance) continue;
            var rule = Rules.FirstOrDefault(r => r.Rule.Name == p.Rule);
            if (rule is null) continue;
            rule.Restore(new ActiveAlert(p.Labels, p.Annotations, p.Value, p.ActiveAt)
            {
                State = p.State,
                FiredAt = p.FiredAt,
                ResolvedAt = p.ResolvedAt,
                KeepFiringSince = p.KeepFiringSince,
            });
            restored++;
        }
        if (restored > 0) _log.LogInformation("rule group {Group}: restored {Count} alerts from the state store", Key, restored);
    }

    private string GeneratorUrl(string expr) =>
        _externalUrl.Length == 0 ? "" : $"{_externalUrl}/graph?g0.expr={Uri.EscapeDataString(expr)}&g0.tab=1";
}

/// <summary>A read-only copy of an <see cref="ActiveAlert"/>.</summary>
public sealed record ActiveAlertSnapshot(LabelSet Labels, LabelSet Annotations, AlertState State, double Value,
    DateTimeOffset ActiveAt, DateTimeOffset? FiredAt, DateTimeOffset? ResolvedAt)
{
    internal static ActiveAlertSnapshot Of(ActiveAlert a) => new(a.Labels, a.Annotations, a.State, a.Value, a.ActiveAt, a.FiredAt, a.ResolvedAt);
}
