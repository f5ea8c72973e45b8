using ExchangeHealth.TestKit;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Alerting.Tests.Routing;

/// <summary>
/// The dispatcher's timing and notification decisions on a manual clock, against an in-memory
/// notification log with the outbox's contract (and a real SQLite silence store).
/// </summary>
public sealed class AlertDispatcherTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _time = new(T0);
    private readonly InMemoryNotificationSink _sink = new();
    private readonly List<AlertDispatcher> _dispatchers = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("exh-dispatch-").FullName;

    public void Dispose()
    {
        foreach (var d in _dispatchers) d.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    // resolve_timeout is long here so alerts ingested once stay firing; ResolveTimeout_* tests it.
    private const string Base = """
        global: {resolve_timeout: 24h}
        route:
          receiver: team
          group_by: [alertname]
        receivers:
          - name: team
            webhook_configs: [{url: 'http://127.0.0.1:1/hook'}]
        """;

    /// <summary>Configurations below write <c>$H</c> for a webhook integration.</summary>
    private static RoutingConfig Config(string yaml) =>
        RoutingConfig.Parse(yaml.Replace("$H", "{url: 'http://127.0.0.1:1/hook'}", StringComparison.Ordinal), "test.yml");

    private AlertDispatcher Dispatcher(string yaml, ISilencer? silencer = null)
    {
        var d = new AlertDispatcher(Config(yaml), _sink, silencer, _time);
        _dispatchers.Add(d);
        return d;
    }

    private static Alert Firing(DateTimeOffset startsAt, params string[] labels) =>
        new(LabelSet.Of(labels), LabelSet.Of("summary", "something broke"), startsAt, null, "");

    private static Alert Resolved(Alert a, DateTimeOffset endsAt) => a with { EndsAt = endsAt };

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static TimeSpan M(double minutes) => TimeSpan.FromMinutes(minutes);

    /// <summary>Moves the clock to T0 + <paramref name="sinceT0"/>, then flushes what is due.</summary>
    private async Task At(AlertDispatcher d, TimeSpan sinceT0)
    {
        var target = T0 + sinceT0;
        Assert.True(target >= _time.GetUtcNow(), "time only moves forward");
        _time.Advance(target - _time.GetUtcNow());
        await d.FlushDueAsync();
    }

    private Notification Last => _sink.Notifications[^1];

    [Fact]
    public async Task GroupWait_FirstNotificationComesAfterGroupWait()
    {
        var d = Dispatcher(Base);
        var a = Firing(T0, "alertname", "EngineDown", "market", "BTC-USD");
        await d.IngestAsync([a]);

        await At(d, S(29));
        Assert.Empty(_sink.Notifications);
        await At(d, S(30));

        var n = Assert.Single(_sink.Notifications);
        Assert.Equal(NotificationKind.New, n.Kind);
        Assert.Equal(1, n.Sequence);
        Assert.Equal("team", n.Receiver);
        Assert.Equal("{}:{alertname=\"EngineDown\"}", n.GroupKey);
        Assert.Equal(LabelSet.Of("alertname", "EngineDown"), n.GroupLabels);
        Assert.Equal(a.Labels, n.CommonLabels);
        Assert.Equal(a.Annotations, n.CommonAnnotations);
        Assert.Equal(a.Fingerprint, n.FiringHash);
        Assert.Equal("", n.ResolvedHash);
        Assert.Equal(T0 + S(30), n.CreatedAt);
        Assert.Equal(a, Assert.Single(n.Alerts));
        Assert.Equal(AlertStatus.Firing, n.Status);
    }

    [Fact]
    public async Task GroupWait_IsSkippedForAnAlertThatStartedLongerAgo()
    {
        var d = Dispatcher(Base);
        await d.IngestAsync([Firing(T0 - M(10), "alertname", "EngineDown")]);
        await d.FlushDueAsync();
        Assert.Equal(NotificationKind.New, Assert.Single(_sink.Notifications).Kind);
    }

    [Fact]
    public async Task GroupInterval_BatchesASecondAlertIntoTheNextFlush()
    {
        var d = Dispatcher(Base);
        var a = Firing(T0, "alertname", "HighLatency", "market", "BTC-USD");
        var b = Firing(T0 + S(40), "alertname", "HighLatency", "market", "ETH-USD");
        await d.IngestAsync([a]);
        await At(d, S(30));
        Assert.Single(_sink.Notifications);

        _time.Advance(S(10));
        await d.IngestAsync([b]);                    // t = 40 s: the group has flushed, so b waits
        await At(d, S(40));
        await At(d, S(30) + M(5) - S(1));
        Assert.Single(_sink.Notifications);

        await At(d, S(30) + M(5));                   // next group_interval tick
        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal(NotificationKind.Update, Last.Kind);
        Assert.Equal(2, Last.Sequence);
        Assert.Equal([a, b], Last.Alerts);
        Assert.Equal(LabelSet.Of("alertname", "HighLatency"), Last.CommonLabels);
        Assert.Equal(string.Join(",", new[] { a.Fingerprint, b.Fingerprint }.Order(StringComparer.Ordinal)), Last.FiringHash);

        await At(d, S(30) + M(10));                  // nothing changed: nothing sent
        Assert.Equal(2, _sink.Notifications.Count);
    }

    [Fact]
    public async Task RepeatInterval_RepeatsAnUnchangedGroup()
    {
        var d = Dispatcher(Base.Replace("group_by: [alertname]", "group_by: [alertname]\n  repeat_interval: 1h", StringComparison.Ordinal));
        await d.IngestAsync([Firing(T0, "alertname", "EngineDown")]);
        for (var t = S(30); t <= S(30) + M(125); t += M(5)) await At(d, t);

        Assert.Equal([NotificationKind.New, NotificationKind.Repeat, NotificationKind.Repeat], _sink.Notifications.Select(n => n.Kind));
        Assert.Equal([T0 + S(30), T0 + S(30) + M(60), T0 + S(30) + M(120)], _sink.Notifications.Select(n => n.CreatedAt));
        Assert.Equal([1L, 2L, 3L], _sink.Notifications.Select(n => n.Sequence));
    }

    [Fact]
    public async Task Resolved_IsNotifiedThenTheGroupIsGone_AndAReturnIsNew()
    {
        var d = Dispatcher(Base);
        var a = Firing(T0, "alertname", "EngineDown");
        await d.IngestAsync([a]);
        await At(d, S(30));

        _time.Advance(M(2));
        await d.IngestAsync([Resolved(a, _time.GetUtcNow())]);
        Assert.Empty(d.GetAlerts());                 // resolved alerts are not listed
        await At(d, S(30) + M(5));

        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal(NotificationKind.Resolved, Last.Kind);
        Assert.Equal(AlertStatus.Resolved, Last.Status);
        Assert.Equal(T0 + S(30) + M(2), Assert.Single(Last.Alerts).EndsAt);
        Assert.Equal("", Last.FiringHash);
        Assert.Equal(a.Fingerprint, Last.ResolvedHash);
        Assert.Empty(d.GetGroups());

        await At(d, M(20));
        Assert.Equal(2, _sink.Notifications.Count);

        var again = Firing(T0 + M(20), "alertname", "EngineDown");
        await d.IngestAsync([again]);
        await At(d, M(20) + S(30));
        Assert.Equal(NotificationKind.New, Last.Kind);
        Assert.Equal(3, Last.Sequence);
    }

    [Fact]
    public async Task SendResolvedFalse_SendsNoResolvedAlerts_AndARefireIsNew()
    {
        var d = Dispatcher(Base.Replace("[{url: 'http://127.0.0.1:1/hook'}]", "[{url: 'http://127.0.0.1:1/hook', send_resolved: false}]", StringComparison.Ordinal));
        var a = Firing(T0, "alertname", "Disk", "instance", "a");
        var b = Firing(T0, "alertname", "Disk", "instance", "b");
        await d.IngestAsync([a, b]);
        await At(d, S(30));
        Assert.Equal(2, Assert.Single(_sink.Notifications).Alerts.Count);

        _time.Advance(M(1));
        await d.IngestAsync([Resolved(b, _time.GetUtcNow())]);
        await At(d, S(30) + M(5));
        Assert.Single(_sink.Notifications);          // b resolved: nothing to tell this receiver
        Assert.Single(Assert.Single(d.GetGroups()).Alerts);  // and b left the group

        _time.Advance(M(1));
        await d.IngestAsync([Resolved(a, _time.GetUtcNow())]);
        await At(d, S(30) + M(10));
        Assert.Single(_sink.Notifications);          // all resolved: still nothing sent
        Assert.Empty(d.GetGroups());

        await At(d, M(20));
        await d.IngestAsync([Firing(T0 + M(20), "alertname", "Disk", "instance", "a")]);
        await At(d, M(20) + S(30));
        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal(NotificationKind.New, Last.Kind);   // a new episode, though the log's last entry listed a as firing
        Assert.All(_sink.Notifications.SelectMany(n => n.Alerts), x => Assert.Null(x.EndsAt));
    }

    [Fact]
    public async Task ContinueRoutes_NotifyEveryMatchingReceiver()
    {
        var d = Dispatcher("""
            route:
              receiver: default
              group_by: [alertname]
              routes:
                - matchers: [severity=page]
                  receiver: pager
                  continue: true
                - matchers: [team=exchange]
                  receiver: exchange
                - matchers: [severity=page]
                  receiver: never
            receivers: [{name: default, webhook_configs: [$H]}, {name: pager, webhook_configs: [$H]}, {name: exchange, webhook_configs: [$H]}, {name: never, webhook_configs: [$H]}]
            """);
        await d.IngestAsync([Firing(T0, "alertname", "EngineDown", "severity", "page", "team", "exchange")]);
        await At(d, S(30));
        Assert.Equal(
            [("exchange", "{}/{team=\"exchange\"}:{alertname=\"EngineDown\"}"), ("pager", "{}/{severity=\"page\"}:{alertname=\"EngineDown\"}")],
            _sink.Notifications.Select(n => (n.Receiver, n.GroupKey)).Order());
        Assert.Equal(["pager", "exchange"], Assert.Single(d.GetAlerts()).Receivers);
    }

    [Fact]
    public async Task ChildRoutes_InheritGroupingAndTimingFromTheirParent()
    {
        var d = Dispatcher("""
            route:
              receiver: default
              group_by: [market]
              group_wait: 10s
              routes:
                - matchers: [severity=page]
                  receiver: pager
                  routes:
                    - matchers: [team=exchange]
            receivers: [{name: default, webhook_configs: [$H]}, {name: pager, webhook_configs: [$H]}]
            """);
        var a = Firing(T0, "alertname", "HighLatency", "severity", "page", "team", "exchange", "market", "BTC-USD");
        var b = Firing(T0, "alertname", "Errors", "severity", "page", "team", "exchange", "market", "BTC-USD");
        await d.IngestAsync([a, b]);
        await At(d, S(9));
        Assert.Empty(_sink.Notifications);
        await At(d, S(10));                          // group_wait 10s inherited twice

        var n = Assert.Single(_sink.Notifications);  // grouped by market (inherited), so one notification
        Assert.Equal("pager", n.Receiver);           // receiver inherited from the middle route
        Assert.Equal("{}/{severity=\"page\"}/{team=\"exchange\"}:{market=\"BTC-USD\"}", n.GroupKey);
        Assert.Equal(2, n.Alerts.Count);
        Assert.Equal(LabelSet.Of("market", "BTC-USD", "severity", "page", "team", "exchange"), n.CommonLabels);
    }

    [Fact]
    public async Task ReceiverWithoutIntegrations_StillGetsItsNotifications()
    {
        // The monitor host prints such receivers' notifications on the console.
        var d = Dispatcher("""
            route:
              receiver: team
              routes: [{matchers: [alertname=Watchdog], receiver: console}]
            receivers: [{name: team, webhook_configs: [$H]}, {name: console}]
            """);
        await d.IngestAsync([Firing(T0, "alertname", "Watchdog"), Firing(T0, "alertname", "EngineDown")]);
        await At(d, S(30));
        Assert.Equal(["console", "team"], _sink.Notifications.Select(n => n.Receiver).Order(StringComparer.Ordinal));
        Assert.Equal(["console"], d.GetAlerts().Single(v => v.Alert.Name == "Watchdog").Receivers);
    }

    [Fact]
    public async Task GroupByEllipsis_MakesOneGroupPerAlert()
    {
        var d = Dispatcher(Base.Replace("group_by: [alertname]", "group_by: ['...']", StringComparison.Ordinal));
        var a = Firing(T0, "alertname", "HighLatency", "market", "BTC-USD");
        var b = Firing(T0, "alertname", "HighLatency", "market", "ETH-USD");
        await d.IngestAsync([a, b]);
        await At(d, S(30));
        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal([a.Labels, b.Labels], _sink.Notifications.Select(n => n.GroupLabels).OrderBy(l => l.ToString(), StringComparer.Ordinal));
        Assert.All(_sink.Notifications, n => Assert.Single(n.Alerts));
    }

    [Fact]
    public async Task Silence_MutesUntilItExpires()
    {
        var silences = new SilenceStore(new MonitorDatabase(Path.Combine(_dir, "monitor.db")), _time);
        var d = Dispatcher(Base, silences);
        var a = Firing(T0, "alertname", "HighLatency", "market", "BTC-USD");
        var b = Firing(T0, "alertname", "HighLatency", "market", "ETH-USD");
        string id = await silences.CreateAsync([new SilenceMatcher("market", "BTC-USD", false)], T0, T0 + M(60), "alice", "maintenance");

        await d.IngestAsync([a, b]);
        await At(d, S(30));
        Assert.Equal([b], Assert.Single(_sink.Notifications).Alerts);  // a is muted
        var views = d.GetAlerts();
        Assert.Equal(AlertViewState.Suppressed, views.Single(v => v.Alert == a).State);
        Assert.Equal([id], views.Single(v => v.Alert == a).SilencedBy);
        Assert.Equal(AlertViewState.Active, views.Single(v => v.Alert == b).State);

        for (var t = S(30) + M(5); t < M(60); t += M(5)) await At(d, t);
        Assert.Single(_sink.Notifications);

        await At(d, S(30) + M(60));                   // the silence ended at 60 min
        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal(NotificationKind.Update, Last.Kind);
        Assert.Equal([a, b], Last.Alerts);
        Assert.All(d.GetAlerts(), v => Assert.Equal(AlertViewState.Active, v.State));
    }

    [Fact]
    public async Task Silence_OfTheWholeGroup_SendsNothing_ThenExpiringItByHandNotifies()
    {
        var silences = new SilenceStore(new MonitorDatabase(Path.Combine(_dir, "monitor.db")), _time);
        var d = Dispatcher(Base, silences);
        string id = await silences.CreateAsync([new SilenceMatcher("alertname", "Engine.*", true)], T0, T0 + M(60), "alice", "deploy");
        await d.IngestAsync([Firing(T0, "alertname", "EngineDown")]);
        await At(d, S(30));
        Assert.Empty(_sink.Notifications);

        _time.Advance(M(1));
        await silences.ExpireAsync(id, "bob");
        await At(d, S(30) + M(5));
        Assert.Equal(NotificationKind.New, Assert.Single(_sink.Notifications).Kind);
    }

    [Fact]
    public async Task Inhibition_MutesTargetsWithEqualLabels_WhileTheSourceFires()
    {
        var d = Dispatcher(Base + """

            inhibit_rules:
              - source_matchers: [severity=page]
                target_matchers: [severity=ticket]
                equal: [market]
            """);
        var page = Firing(T0, "alertname", "EngineDown", "severity", "page", "market", "BTC-USD");
        var ticketBtc = Firing(T0, "alertname", "SlowBurn", "severity", "ticket", "market", "BTC-USD");
        var ticketEth = Firing(T0, "alertname", "SlowBurn", "severity", "ticket", "market", "ETH-USD");
        await d.IngestAsync([page, ticketBtc, ticketEth]);
        await At(d, S(30));

        var slowBurn = _sink.Notifications.Single(n => n.GroupLabels["alertname"] == "SlowBurn");
        Assert.Equal([ticketEth], slowBurn.Alerts);
        var view = d.GetAlerts().Single(v => v.Alert == ticketBtc);
        Assert.Equal(AlertViewState.Suppressed, view.State);
        Assert.Equal([page.Fingerprint], view.InhibitedBy);
        Assert.Empty(d.GetAlerts().Single(v => v.Alert == page).InhibitedBy);

        _time.Advance(M(1));
        await d.IngestAsync([Resolved(page, _time.GetUtcNow())]);
        await At(d, S(30) + M(5));
        var update = _sink.Notifications.Last(n => n.GroupLabels["alertname"] == "SlowBurn");
        Assert.Equal(NotificationKind.Update, update.Kind);
        Assert.Equal([ticketBtc, ticketEth], update.Alerts);
    }

    [Fact]
    public async Task Restart_WithTheSameLog_NeitherRepeatsNorForgets()
    {
        var first = Dispatcher(Base);
        var a = Firing(T0, "alertname", "EngineDown");
        await first.IngestAsync([a]);
        await At(first, S(30));
        Assert.Single(_sink.Notifications);
        first.Dispose();
        _dispatchers.Remove(first);

        // A new process: the producer re-sends its firing alerts; the log says they were notified.
        _time.Advance(M(10));
        var second = Dispatcher(Base);
        await second.IngestAsync([a]);
        await second.FlushDueAsync();                 // the alert is old: flushed at once, and nothing is due
        for (var t = M(15); t < S(30) + M(240); t += M(5)) await At(second, t);
        Assert.Single(_sink.Notifications);
        await At(second, M(245));                     // first flush after repeat_interval (4 h) since the notification
        Assert.Equal(NotificationKind.Repeat, Last.Kind);
        Assert.Equal(2, Last.Sequence);

        // Another restart; the alert resolved while nobody was running: the resolution is sent.
        second.Dispose();
        _dispatchers.Remove(second);
        _time.Advance(M(10));
        var third = Dispatcher(Base);
        await third.IngestAsync([Resolved(a, _time.GetUtcNow() - M(5))]);
        await third.FlushDueAsync();
        Assert.Equal(NotificationKind.Resolved, Last.Kind);
        Assert.Equal(3, Last.Sequence);
    }

    [Fact]
    public async Task Restart_WithoutSendResolved_ARefireAfterTheRestartIsNew()
    {
        const string quiet = "send_resolved: false}]";
        string yaml = Base.Replace("'http://127.0.0.1:1/hook'}]", "'http://127.0.0.1:1/hook', " + quiet, StringComparison.Ordinal);
        var first = Dispatcher(yaml);
        var a = Firing(T0, "alertname", "EngineDown");
        await first.IngestAsync([a]);
        await At(first, S(30));
        _time.Advance(M(1));
        await first.IngestAsync([Resolved(a, _time.GetUtcNow())]);
        await At(first, S(30) + M(5));               // resolved: nothing sent, nothing logged
        Assert.Single(_sink.Notifications);
        first.Dispose();
        _dispatchers.Remove(first);

        // The log's last entry still lists the alert as firing; the new episode started after it.
        _time.Advance(T0 + M(10) - _time.GetUtcNow());
        var second = Dispatcher(yaml);
        await second.IngestAsync([Firing(T0 + M(10), "alertname", "EngineDown")]);
        await At(second, M(10) + S(30));
        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal(NotificationKind.New, Last.Kind);
    }

    [Fact]
    public async Task SinkFailure_KeepsTheAlerts_AndTheNextFlushDelivers()
    {
        var d = Dispatcher(Base);
        var a = Firing(T0, "alertname", "EngineDown");
        await d.IngestAsync([a]);
        _sink.FailNext = 1;
        await At(d, S(30));
        Assert.Empty(_sink.Notifications);
        await At(d, S(30) + M(5));
        Assert.Equal(NotificationKind.New, Assert.Single(_sink.Notifications).Kind);

        _time.Advance(M(1));
        await d.IngestAsync([Resolved(a, _time.GetUtcNow())]);
        _sink.FailNext = 1;
        await At(d, S(30) + M(10));                   // resolved but not handed over: it must stay
        Assert.Single(_sink.Notifications);
        Assert.Equal(a.Fingerprint, Assert.Single(Assert.Single(d.GetGroups()).Alerts).Fingerprint);

        await At(d, S(30) + M(15));
        Assert.Equal(NotificationKind.Resolved, Last.Kind);
        Assert.Equal(2, Last.Sequence);
        Assert.Empty(d.GetGroups());
    }

    [Fact]
    public async Task ReplaceConfig_ReroutesHeldAlerts()
    {
        var d = Dispatcher(Base);
        await d.IngestAsync([Firing(T0, "alertname", "EngineDown", "severity", "page")]);
        await At(d, S(30));
        Assert.Equal("team", Last.Receiver);

        _time.Advance(M(1));
        d.ReplaceConfig(Config("""
            global: {resolve_timeout: 24h}
            route:
              receiver: team
              group_by: [alertname]
              routes: [{matchers: [severity=page], receiver: pager}]
            receivers: [{name: team, webhook_configs: [$H]}, {name: pager, webhook_configs: [$H]}]
            """));
        Assert.Equal(["pager"], Assert.Single(d.GetAlerts()).Receivers);
        await d.FlushDueAsync();                     // the alert is old: the new group flushes at once
        Assert.Equal(2, _sink.Notifications.Count);
        Assert.Equal("pager", Last.Receiver);
        Assert.Equal(NotificationKind.New, Last.Kind);
        Assert.Equal("{}/{severity=\"page\"}:{alertname=\"EngineDown\"}", Last.GroupKey);
    }

    [Fact]
    public async Task ResolveTimeout_ResolvesAnAlertThatIsNotSentAgain()
    {
        var d = Dispatcher(Base.Replace("resolve_timeout: 24h", "resolve_timeout: 5m", StringComparison.Ordinal));
        var a = Firing(T0, "alertname", "EngineDown");
        await d.IngestAsync([a]);
        await At(d, S(30));
        await At(d, S(30) + M(5));                    // received at 0:00, times out at 5:00
        Assert.Equal([NotificationKind.New, NotificationKind.Resolved], _sink.Notifications.Select(n => n.Kind));
        Assert.Equal(T0 + M(5), Assert.Single(Last.Alerts).EndsAt);
    }

    [Fact]
    public void Ingest_RejectsInvalidAlerts_NamingTheField()
    {
        var d = Dispatcher(Base);
        var e = Assert.Throws<ArgumentException>(() => d.IngestAsync(
            [Firing(T0, "alertname", "A"), new Alert(LabelSet.Empty, LabelSet.Empty, T0, null, "")]).GetAwaiter().GetResult());
        Assert.Contains("alerts[1].labels", e.Message, StringComparison.Ordinal);
        Assert.Empty(d.GetAlerts());                 // nothing ingested
    }

    [Fact]
    public async Task RunAsync_FlushesOnTheTimeProvidersTimers()
    {
        var d = Dispatcher(Base);
        using var cts = new CancellationTokenSource();
        var run = Task.Run(() => d.RunAsync(cts.Token));
        await d.IngestAsync([Firing(T0, "alertname", "EngineDown")]);

        // Wait until the loop sleeps until the group's flush time, then move the clock there.
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (!_time.TimerDueTimes.Contains(T0 + S(30))) await Task.Delay(10, wait.Token);
        }
        Assert.Empty(_sink.Notifications);
        _time.Advance(S(30));
        await _sink.WaitForCountAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(NotificationKind.New, Last.Kind);
        Assert.Equal(T0 + S(30), Last.CreatedAt);

        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
