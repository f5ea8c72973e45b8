using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Reports;
using ExchangeHealth.Monitor.Storage;
using ExchangeHealth.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Quartz;

namespace ExchangeHealth.Alerting.Host;

/// <summary>
/// The monitor process, assembled: rule evaluation (Quartz jobs) → dispatcher (routing, grouping,
/// silences, inhibition) → escalation → durable outbox → notifiers (Slack Web API, webhook,
/// console), with the HTTP API (silences, Alertmanager intake, Slack callbacks, status) and
/// <c>/metrics</c>. See docs/alerting.md.
/// </summary>
public sealed class MonitorHost : IAsyncDisposable
{
    /// <summary>Meter of the monitor's own metrics.</summary>
    public const string MeterName = "ExchangeHealth.Alerting";

    /// <summary>File in the data directory holding the API bearer token.</summary>
    public const string TokenFileName = "monitor-token";

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromMinutes(2) };
    private readonly Meter _meter;
    private readonly PrometheusTelemetry _telemetry;
    private readonly PrometheusApiClient _prometheus;
    private readonly ILoggerFactory _logs;
    private readonly Dictionary<string, INotifier> _notifiers = new(StringComparer.Ordinal);
    private readonly List<IMonitorModule> _startedModules = [];
    private MonitorHttpApi? _api;
    private readonly NpgsqlDataSource? _dataSource;
    private CancellationTokenSource? _pipelineStop;
    private Task? _leaderLoop;
    private int _rulesDisposed;
    private readonly DateTimeOffset _startedAt;

    private MonitorHost(MonitorOptions options, ILoggerFactory logs)
    {
        Options = options;
        _logs = logs;
        Directory.CreateDirectory(options.DataDirectory);
        NodeId = string.IsNullOrWhiteSpace(options.NodeId) ? MonitorLeadership.DefaultNodeId() : options.NodeId.Trim();
        _startedAt = options.Time.GetUtcNow();
        if (options.UsesPostgres)
        {
            (_dataSource, Database) = OpenPostgres(options.PostgresConnectionString!);
            Leadership = new MonitorLeadership(Database, options.PostgresConnectionString!, NodeId, options.LeaderCheckInterval, options.Time, logs.CreateLogger("exh.monitor.leadership"), options.LeaderStaleAfter);
        }
        else
        {
            Database = new MonitorDatabase(Path.Combine(options.DataDirectory, "monitor.db"));
        }
        ApiToken = LoadOrCreateToken(Path.Combine(options.DataDirectory, TokenFileName));
        _meter = new Meter(MeterName);
        _telemetry = PrometheusTelemetry.Create(
            [MeterName, .. options.Modules.SelectMany(m => m.MeterNames)],
            [(EvaluationMetrics.DurationInstrument, EvaluationMetrics.DurationBucketsSeconds.ToArray()), .. options.Modules.SelectMany(m => m.HistogramBuckets)],
            includeRuntimeMetrics: true);
        _prometheus = new PrometheusApiClient(options.PrometheusUrl, options.QueryTimeout);
        Routing = options.RoutingFile is null
            ? RoutingConfig.Parse(MonitorOptions.DefaultRouting, "(built-in routing)")
            : RoutingConfig.Load(options.RoutingFile, options.InhibitRuleFiles);
        Outbox = new SqliteOutbox(Database, options.Time) { NodeId = NodeId };
        Silences = new SilenceStore(Database, options.Time);
        SlackMessages = new SlackMessageStore(Database);
        Escalations = new EscalationService(Outbox, () => Dispatcher!.Config, options.Time, logs.CreateLogger("exh.monitor.escalation"));
        Dispatcher = new AlertDispatcher(Routing, Escalations, Silences, options.Time, logs.CreateLogger("exh.monitor.dispatcher"));
        NotificationMetrics = new NotificationMetrics(_meter);
        SlackRequests = new SlackRequestMetrics(_meter);
        SlackReplayGuard = new SlackReplayGuard(options.Time);
        if (options.SloSpecs is not null)
        {
            var specs = SloReportService.LoadSpecs(options.SloSpecs);
            Func<string, CancellationToken, Task>? publish = null;
            if (!string.IsNullOrEmpty(options.SloReportSlackChannel) && !string.IsNullOrEmpty(options.SlackBotToken))
            {
                var poster = new SlackSummaryPoster(_http, options.SlackBotToken);
                string channel = options.SloReportSlackChannel;
                publish = (text, ct) => poster.PostAsync(channel, text, ct);
            }
            SloReports = new SloReportSchedule(
                new SloReportService(_prometheus, specs, options.ReportsDirectory, options.Time) { SummaryPublisher = publish },
                logs.CreateLogger("exh.monitor.slo-report"));
        }
        BuildNotifiers(Routing);
        Deliverer = new OutboxDeliverer(Outbox, name => _notifiers.GetValueOrDefault(name), NotificationMetrics, null, options.Time, logs.CreateLogger("exh.monitor.outbox"));
        Rules = new RuleEvaluationService(
            new RuleEvaluationOptions
            {
                RulesDirectory = options.RulesDirectory,
                DefaultInterval = options.EvaluationInterval,
                QueryTimeout = options.QueryTimeout,
                ExternalUrl = options.ExternalUrl ?? options.PrometheusUrl.AbsoluteUri,
                PrometheusDownAfter = options.PrometheusDownAfter,
                ConfigureQuartz = q =>
                {
                    q.Services.AddSingleton(Escalations);
                    if (SloReports is not null) q.Services.AddSingleton(SloReports);
                    foreach (var module in options.Modules) module.ConfigureQuartz(q);
                    if (options.UsesPostgres) ConfigureClusteredQuartz(q, options.PostgresConnectionString!, NodeId);
                    options.ConfigureQuartz?.Invoke(q);
                },
            },
            _prometheus, new AlertStateStore(Database), (alerts, ct) => Dispatcher.IngestAsync(alerts, ct), _meter, options.Time, logs);
    }

    /// <summary>The settings.</summary>
    public MonitorOptions Options { get; }

    /// <summary>This node's id (<see cref="MonitorOptions.NodeId"/>, default <c>hostname-pid</c>).</summary>
    public string NodeId { get; }

    /// <summary>The leader election when the state is on PostgreSQL (several nodes); null on SQLite (one node, always leading).</summary>
    public MonitorLeadership? Leadership { get; }

    /// <summary>True when this node runs the alerting pipeline: always on SQLite; on PostgreSQL while it holds the leader lock.</summary>
    public bool IsLeader => Leadership?.IsLeader ?? true;

    /// <summary>Since when this node leads (on SQLite: since it started), or null while standby.</summary>
    public DateTimeOffset? LeaderSince => Leadership is null ? _startedAt : Leadership.LeaderSince;

    /// <summary>The monitor database.</summary>
    public MonitorDatabase Database { get; }

    /// <summary>Bearer token of the HTTP API (from <c>DATA/monitor-token</c>, generated 0600 when missing).</summary>
    public string ApiToken { get; }

    /// <summary>The routing configuration in force.</summary>
    public RoutingConfig Routing { get; }

    /// <summary>Rule evaluation.</summary>
    public RuleEvaluationService Rules { get; }

    /// <summary>Routing, grouping, silencing and inhibition.</summary>
    public AlertDispatcher Dispatcher { get; }

    /// <summary>Escalation of unacknowledged pages; the dispatcher's notification sink.</summary>
    public EscalationService Escalations { get; }

    /// <summary>The durable outbox.</summary>
    public SqliteOutbox Outbox { get; }

    /// <summary>Delivery of the outbox.</summary>
    public OutboxDeliverer Deliverer { get; }

    /// <summary>The periodic SLO report, when <see cref="MonitorOptions.SloSpecs"/> is set.</summary>
    public SloReportSchedule? SloReports { get; }

    /// <summary>Which Slack message stands for which group (maps button callbacks back to their group).</summary>
    public SlackMessageStore SlackMessages { get; }

    /// <summary>Silences.</summary>
    public SilenceStore Silences { get; }

    /// <summary>Refused Slack callbacks (<c>exh_slack_requests_rejected_total{endpoint, reason}</c>).</summary>
    public SlackRequestMetrics SlackRequests { get; }

    /// <summary>Signed Slack requests already accepted within the 5-minute window: one per process, shared by every Slack endpoint, so a captured request cannot be replayed.</summary>
    public SlackReplayGuard SlackReplayGuard { get; }

    /// <summary>Notification counters and outbox depth.</summary>
    public NotificationMetrics NotificationMetrics { get; }

    /// <summary>Prometheus text of the monitor's metrics.</summary>
    public PrometheusScrapeHandler MetricsHandler => _telemetry.Handler;

    /// <summary>Loggers of the monitor.</summary>
    public ILoggerFactory Logs => _logs;

    /// <summary>Shared HTTP client for outbound calls (Slack, engine): pooled, 5 s connect timeout.</summary>
    public HttpClient Http => _http;

    /// <summary>The Prometheus HTTP API client.</summary>
    public PrometheusApiClient Prometheus => _prometheus;

    /// <summary>The HTTP API's base address once started.</summary>
    public Uri BaseAddress => _api?.BaseAddress ?? throw new InvalidOperationException("not started");

    /// <summary>Builds and starts every part; returns when the HTTP API listens and the first rules are scheduled.</summary>
    /// <exception cref="ExchangeHealth.Engine.ConfigException">The routing file is invalid (file:line: reason).</exception>
    /// <exception cref="DirectoryNotFoundException">The rules directory does not exist.</exception>
    /// <exception cref="IOException">The HTTP address cannot be bound.</exception>
    public static async Task<MonitorHost> StartAsync(MonitorOptions options, ILoggerFactory? logs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var host = new MonitorHost(options, logs ?? NullLoggerFactory.Instance);
        try
        {
            await host.StartPartsAsync(cancellationToken).ConfigureAwait(false);
            return host;
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StartPartsAsync(CancellationToken cancellationToken)
    {
        await Silences.RefreshAsync().ConfigureAwait(false);
        // Modules subscribe before anything is evaluated, routed or delivered, so they miss nothing.
        foreach (var module in Options.Modules)
        {
            await module.StartAsync(this, cancellationToken).ConfigureAwait(false);
            _startedModules.Add(module);
        }
        var leader = _meter.CreateObservableGauge("exh.monitor.leader",
            () => new Measurement<int>(IsLeader ? 1 : 0, new KeyValuePair<string, object?>("node", NodeId)),
            "{state}", "1 on the node that runs the alerting pipeline (the leader), 0 on a standby.");
        if (Leadership is null)
        {
            await StartPipelineAsync(cancellationToken).ConfigureAwait(false);
            _api = new MonitorHttpApi(this, _logs.CreateLogger("exh.monitor.http"));
            await _api.StartAsync(Options.Listen, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            // A standby serves the API and waits; the leader runs the pipeline (see MonitorLeadership).
            _api = new MonitorHttpApi(this, _logs.CreateLogger("exh.monitor.http"));
            await _api.StartAsync(Options.Listen, cancellationToken).ConfigureAwait(false);
            Leadership.ApiUrl = _api.BaseAddress;
            Leadership.Acquired = StartPipelineAsync;
            Leadership.Stepping = StopPipelineAsync;
            _leaderLoop = Task.Run(() => Leadership.RunAsync(_stop.Token), CancellationToken.None);
        }
        _meter.CreateObservableGauge("exh.monitor.up", () => 1, "{state}", "1 while the monitor runs.");
        GC.KeepAlive(leader);
    }

    /// <summary>
    /// Starts what must run on one node at a time: delivery, routing, rule evaluation (Quartz),
    /// escalations re-armed from the outbox, the SLO report. On a takeover the state comes from the
    /// shared database exactly as after a restart (alert state, notification log, acknowledgements).
    /// </summary>
    private async Task StartPipelineAsync(CancellationToken cancellationToken)
    {
        _pipelineStop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = _pipelineStop.Token;
        if (Leadership is not null) await Silences.RefreshAsync().ConfigureAwait(false);
        _loops.Add(Task.Run(() => Deliverer.RunAsync(token), CancellationToken.None));
        _loops.Add(Task.Run(() => Dispatcher.RunAsync(token), CancellationToken.None));
        await Rules.StartAsync(cancellationToken).ConfigureAwait(false);
        Escalations.Scheduler = Rules.Scheduler;
        await Escalations.RestoreAsync(cancellationToken).ConfigureAwait(false);
        if (SloReports is not null) await SloReports.ScheduleAsync(Rules.Scheduler!, Options.SloReportCron, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the pipeline (leadership lost): evaluation and delivery end before the lock is released.</summary>
    private async Task StopPipelineAsync()
    {
        if (_pipelineStop is not null) await _pipelineStop.CancelAsync().ConfigureAwait(false);
        Escalations.Scheduler = null;
        await DisposeRulesAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_loops).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    private async Task DisposeRulesAsync()
    {
        if (Interlocked.Exchange(ref _rulesDisposed, 1) == 0) await Rules.DisposeAsync().ConfigureAwait(false);
    }

    private static (NpgsqlDataSource, MonitorDatabase) OpenPostgres(string connectionString)
    {
        string where;
        NpgsqlDataSource source;
        try
        {
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            where = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"postgresql://{(string.IsNullOrEmpty(b.Username) ? "" : b.Username + "@")}{(string.IsNullOrEmpty(b.Host) ? "localhost" : b.Host)}:{b.Port}/{b.Database ?? b.Username ?? ""}");
            source = NpgsqlDataSource.Create(b);
        }
        catch (ArgumentException e)
        {
            // Npgsql's message may quote the value: name only the variable.
            throw new MonitorStorageException("EXH_MONITOR_POSTGRES: not a valid Npgsql connection string (e.g. Host=db;Database=exh;Username=exh;Password=...)", e);
        }
        try
        {
            return (source, new MonitorDatabase(source, where));
        }
        catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException or IOException)
        {
            source.Dispose();
            throw new MonitorStorageException($"EXH_MONITOR_POSTGRES: cannot use {where}: {e.Message}", e);
        }
    }

    private static void ConfigureClusteredQuartz(IQuartzBuilder q, string connectionString, string nodeId)
    {
        q.ConfigureScheduler(o =>
        {
            o.InstanceName = "exh-monitor";
            o.InstanceId = nodeId;
            o.IdleWaitTime = TimeSpan.FromSeconds(1);
        });
        q.UsePersistentStore(s =>
        {
            s.UsePostgres(NpgsqlFactory.Instance, connectionString);
            s.UseSystemTextJsonSerializer();
            s.UseClustering(c =>
            {
                c.CheckinInterval = TimeSpan.FromSeconds(1);
                c.CheckinMisfireThreshold = TimeSpan.FromSeconds(5);
            });
            s.ProvisionSchema();
        });
    }

    private void BuildNotifiers(RoutingConfig config)
    {
        var console = new ConsoleNotifier(Options.ConsoleOut ?? Console.Out);
        foreach (var receiver in config.Receivers)
        {
            var parts = new List<(string Name, INotifier Notifier)>();
            foreach (var slack in receiver.SlackConfigs)
            {
                if (string.IsNullOrEmpty(Options.SlackBotToken) || string.IsNullOrEmpty(slack.Channel))
                {
                    parts.Add(($"console({slack.Channel})", console));
                    continue;
                }
                parts.Add(($"slack({slack.Channel})", new SlackNotifier(
                    new SlackNotifierOptions
                    {
                        Channel = slack.Channel,
                        BotToken = Options.SlackBotToken,
                        BaseUrl = new Uri(slack.ApiUrl.EndsWith('/') ? slack.ApiUrl : slack.ApiUrl + "/"),
                        EscalationMention = slack.EscalationMention ?? "<!here>",
                    },
                    _http, Database, null, Options.Time, _logs.CreateLogger("exh.monitor.slack"))));
            }
            foreach (var webhook in receiver.WebhookConfigs)
            {
                parts.Add(("webhook", new WebhookNotifier(
                    new WebhookNotifierOptions { Url = new Uri(webhook.Url), MaxAlerts = webhook.MaxAlerts, ExternalUrl = Options.ExternalUrl ?? "" },
                    _http, Options.Time)));
            }
            if (parts.Count == 0) parts.Add(("console", console));
            _notifiers[receiver.Name] = parts.Count == 1 ? parts[0].Notifier : new FanOutNotifier(parts);
        }
    }

    private static string LoadOrCreateToken(string path)
    {
        string? env = Environment.GetEnvironmentVariable("EXH_MONITOR_TOKEN");
        if (!string.IsNullOrWhiteSpace(env)) return env.Trim();
        if (File.Exists(path))
        {
            string existing = File.ReadAllText(path).Trim();
            if (existing.Length >= 16) return existing;
        }
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(path, token + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return token;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_leaderLoop is not null) await _leaderLoop.ConfigureAwait(false);
        if (Leadership is not null) await Leadership.DisposeAsync().ConfigureAwait(false);
        if (_api is not null) await _api.DisposeAsync().ConfigureAwait(false);
        for (int i = _startedModules.Count - 1; i >= 0; i--)
        {
            try { await _startedModules[i].DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { _logs.CreateLogger("exh.monitor").LogError(e, "Stopping module {Module} failed", _startedModules[i].Name); }
        }
        await DisposeRulesAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_loops).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        Deliverer.Dispose();
        Dispatcher.Dispose();
        Outbox.Dispose();
        _prometheus.Dispose();
        _telemetry.Dispose();
        _meter.Dispose();
        _http.Dispose();
        _stop.Dispose();
        _pipelineStop?.Dispose();
        Database.ClearPool();
        if (_dataSource is not null) await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The monitor's database cannot be opened (e.g. a bad <c>EXH_MONITOR_POSTGRES</c>); the message names the setting, never the password.</summary>
public sealed class MonitorStorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MonitorStorageException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>Creates the exception.</summary>
    public MonitorStorageException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public MonitorStorageException(string message) : base(message)
    {
    }
}

/// <summary>
/// A receiver with several integrations (e.g. two Slack channels and a webhook): delivered when
/// every integration delivered. Integrations that succeeded are remembered per notification so a
/// retry does not send them twice (as Alertmanager keeps a notification log per integration).
/// </summary>
internal sealed class FanOutNotifier(IReadOnlyList<(string Name, INotifier Notifier)> parts) : INotifier
{
    private readonly Dictionary<string, HashSet<int>> _done = new(StringComparer.Ordinal);

    public async Task<DeliveryResult> DeliverAsync(Notification notification, CancellationToken cancellationToken)
    {
        HashSet<int> done;
        lock (_done)
        {
            if (!_done.TryGetValue(notification.DedupKey, out done!)) _done[notification.DedupKey] = done = [];
        }
        DeliveryResult? worst = null;
        for (int i = 0; i < parts.Count; i++)
        {
            if (done.Contains(i)) continue;
            var result = await parts[i].Notifier.DeliverAsync(notification, cancellationToken).ConfigureAwait(false);
            if (result is DeliveryResult.Delivered) { done.Add(i); continue; }
            worst = worst is DeliveryResult.Failed ? worst : result switch
            {
                DeliveryResult.Failed f => new DeliveryResult.Failed($"{parts[i].Name}: {f.Error}"),
                DeliveryResult.Retry r => new DeliveryResult.Retry(r.After, $"{parts[i].Name}: {r.Error}"),
                _ => result,
            };
        }
        // Forget the notification once it is settled (delivered everywhere, or failed for good).
        if (worst is null or DeliveryResult.Failed)
        {
            lock (_done) _done.Remove(notification.DedupKey);
        }
        return worst ?? DeliveryResult.Delivered.Instance;
    }
}
