using System.Net;

namespace ExchangeHealth.Alerting.Host;

/// <summary>Settings of the monitor process (<c>exh monitor</c>); every one has a default.</summary>
public sealed record MonitorOptions
{
    /// <summary>The PromQL HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics); default <c>http://127.0.0.1:9090/</c>.</summary>
    public Uri PrometheusUrl { get; init; } = new("http://127.0.0.1:9090/");

    /// <summary>Directory of rule files; default <c>alert-rules</c>.</summary>
    public string RulesDirectory { get; init; } = "alert-rules";

    /// <summary>Routing configuration (Alertmanager's format); null for the built-in default (<see cref="DefaultRouting"/>).</summary>
    public string? RoutingFile { get; init; }

    /// <summary>Extra files of <c>inhibit_rules</c> (generated from SLO specs), merged into the routing configuration.</summary>
    public IReadOnlyList<string> InhibitRuleFiles { get; init; } = [];

    /// <summary>Data directory: <c>monitor.db</c> (alert state, silences, outbox, acknowledgements), <c>monitor-token</c>, <c>monitor.json</c>; default <c>data/monitor</c>.</summary>
    public string DataDirectory { get; init; } = "data/monitor";

    /// <summary>HTTP API address; default 127.0.0.1:7090 (port 0 picks a free one).</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 7090);

    /// <summary>Base of generator links in notifications; default the Prometheus URL.</summary>
    public string? ExternalUrl { get; init; }

    /// <summary>Slack bot token (<c>xoxb-…</c>, from <c>SLACK_BOT_TOKEN</c>); without one, Slack receivers print to the console. Never logged.</summary>
    public string? SlackBotToken { get; init; }

    /// <summary>Slack signing secret (from <c>SLACK_SIGNING_SECRET</c>) verifying <c>POST /slack/interactions</c>; without one that endpoint answers 503. Never logged.</summary>
    public string? SlackSigningSecret { get; init; }

    /// <summary>Interval of rule groups that set none; default 1 s.</summary>
    public TimeSpan EvaluationInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Timeout of each rule query; default 10 s.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long Prometheus must be unreachable before the monitor's own alert; default 3 s.</summary>
    public TimeSpan PrometheusDownAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Where console notifications go; standard output when null.</summary>
    public TextWriter? ConsoleOut { get; init; }

    /// <summary>Clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>SLO spec file or directory for the periodic SLO report; null for no report.</summary>
    public string? SloSpecs { get; init; }

    /// <summary>Quartz cron (UTC) of the SLO report; default Mondays 08:00.</summary>
    public string SloReportCron { get; init; } = SloReportSchedule.DefaultCron;

    /// <summary>Where SLO reports are written; default <c>reports</c>.</summary>
    public string ReportsDirectory { get; init; } = "reports";

    /// <summary>Slack channel ID the report summary is posted to (needs <see cref="SlackBotToken"/>); null for none.</summary>
    public string? SloReportSlackChannel { get; init; }

    /// <summary>Modules built on the alerting pipeline (incidents); started with the monitor, in order.</summary>
    public IReadOnlyList<IMonitorModule> Modules { get; init; } = [];

    /// <summary>
    /// Npgsql connection string of a PostgreSQL database shared by several monitor nodes (from
    /// <c>EXH_MONITOR_POSTGRES</c>): when set, every table of <c>monitor.db</c> lives there, Quartz
    /// uses the clustered ADO.NET job store in the same database, and the nodes elect one leader
    /// that runs the alerting pipeline (<see cref="MonitorLeadership"/>); null or blank for the
    /// per-node SQLite file. May hold a password: never logged.
    /// </summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>True when <see cref="PostgresConnectionString"/> selects PostgreSQL.</summary>
    public bool UsesPostgres => !string.IsNullOrWhiteSpace(PostgresConnectionString);

    /// <summary>This node's id in the cluster (<c>--node-id</c>): leader record, outbox claims, Quartz instance id, <c>exh_monitor_leader{node}</c>; null for <c>hostname-pid</c>.</summary>
    public string? NodeId { get; init; }

    /// <summary>How often a standby tries to take the leader lock and the leader checks it still holds it; default 1 s.</summary>
    public TimeSpan LeaderCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A leader that has not checked in for this long (a frozen process: SIGSTOP, a stuck VM) has
    /// its lock session terminated by a standby, which then takes over; default 10 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> never.
    /// </summary>
    public TimeSpan LeaderStaleAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Extra Quartz configuration; null for none (in-memory store, or the clustered store with <see cref="PostgresConnectionString"/>).</summary>
    public Action<Quartz.IQuartzBuilder>? ConfigureQuartz { get; init; }

    /// <summary>
    /// The routing used without a file: everything to the console receiver, grouped by alert name
    /// and market, notified at once (group_wait 0s), changes every 5 s, repeats every 4 h; alerts
    /// with <c>severity="page"</c> or <c>severity="critical"</c> open incidents (<c>page: true</c>).
    /// </summary>
    public const string DefaultRouting = """
        route:
          receiver: console
          group_by: [alertname, market]
          group_wait: 0s
          group_interval: 5s
          repeat_interval: 4h
          routes:
            - matchers: ['severity=~"page|critical"']
              page: true
        receivers:
          - name: console
        """;
}
