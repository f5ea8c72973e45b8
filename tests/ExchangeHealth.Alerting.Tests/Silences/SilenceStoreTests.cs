using ExchangeHealth.TestKit;
using System.Text.Json;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Alerting.Tests.Routing;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Alerting.Tests.Silences;

/// <summary>The silence store on a real SQLite file, on a manual clock.</summary>
public sealed class SilenceStoreTests : SilenceStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exh-silences-").FullName;

    public override void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DbPath => Path.Combine(_dir, "monitor.db");

    protected override MonitorDatabase OpenDatabase() => new(DbPath);
}

/// <summary>The silence store's contract on a manual clock, run on every back end (PostgreSQL: Ha/PostgresSilenceStoreTests).</summary>
public abstract class SilenceStoreContract : IDisposable
{
    private protected static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
    private readonly ManualTimeProvider _time = new(T0);

    /// <summary>The database (a new instance on each call, as a restarted monitor opens it).</summary>
    protected abstract MonitorDatabase OpenDatabase();

    public abstract void Dispose();

    private SilenceStore Open() => new(OpenDatabase(), _time);

    private static SilenceMatcher Eq(string name, string value) => new(name, value, IsRegex: false);

    private static readonly LabelSet Btc = LabelSet.Of("alertname", "HighLatency", "market", "BTC-USD", "severity", "page");

    [Fact]
    public async Task Create_Get_List_StatesFollowTheClock()
    {
        var store = Open();
        string active = await store.CreateAsync([Eq("market", "BTC-USD")], T0 - TimeSpan.FromHours(1), T0 + TimeSpan.FromHours(1), "alice", "maintenance");
        string pending = await store.CreateAsync([new SilenceMatcher("alertname", "High.*", true)], T0 + TimeSpan.FromHours(2), T0 + TimeSpan.FromHours(3), "bob", "planned");
        Assert.True(Guid.TryParse(active, out _));

        var s = await store.GetAsync(active);
        Assert.NotNull(s);
        Assert.Equal(T0, s.StartsAt);                   // a start in the past means now
        Assert.Equal(T0 + TimeSpan.FromHours(1), s.EndsAt);
        Assert.Equal(T0, s.UpdatedAt);
        Assert.Equal("alice", s.CreatedBy);
        Assert.Equal("maintenance", s.Comment);
        Assert.Equal([Eq("market", "BTC-USD")], s.Matchers);
        Assert.Equal(SilenceState.Active, s.Status.State);
        Assert.Null(await store.GetAsync("no-such-id"));

        Assert.Equal([active], (await store.ListAsync(SilenceState.Active)).Select(x => x.Id));
        Assert.Equal([pending], (await store.ListAsync(SilenceState.Pending)).Select(x => x.Id));
        Assert.Equal([active], store.Silenced(Btc, T0));

        _time.Advance(TimeSpan.FromMinutes(150));       // 2.5 h: the first ended, the second started
        Assert.Equal([active], (await store.ListAsync(SilenceState.Expired)).Select(x => x.Id));
        Assert.Equal([pending], (await store.ListAsync(SilenceState.Active)).Select(x => x.Id));
        Assert.Equal([pending], store.Silenced(Btc, _time.GetUtcNow()));
        Assert.Equal(2, (await store.ListAsync()).Count);
    }

    [Fact]
    public async Task Silenced_AllMatchersMustMatch_AndOnlyWhileActive()
    {
        var store = Open();
        string id = await store.CreateAsync(
            [Eq("severity", "page"), new SilenceMatcher("market", "ETH-.*", IsRegex: true, IsEqual: false)],
            T0 + TimeSpan.FromMinutes(10), T0 + TimeSpan.FromMinutes(20), "alice", "eth excluded");
        Assert.Empty(store.Silenced(Btc, T0));                                      // pending
        Assert.Equal([id], store.Silenced(Btc, T0 + TimeSpan.FromMinutes(10)));     // active from startsAt
        Assert.Empty(store.Silenced(Btc.With("market", "ETH-USD"), T0 + TimeSpan.FromMinutes(15)));
        Assert.Empty(store.Silenced(Btc.With("severity", "ticket"), T0 + TimeSpan.FromMinutes(15)));
        Assert.Empty(store.Silenced(Btc, T0 + TimeSpan.FromMinutes(20)));           // over at endsAt
    }

    [Fact]
    public async Task Expire_EndsNow_IsAudited_AndCannotRepeat()
    {
        var store = Open();
        string active = await store.CreateAsync([Eq("market", "BTC-USD")], T0, T0 + TimeSpan.FromHours(1), "alice", "maintenance");
        string pending = await store.CreateAsync([Eq("market", "ETH-USD")], T0 + TimeSpan.FromHours(1), T0 + TimeSpan.FromHours(2), "alice", "later");
        _time.Advance(TimeSpan.FromMinutes(5));
        var now = _time.GetUtcNow();

        await store.ExpireAsync(active, "bob");
        await store.ExpireAsync(pending, "carol");
        var a = (await store.GetAsync(active))!;
        Assert.Equal(SilenceState.Expired, a.Status.State);
        Assert.Equal(T0, a.StartsAt);
        Assert.Equal(now, a.EndsAt);
        Assert.Equal(now, a.UpdatedAt);
        var p = (await store.GetAsync(pending))!;
        Assert.Equal(SilenceState.Expired, p.Status.State);
        Assert.Equal(now, p.StartsAt);                  // a pending silence starts and ends now
        Assert.Equal(now, p.EndsAt);
        Assert.Empty(store.Silenced(Btc, now));

        var again = await Assert.ThrowsAsync<SilenceValidationException>(() => store.ExpireAsync(active, "bob"));
        Assert.Equal("id", again.Field);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.ExpireAsync("nope", "bob"));
        Assert.Equal("by", (await Assert.ThrowsAsync<SilenceValidationException>(() => store.ExpireAsync(pending, " "))).Field);

        var audit = await store.ListAuditAsync();
        Assert.Equal(
            [(active, SilenceAuditAction.Created, "alice", T0), (pending, SilenceAuditAction.Created, "alice", T0),
             (active, SilenceAuditAction.Expired, "bob", now), (pending, SilenceAuditAction.Expired, "carol", now)],
            audit.Select(e => (e.SilenceId, e.Action, e.By, e.At)));
        Assert.Contains("market=\"BTC-USD\"", audit[0].Detail, StringComparison.Ordinal);
        Assert.Contains("maintenance", audit[0].Detail, StringComparison.Ordinal);
        Assert.Contains("was active", audit[2].Detail, StringComparison.Ordinal);
        Assert.Equal(2, (await store.ListAuditAsync(active)).Count);
        Assert.True(audit.Select(e => e.Sequence).SequenceEqual(audit.Select(e => e.Sequence).Order()));
    }

    [Fact]
    public async Task Silences_SurviveARestart()
    {
        string id = await Open().CreateAsync([Eq("market", "BTC-USD")], T0, T0 + TimeSpan.FromHours(1), "alice", "maintenance");
        var reopened = Open();
        Assert.Equal([id], reopened.Silenced(Btc, T0 + TimeSpan.FromMinutes(1)));
        Assert.Equal("alice", (await reopened.GetAsync(id))!.CreatedBy);
        Assert.Single(await reopened.ListAuditAsync(id));
    }

    public static TheoryData<string, string> Invalid => new()
    {
        { "no matchers", "matchers" },
        { "all match empty", "matchers" },
        { "bad label name", "matchers[0].name" },
        { "bad regex", "matchers[0].value" },
        { "value too long", "matchers[0].value" },
        { "too many matchers", "matchers" },
        { "no createdBy", "createdBy" },
        { "no comment", "comment" },
        { "comment too long", "comment" },
        { "ends before start", "endsAt" },
        { "ends in the past", "endsAt" },
        { "longer than 90 days", "endsAt" },
        { "starts too far ahead", "startsAt" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task Create_Invalid_NamesTheField(string name, string field)
    {
        var store = Open();
        IReadOnlyList<SilenceMatcher> matchers = [Eq("market", "BTC-USD")];
        DateTimeOffset start = T0, end = T0 + TimeSpan.FromHours(1);
        string by = "alice", comment = "why";
        switch (name)
        {
            case "no matchers": matchers = []; break;
            case "all match empty": matchers = [new SilenceMatcher("a", ".*", true), Eq("b", "")]; break;
            case "bad label name": matchers = [Eq("market-id", "x")]; break;
            case "bad regex": matchers = [new SilenceMatcher("a", "(x", true)]; break;
            case "value too long": matchers = [Eq("a", new string('x', SilenceStore.MaxValueLength + 1))]; break;
            case "too many matchers": matchers = Enumerable.Range(0, SilenceStore.MaxMatchers + 1).Select(i => Eq($"l{i}", "x")).ToList(); break;
            case "no createdBy": by = ""; break;
            case "no comment": comment = "  "; break;
            case "comment too long": comment = new string('c', SilenceStore.MaxCommentLength + 1); break;
            case "ends before start": end = start - TimeSpan.FromMinutes(1); break;
            case "ends in the past": start = T0 - TimeSpan.FromHours(2); end = T0 - TimeSpan.FromHours(1); break;
            case "longer than 90 days": end = T0 + TimeSpan.FromDays(91); break;
            case "starts too far ahead": start = T0 + TimeSpan.FromDays(91); end = start + TimeSpan.FromHours(1); break;
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }
        var e = await Assert.ThrowsAsync<SilenceValidationException>(() => store.CreateAsync(matchers, start, end, by, comment));
        Assert.Equal(field, e.Field);
        Assert.StartsWith(field + ": ", e.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ListAsync());
        Assert.Empty(await store.ListAuditAsync());
    }

    [Fact]
    public async Task Json_HasAlertmanagerApiV2FieldNames()
    {
        var store = Open();
        string id = await store.CreateAsync([new SilenceMatcher("market", "BTC.*", true)], T0, T0 + TimeSpan.FromHours(1), "alice", "why");
        string json = JsonSerializer.Serialize(await store.GetAsync(id));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(id, root.GetProperty("id").GetString());
        Assert.Equal("active", root.GetProperty("status").GetProperty("state").GetString());
        var m = root.GetProperty("matchers")[0];
        Assert.Equal("market", m.GetProperty("name").GetString());
        Assert.Equal("BTC.*", m.GetProperty("value").GetString());
        Assert.True(m.GetProperty("isRegex").GetBoolean());
        Assert.True(m.GetProperty("isEqual").GetBoolean());
        foreach (string field in new[] { "startsAt", "endsAt", "updatedAt", "createdBy", "comment" })
            Assert.True(root.TryGetProperty(field, out _), field);
        var back = JsonSerializer.Deserialize<Silence>(json)!;
        Assert.Equal(id, back.Id);
        Assert.Equal(SilenceState.Active, back.Status.State);
    }
}
