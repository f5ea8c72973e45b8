using System.Globalization;
using System.Text.Json.Nodes;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>Options of one run.</summary>
public sealed record ExperimentRunOptions
{
    /// <summary>Where run directories are made (<c>DIR/&lt;slug&gt;-&lt;UTC timestamp&gt;/</c>); default <c>reports/chaos</c>.</summary>
    public string ReportDirectory { get; init; } = "reports/chaos";

    /// <summary>The platform's data directory (<c>--data</c>); default <c>RUN_DIR/data</c>.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Apply the experiment's <c>short:</c> overrides (CI).</summary>
    public bool Short { get; init; }

    /// <summary>How often expectations are polled while observing and recovery is checked (default 500 ms; 250 to 500 ms is sensible).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often <c>abort_when</c> is checked (default 1 s).</summary>
    public TimeSpan AbortCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Progress lines (also written to <c>RUN_DIR/run.log</c>), or null.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// Runs an experiment: Slack stand-in (when asked) → platform (through the factory) → warm-up →
/// steady-state hypothesis (when it fails: outcome <see cref="ExperimentOutcome.SteadyStateNotMet"/>,
/// no fault) → method, with the <c>abort_when</c> watch and, from the fault injection on, the
/// observation of the expectations (monitor alerts pending/firing, Slack requests, incidents;
/// polled every <see cref="ExperimentRunOptions.PollInterval"/>) → rollbacks (always, once the
/// method started: also after a failed action, an abort or Ctrl-C) → recovery (the steady state
/// holds again within <c>expect.recovery_within</c>) → invariants → report files.
/// </summary>
/// <remarks>
/// Times come from the injected <see cref="TimeProvider"/> and are reported relative to the fault
/// injection (the end of the <c>fault: true</c> action). The observation ends when every
/// expectation is met or the longest budget has passed; the rollbacks start after both the method
/// and the observation ended.
/// </remarks>
public sealed class ExperimentRunner
{
    private readonly Func<PlatformRequest, CancellationToken, Task<IPlatform>> _platformFactory;
    private readonly InvariantRegistry _invariants;
    private readonly ChaosActionRegistry _actions;
    private readonly TimeProvider _time;

    /// <summary>Creates a runner.</summary>
    /// <param name="platformFactory">Starts the platform an experiment asks for (the supervisor behind <c>exh up</c>).</param>
    /// <param name="actions">Action providers (default: built-ins).</param>
    /// <param name="invariants">Invariants (default: built-ins).</param>
    /// <param name="time">Clock (default system).</param>
    public ExperimentRunner(Func<PlatformRequest, CancellationToken, Task<IPlatform>> platformFactory, ChaosActionRegistry? actions = null, InvariantRegistry? invariants = null, TimeProvider? time = null)
    {
        _platformFactory = platformFactory ?? throw new ArgumentNullException(nameof(platformFactory));
        _actions = actions ?? ChaosActionRegistry.CreateDefault();
        _invariants = invariants ?? InvariantRegistry.CreateDefault();
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Runs <paramref name="experiment"/> and writes its report; never throws for a failing experiment.</summary>
    /// <param name="experiment">The experiment (as parsed).</param>
    /// <param name="options">Options.</param>
    /// <param name="cancellationToken">Ctrl-C: the method stops, rollbacks still run, the outcome is aborted.</param>
    /// <returns>The report (already written to its directory).</returns>
    /// <exception cref="IOException">The report directory cannot be created or written.</exception>
    public async Task<ExperimentReport> RunAsync(Experiment experiment, ExperimentRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(options);
        var run = new Run(this, options.Short ? experiment.WithShortOverrides() : experiment, options);
        return await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    private sealed class Run(ExperimentRunner owner, Experiment exp, ExperimentRunOptions options)
    {
        private readonly TimeProvider _time = owner._time;
        private readonly List<StepRecord> _method = [];
        private readonly List<StepRecord> _rollbacks = [];
        private readonly List<string> _reasons = [];
        private readonly Lock _logLock = new();
        private DateTimeOffset _started;
        private string _runDir = "";
        private ChaosContext? _ctx;
        private string? _abortReason;
        private Observer? _observer;

        private void Log(string line)
        {
            var elapsed = _time.GetUtcNow() - _started;
            string text = $"[{elapsed.TotalSeconds.ToString("0000.0", CultureInfo.InvariantCulture)}s] {line}";
            lock (_logLock)
            {
                try { File.AppendAllText(Path.Combine(_runDir, "run.log"), text + "\n"); }
                catch (IOException) { }
            }
            options.Log?.Invoke(text);
        }

        private TimePoint Point(DateTimeOffset at) => new(at, _ctx?.SecondsAfterFault(at));

        public async Task<ExperimentReport> ExecuteAsync(CancellationToken ct)
        {
            _started = _time.GetUtcNow();
            string stamp = _started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
            _runDir = Path.GetFullPath(Path.Combine(options.ReportDirectory, $"{exp.Slug}-{stamp}"));
            for (int n = 2; Directory.Exists(_runDir); n++) _runDir = Path.GetFullPath(Path.Combine(options.ReportDirectory, $"{exp.Slug}-{stamp}-{n}"));
            Directory.CreateDirectory(_runDir);
            Log($"experiment '{exp.Title}' ({exp.Source}){(options.Short ? " --short" : "")}, report in {_runDir}");

            FakeSlackServer? slack = null;
            IPlatform? platform = null;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            PrometheusApiClient? prometheus = null;
            SteadyStateResult? before = null, after = null;
            bool methodStarted = false, interrupted = false, steadyNotMet = false;
            var invariants = new List<InvariantReport>();
            var logs = new Dictionary<string, string>(StringComparer.Ordinal);
            try
            {
                if (exp.Platform.Slack)
                {
                    slack = await FakeSlackServer.StartAsync(timeProvider: _time).ConfigureAwait(false);
                    Log($"Slack stand-in on {slack.BaseUrl}");
                }
                var request = exp.Platform with { SlackApi = slack?.BaseUrl, DataDirectory = options.DataDirectory ?? Path.Combine(_runDir, "data") };
                Log($"starting the platform (monitor nodes {request.MonitorNodes}, order rate {request.OrderRate.ToString(CultureInfo.InvariantCulture)}/s, data {request.DataDirectory})");
                platform = await owner._platformFactory(request, ct).ConfigureAwait(false);
                foreach (string c in platform.Components) logs[c] = Path.Combine(platform.Endpoints.LogDirectory, c + ".log");
                prometheus = new PrometheusApiClient(platform.Endpoints.Prometheus, TimeSpan.FromSeconds(5), http);
                _ctx = new ChaosContext(platform, slack, http, prometheus, _time, _runDir, Log);
                Log("platform up: " + string.Join(", ", platform.Components.Select(c => $"{c}={platform.StateOf(c)}")));
                if (exp.WarmUp > TimeSpan.Zero)
                {
                    Log($"warm-up {PromDuration.Format(exp.WarmUp)}");
                    await Task.Delay(exp.WarmUp, _time, ct).ConfigureAwait(false);
                }
                if (exp.SteadyState is { } hypothesis)
                {
                    before = await SteadyStateAsync(hypothesis, hypothesis.Within, ct).ConfigureAwait(false);
                    Log($"steady state before: {(before.Holds ? "holds" : "does not hold")}");
                    if (!before.Holds)
                    {
                        steadyNotMet = true;
                        _reasons.Add("steady state not met before the method: " + string.Join("; ", before.Probes.Where(p => !p.Passed).Select(p => $"{p.Name}: {p.Detail}")));
                    }
                }
                if (!steadyNotMet)
                {
                    methodStarted = true;
                    await MethodAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                interrupted = true;
                _abortReason ??= "interrupted (Ctrl-C or cancelled)";
                Log("interrupted");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _reasons.Add($"{(platform is null ? "platform did not start" : "run error")}: {e.GetType().Name}: {e.Message}");
                Log($"error: {e.Message}");
            }

            if (methodStarted && _ctx is not null)
            {
                Log("rollbacks");
                foreach (var step in exp.Rollbacks)
                {
                    var record = await StepAsync(step, CancellationToken.None, rollback: true).ConfigureAwait(false);
                    _rollbacks.Add(record);
                    if (!record.Succeeded) _reasons.Add($"rollback '{record.Name}' failed: {record.Message}");
                }
                if (!interrupted && exp.SteadyState is { } hypothesis && exp.Expect.RecoveryWithin is { } within)
                {
                    try
                    {
                        var since = _time.GetUtcNow();
                        after = await SteadyStateAsync(hypothesis, within, ct).ConfigureAwait(false);
                        Log(after.Holds ? $"recovered after {ChaosContext.Seconds((after.CheckedAt.At - since).TotalSeconds)} s" : $"not recovered within {PromDuration.Format(within)}");
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        interrupted = true;
                        _abortReason ??= "interrupted (Ctrl-C or cancelled)";
                    }
                }
                if (!interrupted)
                {
                    foreach (var reference in exp.Expect.Invariants)
                    {
                        var result = await InvariantAsync(reference, ct).ConfigureAwait(false);
                        invariants.Add(result);
                        Log($"invariant {result.Name}: {(result.Passed ? "passed" : "FAILED")}: {result.Summary}");
                        if (!result.Passed) _reasons.Add($"invariant {result.Name} failed: {result.Summary}");
                    }
                }
            }

            if (platform is not null)
            {
                try { await platform.DisposeAsync().ConfigureAwait(false); }
                catch (Exception e) when (e is not OutOfMemoryException) { Log($"platform stop: {e.Message}"); }
            }
            if (slack is not null) await slack.DisposeAsync().ConfigureAwait(false);
            prometheus?.Dispose();

            // Expectations are judged only when the method ran (no fault: nothing to detect).
            var expectations = methodStarted ? Expectations(after) : [];
            foreach (var e in expectations.Where(e => !e.Met)) _reasons.Add($"expectation not met: {e.Kind} {e.Name} within {ChaosContext.Seconds(e.BudgetSeconds)} s ({e.Detail})");
            var outcome = steadyNotMet ? ExperimentOutcome.SteadyStateNotMet
                : _abortReason is not null ? ExperimentOutcome.Aborted
                : _reasons.Count > 0 ? ExperimentOutcome.Failed
                : ExperimentOutcome.Passed;
            if (outcome == ExperimentOutcome.Aborted) _reasons.Insert(0, "aborted: " + _abortReason);

            var obs = _observer;
            var report = new ExperimentReport
            {
                Title = exp.Title,
                File = exp.Source,
                Tags = exp.Tags,
                Short = options.Short,
                Outcome = outcome,
                Reasons = [.. _reasons],
                StartedAt = _started,
                EndedAt = _time.GetUtcNow(),
                Timeline = new ExperimentTimeline(
                    _ctx?.FaultInjectedAt is { } f ? Point(f) : null,
                    obs?.FirstPending is { } p ? Point(p) : null,
                    obs?.FirstFiring is { } fi ? Point(fi) : null,
                    obs?.FirstSlackRequest is { } s ? Point(s) : null,
                    obs?.IncidentSeen is { } i ? Point(i) : null,
                    after is { Holds: true } ? after.CheckedAt : null),
                Expectations = expectations,
                SteadyStateBefore = before,
                SteadyStateAfter = after,
                Method = [.. _method],
                Rollbacks = [.. _rollbacks],
                Invariants = invariants,
                AbortReason = _abortReason,
                PlatformLogs = logs,
                ReportDirectory = _runDir,
            };
            var (md, _) = ExperimentReportWriter.Write(report);
            Log($"outcome {outcome}; report {md}");
            return report;
        }

        private List<ExpectationResult> Expectations(SteadyStateResult? after)
        {
            var list = new List<ExpectationResult>();
            var fault = _ctx?.FaultInjectedAt;
            bool Within(DateTimeOffset? at, TimeSpan budget) => at is { } a && fault is { } f && a - f <= budget;
            TimePoint? P(DateTimeOffset? at) => at is { } a ? Point(a) : null;
            for (int i = 0; i < exp.Expect.Alerts.Count; i++)
            {
                var e = exp.Expect.Alerts[i];
                var (pending, firing) = _observer?.Alert(i) ?? (null, null);
                var at = e.State == "pending" ? pending : firing;
                string labels = e.Labels.Count == 0 ? "" : "{" + string.Join(",", e.Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "}";
                list.Add(new ExpectationResult("alert", $"{e.AlertName}{labels} {e.State}", e.Within.TotalSeconds, P(at), Within(at, e.Within),
                    $"pending at {Sec(pending)}, firing at {Sec(firing)}"));
            }
            for (int i = 0; i < exp.Expect.Slack.Count; i++)
            {
                var e = exp.Expect.Slack[i];
                var (attempt, delivered) = _observer?.Slack(i) ?? (null, null);
                list.Add(new ExpectationResult("slack", $"chat.postMessage with {e.AlertName}", e.Within.TotalSeconds, P(delivered), Within(delivered, e.Within),
                    $"first attempt at {Sec(attempt)}, stored at {Sec(delivered)}"));
            }
            if (exp.Expect.Incident is { } inc)
            {
                var seen = _observer?.IncidentSeen;
                list.Add(new ExpectationResult("incident", "incident opened" + (inc.Severity is null ? "" : $" ({inc.Severity})"), inc.Within.TotalSeconds, P(seen), Within(seen, inc.Within),
                    _observer?.IncidentDetail ?? "none seen"));
            }
            if (exp.Expect.RecoveryWithin is { } rec && exp.SteadyState is not null)
            {
                var rollbacksEnd = _rollbacks.Count > 0 ? _rollbacks[^1].Ended.At : _method.Count > 0 ? _method[^1].Ended.At : (DateTimeOffset?)null;
                bool met = after is { Holds: true } && rollbacksEnd is { } end && after.CheckedAt.At - end <= rec;
                string detail = after is null ? "not checked (the method did not run to the end)"
                    : after.Holds ? $"steady state held again {ChaosContext.Seconds((after.CheckedAt.At - (rollbacksEnd ?? after.CheckedAt.At)).TotalSeconds)} s after the rollbacks"
                    : "still failing: " + string.Join("; ", after.Probes.Where(p => !p.Passed).Select(p => $"{p.Name}: {p.Detail}"));
                list.Add(new ExpectationResult("recovery", "steady state holds again", rec.TotalSeconds, after is { Holds: true } ? after.CheckedAt : null, met, detail));
            }
            return list;
        }

        private string Sec(DateTimeOffset? at) => at is { } a && _ctx?.SecondsAfterFault(a) is { } s ? ChaosContext.Seconds(s) + " s" : "never";

        private async Task<SteadyStateResult> SteadyStateAsync(SteadyStateHypothesis hypothesis, TimeSpan within, CancellationToken ct)
        {
            var deadline = _time.GetUtcNow() + within;
            int attempt = 0;
            while (true)
            {
                var result = await ProbeEvaluator.CheckAsync(_ctx!, hypothesis, ++attempt, ct).ConfigureAwait(false);
                if (result.Holds || _time.GetUtcNow() >= deadline) return result;
                await Task.Delay(options.PollInterval, _time, ct).ConfigureAwait(false);
            }
        }

        private async Task MethodAsync(CancellationToken ct)
        {
            using var methodCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var abortTask = exp.AbortWhen.Count == 0 ? Task.CompletedTask : AbortWatchAsync(reason =>
            {
                _abortReason ??= reason;
                Log("ABORT: " + reason);
                methodCts.Cancel();
            }, watchCts.Token);
            Task? observeTask = null;
            var faultStep = exp.FaultStep;
            Log("method");
            try
            {
                foreach (var step in exp.Method)
                {
                    var record = await StepAsync(step, methodCts.Token, rollback: false).ConfigureAwait(false);
                    _method.Add(record);
                    if (ReferenceEquals(step, faultStep) && record.Succeeded)
                    {
                        _ctx!.FaultInjectedAt = record.Ended.At;
                        Log($"fault injected: {record.Message}");
                        _observer = new Observer(_ctx, exp, options.PollInterval, Log);
                        observeTask = _observer.RunAsync(methodCts.Token);
                    }
                    if (!record.Succeeded)
                    {
                        if (methodCts.IsCancellationRequested) break;
                        _reasons.Add($"action '{record.Name}' failed: {record.Message}");
                        break;
                    }
                }
                if (observeTask is not null) await observeTask.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (methodCts.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // aborted by abort_when: rollbacks follow
            }
            finally
            {
                await watchCts.CancelAsync().ConfigureAwait(false);
                try { await abortTask.ConfigureAwait(false); } catch (OperationCanceledException) { }
                if (observeTask is not null)
                {
                    if (!observeTask.IsCompleted) await methodCts.CancelAsync().ConfigureAwait(false);
                    try { await observeTask.ConfigureAwait(false); } catch (OperationCanceledException) { }
                }
            }
            ct.ThrowIfCancellationRequested();
        }

        private async Task AbortWatchAsync(Action<string> abort, CancellationToken ct)
        {
            string? lastError = null;
            while (!ct.IsCancellationRequested)
            {
                foreach (var condition in exp.AbortWhen)
                {
                    try
                    {
                        var result = await _ctx!.Prometheus.QueryAsync(condition.Query, timeout: TimeSpan.FromSeconds(5), cancellationToken: ct).ConfigureAwait(false);
                        var crossing = result.Samples.FirstOrDefault(s => condition.IsCrossedBy(s.Value));
                        if (crossing is not null)
                        {
                            string limit = condition.Above is { } a && crossing.Value > a ? $"above the limit {a.ToString(CultureInfo.InvariantCulture)}" : $"below the limit {condition.Below?.ToString(CultureInfo.InvariantCulture)}";
                            abort($"abort_when (line {condition.Line}): {condition.Query} = {crossing.Value.ToString("G6", CultureInfo.InvariantCulture)} {crossing.Labels} is {limit}");
                            return;
                        }
                    }
                    catch (PrometheusApiException e)
                    {
                        if (e.Message != lastError) Log($"abort_when query failed (ignored): {e.Message}");
                        lastError = e.Message;
                    }
                }
                await Task.Delay(options.AbortCheckInterval, _time, ct).ConfigureAwait(false);
            }
        }

        private async Task<StepRecord> StepAsync(ExperimentStep step, CancellationToken ct, bool rollback)
        {
            var start = _time.GetUtcNow();
            if (step.IsPause)
            {
                Log($"{(rollback ? "rollback " : "")}pause {PromDuration.Format(step.Pause!.Value)}");
                bool ok = true;
                try { await Task.Delay(step.Pause.Value, _time, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (!rollback) { ok = false; }
                return new StepRecord(step.Name ?? "pause", "pause", false, Point(start), Point(_time.GetUtcNow()), ok, ok ? "" : "cut short (abort)");
            }
            Log($"{(rollback ? "rollback" : "action")} '{step.Name}' ({step.Provider})");
            var provider = owner._actions.Find(step.Provider);
            ActionOutcome outcome;
            using var timeout = new CancellationTokenSource(step.Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                if (provider is null) outcome = ActionOutcome.Failed($"unknown provider {step.Provider}");
                else
                {
                    var args = new ActionArguments(step.Arguments, _ctx!.Expand, exp.Source);
                    outcome = await provider.Handler(_ctx, args, linked.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                outcome = ActionOutcome.Failed($"timed out after {PromDuration.Format(step.Timeout)}");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                outcome = ActionOutcome.Failed("cancelled");
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                outcome = ActionOutcome.Failed($"{e.GetType().Name}: {e.Message}");
            }
            Log($"  -> {(outcome.Succeeded ? "ok" : "FAILED")}: {outcome.Message}");
            return new StepRecord(step.Name ?? "", step.Provider, step.IsFault || (!rollback && ReferenceEquals(step, exp.FaultStep)), Point(start), Point(_time.GetUtcNow()), outcome.Succeeded, outcome.Message);
        }

        private async Task<InvariantReport> InvariantAsync(InvariantReference reference, CancellationToken ct)
        {
            var registered = owner._invariants.Find(reference.Name);
            if (registered is null) return new InvariantReport(reference.Name, false, "not registered", new Dictionary<string, long>());
            try
            {
                var result = await registered.Check(_ctx!, new ActionArguments(reference.Arguments, _ctx!.Expand, exp.Source), ct).ConfigureAwait(false);
                return new InvariantReport(reference.Name, result.Passed, result.Summary, result.Counts);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                string why = e is OperationCanceledException && ct.IsCancellationRequested ? "interrupted" : $"check failed: {e.GetType().Name}: {e.Message}";
                return new InvariantReport(reference.Name, false, why, new Dictionary<string, long>());
            }
        }
    }

    /// <summary>Watches monitor alerts, Slack requests and incidents from the fault injection until every expectation is met or the longest budget passed.</summary>
    private sealed class Observer(ChaosContext ctx, Experiment exp, TimeSpan poll, Action<string> log)
    {
        /// <summary>Alerts active before this margin ahead of the fault are pre-existing and not detections.</summary>
        private static readonly TimeSpan PreExistingMargin = TimeSpan.FromSeconds(1);

        private readonly DateTimeOffset?[] _pending = new DateTimeOffset?[exp.Expect.Alerts.Count];
        private readonly DateTimeOffset?[] _firing = new DateTimeOffset?[exp.Expect.Alerts.Count];
        private readonly DateTimeOffset?[] _slackAttempt = new DateTimeOffset?[exp.Expect.Slack.Count];
        private readonly DateTimeOffset?[] _slackStored = new DateTimeOffset?[exp.Expect.Slack.Count];
        private string? _lastError;

        public DateTimeOffset? IncidentSeen { get; private set; }

        public string? IncidentDetail { get; private set; }

        public DateTimeOffset? FirstPending => _pending.Where(p => p is not null).Min();

        public DateTimeOffset? FirstFiring => _firing.Where(p => p is not null).Min();

        public DateTimeOffset? FirstSlackRequest => _slackAttempt.Where(p => p is not null).Min();

        public (DateTimeOffset? Pending, DateTimeOffset? Firing) Alert(int i) => (_pending[i], _firing[i]);

        public (DateTimeOffset? Attempt, DateTimeOffset? Stored) Slack(int i) => (_slackAttempt[i], _slackStored[i]);

        private bool AllMet =>
            exp.Expect.Alerts.Select((e, i) => e.State == "pending" ? _pending[i] : _firing[i]).All(x => x is not null)
            && _slackStored.All(x => x is not null)
            && (exp.Expect.Incident is null || IncidentSeen is not null);

        public async Task RunAsync(CancellationToken ct)
        {
            var fault = ctx.FaultInjectedAt!.Value;
            var deadline = fault + exp.Expect.LongestDetectionBudget;
            if (exp.Expect.Alerts.Count == 0 && exp.Expect.Slack.Count == 0 && exp.Expect.Incident is null) return;
            while (true)
            {
                await PollAsync(fault, ct).ConfigureAwait(false);
                if (AllMet) { log("every detection expectation seen"); return; }
                if (ctx.Time.GetUtcNow() > deadline) { log("observation ended (longest budget passed)"); return; }
                await Task.Delay(poll, ctx.Time, ct).ConfigureAwait(false);
            }
        }

        private readonly HashSet<string> _logged = new(StringComparer.Ordinal);

        private void LogOnce(string what, TimeSpan afterFault)
        {
            if (_logged.Add(what)) log($"{what} ({ChaosContext.Seconds(afterFault.TotalSeconds)} s after the fault)");
        }

        private void Error(string what, Exception e)
        {
            string message = $"{what}: {e.Message}";
            if (message != _lastError) log($"observe: {message} (retrying)");
            _lastError = message;
        }

        private async Task PollAsync(DateTimeOffset fault, CancellationToken ct)
        {
            var now = ctx.Time.GetUtcNow();
            if (exp.Expect.Alerts.Count > 0)
            {
                try
                {
                    var alerts = await ProbeEvaluator.MonitorAlertsAsync(ctx, ct).ConfigureAwait(false);
                    now = ctx.Time.GetUtcNow();
                    for (int i = 0; i < exp.Expect.Alerts.Count; i++)
                    {
                        var e = exp.Expect.Alerts[i];
                        var matching = alerts.Where(a => a.Matches(e.AlertName, e.Labels) && (a.ActiveAt is null || a.ActiveAt >= fault - PreExistingMargin)).ToList();
                        if (matching.Count == 0) continue;
                        if (_pending[i] is null) { _pending[i] = now; LogOnce($"{e.AlertName} seen {matching[0].State}", now - fault); }
                        if (_firing[i] is null && matching.Exists(a => a.State == "firing")) { _firing[i] = now; LogOnce($"{e.AlertName} seen firing", now - fault); }
                    }
                }
                catch (Exception e) when (ProbeEvaluator.IsTransient(e) && !ct.IsCancellationRequested) { Error("monitor alerts", e); }
            }
            if (exp.Expect.Slack.Count > 0 && ctx.Slack is { } slack)
            {
                var posts = slack.Requests.Where(r => r.Method == "chat.postMessage" && r.ArrivedAt >= fault).ToList();
                for (int i = 0; i < exp.Expect.Slack.Count; i++)
                {
                    if (_slackStored[i] is not null) continue;
                    string name = exp.Expect.Slack[i].AlertName;
                    var carrying = posts.Where(r => r.Body.ToJsonString().Contains(name, StringComparison.Ordinal)).ToList();
                    if (carrying.Count == 0) continue;
                    _slackAttempt[i] ??= carrying[0].ArrivedAt;
                    var stored = carrying.FirstOrDefault(r => r.Processed && r.StatusCode == 200);
                    if (stored is not null)
                    {
                        _slackStored[i] = stored.ArrivedAt;
                        log($"Slack message with {name} stored ({ChaosContext.Seconds((stored.ArrivedAt - fault).TotalSeconds)} s after the fault)");
                    }
                }
            }
            if (exp.Expect.Incident is { } expected && IncidentSeen is null)
            {
                foreach (var node in ctx.Platform.Endpoints.Monitors)
                {
                    try
                    {
                        var json = await ctx.GetMonitorJsonAsync(node, "api/v1/incidents?status=all&limit=50", ct).ConfigureAwait(false);
                        now = ctx.Time.GetUtcNow();
                        foreach (var incident in json?["incidents"]?.AsArray() ?? [])
                        {
                            if (incident is null) continue;
                            DateTimeOffset? created = incident["createdAt"] is JsonValue cv && cv.TryGetValue(out string? c)
                                && DateTimeOffset.TryParse(c, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;
                            if (created is null || created < fault - PreExistingMargin) continue;
                            string severity = (string?)incident["severity"] ?? "";
                            if (expected.Severity is not null && !string.Equals(severity, expected.Severity, StringComparison.OrdinalIgnoreCase)) continue;
                            if (expected.AlertName is { } an && !((string?)incident["title"] ?? "").StartsWith(an, StringComparison.Ordinal)) continue;
                            IncidentSeen = now;
                            IncidentDetail = $"incident #{incident["id"]?.ToJsonString().Trim('"')} {severity} '{(string?)incident["title"]}' created {created.Value.UtcDateTime:O}";
                            log($"{IncidentDetail} ({ChaosContext.Seconds((now - fault).TotalSeconds)} s after the fault)");
                            break;
                        }
                        break;
                    }
                    catch (Exception e) when (ProbeEvaluator.IsTransient(e) && !ct.IsCancellationRequested) { Error("monitor incidents", e); }
                }
            }
        }
    }
}
