using System.Threading.Channels;
using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Reports;
using ExchangeHealth.Incidents.Slack;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Incidents.Timeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Incidents;

/// <summary>Settings of the incidents part of the monitor; every one has a default.</summary>
public sealed record IncidentModuleOptions
{
    /// <summary>PostgreSQL connection string (from <c>EXH_INCIDENTS_POSTGRES</c>); null for SQLite. Never logged.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>SQLite file; default <c>DATA/incidents.db</c> in the monitor's data directory.</summary>
    public string? SqlitePath { get; init; }

    /// <summary>Lifecycle settings (default severity, timeline margin).</summary>
    public IncidentServiceOptions Service { get; init; } = new();

    /// <summary>Where to read the engine's event log (fault injections, market state changes); null for none.</summary>
    public Func<CancellationToken, Task<EngineAdminEndpoint?>>? EngineEvents { get; init; }

    /// <summary>How often the engine's event log is read; default 2 s.</summary>
    public TimeSpan EnginePollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Clock; the monitor's when null.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>A Slack channel per incident (<c>conversations.create</c>); null or not enabled for none. The bot token defaults to the monitor's.</summary>
    public IncidentSlackChannelOptions? SlackChannels { get; init; }

    /// <summary>Post-incident reports; null to take the monitor's reports directory, SLO specs and clock.</summary>
    public IncidentReportOptions? Reports { get; init; }

    /// <summary>Where <c>/slack/commands</c> may POST delayed answers (Slack's <c>response_url</c>); default <c>https://hooks.slack.com/</c>.</summary>
    public Uri? AllowedResponseUrlBase { get; init; }
}

/// <summary>
/// The incidents part of the monitor (<see cref="IMonitorModule"/>): opens the incident store,
/// runs <see cref="IncidentService"/> on the alerting pipeline's events and fills timelines.
/// <list type="bullet">
/// <item>Dispatcher flushes (<see cref="AlertDispatcher.Flushed"/>) on routes with <c>page: true</c> open,
/// attach to, mitigate and re-trigger incidents.</item>
/// <item>Rule evaluations add alert pending / firing / resolved events; delivery attempts add
/// notification sent / retried / failed events; silence changes and the engine's events (fault
/// injections, market state changes) are recorded; each with the time it happened.</item>
/// <item>An acknowledgement of the page (Slack button, API) acknowledges the group's incident, and an
/// incident acknowledged elsewhere (Slack command, CLI) acknowledges its page, which stops its escalation.</item>
/// <item><c>exh_incidents_open</c> and the MTTA / MTTR histograms (<see cref="IncidentMetrics"/>).</item>
/// </list>
/// Work reaches the store through one ordered queue, so a slow or unreachable incident database
/// never holds up rule evaluation or notification delivery, and an alert's firing event is stored
/// before the incident it opens reads it.
/// </summary>
public sealed class IncidentModule : IMonitorModule
{
    private const int QueueCapacity = 10_000;
    private readonly IncidentModuleOptions _options;
    private readonly Channel<Func<CancellationToken, Task>> _work = Channel.CreateBounded<Func<CancellationToken, Task>>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly AlertTimeline _alertTimeline = new();
    private MonitorHost? _host;
    private ILogger _log = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private IncidentService? _service;
    private IIncidentStore? _store;
    private EngineEventPoller? _engine;
    private IncidentReportService? _reports;
    private SlackCommandsEndpoint? _commands;
    private IncidentSlackChannels? _channels;
    private long _dropped;
    private TimeProvider _time = TimeProvider.System;

    /// <summary>Creates the module; nothing runs before <see cref="StartAsync"/>.</summary>
    public IncidentModule(IncidentModuleOptions? options = null) => _options = options ?? new IncidentModuleOptions();

    /// <inheritdoc/>
    public string Name => "incidents";

    /// <summary>The leadership metrics.</summary>
    public IncidentMetrics Metrics { get; } = new();

    /// <summary>The lifecycle service (after <see cref="StartAsync"/>).</summary>
    /// <exception cref="InvalidOperationException">Not started.</exception>
    public IncidentService Service => _service ?? throw new InvalidOperationException("the incidents module has not started");

    /// <summary>Timeline events dropped because the work queue was full (the store was too slow for too long).</summary>
    public long DroppedEvents => Interlocked.Read(ref _dropped);

    /// <summary>Post-incident reports (after <see cref="StartAsync"/>).</summary>
    /// <exception cref="InvalidOperationException">Not started.</exception>
    public IncidentReportService Reports => _reports ?? throw new InvalidOperationException("the incidents module has not started");

    /// <summary>The <c>/slack/commands</c> endpoint (after <see cref="StartAsync"/>).</summary>
    public SlackCommandsEndpoint? SlackCommands => _commands;

    /// <summary>Incident channels (after <see cref="StartAsync"/>; disabled unless configured).</summary>
    public IncidentSlackChannels? SlackChannels => _channels;

    /// <summary>The engine event reader's last problem, or null.</summary>
    public string? EngineEventsError => _engine?.LastError;

    /// <inheritdoc/>
    public IReadOnlyList<string> MeterNames { get; } = [IncidentMetrics.MeterName];

    /// <inheritdoc/>
    public IReadOnlyList<(string Instrument, double[] Buckets)> HistogramBuckets { get; } =
    [
        (IncidentMetrics.TimeToAcknowledgeInstrument, [.. IncidentMetrics.BucketsSeconds]),
        (IncidentMetrics.TimeToResolveInstrument, [.. IncidentMetrics.BucketsSeconds]),
    ];

    /// <inheritdoc/>
    public void ConfigureQuartz(Quartz.IQuartzBuilder quartz)
    {
        ArgumentNullException.ThrowIfNull(quartz);
        quartz.Services.AddSingleton<IIncidentDetailsSource>(_ => Service);
        quartz.Services.AddSingleton(_ => Reports);
    }

    /// <inheritdoc/>
    /// <exception cref="System.Data.Common.DbException">The incident database cannot be reached.</exception>
    /// <exception cref="InvalidOperationException">The incident database has a newer schema than this build.</exception>
    public async Task StartAsync(MonitorHost host, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        _host = host;
        _log = host.Logs.CreateLogger("exh.monitor.incidents");
        var time = _options.Time ?? host.Options.Time;
        _time = time;
        _store = await IncidentStoreFactory.OpenAsync(new IncidentStoreOptions
        {
            PostgresConnectionString = _options.PostgresConnectionString,
            SqlitePath = _options.SqlitePath ?? Path.Combine(host.Options.DataDirectory, "incidents.db"),
        }, time, _log, cancellationToken).ConfigureAwait(false);
        _service = new IncidentService(_store, _options.Service, time, _log);
        Metrics.SetOpen(await _store.CountOpenAsync(cancellationToken).ConfigureAwait(false));
        _service.Changed += OnChangedAsync;
        _reports = new IncidentReportService(host.Prometheus, _options.Reports ?? new IncidentReportOptions
        {
            ReportsDirectory = host.Options.ReportsDirectory,
            SloSpecsPath = host.Options.SloSpecs,
            Time = time,
        });
        _commands = new SlackCommandsEndpoint(
            new IncidentSlashCommands(_service, host.Logs.CreateLogger("exh.monitor.slack-commands")),
            new SlackCommandsEndpointOptions
            {
                SigningSecret = host.Options.SlackSigningSecret,
                AllowedResponseUrlBase = _options.AllowedResponseUrlBase ?? SlackCommandsEndpointOptions.SlackResponseUrlBase,
            },
            host.SlackReplayGuard, host.SlackRequests, host.Http, time, host.Logs.CreateLogger("exh.monitor.slack-commands"));
        if (_options.SlackChannels is { Enabled: true } channelOptions)
        {
            channelOptions = channelOptions with { BotToken = channelOptions.BotToken ?? host.Options.SlackBotToken };
            channelOptions.Validate();
            _channels = new IncidentSlackChannels(_service, channelOptions, host.Http, time, host.Logs.CreateLogger("exh.monitor.incident-channels"));
            _channels.Start();
            await _channels.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        host.Rules.Evaluated += OnEvaluated;
        host.Dispatcher.Flushed += OnFlushedAsync;
        host.Deliverer.Attempted += OnAttempted;
        host.Escalations.Acknowledged += OnAcknowledgedAsync;
        host.Silences.Changed += OnSilencesChanged;
        // Silences created before this start are not incident news; skip them.
        _alertTimeline.FromSilenceAudit(await host.Silences.ListAuditAsync(null, 10_000, cancellationToken).ConfigureAwait(false));

        _loops.Add(Task.Run(() => WorkAsync(_stop.Token), CancellationToken.None));
        _loops.Add(Task.Run(() => RefreshOpenCountsAsync(time, _stop.Token), CancellationToken.None));
        if (_options.EngineEvents is not null)
        {
            _engine = new EngineEventPoller(host.Http, _options.EngineEvents);
            _loops.Add(Task.Run(() => PollEngineAsync(time, _stop.Token), CancellationToken.None));
        }
    }

    /// <inheritdoc/>
    public void MapEndpoints(IEndpointRouteBuilder app, RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(api);
        if (_commands is not null) SlackCommandsEndpoint.Map(app, _commands);
        Http.IncidentHttpApi.Map(api, Service, async (id, ct) =>
        {
            var files = await GenerateReportAsync(id, "api", ct).ConfigureAwait(false);
            return files is null ? null : (files.MarkdownPath, files.HtmlPath);
        }, _time, Reports.Options.ReportsDirectory);
    }

    /// <summary>Writes the post-incident report of <paramref name="id"/> now (Markdown and HTML) and records it on the timeline; null when the incident is unknown.</summary>
    public Task<IncidentReportFiles?> GenerateReportAsync(long id, string actor, CancellationToken cancellationToken = default) =>
        Reports.GenerateAndRecordAsync(Service, id, actor, cancellationToken);

    /// <summary>Waits until every piece of work queued so far is done (tests, orderly shutdown).</summary>
    public async Task DrainAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _work.Writer.WriteAsync(_ => { done.TrySetResult(); return Task.CompletedTask; }, cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ pipeline events

    private void OnEvaluated(RuleGroupEvaluator evaluator, GroupEvaluation evaluation)
    {
        var events = _alertTimeline.FromEvaluation(evaluator);
        if (events.Count > 0) TryQueue(ct => AppendAllAsync(events, ct));
    }

    private async Task OnFlushedAsync(NotificationFlush flush, CancellationToken cancellationToken)
    {
        if (!flush.Route.Options.Page) return;
        await _work.Writer.WriteAsync(async ct =>
        {
            await Service.OnNotificationAsync(flush.Notification, page: true, ct).ConfigureAwait(false);
            // The page may already be delivered (the outbox is quick and this queue is not): link it
            // here too; whichever of the two runs second finds both the incident and the message.
            if (flush.Enqueued && flush.Notification.Kind == NotificationKind.New) await LinkPageMessageAsync(flush.Notification, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private void OnAttempted(Notification notification, DeliveryResult result, DateTimeOffset at, int attempt)
    {
        var e = AlertTimeline.FromDelivery(notification, result, at, attempt);
        TryQueue(async ct =>
        {
            await Service.RecordAsync(e, ct).ConfigureAwait(false);
            if (result is DeliveryResult.Delivered && notification.Kind == NotificationKind.New) await LinkPageMessageAsync(notification, ct).ConfigureAwait(false);
        });
    }

    private async Task OnAcknowledgedAsync(Acknowledgement ack, CancellationToken cancellationToken)
    {
        await _work.Writer.WriteAsync(async ct =>
        {
            var incident = await Service.Store.FindOpenByGroupKeyAsync(ack.GroupKey, ct).ConfigureAwait(false);
            if (incident is null || incident.AcknowledgedAt is not null) return;
            var source = ack.By.StartsWith("slack:", StringComparison.Ordinal) ? TimelineSources.Slack : TimelineSources.Api;
            string by = ack.By.Length > IncidentNames.MaxNameLength ? ack.By[..IncidentNames.MaxNameLength] : ack.By;
            await Service.ExecuteAsync(incident.Id, new IncidentCommand.Acknowledge(), new IncidentActor(by, source), ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    private void OnSilencesChanged()
    {
        var host = _host;
        if (host is null) return;
        TryQueue(async ct =>
        {
            var audit = await host.Silences.ListAuditAsync(null, 10_000, ct).ConfigureAwait(false);
            await AppendAllAsync(_alertTimeline.FromSilenceAudit(audit), ct).ConfigureAwait(false);
        });
    }

    private async Task OnChangedAsync(IncidentChange change, CancellationToken cancellationToken)
    {
        Metrics.RecordChange(change.Before, change.After);
        // Resolved: the post-incident report is written by a Quartz job (one per incident; a second resolve replaces it).
        if (change.Before is { } before && before.Status != IncidentStatus.Resolved && change.After.Status == IncidentStatus.Resolved && _host?.Rules.Scheduler is { } scheduler)
            await IncidentReportJob.ScheduleAsync(scheduler, change.After.Id, cancellationToken).ConfigureAwait(false);
        if (change.Before is null || change.Before.Status != change.After.Status || change.Before.Severity != change.After.Severity)
            Metrics.SetOpen(await Service.Store.CountOpenAsync(cancellationToken).ConfigureAwait(false));
        // Acknowledged outside the page's button (Slack command, CLI, API): acknowledge the page too, which stops its escalation.
        if (change.Before?.AcknowledgedAt is null && change.After.AcknowledgedAt is not null && change.After.GroupKey is { } groupKey && _host is { } host)
        {
            foreach (string receiver in await host.Escalations.ReceiversOfAsync(groupKey, cancellationToken).ConfigureAwait(false))
            {
                var acks = await host.Escalations.ListAcknowledgementsAsync(receiver, groupKey, cancellationToken).ConfigureAwait(false);
                if (acks.Count == 0) await host.Escalations.AcknowledgeAsync(receiver, groupKey, change.After.AcknowledgedBy ?? "incident", cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task LinkPageMessageAsync(Notification notification, CancellationToken cancellationToken)
    {
        if (_host is null) return;
        var incident = await Service.Store.FindOpenByGroupKeyAsync(notification.GroupKey, cancellationToken).ConfigureAwait(false);
        if (incident is null || incident.PageTs is not null) return;
        var message = await _host.SlackMessages.GetMessageAsync(notification.Receiver, notification.GroupKey, cancellationToken).ConfigureAwait(false);
        if (message is not null) await Service.SetPageMessageAsync(incident.Id, message.Channel, message.Ts, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ loops

    private void TryQueue(Func<CancellationToken, Task> work)
    {
        if (_work.Writer.TryWrite(work)) return;
        long dropped = Interlocked.Increment(ref _dropped);
        if (dropped == 1 || dropped % 1000 == 0) _log.LogWarning("Incident work queue full ({Capacity}): {Dropped} timeline events dropped so far", QueueCapacity, dropped);
    }

    private async Task AppendAllAsync(IReadOnlyList<TimelineEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events) await Service.RecordAsync(e, cancellationToken).ConfigureAwait(false);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var work in _work.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // A database hiccup is retried (0.5 s, 1 s, 2 s, 4 s) before the item is given up.
                for (int attempt = 1; ; attempt++)
                {
                    try
                    {
                        await work(cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException)
                    {
                        if (attempt >= 5)
                        {
                            _log.LogError(e, "Incident work failed {Attempts} times; giving it up", attempt);
                            break;
                        }
                        _log.LogWarning("Incident work failed (attempt {Attempt}), retrying: {Error}", attempt, e.Message);
                        await Task.Delay(TimeSpan.FromMilliseconds(250 << attempt), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task RefreshOpenCountsAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(30), time, cancellationToken).ConfigureAwait(false);
                try { Metrics.SetOpen(await Service.Store.CountOpenAsync(cancellationToken).ConfigureAwait(false)); }
                catch (Exception e) when (e is not OperationCanceledException && e is not OutOfMemoryException) { _log.LogWarning("Counting open incidents failed: {Error}", e.Message); }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task PollEngineAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        string? lastError = null;
        try
        {
            while (true)
            {
                var events = await _engine!.PollAsync(cancellationToken).ConfigureAwait(false);
                if (_engine.LastError != lastError)
                {
                    if (_engine.LastError is not null) _log.LogWarning("Engine events: {Error}", _engine.LastError);
                    else if (lastError is not null) _log.LogInformation("Engine events: reading again");
                    lastError = _engine.LastError;
                }
                if (events.Count > 0) await _work.Writer.WriteAsync(ct => AppendAllAsync(events, ct), cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.EnginePollInterval, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_host is { } host)
        {
            host.Rules.Evaluated -= OnEvaluated;
            host.Dispatcher.Flushed -= OnFlushedAsync;
            host.Deliverer.Attempted -= OnAttempted;
            host.Escalations.Acknowledged -= OnAcknowledgedAsync;
            host.Silences.Changed -= OnSilencesChanged;
        }
        // Finish what is queued (bounded), then stop.
        if (_loops.Count > 0)
            try { await DrainAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException) { }
        if (_channels is not null) await _channels.DisposeAsync().ConfigureAwait(false);
        if (_commands is not null) await _commands.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        _work.Writer.TryComplete();
        try { await Task.WhenAll(_loops).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        if (_store is not null) await _store.DisposeAsync().ConfigureAwait(false);
        Metrics.Dispose();
        _stop.Dispose();
    }
}
