using System.Diagnostics.Metrics;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Quartz;

namespace ExchangeHealth.Alerting.Evaluation;

/// <summary>Settings of <see cref="RuleEvaluationService"/>.</summary>
public sealed record RuleEvaluationOptions
{
    /// <summary>Directory of Prometheus rule files (<c>*.yml</c>, <c>*.yaml</c>; subdirectories are not read).</summary>
    public required string RulesDirectory { get; init; }

    /// <summary>Interval of groups that set none (Prometheus's <c>evaluation_interval</c>); default 1 s.</summary>
    public TimeSpan DefaultInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Timeout of each rule's query; default 10 s, capped at the group's interval by nothing (a slow query delays only its group).</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Prometheus's external URL for generator links; empty for none.</summary>
    public string ExternalUrl { get; init; } = "";

    /// <summary>
    /// How long every query must have failed with Prometheus unreachable before the monitor raises
    /// <see cref="RuleEvaluationService.PrometheusUnreachableAlert"/>; default 3 s.
    /// </summary>
    public TimeSpan PrometheusDownAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Series whose scrape times the evaluations are aligned to (default <c>up{job="exh-engine"}</c>);
    /// null or empty for no alignment. See <see cref="ScrapeAlignmentDelay"/>.
    /// </summary>
    public string? AlignToScrapesOf { get; init; } = "up{job=\"exh-engine\"}";

    /// <summary>
    /// How long after the aligned series' scrape a group is evaluated (default 250 ms): a fresh
    /// sample (e.g. <c>up</c> dropping to 0) is then seen within this delay instead of up to a whole
    /// interval later, which is what unaligned evaluation (Prometheus's own) costs on average half
    /// of. Only groups whose interval is a multiple of the scrape interval benefit; others are
    /// aligned the same way at no cost.
    /// </summary>
    public TimeSpan ScrapeAlignmentDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Extra configuration of the Quartz scheduler (e.g. a clustered PostgreSQL job store); null for the in-memory store.</summary>
    public Action<IQuartzBuilder>? ConfigureQuartz { get; init; }
}

/// <summary>
/// Runs the rule groups of a directory: one Quartz.NET job per group at the group's interval
/// (never concurrent with itself), each evaluation at the trigger's scheduled time. Reloads the
/// directory on change (a bad file keeps its previous rules), keeps alert state across reloads
/// and restarts, counts evaluations and failures, and raises the monitor's own
/// <see cref="PrometheusUnreachableAlert"/> through the same notification path when Prometheus
/// cannot be reached.
/// </summary>
public sealed class RuleEvaluationService : IAsyncDisposable
{
    /// <summary>Name of the monitor's own alert when Prometheus cannot be reached.</summary>
    public const string PrometheusUnreachableAlert = "PrometheusUnreachable";

    private const string JobGroup = "exh-rule-groups";

    private readonly RuleEvaluationOptions _options;
    private readonly PrometheusApiClient _client;
    private readonly AlertStateStore? _store;
    private readonly Func<IReadOnlyList<Alert>, CancellationToken, Task> _publish;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _logs;
    private readonly ILogger _log;
    private readonly object _lock = new();
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private Dictionary<string, RuleGroupEvaluator> _evaluators = new(StringComparer.Ordinal);
    private RuleDirectoryWatcher? _watcher;
    private IScheduler? _scheduler;
    private DateTimeOffset? _unreachableSince;
    private double? _alignedTo;
    private readonly Dictionary<string, (DateTimeOffset At, double Value)> _budgets = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _realign;
    private bool _unreachableAlertFiring;

    /// <summary>Creates the service; nothing runs before <see cref="StartAsync"/>.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="client">Prometheus HTTP API.</param>
    /// <param name="store">Alert state persistence; null for none.</param>
    /// <param name="publish">Hands firing and resolved alerts to routing after each evaluation.</param>
    /// <param name="meter">Meter for the monitor's own metrics.</param>
    /// <param name="time">Clock.</param>
    /// <param name="logs">Loggers.</param>
    public RuleEvaluationService(RuleEvaluationOptions options, PrometheusApiClient client, AlertStateStore? store,
        Func<IReadOnlyList<Alert>, CancellationToken, Task> publish, Meter meter, TimeProvider? time = null, ILoggerFactory? logs = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _store = store;
        _publish = publish ?? throw new ArgumentNullException(nameof(publish));
        _time = time ?? TimeProvider.System;
        _logs = logs ?? NullLoggerFactory.Instance;
        _log = _logs.CreateLogger("exh.monitor.rules");
        Metrics = new EvaluationMetrics(meter, () => Evaluators);
    }

    /// <summary>The Quartz scheduler, once started (other monitor jobs, e.g. escalations, share it).</summary>
    public IScheduler? Scheduler => _scheduler;

    /// <summary>True once the group schedules are aligned to the scrapes of <see cref="RuleEvaluationOptions.AlignToScrapesOf"/>.</summary>
    public bool AlignedToScrapes => _alignedTo is not null;

    /// <summary>The monitor's own evaluation metrics.</summary>
    public EvaluationMetrics Metrics { get; }

    /// <summary>The current group evaluators.</summary>
    public IReadOnlyCollection<RuleGroupEvaluator> Evaluators
    {
        get { lock (_lock) return [.. _evaluators.Values]; }
    }

    /// <summary>Errors of the last rule reload (file:line: reason), empty when every file loaded.</summary>
    public IReadOnlyList<ConfigException> RuleErrors => _watcher?.LastErrors ?? [];

    /// <summary>True while Prometheus has been unreachable for every query since <see cref="UnreachableSince"/>.</summary>
    public DateTimeOffset? UnreachableSince { get { lock (_lock) return _unreachableSince; } }

    /// <summary>Raised after every group evaluation (on the job's thread).</summary>
    public event Action<RuleGroupEvaluator, GroupEvaluation>? Evaluated;

    /// <summary>Loads the rules, starts watching the directory and starts the Quartz scheduler.</summary>
    /// <exception cref="DirectoryNotFoundException">The rules directory does not exist.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_options.RulesDirectory))
            throw new DirectoryNotFoundException($"rules directory '{_options.RulesDirectory}' does not exist");
        var builder = QuartzSchedulerBuilder.Create(q =>
        {
            q.Services.AddSingleton(this);
            q.UseTimeProvider(_time);
            _options.ConfigureQuartz?.Invoke(q);
        });
        _scheduler = await builder.BuildScheduler(cancellationToken).ConfigureAwait(false);
        _watcher = new RuleDirectoryWatcher(_options.RulesDirectory, _logs.CreateLogger("exh.monitor.rules.watcher"));
        foreach (var e in _watcher.LastErrors) _log.LogError("rule file refused: {Error}", e.Message);
        await ApplyAsync(_watcher.Current, cancellationToken).ConfigureAwait(false);
        _watcher.Reloaded += OnReloaded;
        await _scheduler.Start(cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrWhiteSpace(_options.AlignToScrapesOf)) _realign = Task.Run(() => RealignLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>
    /// Keeps the evaluations aligned to the scrapes: checks the aligned series' scrape phase every
    /// 5 s until aligned, then every minute (a restarted Prometheus or a new target may change it),
    /// and reschedules the groups when it moved by more than 20 ms.
    /// </summary>
    private async Task RealignLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_alignedTo is null ? TimeSpan.FromSeconds(5) : TimeSpan.FromMinutes(1), _time, cancellationToken).ConfigureAwait(false);
                double? scrape = await ScrapeTimestampAsync(cancellationToken).ConfigureAwait(false);
                if (scrape is null) continue;
                if (_alignedTo is { } current && SamePhase(current, scrape.Value)) continue;
                await _applyGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    if (_scheduler is not null) await RescheduleAsync(Evaluators, cancellationToken, scrape).ConfigureAwait(false);
                }
                finally
                {
                    _applyGate.Release();
                }
                _log.LogInformation("rule evaluations aligned to the scrapes of {Series} (+{Delay} ms)", _options.AlignToScrapesOf, _options.ScrapeAlignmentDelay.TotalMilliseconds);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SchedulerException e)
            {
                _log.LogWarning(e, "could not realign rule evaluations");
            }
        }
    }

    private bool SamePhase(double a, double b)
    {
        long interval = (long)_options.DefaultInterval.TotalMilliseconds;
        if (interval <= 0) return true;
        long d = Math.Abs((long)Math.Round(a * 1000) - (long)Math.Round(b * 1000)) % interval;
        return Math.Min(d, interval - d) <= 20;
    }

    private void OnReloaded(RuleSet rules, IReadOnlyList<ConfigException> errors)
    {
        foreach (var e in errors) _log.LogError("rule file refused, its previous rules stay in force: {Error}", e.Message);
        _ = Task.Run(async () =>
        {
            try { await ApplyAsync(rules, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is SchedulerException or InvalidOperationException)
            {
                _log.LogError(e, "could not apply reloaded rules");
            }
        });
    }

    /// <summary>Replaces the evaluated groups with <paramref name="rules"/>: state of same-named rules in same-keyed groups is kept; jobs are rescheduled.</summary>
    public async Task ApplyAsync(RuleSet rules, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rules);
        await _applyGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var next = new Dictionary<string, RuleGroupEvaluator>(StringComparer.Ordinal);
            Dictionary<string, RuleGroupEvaluator> previous;
            lock (_lock) previous = _evaluators;
            foreach (var group in rules.Groups)
            {
                string key = RuleGroupEvaluator.KeyOf(group);
                if (next.ContainsKey(key))
                {
                    _log.LogError("rule group {Group} is defined twice (same file name in one directory?); the second is ignored", key);
                    continue;
                }
                var evaluator = new RuleGroupEvaluator(group, _client, _store,
                    _options.DefaultInterval, _options.QueryTimeout, _options.ExternalUrl, now, _logs.CreateLogger("exh.monitor.rules.group"),
                    restore: !previous.ContainsKey(key));
                if (previous.TryGetValue(key, out var old)) evaluator.TakeStateFrom(old);
                next[key] = evaluator;
            }
            lock (_lock) _evaluators = next;
            _log.LogInformation("evaluating {Groups} rule groups with {Rules} alerting rules", next.Count, next.Values.Sum(e => e.Rules.Count));
            if (_scheduler is not null) await RescheduleAsync(next.Values, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _applyGate.Release();
        }
    }

    private async Task RescheduleAsync(IEnumerable<RuleGroupEvaluator> evaluators, CancellationToken cancellationToken, double? knownScrapeTimestamp = null)
    {
        var scheduler = _scheduler!;
        var existing = await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(JobGroup), cancellationToken).ConfigureAwait(false);
        if (existing.Count > 0) await scheduler.DeleteJobs([.. existing], cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        double? scrapePhaseSeconds = knownScrapeTimestamp ?? await ScrapeTimestampAsync(cancellationToken).ConfigureAwait(false);
        _alignedTo = scrapePhaseSeconds;
        foreach (var evaluator in evaluators)
        {
            var start = AlignedStart(now, evaluator.Interval, scrapePhaseSeconds);
            var job = JobBuilder.Create<RuleGroupJob>()
                .WithIdentity(evaluator.Key, JobGroup)
                .UsingJobData(RuleGroupJob.GroupKeyData, evaluator.Key)
                .Build();
            var trigger = TriggerBuilder.Create()
                .WithIdentity(evaluator.Key, JobGroup)
                .StartAt(start)
                .WithSimpleSchedule(s => s.WithInterval(evaluator.Interval).RepeatForever()
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
                .Build();
            await scheduler.ScheduleJob(job, trigger, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<double?> ScrapeTimestampAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.AlignToScrapesOf)) return null;
        try
        {
            var result = await _client.QueryAsync($"timestamp({_options.AlignToScrapesOf})", null, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            return result.Samples.Count > 0 && double.IsFinite(result.Samples[0].Value) ? result.Samples[0].Value : null;
        }
        catch (PrometheusApiException e)
        {
            _log.LogInformation("evaluations not aligned to scrapes ({Error})", e.Message);
            return null;
        }
    }

    /// <summary>
    /// The first evaluation time after <paramref name="now"/> that falls <see cref="RuleEvaluationOptions.ScrapeAlignmentDelay"/>
    /// after a scrape of the aligned series (scrapes recur at the same phase of each interval), or
    /// <paramref name="now"/> when there is nothing to align to.
    /// </summary>
    internal DateTimeOffset AlignedStart(DateTimeOffset now, TimeSpan interval, double? scrapeTimestampSeconds)
    {
        long intervalMs = (long)interval.TotalMilliseconds;
        if (scrapeTimestampSeconds is not { } scrape || intervalMs <= 0) return now;
        long target = ((long)Math.Round(scrape * 1000) + (long)_options.ScrapeAlignmentDelay.TotalMilliseconds) % intervalMs;
        long nowMs = now.ToUnixTimeMilliseconds();
        long start = nowMs - (nowMs % intervalMs) + target;
        while (start <= nowMs) start += intervalMs;
        return DateTimeOffset.FromUnixTimeMilliseconds(start);
    }

    /// <summary>Evaluates one group at <paramref name="ts"/> and publishes its alerts (what the Quartz job runs).</summary>
    public async Task<GroupEvaluation?> RunGroupAsync(string groupKey, DateTimeOffset ts, CancellationToken cancellationToken)
    {
        RuleGroupEvaluator? evaluator;
        lock (_lock) _evaluators.TryGetValue(groupKey, out evaluator);
        if (evaluator is null) return null;
        var evaluation = await evaluator.EvaluateAsync(ts, cancellationToken).ConfigureAwait(false);
        Metrics.Record(groupKey, evaluation.Duration, evaluation.FailedRules);
        var alerts = await AddErrorBudgetAsync(evaluation.Alerts, evaluation.Timestamp, cancellationToken).ConfigureAwait(false);
        var self = CheckPrometheusHealth(evaluator, evaluation);
        if (self is not null) alerts.Add(self);
        if (alerts.Count > 0) await _publish(alerts, cancellationToken).ConfigureAwait(false);
        Evaluated?.Invoke(evaluator, evaluation);
        return evaluation;
    }

    /// <summary>
    /// SLO alerts (label <c>sloth_id</c>) that are firing get the annotation
    /// <c>error_budget_remaining</c>: the SLO's <c>slo:period_error_budget_remaining:ratio</c> for the
    /// same SLO (and market, when the alert has one), so the page says how much budget is left.
    /// Looked up at most every 30 s per series; a failed lookup leaves the alert as it is.
    /// </summary>
    private async Task<List<Alert>> AddErrorBudgetAsync(IReadOnlyList<Alert> alerts, DateTimeOffset ts, CancellationToken cancellationToken)
    {
        var result = new List<Alert>(alerts.Count);
        foreach (var alert in alerts)
        {
            if (!alert.Labels.TryGetValue("sloth_id", out string sloId) || alert.EndsAt is not null || alert.Annotations.Contains("error_budget_remaining"))
            {
                result.Add(alert);
                continue;
            }
            string market = alert.Labels["market"];
            string key = sloId + "\n" + market;
            double? budget;
            lock (_lock)
            {
                budget = _budgets.TryGetValue(key, out var cached) && ts - cached.At < TimeSpan.FromSeconds(30) ? cached.Value : null;
            }
            if (budget is null)
            {
                string selector = $"sloth_id=\"{Escape(sloId)}\"" + (market.Length > 0 ? $", market=\"{Escape(market)}\"" : "");
                try
                {
                    var r = await _client.QueryAsync($"max(slo:period_error_budget_remaining:ratio{{{selector}}})", ts, _options.QueryTimeout, cancellationToken).ConfigureAwait(false);
                    budget = r.Samples.Count > 0 && double.IsFinite(r.Samples[0].Value) ? r.Samples[0].Value : double.NaN;
                }
                catch (PrometheusApiException)
                {
                    budget = double.NaN;
                }
                lock (_lock) _budgets[key] = (ts, budget.Value);
            }
            result.Add(double.IsNaN(budget.Value) ? alert : alert with
            {
                Annotations = alert.Annotations.With("error_budget_remaining", budget.Value.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)),
            });
        }
        return result;

        static string Escape(string v) => v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
    }

    private Alert? CheckPrometheusHealth(RuleGroupEvaluator evaluator, GroupEvaluation evaluation)
    {
        bool allUnreachable = evaluation.PrometheusUnreachable && evaluation.FailedRules >= evaluator.Rules.Count;
        lock (_lock)
        {
            if (allUnreachable)
            {
                _unreachableSince ??= evaluation.Timestamp;
                if (evaluation.Timestamp - _unreachableSince.Value < _options.PrometheusDownAfter) return null;
                if (!_unreachableAlertFiring) _log.LogError("Prometheus at {Url} unreachable since {Since:O}", _client.BaseAddress, _unreachableSince);
                _unreachableAlertFiring = true;
                return UnreachableAlert(_unreachableSince.Value, null, evaluation.Errors.FirstOrDefault() ?? "");
            }
            if (evaluation.PrometheusUnreachable || evaluator.Rules.Count == 0) return null;
            var since = _unreachableSince;
            _unreachableSince = null;
            if (!_unreachableAlertFiring || since is null) return null;
            _unreachableAlertFiring = false;
            _log.LogInformation("Prometheus at {Url} reachable again", _client.BaseAddress);
            return UnreachableAlert(since.Value, evaluation.Timestamp, "");
        }
    }

    private Alert UnreachableAlert(DateTimeOffset since, DateTimeOffset? endsAt, string error) => new(
        LabelSet.Of("alertname", PrometheusUnreachableAlert, "severity", "page", "service", "exh-monitor", "prometheus", _client.BaseAddress.AbsoluteUri),
        LabelSet.Of(
            "summary", $"The monitor cannot query Prometheus at {_client.BaseAddress}: no alert rule is being evaluated",
            "description", error,
            "runbook_url", "docs/runbooks.md#prometheusunreachable"),
        since, endsAt, "");

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_realign is not null) await _realign.ConfigureAwait(false);
        _stopping.Dispose();
        if (_watcher is not null)
        {
            _watcher.Reloaded -= OnReloaded;
            _watcher.Dispose();
        }
        if (_scheduler is not null) await _scheduler.Shutdown(waitForJobsToComplete: true).ConfigureAwait(false);
        _applyGate.Dispose();
    }
}

/// <summary>The Quartz job of one rule group: evaluates it at the trigger's scheduled fire time.</summary>
[DisallowConcurrentExecution]
internal sealed class RuleGroupJob(RuleEvaluationService service) : IJob
{
    public const string GroupKeyData = "group";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        string key = context.MergedJobDataMap.GetString(GroupKeyData) ?? "";
        // Evaluate at the scheduled time, truncated to the millisecond, as Prometheus evaluates at its tick.
        var scheduled = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(scheduled.ToUnixTimeMilliseconds());
        await service.RunGroupAsync(key, ts, cancellationToken).ConfigureAwait(false);
    }
}
