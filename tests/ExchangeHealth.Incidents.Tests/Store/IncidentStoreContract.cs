using System.Globalization;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Incidents.Tests.Store;

/// <summary>
/// The <see cref="IIncidentStore"/> contract: every test here runs against each back end
/// (<see cref="SqliteIncidentStoreTests"/>, <see cref="PostgresIncidentStoreTests"/>), on a fresh,
/// migrated database per test.
/// </summary>
public abstract class IncidentStoreContract : IAsyncLifetime
{
    /// <summary>Text that would break a statement built by concatenation.</summary>
    protected const string SqlLooking = "'); DROP TABLE incidents; --";

    /// <summary>Non-ASCII text: accents, CJK, an emoji (a surrogate pair), a right-to-left word, quotes and backslashes.</summary>
    protected const string Unicode = "Ünïcødé 市場 🚨 שלום \"q\" \\ %_ \t tab";

    protected static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);

    private static readonly string[] NoItems = [];
    private readonly List<IIncidentStore> _stores = [];

    protected ManualTimeProvider Clock { get; } = new(T0.AddHours(1).AddTicks(1234567));

    /// <summary>The per-test database (a path or a connection string).</summary>
    protected string Database { get; private set; } = "";

    /// <summary>A migrated store on <see cref="Database"/>.</summary>
    protected IIncidentStore Store { get; private set; } = null!;

    /// <summary>Creates an empty database; returns what <see cref="NewStore"/> needs.</summary>
    protected abstract Task<string> CreateDatabaseAsync();

    /// <summary>A new store (not migrated) on <paramref name="database"/>, clocked by <see cref="Clock"/>.</summary>
    protected abstract IIncidentStore NewStore(string database);

    /// <summary>Runs raw SQL (test set-up only) and returns the first column of the first row.</summary>
    protected abstract Task<long> ScalarAsync(string database, string sql);

    /// <summary>Runs raw SQL (test set-up only).</summary>
    protected abstract Task ExecuteAsync(string database, string sql);

    /// <summary>Deletes what <see cref="CreateDatabaseAsync"/> made, after the stores are disposed.</summary>
    protected abstract Task CleanUpAsync();

    public async Task InitializeAsync()
    {
        Database = await CreateDatabaseAsync();
        Store = Open(Database);
        await Store.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _stores) await s.DisposeAsync();
        await CleanUpAsync();
    }

    /// <summary>Another store on <paramref name="database"/> (a second monitor node); disposed after the test.</summary>
    protected IIncidentStore Open(string database)
    {
        var store = NewStore(database);
        _stores.Add(store);
        return store;
    }

    protected static Incident NewIncident(string title = "EngineDown BTC-USD", string? groupKey = null, IncidentStatus status = IncidentStatus.Triggered,
        IncidentSeverity severity = IncidentSeverity.Sev2) => new()
    {
        Title = title,
        GroupKey = groupKey,
        Status = status,
        Severity = severity,
        StartedAt = T0,
        CreatedAt = T0.AddSeconds(5),
        UpdatedAt = T0.AddSeconds(5),
    };

    protected static TimelineEvent Event(string dedupKey, DateTimeOffset at, long? incidentId = null, string? fingerprint = null, string? groupKey = null) => new()
    {
        IncidentId = incidentId,
        At = at,
        Source = TimelineSources.Alerting,
        Actor = "monitor",
        Kind = TimelineKinds.AlertFiring,
        Text = "event " + dedupKey,
        DedupKey = dedupKey,
        Fingerprint = fingerprint,
        GroupKey = groupKey,
    };

    protected static IncidentAlert Alert(long incidentId, string fingerprint, DateTimeOffset startsAt) => new(
        incidentId, fingerprint, "EngineDown", LabelSet.Of("alertname", "EngineDown", "market", "BTC-USD"), LabelSet.Of("summary", "engine down"),
        startsAt, startsAt.AddMinutes(1), null, startsAt.AddMinutes(2));

    /// <summary>Every property equal (lists by content; times as instants).</summary>
    protected static void AssertSameIncident(Incident expected, Incident? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Markets, actual.Markets);
        Assert.Equal(expected.Services, actual.Services);
        Assert.Equal(expected with { Markets = NoItems, Services = NoItems }, actual with { Markets = NoItems, Services = NoItems });
    }

    private static long[] Ids(IEnumerable<Incident> incidents) => [.. incidents.Select(i => i.Id)];

    private static string[] Keys(IEnumerable<TimelineEvent> events) => [.. events.Select(e => e.DedupKey)];

    // ---- create / get ----

    [Fact]
    public async Task Create_and_get_round_trip_every_field_verbatim_to_the_microsecond()
    {
        var incident = new Incident
        {
            Title = SqlLooking + " " + Unicode,
            Severity = IncidentSeverity.Sev1,
            Status = IncidentStatus.Acknowledged,
            Commander = "<@U0123> O'Brien",
            Markets = ["BTC-USD", "ETH-USD'; DELETE FROM incidents; --", "市場"],
            Services = ["engine", "gateway"],
            GroupKey = "{}/{severity=\"page\"}:{alertname=\"EngineDown\", market=\"BTC-USD\"}",
            StartedAt = T0.AddMicroseconds(1),
            DetectedAt = T0.AddMicroseconds(2_000_003),
            AcknowledgedAt = T0.AddMinutes(3).AddMicroseconds(4),
            AcknowledgedBy = "slack:U0123 (alice)",
            MitigatedAt = T0.AddMinutes(10).AddMicroseconds(5),
            ResolvedAt = T0.AddMinutes(20).AddMicroseconds(6),
            ClosedAt = new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.FromHours(2)).AddMicroseconds(7),
            PageChannel = "C0PAGES",
            PageTs = "1763694000.123456",
            SlackChannel = "C0INC42",
            SlackChannelName = "inc-42-enginedown-btc-usd",
            CreatedAt = T0.AddSeconds(5).AddMicroseconds(8),
            UpdatedAt = T0.AddSeconds(6).AddMicroseconds(9),
        };

        var created = await Store.CreateAsync(incident);

        Assert.True(created.Id > 0);
        Assert.Equal(1, created.Version);
        AssertSameIncident(incident with { Id = created.Id, Version = 1 }, created);
        var read = await Store.GetAsync(created.Id);
        AssertSameIncident(created, read);
        Assert.Equal(TimeSpan.Zero, read!.ClosedAt!.Value.Offset);
        Assert.Equal(incident.ClosedAt, read.ClosedAt);
        // The "DROP TABLE" title did not run: the table is still there with the row.
        Assert.Single(await Store.ListAsync(new IncidentFilter()));
    }

    [Fact]
    public async Task Create_keeps_unset_fields_null_and_lists_empty()
    {
        var created = await Store.CreateAsync(NewIncident());
        var read = await Store.GetAsync(created.Id);

        Assert.NotNull(read);
        Assert.Null(read.Commander);
        Assert.Null(read.GroupKey);
        Assert.Null(read.DetectedAt);
        Assert.Null(read.AcknowledgedAt);
        Assert.Null(read.AcknowledgedBy);
        Assert.Null(read.MitigatedAt);
        Assert.Null(read.ResolvedAt);
        Assert.Null(read.ClosedAt);
        Assert.Null(read.PageChannel);
        Assert.Null(read.PageTs);
        Assert.Null(read.SlackChannel);
        Assert.Null(read.SlackChannelName);
        Assert.Empty(read.Markets);
        Assert.Empty(read.Services);
        AssertSameIncident(created, read);
    }

    [Fact]
    public async Task Times_are_truncated_to_the_microsecond_the_same_way_on_create_and_read()
    {
        var created = await Store.CreateAsync(NewIncident() with { StartedAt = T0.AddTicks(19), DetectedAt = T0.AddTicks(-1) });

        Assert.Equal(T0.AddTicks(10), created.StartedAt);
        Assert.Equal(T0.AddTicks(-10), created.DetectedAt);
        AssertSameIncident(created, await Store.GetAsync(created.Id));
    }

    [Fact]
    public async Task Ids_increase_and_an_unknown_id_reads_as_null()
    {
        var a = await Store.CreateAsync(NewIncident("a"));
        var b = await Store.CreateAsync(NewIncident("b"));
        var c = await Store.CreateAsync(NewIncident("c"));

        Assert.True(a.Id < b.Id && b.Id < c.Id, $"{a.Id} < {b.Id} < {c.Id}");
        Assert.Equal("b", (await Store.GetAsync(b.Id))!.Title);
        Assert.Null(await Store.GetAsync(c.Id + 1000));
    }

    // ---- optimistic concurrency ----

    [Fact]
    public async Task TryUpdate_with_the_current_version_replaces_every_field_and_adds_one_to_the_version()
    {
        var v1 = await Store.CreateAsync(NewIncident(groupKey: "g"));
        var changed = v1 with
        {
            Title = "renamed " + SqlLooking,
            Severity = IncidentSeverity.Sev3,
            Status = IncidentStatus.Mitigated,
            Commander = "bob",
            Markets = ["ETH-USD"],
            Services = ["gateway"],
            GroupKey = "g2",
            StartedAt = T0.AddMinutes(-1),
            DetectedAt = T0.AddMicroseconds(11),
            AcknowledgedAt = T0.AddMicroseconds(12),
            AcknowledgedBy = "alice",
            MitigatedAt = T0.AddMicroseconds(13),
            PageChannel = "C1",
            PageTs = "1.2",
            SlackChannel = "C2",
            SlackChannelName = "inc-1",
            UpdatedAt = T0.AddHours(1).AddMicroseconds(14),
        };

        Assert.True(await Store.TryUpdateAsync(changed));

        AssertSameIncident(changed with { Version = 2 }, await Store.GetAsync(v1.Id));
    }

    [Fact]
    public async Task TryUpdate_with_a_stale_version_returns_false_and_changes_nothing()
    {
        var v1 = await Store.CreateAsync(NewIncident());
        Assert.True(await Store.TryUpdateAsync(v1 with { Status = IncidentStatus.Acknowledged, AcknowledgedBy = "alice" }));
        var v2 = await Store.GetAsync(v1.Id);

        Assert.False(await Store.TryUpdateAsync(v1 with { Title = "stale write", Status = IncidentStatus.Resolved }));

        var after = await Store.GetAsync(v1.Id);
        AssertSameIncident(v2!, after);
        Assert.Equal(2, after!.Version);
        Assert.Equal(IncidentStatus.Acknowledged, after.Status);
    }

    [Fact]
    public async Task TryUpdate_of_an_unknown_id_returns_false()
    {
        var v1 = await Store.CreateAsync(NewIncident());

        Assert.False(await Store.TryUpdateAsync(v1 with { Id = v1.Id + 1000 }));
        Assert.Null(await Store.GetAsync(v1.Id + 1000));
    }

    [Fact]
    public async Task Concurrent_updates_from_one_version_let_exactly_one_win()
    {
        var v1 = await Store.CreateAsync(NewIncident());
        var other = Open(Database);

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            Task.Run(() => (i % 2 == 0 ? Store : other).TryUpdateAsync(v1 with { Title = "writer " + i.ToString(CultureInfo.InvariantCulture) }))));

        Assert.Equal(1, results.Count(r => r));
        var after = await Store.GetAsync(v1.Id);
        Assert.Equal(2, after!.Version);
        Assert.Equal("writer " + Array.IndexOf(results, true).ToString(CultureInfo.InvariantCulture), after.Title);
    }

    // ---- one open incident per group key ----

    [Fact]
    public async Task A_second_open_incident_for_a_group_key_is_a_conflict_until_the_first_is_resolved()
    {
        const string key = "{}:{alertname=\"EngineDown\"}" + SqlLooking;
        var first = await Store.CreateAsync(NewIncident("first", key));

        var conflict = await Assert.ThrowsAsync<IncidentConflictException>(() => Store.CreateAsync(NewIncident("second", key)));
        Assert.Equal(key, conflict.GroupKey);
        Assert.Single(await Store.ListAsync(new IncidentFilter()));
        Assert.Equal(first.Id, (await Store.FindOpenByGroupKeyAsync(key))!.Id);

        // Every open status holds the key.
        foreach (var open in new[] { IncidentStatus.Acknowledged, IncidentStatus.Mitigated })
        {
            var current = (await Store.GetAsync(first.Id))!;
            Assert.True(await Store.TryUpdateAsync(current with { Status = open }));
            await Assert.ThrowsAsync<IncidentConflictException>(() => Store.CreateAsync(NewIncident("second", key)));
        }

        var mitigated = (await Store.GetAsync(first.Id))!;
        Assert.True(await Store.TryUpdateAsync(mitigated with { Status = IncidentStatus.Resolved }));
        Assert.Null(await Store.FindOpenByGroupKeyAsync(key));

        var next = await Store.CreateAsync(NewIncident("next", key));
        Assert.True(next.Id > first.Id);
        Assert.Equal(next.Id, (await Store.FindOpenByGroupKeyAsync(key))!.Id);
    }

    [Fact]
    public async Task Reopening_an_incident_whose_group_key_is_held_is_a_conflict_and_changes_nothing()
    {
        var old = await Store.CreateAsync(NewIncident("old", "g", IncidentStatus.Resolved));
        await Store.CreateAsync(NewIncident("new", "g"));

        await Assert.ThrowsAsync<IncidentConflictException>(() => Store.TryUpdateAsync(old with { Status = IncidentStatus.Triggered }));

        AssertSameIncident(old, await Store.GetAsync(old.Id));
    }

    [Fact]
    public async Task Incidents_without_a_group_key_and_closed_ones_never_conflict()
    {
        await Store.CreateAsync(NewIncident("by hand 1"));
        await Store.CreateAsync(NewIncident("by hand 2"));
        await Store.CreateAsync(NewIncident("closed 1", "g", IncidentStatus.Closed));
        await Store.CreateAsync(NewIncident("closed 2", "g", IncidentStatus.Closed));
        await Store.CreateAsync(NewIncident("resolved", "g", IncidentStatus.Resolved));
        var open = await Store.CreateAsync(NewIncident("open", "g"));

        Assert.Equal(6, (await Store.ListAsync(new IncidentFilter())).Count);
        Assert.Equal(open.Id, (await Store.FindOpenByGroupKeyAsync("g"))!.Id);
        Assert.Null(await Store.FindOpenByGroupKeyAsync("other"));
    }

    [Fact]
    public async Task Concurrent_creates_for_one_group_key_from_two_nodes_store_exactly_one_incident()
    {
        var other = Open(Database);
        int conflicts = 0;

        var created = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                return await (i % 2 == 0 ? Store : other).CreateAsync(NewIncident("page " + i.ToString(CultureInfo.InvariantCulture), "race"));
            }
            catch (IncidentConflictException)
            {
                Interlocked.Increment(ref conflicts);
                return null;
            }
        })));

        Assert.Single(created, c => c is not null);
        Assert.Equal(15, conflicts);
        var all = await Store.ListAsync(new IncidentFilter());
        Assert.Equal(created.Single(c => c is not null)!.Id, Assert.Single(all).Id);
    }

    // ---- list ----

    [Fact]
    public async Task List_filters_by_status_channel_start_and_limit_newest_first()
    {
        var i1 = await Store.CreateAsync(NewIncident("1") with { SlackChannel = "C1", StartedAt = T0 });
        var i2 = await Store.CreateAsync(NewIncident("2", status: IncidentStatus.Acknowledged) with { PageChannel = "C1", StartedAt = T0.AddHours(1) });
        var i3 = await Store.CreateAsync(NewIncident("3", status: IncidentStatus.Resolved) with { SlackChannel = "C2", StartedAt = T0.AddHours(2) });
        var i4 = await Store.CreateAsync(NewIncident("4", status: IncidentStatus.Closed) with { StartedAt = T0.AddHours(3) });
        var i5 = await Store.CreateAsync(NewIncident("5", status: IncidentStatus.Mitigated) with { SlackChannel = "C3", PageChannel = "C1", StartedAt = T0.AddMinutes(30) });

        Assert.Equal([i5.Id, i4.Id, i3.Id, i2.Id, i1.Id], Ids(await Store.ListAsync(new IncidentFilter())));
        Assert.Equal([i5.Id, i2.Id, i1.Id], Ids(await Store.ListAsync(IncidentFilter.Open)));
        Assert.Equal([i4.Id, i3.Id], Ids(await Store.ListAsync(new IncidentFilter { Statuses = [IncidentStatus.Closed, IncidentStatus.Resolved, IncidentStatus.Closed] })));
        Assert.Equal([i5.Id, i2.Id, i1.Id], Ids(await Store.ListAsync(new IncidentFilter { SlackChannel = "C1" })));
        Assert.Equal([i3.Id], Ids(await Store.ListAsync(new IncidentFilter { SlackChannel = "C2" })));
        Assert.Empty(await Store.ListAsync(new IncidentFilter { SlackChannel = "C1' OR '1'='1" }));
        Assert.Equal([i4.Id, i3.Id, i2.Id], Ids(await Store.ListAsync(new IncidentFilter { StartedSince = T0.AddHours(1) })));
        Assert.Equal([i5.Id, i4.Id], Ids(await Store.ListAsync(new IncidentFilter { Limit = 2 })));
        Assert.Equal([i5.Id, i2.Id], Ids(await Store.ListAsync(IncidentFilter.Open with { SlackChannel = "C1", Limit = 2 })));
        Assert.Equal([i2.Id], Ids(await Store.ListAsync(IncidentFilter.Open with { SlackChannel = "C1", StartedSince = T0.AddMinutes(31) })));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task List_refuses_a_limit_outside_1_to_1000(int limit)
    {
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.ListAsync(new IncidentFilter { Limit = limit }));
        Assert.Equal("Limit", e.ParamName);
    }

    // ---- timeline ----

    [Fact]
    public async Task Events_appended_out_of_order_come_back_sorted_by_time_then_arrival()
    {
        var i = await Store.CreateAsync(NewIncident());
        await Store.AppendEventAsync(Event("c", T0.AddMinutes(3), i.Id));
        await Store.AppendEventAsync(Event("a", T0.AddMinutes(1), i.Id));
        await Store.AppendEventAsync(Event("b1", T0.AddMinutes(2), i.Id));
        await Store.AppendEventAsync(Event("early", T0.AddMinutes(1).AddMicroseconds(-1), i.Id));
        await Store.AppendEventAsync(Event("b2", T0.AddMinutes(2), i.Id));
        await Store.AppendEventAsync(Event("global-late", T0.AddMinutes(2).AddMicroseconds(1)));
        await Store.AppendEventAsync(Event("global-early", T0));

        var timeline = await Store.GetTimelineAsync(i.Id, T0, T0.AddHours(1));

        Assert.Equal(["global-early", "early", "a", "b1", "b2", "global-late", "c"], Keys(timeline));
        var globals = await Store.GetGlobalEventsAsync(T0, T0.AddHours(1));
        Assert.Equal(["global-early", "global-late"], Keys(globals));
    }

    [Fact]
    public async Task The_same_event_twice_is_stored_once_and_the_first_copy_wins()
    {
        var i = await Store.CreateAsync(NewIncident());
        var e = Event("alert.firing:3f2a:1763712000000", T0.AddMinutes(1), i.Id);

        Assert.True(await Store.AppendEventAsync(e));
        Assert.False(await Store.AppendEventAsync(e with { Text = "second copy", At = T0.AddMinutes(5) }));
        Assert.True(await Store.AppendEventAsync(e with { IncidentId = null }));
        Assert.False(await Store.AppendEventAsync(e with { IncidentId = null, Text = "second global copy" }));

        var timeline = await Store.GetTimelineAsync(i.Id, T0, T0.AddHours(1));
        Assert.Equal(2, timeline.Count); // its own copy and the global one (no fingerprint or group key)
        Assert.Equal(new long?[] { i.Id, null }, timeline.Select(t => t.IncidentId));
        Assert.All(timeline, t => Assert.Equal(e.Text, t.Text));
        Assert.Single(await Store.GetGlobalEventsAsync(T0, T0.AddHours(1)));
    }

    [Fact]
    public async Task The_same_dedup_key_for_two_incidents_is_stored_for_each()
    {
        var a = await Store.CreateAsync(NewIncident("a"));
        var b = await Store.CreateAsync(NewIncident("b"));

        Assert.True(await Store.AppendEventAsync(Event("incident.opened", T0, a.Id)));
        Assert.True(await Store.AppendEventAsync(Event("incident.opened", T0, b.Id)));

        Assert.Equal([a.Id], (await Store.GetTimelineAsync(a.Id, T0, T0)).Select(e => e.IncidentId!.Value));
        Assert.Equal([b.Id], (await Store.GetTimelineAsync(b.Id, T0, T0)).Select(e => e.IncidentId!.Value));
    }

    [Fact]
    public async Task Concurrent_appends_of_one_event_from_two_nodes_store_it_once()
    {
        var i = await Store.CreateAsync(NewIncident());
        var other = Open(Database);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(n =>
            Task.Run(() => (n % 2 == 0 ? Store : other).AppendEventAsync(Event("same", T0, i.Id)))));
        var distinct = await Task.WhenAll(Enumerable.Range(0, 16).Select(n =>
            Task.Run(() => (n % 2 == 0 ? Store : other).AppendEventAsync(Event("e" + n.ToString(CultureInfo.InvariantCulture), T0, i.Id)))));

        Assert.Equal(1, results.Count(r => r));
        Assert.All(distinct, Assert.True);
        Assert.Equal(17, (await Store.GetTimelineAsync(i.Id, T0, T0)).Count);
    }

    [Fact]
    public async Task An_event_round_trips_every_field_verbatim_with_the_store_clock_as_recorded_time()
    {
        var i = await Store.CreateAsync(NewIncident());
        var e = new TimelineEvent
        {
            IncidentId = i.Id,
            At = T0.AddMicroseconds(123_456),
            Source = TimelineSources.Slack,
            Actor = "slack:U0123 (O'Brien)",
            Kind = TimelineKinds.Note,
            Text = SqlLooking + " " + Unicode,
            DedupKey = "note:" + SqlLooking,
            Fingerprint = "3f2a9c0d1e2b4a5f",
            GroupKey = "{}:{alertname=\"x\"}",
            Fields = new Dictionary<string, string> { ["market"] = "BTC-USD", ["sql"] = "'; DROP TABLE timeline_events; --", ["unicode"] = Unicode, ["empty"] = "" },
        };

        Assert.True(await Store.AppendEventAsync(e));

        var read = Assert.Single(await Store.GetTimelineAsync(i.Id, T0, T0));
        Assert.True(read.Id > 0);
        Assert.Equal(e.IncidentId, read.IncidentId);
        Assert.Equal(e.At, read.At);
        Assert.Equal(e.Source, read.Source);
        Assert.Equal(e.Actor, read.Actor);
        Assert.Equal(e.Kind, read.Kind);
        Assert.Equal(e.Text, read.Text);
        Assert.Equal(e.DedupKey, read.DedupKey);
        Assert.Equal(e.Fingerprint, read.Fingerprint);
        Assert.Equal(e.GroupKey, read.GroupKey);
        Assert.Equal(e.Fields.OrderBy(f => f.Key, StringComparer.Ordinal), read.Fields.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.Equal(T0.AddHours(1).AddTicks(1234560), read.RecordedAt); // the clock, to the microsecond
    }

    [Fact]
    public async Task A_timeline_holds_its_own_events_and_only_the_related_global_events_of_its_window()
    {
        var i = await Store.CreateAsync(NewIncident("i", "gk-I"));
        var j = await Store.CreateAsync(NewIncident("j", "gk-J"));
        await Store.AttachAlertAsync(Alert(i.Id, "fpA", T0));
        await Store.AttachAlertAsync(Alert(j.Id, "fpB", T0));
        var from = T0;
        var to = T0.AddHours(1);

        // Its own events count at any time; another incident's never.
        await Store.AppendEventAsync(Event("own-before-window", T0.AddDays(-1), i.Id));
        await Store.AppendEventAsync(Event("j-own", T0.AddMinutes(5), j.Id));
        // Global events.
        await Store.AppendEventAsync(Event("at-from", from));
        await Store.AppendEventAsync(Event("plain", T0.AddMinutes(10)));
        await Store.AppendEventAsync(Event("fp-other", T0.AddMinutes(15), fingerprint: "fpB"));
        await Store.AppendEventAsync(Event("fp-mine", T0.AddMinutes(20), fingerprint: "fpA"));
        await Store.AppendEventAsync(Event("gk-mine", T0.AddMinutes(30), groupKey: "gk-I"));
        await Store.AppendEventAsync(Event("gk-other", T0.AddMinutes(35), groupKey: "gk-J"));
        await Store.AppendEventAsync(Event("fp-and-gk-mine", T0.AddMinutes(40), fingerprint: "fpA", groupKey: "gk-I"));
        await Store.AppendEventAsync(Event("fp-other-gk-mine", T0.AddMinutes(45), fingerprint: "fpZ", groupKey: "gk-I"));
        await Store.AppendEventAsync(Event("fp-mine-gk-other", T0.AddMinutes(50), fingerprint: "fpA", groupKey: "gk-J"));
        await Store.AppendEventAsync(Event("at-to", to));
        await Store.AppendEventAsync(Event("plain-after", to.AddMicroseconds(1)));
        await Store.AppendEventAsync(Event("fp-mine-before", from.AddMicroseconds(-1), fingerprint: "fpA"));
        await Store.AppendEventAsync(Event("gk-mine-after", to.AddHours(1), groupKey: "gk-I"));

        var timeline = await Store.GetTimelineAsync(i.Id, from, to);

        Assert.Equal(
            ["own-before-window", "at-from", "plain", "fp-mine", "gk-mine", "fp-and-gk-mine", "fp-other-gk-mine", "fp-mine-gk-other", "at-to"],
            Keys(timeline));
        Assert.Equal(
            ["at-from", "j-own", "plain", "fp-other", "gk-other", "fp-mine-gk-other", "at-to"],
            Keys(await Store.GetTimelineAsync(j.Id, from, to)));
        Assert.Empty(await Store.GetTimelineAsync(j.Id + 1000, from, to));
    }

    [Fact]
    public async Task Global_events_are_read_by_window_sorted_and_limited()
    {
        var i = await Store.CreateAsync(NewIncident());
        await Store.AppendEventAsync(Event("g3", T0.AddMinutes(3)));
        await Store.AppendEventAsync(Event("g1", T0.AddMinutes(1), fingerprint: "fp"));
        await Store.AppendEventAsync(Event("own", T0.AddMinutes(2), i.Id));
        await Store.AppendEventAsync(Event("g2", T0.AddMinutes(2), groupKey: "gk"));
        await Store.AppendEventAsync(Event("outside", T0.AddMinutes(9)));

        Assert.Equal(["g1", "g2", "g3"], Keys(await Store.GetGlobalEventsAsync(T0, T0.AddMinutes(5))));
        Assert.Equal(["g1", "g2"], Keys(await Store.GetGlobalEventsAsync(T0, T0.AddMinutes(5), limit: 2)));
        Assert.All(await Store.GetGlobalEventsAsync(T0, T0.AddMinutes(5)), e => Assert.Null(e.IncidentId));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.GetGlobalEventsAsync(T0, T0.AddMinutes(5), limit: 0));
    }

    [Fact]
    public async Task First_global_event_of_a_kind_for_fingerprints_in_a_window()
    {
        var i = await Store.CreateAsync(NewIncident());
        await Store.AppendEventAsync(Event("late", T0.AddMinutes(4), fingerprint: "fp1"));
        await Store.AppendEventAsync(Event("early", T0.AddMinutes(2), fingerprint: "fp2"));
        await Store.AppendEventAsync(Event("other-fp", T0.AddMinutes(1), fingerprint: "fp9"));
        await Store.AppendEventAsync(Event("own", T0.AddMinutes(1), i.Id) with { Fingerprint = "fp1" });
        await Store.AppendEventAsync(Event("before", T0.AddMinutes(-1), fingerprint: "fp1"));
        await Store.AppendEventAsync(Event("other-kind", T0.AddSeconds(30), fingerprint: "fp1") with { Kind = TimelineKinds.AlertPending });

        Assert.Equal(T0.AddMinutes(2), await Store.FirstGlobalEventAtAsync(TimelineKinds.AlertFiring, ["fp1", "fp2"], T0, T0.AddMinutes(5)));
        Assert.Equal(T0.AddMinutes(4), await Store.FirstGlobalEventAtAsync(TimelineKinds.AlertFiring, ["fp1"], T0, T0.AddMinutes(5)));
        Assert.Equal(T0.AddSeconds(30), await Store.FirstGlobalEventAtAsync(TimelineKinds.AlertPending, ["fp1"], T0, T0.AddMinutes(5)));
        Assert.Null(await Store.FirstGlobalEventAtAsync(TimelineKinds.AlertFiring, ["fp1"], T0.AddMinutes(5), T0.AddMinutes(9)));
        Assert.Null(await Store.FirstGlobalEventAtAsync(TimelineKinds.AlertFiring, [], T0, T0.AddMinutes(5)));
        Assert.Null(await Store.FirstGlobalEventAtAsync(TimelineKinds.AlertFiring, ["'); DROP TABLE timeline_events; --"], T0, T0.AddMinutes(5)));
        var tooMany = Enumerable.Range(0, IncidentStoreLimits.MaxFingerprintsPerQuery + 1).Select(n => "fp" + n).ToList();
        await Assert.ThrowsAsync<ArgumentException>(() => Store.FirstGlobalEventAtAsync(TimelineKinds.AlertFiring, tooMany, T0, T0.AddMinutes(5)));
    }

    // ---- alerts ----

    [Fact]
    public async Task Attaching_an_alert_is_new_once_then_updates_the_link()
    {
        var i = await Store.CreateAsync(NewIncident());
        var labels = LabelSet.Of("alertname", "EngineDown", "market", "BTC-USD", "note", SqlLooking, "u", Unicode);
        var first = new IncidentAlert(i.Id, "3f2a9c0d1e2b4a5f", "EngineDown", labels, LabelSet.Of("summary", "engine down", "runbook_url", "https://runbooks/engine"),
            T0.AddMicroseconds(1), null, null, T0.AddMinutes(1).AddMicroseconds(2));

        Assert.True(await Store.AttachAlertAsync(first));
        Assert.Equal(first, Assert.Single(await Store.GetAlertsAsync(i.Id)));

        var resolved = first with
        {
            Annotations = LabelSet.Of("summary", "engine back", "description", Unicode),
            FiredAt = T0.AddSeconds(30),
            EndsAt = T0.AddMinutes(7).AddMicroseconds(3),
            AttachedAt = T0.AddHours(5),
        };
        Assert.False(await Store.AttachAlertAsync(resolved));
        Assert.Equal(resolved with { AttachedAt = first.AttachedAt }, Assert.Single(await Store.GetAlertsAsync(i.Id)));

        Assert.False(await Store.AttachAlertAsync(resolved with { EndsAt = null }));
        Assert.Null(Assert.Single(await Store.GetAlertsAsync(i.Id)).EndsAt);
    }

    [Fact]
    public async Task Alerts_are_listed_per_incident_by_start_then_fingerprint()
    {
        var i = await Store.CreateAsync(NewIncident("i"));
        var j = await Store.CreateAsync(NewIncident("j"));
        await Store.AttachAlertAsync(Alert(i.Id, "b", T0.AddMinutes(1)));
        await Store.AttachAlertAsync(Alert(i.Id, "a", T0.AddMinutes(1)));
        await Store.AttachAlertAsync(Alert(i.Id, "c", T0));
        Assert.True(await Store.AttachAlertAsync(Alert(j.Id, "a", T0)));

        Assert.Equal(["c", "a", "b"], (await Store.GetAlertsAsync(i.Id)).Select(a => a.Fingerprint));
        Assert.Equal(["a"], (await Store.GetAlertsAsync(j.Id)).Select(a => a.Fingerprint));
        Assert.Empty(await Store.GetAlertsAsync(j.Id + 1000));
    }

    [Fact]
    public async Task Alerts_follow_ups_and_events_of_an_unknown_incident_are_refused_naming_the_field()
    {
        var e1 = await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.AttachAlertAsync(Alert(4242, "a", T0)));
        Assert.Equal("IncidentId", e1.ParamName);
        var e2 = await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.AddFollowUpAsync(new FollowUp(0, 4242, "x", null, false, T0, "alice")));
        Assert.Equal("IncidentId", e2.ParamName);
        var e3 = await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.AppendEventAsync(Event("k", T0, 4242)));
        Assert.Equal("IncidentId", e3.ParamName);
        Assert.Empty(await Store.GetAlertsAsync(4242));
        Assert.Empty(await Store.GetFollowUpsAsync(4242));
        Assert.Equal(0, await ScalarAsync(Database, "SELECT COUNT(*) FROM timeline_events"));
    }

    // ---- follow-ups ----

    [Fact]
    public async Task Follow_ups_round_trip_and_are_marked_done_per_incident()
    {
        var i = await Store.CreateAsync(NewIncident("i"));
        var j = await Store.CreateAsync(NewIncident("j"));
        var f1 = await Store.AddFollowUpAsync(new FollowUp(99, i.Id, "Add a journal-lag alert " + SqlLooking, "alice", false, T0.AddMicroseconds(5), "slack:U1 (bob)"));
        var f2 = await Store.AddFollowUpAsync(new FollowUp(0, i.Id, Unicode, null, true, T0.AddDays(1), "cli:carol"));

        Assert.True(f1.Id > 0 && f2.Id > f1.Id);
        Assert.Equal([f1, f2], await Store.GetFollowUpsAsync(i.Id));
        Assert.Empty(await Store.GetFollowUpsAsync(j.Id));

        Assert.True(await Store.SetFollowUpDoneAsync(i.Id, f1.Id, true));
        Assert.False(await Store.SetFollowUpDoneAsync(j.Id, f1.Id, false)); // not j's
        Assert.False(await Store.SetFollowUpDoneAsync(i.Id, f2.Id + 1000, true));
        Assert.True(await Store.SetFollowUpDoneAsync(i.Id, f2.Id, false));

        Assert.Equal([f1 with { Done = true }, f2 with { Done = false }], await Store.GetFollowUpsAsync(i.Id));
    }

    // ---- counts ----

    [Fact]
    public async Task CountOpen_counts_open_incidents_per_severity_with_every_severity_present()
    {
        Assert.Equal(Enum.GetValues<IncidentSeverity>().ToDictionary(s => s, _ => 0), await Store.CountOpenAsync());

        await Store.CreateAsync(NewIncident("1", severity: IncidentSeverity.Sev1));
        await Store.CreateAsync(NewIncident("2", severity: IncidentSeverity.Sev1, status: IncidentStatus.Acknowledged));
        await Store.CreateAsync(NewIncident("3", severity: IncidentSeverity.Sev3, status: IncidentStatus.Mitigated));
        await Store.CreateAsync(NewIncident("4", severity: IncidentSeverity.Sev2, status: IncidentStatus.Resolved));
        await Store.CreateAsync(NewIncident("5", severity: IncidentSeverity.Sev4, status: IncidentStatus.Closed));

        var counts = await Store.CountOpenAsync();

        Assert.Equal(new Dictionary<IncidentSeverity, int>
        {
            [IncidentSeverity.Sev1] = 2,
            [IncidentSeverity.Sev2] = 0,
            [IncidentSeverity.Sev3] = 1,
            [IncidentSeverity.Sev4] = 0,
        }, counts);
    }

    // ---- migrations ----

    [Fact]
    public async Task An_empty_database_has_schema_version_0_and_migrating_brings_it_to_the_latest()
    {
        var fresh = Open(await CreateDatabaseAsync());

        Assert.Equal(0, await fresh.GetSchemaVersionAsync());
        await fresh.MigrateAsync();
        Assert.Equal(SqlIncidentStore.LatestSchemaVersion, await fresh.GetSchemaVersionAsync());
    }

    [Fact]
    public async Task Migrating_again_is_a_no_op_that_keeps_the_data()
    {
        var i = await Store.CreateAsync(NewIncident());

        await Store.MigrateAsync();
        await Open(Database).MigrateAsync();

        Assert.Equal(SqlIncidentStore.LatestSchemaVersion, await Store.GetSchemaVersionAsync());
        Assert.Equal(SqlIncidentStore.LatestSchemaVersion, await ScalarAsync(Database, "SELECT COUNT(*) FROM schema_migrations"));
        AssertSameIncident(i, await Store.GetAsync(i.Id));
    }

    [Fact]
    public async Task A_database_from_a_newer_build_is_refused_naming_both_versions()
    {
        await ExecuteAsync(Database, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'from the future', 0)");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Open(Database).MigrateAsync());

        Assert.Contains("version 99", e.Message, StringComparison.Ordinal);
        Assert.Contains("version " + SqlIncidentStore.LatestSchemaVersion.ToString(CultureInfo.InvariantCulture) + ",", e.Message, StringComparison.Ordinal);
        Assert.Equal(99, await Store.GetSchemaVersionAsync());
    }

    [Fact]
    public async Task Four_nodes_migrating_one_empty_database_at_once_all_succeed_and_apply_each_migration_once()
    {
        string database = await CreateDatabaseAsync();
        var nodes = Enumerable.Range(0, 4).Select(_ => Open(database)).ToArray();

        await Task.WhenAll(nodes.Select(n => Task.Run(() => n.MigrateAsync())));

        Assert.Equal(SqlIncidentStore.LatestSchemaVersion, await ScalarAsync(database, "SELECT COUNT(*) FROM schema_migrations"));
        var created = await nodes[3].CreateAsync(NewIncident());
        Assert.NotNull(await nodes[0].GetAsync(created.Id));
    }

    // ---- bounds ----

    [Fact]
    public async Task Input_over_the_bounds_is_refused_naming_the_field_and_nothing_is_stored()
    {
        var i = await Store.CreateAsync(NewIncident());
        string[] many = [.. Enumerable.Range(0, IncidentNames.MaxAffected + 1).Select(n => "M" + n.ToString(CultureInfo.InvariantCulture))];
        var cases = new (string Field, Func<Task> Act)[]
        {
            ("Title", () => Store.CreateAsync(NewIncident(new string('t', IncidentNames.MaxTitleLength + 1)))),
            ("Title", () => Store.CreateAsync(NewIncident("nul \0 inside"))),
            ("Title", () => Store.CreateAsync(NewIncident("lone surrogate \ud83d"))),
            ("Title", () => Store.TryUpdateAsync(i with { Title = new string('t', IncidentNames.MaxTitleLength + 1) })),
            ("Markets", () => Store.CreateAsync(NewIncident() with { Markets = many })),
            ("Services", () => Store.TryUpdateAsync(i with { Services = many })),
            ("Commander", () => Store.TryUpdateAsync(i with { Commander = new string('c', IncidentNames.MaxNameLength + 1) })),
            ("GroupKey", () => Store.CreateAsync(NewIncident(groupKey: new string('g', IncidentStoreLimits.MaxGroupKeyLength + 1)))),
            ("Severity", () => Store.CreateAsync(NewIncident(severity: (IncidentSeverity)7))),
            ("Text", () => Store.AppendEventAsync(Event("k", T0, i.Id) with { Text = new string('n', IncidentNames.MaxNoteLength + 1) })),
            ("DedupKey", () => Store.AppendEventAsync(Event(new string('k', IncidentStoreLimits.MaxDedupKeyLength + 1), T0, i.Id))),
            ("IncidentId", () => Store.AppendEventAsync(Event("k", T0, 0))),
            ("Fields", () => Store.AppendEventAsync(Event("k", T0, i.Id) with { Fields = new Dictionary<string, string> { ["f"] = new string('v', IncidentNames.MaxNoteLength + 1) } })),
            ("Text", () => Store.AddFollowUpAsync(new FollowUp(0, i.Id, new string('f', IncidentNames.MaxNoteLength + 1), null, false, T0, "alice"))),
            ("Labels", () => Store.AttachAlertAsync(Alert(i.Id, "fp", T0) with { Labels = LabelSet.Of("big", new string('l', IncidentStoreLimits.MaxLabelsJsonLength)) })),
        };

        foreach (var (field, act) in cases)
        {
            var e = await Assert.ThrowsAnyAsync<ArgumentException>(act);
            Assert.Equal(field, e.ParamName);
            Assert.Contains(field, e.Message, StringComparison.Ordinal);
        }

        Assert.Single(await Store.ListAsync(new IncidentFilter()));
        AssertSameIncident(i, await Store.GetAsync(i.Id));
        Assert.Empty(await Store.GetTimelineAsync(i.Id, T0, T0.AddDays(1)));
        Assert.Empty(await Store.GetFollowUpsAsync(i.Id));
        Assert.Empty(await Store.GetAlertsAsync(i.Id));
    }

    [Fact]
    public async Task Input_exactly_at_the_bounds_is_stored_verbatim()
    {
        string[] most = [.. Enumerable.Range(0, IncidentNames.MaxAffected).Select(n => "M" + n.ToString(CultureInfo.InvariantCulture))];
        var full = NewIncident(new string('é', IncidentNames.MaxTitleLength), new string('g', IncidentStoreLimits.MaxGroupKeyLength)) with
        {
            Markets = most,
            Services = most,
            Commander = new string('c', IncidentNames.MaxNameLength),
        };
        var i = await Store.CreateAsync(full);
        AssertSameIncident(i, await Store.GetAsync(i.Id));

        var e = Event(new string('k', IncidentStoreLimits.MaxDedupKeyLength), T0, i.Id) with { Text = string.Concat(Enumerable.Repeat("🚨", IncidentNames.MaxNoteLength / 2)) };
        Assert.True(await Store.AppendEventAsync(e));
        var read = Assert.Single(await Store.GetTimelineAsync(i.Id, T0, T0));
        Assert.Equal(e.Text, read.Text);
        Assert.Equal(e.DedupKey, read.DedupKey);

        var f = await Store.AddFollowUpAsync(new FollowUp(0, i.Id, new string('f', IncidentNames.MaxNoteLength), null, false, T0, "alice"));
        Assert.Equal(f, Assert.Single(await Store.GetFollowUpsAsync(i.Id)));
    }
}
