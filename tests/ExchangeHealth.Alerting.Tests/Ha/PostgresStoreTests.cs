using System.Net;
using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Alerting.Tests.Notify;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;
using Npgsql;

namespace ExchangeHealth.Alerting.Tests.Ha;

/// <summary>
/// The monitor's stores on a real PostgreSQL 15 (fresh database per test), as several nodes see
/// them: two <see cref="MonitorDatabase"/> instances on one database stand for two nodes.
/// </summary>
[Collection(MonitorPostgresCollection.Name)]
public sealed class PostgresStoreTests(MonitorPostgresFixture postgres) : IAsyncLifetime
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private readonly ManualClock _clock = new();
    private string _cs = "";

    public async Task InitializeAsync() => _cs = await postgres.Server.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var s in _sources) await s.DisposeAsync();
    }

    private MonitorDatabase Node()
    {
        var source = NpgsqlDataSource.Create(_cs);
        _sources.Add(source);
        return new MonitorDatabase(source, "postgresql://test");
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var c = new NpgsqlConnection(_cs + ";Pooling=false");
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task NodesStartingTogether_CreateTheSchemaOnce_WithPostgresTypes()
    {
        // Eight "nodes" open every store at the same time: the advisory lock serializes the DDL.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
        {
            var db = Node();
            var outbox = new SqliteOutbox(db, _clock);
            _ = new SilenceStore(db, _clock);
            _ = new SlackMessageStore(db);
            _ = new AlertStateStore(db);
            _ = new EscalationService(outbox, () => RoutingConfig.Parse(MonitorOptions.DefaultRouting, "(test)"), _clock);
        })));
        Assert.Equal(7, await ScalarAsync("""
            SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN
            ('outbox', 'silences', 'silence_audit', 'slack_messages', 'slack_deliveries', 'alert_state', 'acknowledgements')
            """));
        // Times are 64-bit (Unix ms would overflow INTEGER), the outbox id is an identity column.
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'created_at' AND data_type = 'bigint'"));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'id' AND is_identity = 'YES'"));
        Assert.Equal(1, await ScalarAsync("SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'outbox' AND column_name = 'claim_expires_at' AND data_type = 'bigint'"));
    }

    [Fact]
    public async Task Outbox_ExactlyOnceEnqueue_GroupOrder_AndClaimsLeasedPerNode()
    {
        var a = new SqliteOutbox(Node(), _clock) { NodeId = "node-a", ClaimLease = TimeSpan.FromSeconds(30) };
        var b = new SqliteOutbox(Node(), _clock) { NodeId = "node-b", ClaimLease = TimeSpan.FromSeconds(30) };
        var t = _clock.GetUtcNow();
        Assert.True(await a.EnqueueAsync(Notifications.New("oncall", "G1", t, 1)));
        Assert.True(await a.EnqueueAsync(Notifications.New("oncall", "G1", t, 2)));
        Assert.True(await b.EnqueueAsync(Notifications.New("oncall", "G2", t, 1)));
        Assert.False(await b.EnqueueAsync(Notifications.New("oncall", "G1", t, 1))); // the other node's duplicate

        // Node A claims the head of each group; node B gets nothing while A's lease runs.
        var claimedByA = await a.ClaimDueAsync(t, 10);
        Assert.Equal(["oncall|{}:{alertname=\"G1\"}|1", "oncall|{}:{alertname=\"G2\"}|1"], claimedByA.Select(e => e.DedupKey).Order(StringComparer.Ordinal));
        Assert.Empty(await b.ClaimDueAsync(t.AddSeconds(29), 10));
        // A itself may claim its entries again (its next round after a retry).
        Assert.Equal(2, (await a.ClaimDueAsync(t.AddSeconds(1), 10)).Count);

        // A delivers G1#1 (releasing it); A "dies" holding G2#1: B takes G2#1 over only after the lease.
        Assert.True(await a.MarkDeliveredAsync(claimedByA.Single(e => e.DedupKey.EndsWith("G1\"}|1", StringComparison.Ordinal)).Id, t));
        var next = await b.ClaimDueAsync(t.AddSeconds(2), 10);
        Assert.Equal("oncall|{}:{alertname=\"G1\"}|2", Assert.Single(next).DedupKey); // group order kept; G2#1 still leased to A
        var afterExpiry = await b.ClaimDueAsync(t.AddSeconds(32), 10);
        Assert.Contains(afterExpiry, e => e.DedupKey == "oncall|{}:{alertname=\"G2\"}|1");
        Assert.Equal(0, await ScalarAsync("SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND claimed_by = 'node-a'"));

        // The notification log (nflog) is shared.
        var last = await b.GetLastAsync("oncall", "{}:{alertname=\"G1\"}");
        Assert.Equal(2, last!.Sequence);
        Assert.Equal(2, await a.CountPendingAsync());
        Assert.Equal(3, (await a.ListAsync(null, 10)).Count);
        Assert.Single(await a.ListAsync(OutboxState.Delivered, 10));
    }

    [Fact]
    public async Task TwoNodesClaimingAtOnce_NeverGetTheSameEntry()
    {
        var a = new SqliteOutbox(Node(), _clock) { NodeId = "node-a" };
        var b = new SqliteOutbox(Node(), _clock) { NodeId = "node-b" };
        var t = _clock.GetUtcNow();
        for (int i = 0; i < 200; i++) await a.EnqueueAsync(Notifications.New("oncall", "G" + i, t));
        // Each node delivers what it claims, round after round, as OutboxDeliverer does.
        static async Task<List<string>> DeliverAllAsync(SqliteOutbox outbox, DateTimeOffset t)
        {
            var all = new List<string>();
            for (int r = 0; r < 40; r++)
            {
                foreach (var e in await outbox.ClaimDueAsync(t, 15))
                {
                    all.Add(e.DedupKey);
                    Assert.True(await outbox.MarkDeliveredAsync(e.Id, t));
                }
            }
            return all;
        }
        var claims = await Task.WhenAll(Task.Run(() => DeliverAllAsync(a, t)), Task.Run(() => DeliverAllAsync(b, t)));
        Assert.Empty(claims[0].Intersect(claims[1], StringComparer.Ordinal));
        Assert.Equal(200, claims[0].Count + claims[1].Count);
        Assert.Equal(200, claims[0].Concat(claims[1]).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(0, await a.CountPendingAsync());
    }

    [Fact]
    public async Task AlertState_RoundTripsOnPostgres()
    {
        var store = new AlertStateStore(Node());
        var t = DateTimeOffset.FromUnixTimeMilliseconds(1_763_694_030_123);
        var labels = LabelSet.Of("alertname", "X", "market", "BTC-USD");
        store.SaveGroup("f:g", [
            new PersistedAlert("f:g", "X", labels, LabelSet.Of("summary", "s"), AlertState.Firing, 0.5, t, t.AddSeconds(5), null, null, t.AddSeconds(6)),
            new PersistedAlert("f:g", "Y", labels.With("alertname", "Y"), LabelSet.Empty, AlertState.Pending, double.NaN, t, null, null, null, t),
        ]);
        var other = new AlertStateStore(Node()); // another node reads what this one saved
        var loaded = other.LoadGroup("f:g");
        Assert.Equal(2, loaded.Count);
        Assert.Equal((AlertState.Firing, 0.5, t.AddSeconds(5), (DateTimeOffset?)null), (loaded[0].State, loaded[0].Value, loaded[0].FiredAt!.Value, loaded[0].ResolvedAt));
        Assert.Equal(labels, loaded[0].Labels);
        Assert.True(double.IsNaN(loaded[1].Value));
        Assert.Equal(new Dictionary<string, int> { ["firing"] = 1, ["pending"] = 1 }, other.CountByState());
        store.SaveGroup("f:g", []);
        Assert.Empty(other.LoadGroup("f:g"));
    }

    [Fact]
    public async Task SilenceCreatedOnAStandby_MutesOnTheLeaderWithinAboutASecond()
    {
        var time = TimeProvider.System;
        var leader = new SilenceStore(Node(), time);
        var standby = new SilenceStore(Node(), time);
        var labels = LabelSet.Of("alertname", "EngineDown", "market", "BTC-USD");
        Assert.Empty(leader.Silenced(labels, time.GetUtcNow()));
        string id = await standby.CreateAsync([new SilenceMatcher("alertname", "EngineDown", false)], time.GetUtcNow(), time.GetUtcNow().AddHours(1), "alice", "maintenance");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (leader.Silenced(labels, time.GetUtcNow()).Count == 0 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(50);
        Assert.Equal([id], leader.Silenced(labels, time.GetUtcNow()));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2.5), $"seen after {sw.ElapsedMilliseconds} ms"); // refresh every 1 s, plus slack for a loaded machine
        // Expired on the leader: the standby's audit log and list agree.
        await leader.ExpireAsync(id, "bob");
        Assert.Equal(SilenceState.Expired, (await standby.GetAsync(id))!.Status.State);
        Assert.Equal([SilenceAuditAction.Created, SilenceAuditAction.Expired], (await standby.ListAuditAsync(id)).Select(a => a.Action));
    }

    [Fact]
    public async Task SlackDeliveryMarks_AreSeenByTheOtherNode()
    {
        var a = new SlackMessageStore(Node());
        var b = new SlackMessageStore(Node());
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_763_694_030_000);
        // Node A starts a post and dies: node B sees the in-flight mark (and checks Slack's history before re-posting).
        await a.MarkSendingAsync("oncall|g|1", "post", "C1", null, now, CancellationToken.None);
        Assert.Equal("sending", (await b.GetStepAsync("oncall|g|1", "post", CancellationToken.None))!.State);
        await b.MarkDoneAsync("oncall|g|1", "post", "C1", "1763694030.000100", now, CancellationToken.None);
        Assert.Equal(("done", "1763694030.000100"), await a.GetStepAsync("oncall|g|1", "post", CancellationToken.None) is { } s ? (s.State, s.Ts) : default);
        await b.SaveMessageAsync(new SlackMessageRef("oncall", "g", "C1", "1763694030.000100", "oncall|g|1"), "{}", now, CancellationToken.None);
        Assert.Equal("g", (await a.FindByMessageAsync("C1", "1763694030.000100"))!.GroupKey);
        await b.SaveMessageAsync(new SlackMessageRef("oncall", "g", "C1", "1763694031.000100", "oncall|g|2"), "{\"x\":1}", now, CancellationToken.None);
        Assert.Equal("1763694031.000100", (await a.GetMessageAsync("oncall", "g"))!.Ts);
        Assert.Equal("{\"x\":1}", await a.GetAlertsStateAsync("oncall", "g", CancellationToken.None));
    }

    [Fact]
    public async Task Acknowledgement_OnOneNode_StopsTheEscalationOnTheOther()
    {
        var config = RoutingConfig.Parse("""
            route:
              receiver: oncall
            receivers:
              - name: oncall
                slack_configs:
                  - channel: C1
                    api_url: http://127.0.0.1:1/api/
                    escalate_after: 5m
            """, "(test)");
        var outboxA = new SqliteOutbox(Node(), _clock);
        var a = new EscalationService(outboxA, () => config, _clock);
        var b = new EscalationService(new SqliteOutbox(Node(), _clock), () => config, _clock);
        var page = Notifications.New("oncall", "G", _clock.GetUtcNow());
        Assert.True(await a.EnqueueAsync(page));
        var ack = await b.AcknowledgeAsync("oncall", page.GroupKey, "alice");
        Assert.Equal(1, ack!.Sequence);
        Assert.False(await a.EscalateAsync("oncall", page.GroupKey, 1, CancellationToken.None));
        Assert.Equal(["oncall"], await b.ReceiversOfAsync(page.GroupKey));
    }

    [Fact]
    public async Task BadConnectionString_FailsAtStart_NamingTheSettingButNotThePassword()
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-ha-bad-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "rules"));
            var unreachable = await Assert.ThrowsAsync<MonitorStorageException>(() => MonitorHost.StartAsync(new MonitorOptions
            {
                RulesDirectory = Path.Combine(dir, "rules"),
                DataDirectory = Path.Combine(dir, "data"),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                ConsoleOut = TextWriter.Null,
                PostgresConnectionString = "Host=127.0.0.1;Port=1;Username=exh;Password=hunter2-secret;Timeout=2",
            }));
            Assert.StartsWith("EXH_MONITOR_POSTGRES: cannot use postgresql://exh@127.0.0.1:1/", unreachable.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", unreachable.Message, StringComparison.Ordinal);
            var malformed = await Assert.ThrowsAsync<MonitorStorageException>(() => MonitorHost.StartAsync(new MonitorOptions
            {
                RulesDirectory = Path.Combine(dir, "rules"),
                DataDirectory = Path.Combine(dir, "data"),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                ConsoleOut = TextWriter.Null,
                PostgresConnectionString = "Host=127.0.0.1;Pasword=hunter2-secret",
            }));
            Assert.Contains("EXH_MONITOR_POSTGRES: not a valid Npgsql connection string", malformed.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", malformed.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "data", "monitor.db"))); // never fell back to SQLite
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
