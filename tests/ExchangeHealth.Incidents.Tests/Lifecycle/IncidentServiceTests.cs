using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Incidents.Tests.Lifecycle;

/// <summary>The automatic lifecycle (pages) and commands over a real SQLite store, with a manual clock.</summary>
public sealed class IncidentServiceTests : IAsyncLifetime
{
    private const string GroupKey = "{}/{severity=\"page\"}:{alertname=\"EngineDown\", market=\"BTC-USD\"}";
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-incsvc-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTimeProvider _time = new(T0);
    private IIncidentStore _store = null!;
    private IncidentService _service = null!;
    private readonly List<IncidentChange> _changes = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _store = await IncidentStoreFactory.OpenAsync(new IncidentStoreOptions { SqlitePath = Path.Combine(_dir, "incidents.db") }, _time);
        _service = new IncidentService(_store, time: _time);
        _service.Changed += (c, _) => { lock (_changes) _changes.Add(c); return Task.CompletedTask; };
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static Alert Alert(string market, DateTimeOffset startsAt, DateTimeOffset? endsAt = null, string? severity = null)
    {
        var labels = LabelSet.Of("alertname", "EngineDown", "market", market, "severity", "page", "job", "exh-engine");
        if (severity is not null) labels = labels.With("incident_severity", severity);
        return new Alert(labels, LabelSet.Of("summary", $"engine heartbeat stale for {market}"), startsAt, endsAt, "");
    }

    private static Notification Notify(long sequence, NotificationKind kind, DateTimeOffset at, params Alert[] alerts) =>
        new("oncall", GroupKey, sequence, kind, LabelSet.Of("alertname", "EngineDown", "market", "BTC-USD"), LabelSet.Empty, LabelSet.Empty, alerts, "", "", at);

    [Fact]
    public async Task FiringPage_OpensIncident_WithTimesMarketsAndEvent()
    {
        _time.Advance(TimeSpan.FromSeconds(3));
        var incident = await _service.OnNotificationAsync(Notify(1, NotificationKind.New, T0.AddSeconds(3), Alert("BTC-USD", T0.AddSeconds(2))), page: true);

        Assert.NotNull(incident);
        Assert.Equal("EngineDown: engine heartbeat stale for BTC-USD", incident!.Title);
        Assert.Equal((IncidentStatus.Triggered, IncidentSeverity.Sev2, GroupKey), (incident.Status, incident.Severity, incident.GroupKey));
        Assert.Equal(["BTC-USD"], incident.Markets);
        Assert.Equal(["exh-engine"], incident.Services);
        Assert.Equal(T0.AddSeconds(2), incident.DetectedAt);
        Assert.Equal(T0.AddSeconds(2), incident.StartedAt);
        var timeline = (await _service.GetDetailsAsync(incident.Id))!.Timeline;
        Assert.Equal([TimelineKinds.Opened, TimelineKinds.AlertAttached], timeline.Select(e => e.Kind));
        Assert.Equal(2, _changes.Count);
        Assert.Null(_changes[0].Before);
        Assert.Equal(TimelineKinds.AlertAttached, _changes[1].Event!.Kind);
    }

    [Fact]
    public async Task FiringPage_StartedAtThePendingEvent_WhenTheTimelineHasIt()
    {
        var alert = Alert("BTC-USD", T0.AddSeconds(30));
        await _service.RecordAsync(new TimelineEvent
        {
            At = T0, Source = TimelineSources.Alerting, Actor = "monitor", Kind = TimelineKinds.AlertPending,
            Text = "EngineDown pending", DedupKey = "p1", Fingerprint = alert.Fingerprint,
        });
        var incident = await _service.OnNotificationAsync(Notify(1, NotificationKind.New, T0.AddSeconds(31), alert), page: true);
        Assert.Equal(T0, incident!.StartedAt);
        Assert.Equal(T0.AddSeconds(30), incident.DetectedAt);
    }

    [Fact]
    public async Task NotAPage_OpensNothing()
    {
        Assert.Null(await _service.OnNotificationAsync(Notify(1, NotificationKind.New, T0, Alert("BTC-USD", T0)), page: false));
        Assert.Empty(await _service.ListAsync(new IncidentFilter()));
    }

    [Fact]
    public async Task LaterAlertsOfTheGroup_Attach_SameIncident_MarketsUnion()
    {
        var first = await _service.OnNotificationAsync(Notify(1, NotificationKind.New, T0, Alert("BTC-USD", T0)), page: true);
        var second = await _service.OnNotificationAsync(Notify(2, NotificationKind.Update, T0.AddSeconds(30), Alert("BTC-USD", T0), Alert("ETH-USD", T0.AddSeconds(29))), page: true);
        Assert.Equal(first!.Id, second!.Id);
        Assert.Equal(["BTC-USD", "ETH-USD"], second.Markets);
        Assert.Equal(2, (await _store.GetAlertsAsync(first.Id)).Count);
        Assert.Single(await _service.ListAsync(new IncidentFilter()));
        // The same notification again changes nothing.
        await _service.OnNotificationAsync(Notify(2, NotificationKind.Update, T0.AddSeconds(30), Alert("BTC-USD", T0), Alert("ETH-USD", T0.AddSeconds(29))), page: true);
        Assert.Equal(3, (await _service.GetDetailsAsync(first.Id))!.Timeline.Count);
    }

    [Fact]
    public async Task AllAlertsResolved_Mitigated_NotResolved_FiringAgain_BackToAcknowledged()
    {
        var incident = await _service.OnNotificationAsync(Notify(1, NotificationKind.New, T0, Alert("BTC-USD", T0)), page: true);
        await _service.ExecuteAsync(incident!.Id, new IncidentCommand.Acknowledge(), new IncidentActor("alice", TimelineSources.Api));

        var end = T0.AddMinutes(4);
        var mitigated = await _service.OnNotificationAsync(Notify(2, NotificationKind.Resolved, T0.AddMinutes(5), Alert("BTC-USD", T0, end)), page: true);
        Assert.Equal(IncidentStatus.Mitigated, mitigated!.Status);
        Assert.Equal(end, mitigated.MitigatedAt);
        Assert.Null(mitigated.ResolvedAt);
        Assert.Equal(end, Assert.Single(await _store.GetAlertsAsync(incident.Id)).EndsAt);

        var again = await _service.OnNotificationAsync(Notify(3, NotificationKind.New, T0.AddMinutes(6), Alert("BTC-USD", T0.AddMinutes(6))), page: true);
        Assert.Equal(incident.Id, again!.Id);
        Assert.Equal(IncidentStatus.Acknowledged, again.Status);
        Assert.Null(again.MitigatedAt);
        Assert.Contains(TimelineKinds.Retriggered, (await _service.GetDetailsAsync(incident.Id))!.Timeline.Select(e => e.Kind));
    }

    [Fact]
    public async Task ResolvedIncident_NextPageOfTheGroup_OpensANewOne()
    {
        var first = await _service.OnNotificationAsync(Notify(1, NotificationKind.New, T0, Alert("BTC-USD", T0)), page: true);
        Assert.True((await _service.ExecuteAsync(first!.Id, new IncidentCommand.Resolve(), new IncidentActor("alice", TimelineSources.Api))).Ok);
        // A resolution arriving late does not touch the resolved incident.
        Assert.Null(await _service.OnNotificationAsync(Notify(2, NotificationKind.Resolved, T0.AddMinutes(1), Alert("BTC-USD", T0, T0.AddMinutes(1))), page: true));
        Assert.Equal(IncidentStatus.Resolved, (await _service.GetAsync(first.Id))!.Status);

        var second = await _service.OnNotificationAsync(Notify(3, NotificationKind.New, T0.AddHours(1), Alert("BTC-USD", T0.AddHours(1))), page: true);
        Assert.NotEqual(first.Id, second!.Id);
    }

    [Fact]
    public async Task SeverityLabel_SetsTheSeverity_MostSevereWins()
    {
        var incident = await _service.OnNotificationAsync(
            Notify(1, NotificationKind.New, T0, Alert("BTC-USD", T0, severity: "SEV3"), Alert("ETH-USD", T0, severity: "1")), page: true);
        Assert.Equal(IncidentSeverity.Sev1, incident!.Severity);
    }

    [Fact]
    public async Task TwoMonitorNodes_SamePage_OneIncident()
    {
        var other = new IncidentService(_store, time: _time);
        var n = Notify(1, NotificationKind.New, T0, Alert("BTC-USD", T0));
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? _service : other).OnNotificationAsync(n, page: true)));
        Assert.Single(results.Select(r => r!.Id).Distinct());
        Assert.Single(await _service.ListAsync(new IncidentFilter()));
    }

    [Fact]
    public async Task ConcurrentCommands_NoLostUpdate()
    {
        var incident = (await _service.DeclareAsync(new IncidentDeclaration("matching slow", IncidentSeverity.Sev3, ["BTC-USD"], null), new IncidentActor("api", TimelineSources.Api))).Incident!;
        var actor = new IncidentActor("alice", TimelineSources.Api);
        var results = await Task.WhenAll(
            _service.ExecuteAsync(incident.Id, new IncidentCommand.Acknowledge(), actor),
            _service.ExecuteAsync(incident.Id, new IncidentCommand.SetSeverity(IncidentSeverity.Sev1), actor),
            _service.ExecuteAsync(incident.Id, new IncidentCommand.AssignCommander("<@U9>"), actor),
            _service.ExecuteAsync(incident.Id, new IncidentCommand.AddNote("checking the journal disk"), actor));
        Assert.All(results, r => Assert.True(r.Ok, r.Reason));
        var after = (await _service.GetAsync(incident.Id))!;
        Assert.Equal((IncidentStatus.Acknowledged, IncidentSeverity.Sev1, "<@U9>"), (after.Status, after.Severity, after.Commander));
        Assert.Equal(4, after.Version);
    }

    [Fact]
    public async Task Commands_UnknownId_NotFound_InvalidActor_Refused()
    {
        var missing = await _service.ExecuteAsync(999, new IncidentCommand.Acknowledge(), new IncidentActor("alice", TimelineSources.Api));
        Assert.Equal(IncidentError.NotFound, missing.Error);
        var noActor = await _service.ExecuteAsync(1, new IncidentCommand.Acknowledge(), new IncidentActor("", TimelineSources.Api));
        Assert.Equal((IncidentError.Invalid, "actor"), (noActor.Error, noActor.Field));
        var longTitle = await _service.DeclareAsync(new IncidentDeclaration(new string('t', 201), IncidentSeverity.Sev2, [], null), new IncidentActor("api", TimelineSources.Api));
        Assert.Equal((IncidentError.Invalid, "title"), (longTitle.Error, longTitle.Field));
    }

    [Fact]
    public async Task FollowUpsAndNotes_StoredVerbatim_OnTheTimeline()
    {
        var incident = (await _service.DeclareAsync(new IncidentDeclaration("x", IncidentSeverity.Sev4, [], null), new IncidentActor("api", TimelineSources.Api))).Incident!;
        const string Sql = "'); DROP TABLE incidents; --";
        await _service.ExecuteAsync(incident.Id, new IncidentCommand.AddNote(Sql), new IncidentActor("cli:bob", TimelineSources.Cli));
        await _service.ExecuteAsync(incident.Id, new IncidentCommand.AddFollowUp("alert on journal disk usage", "carol"), new IncidentActor("cli:bob", TimelineSources.Cli));
        var details = (await _service.GetDetailsAsync(incident.Id))!;
        var note = details.Timeline.Single(e => e.Kind == TimelineKinds.Note);
        Assert.Equal((Sql, TimelineSources.Cli, "cli:bob"), (note.Text, note.Source, note.Actor));
        var followUp = Assert.Single(details.FollowUps);
        Assert.Equal(("alert on journal disk usage", "carol", false), (followUp.Text, followUp.Owner, followUp.Done));
    }
}
