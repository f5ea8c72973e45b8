using ExchangeHealth.Chaos.Slack;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Slack;

namespace ExchangeHealth.Incidents.Tests.Slack;

/// <summary>
/// Incident channels against the TestKit's fake Slack Web API (real Kestrel), with a real
/// <see cref="IncidentService"/> on a real SQLite file.
/// </summary>
public sealed class IncidentSlackChannelsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string AlertsChannel = "C0ALERTS";

    private sealed class Harness : IAsyncDisposable
    {
        private Harness() { }

        public FakeSlackServer Slack { get; private set; } = null!;
        public TempSqliteStore Sqlite { get; private set; } = null!;
        public IncidentService Service { get; private set; } = null!;
        public IncidentSlackChannels Channels { get; private set; } = null!;
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(20) };

        public static async Task<Harness> StartAsync(bool start = true, IReadOnlyList<string>? invite = null)
        {
            var h = new Harness();
            h.Slack = await FakeSlackServer.StartAsync();
            h.Sqlite = await TempSqliteStore.CreateAsync(TimeProvider.System);
            h.Service = new IncidentService(h.Sqlite.Inner);
            h.Channels = new IncidentSlackChannels(h.Service, new IncidentSlackChannelOptions
            {
                Enabled = true,
                BotToken = FakeSlackServer.DefaultToken,
                BaseUrl = h.Slack.BaseUrl,
                InviteUserIds = invite ?? [],
                RequestTimeout = TimeSpan.FromSeconds(5),
            }, h.Http);
            if (start) h.Channels.Start();
            return h;
        }

        /// <summary>Posts the "page" (the alert notification) to the fake Slack as the notifier would; returns its ts.</summary>
        public async Task<string> PostPageAsync(string text = "EngineDown firing")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Slack.BaseUrl, "chat.postMessage"))
            {
                Content = new StringContent(new JsonObject { ["channel"] = AlertsChannel, ["text"] = text }.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeSlackServer.DefaultToken);
            using var response = await Http.SendAsync(request);
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True((bool)json["ok"]!, json.ToJsonString());
            return (string)json["ts"]!;
        }

        public async Task<long> DeclareAsync(string title)
        {
            var r = await Service.DeclareAsync(new IncidentDeclaration(title, IncidentSeverity.Sev2, ["BTC-USD"], null), new IncidentActor("cli:test", TimelineSources.Cli));
            Assert.True(r.Ok, r.Reason);
            return r.Incident!.Id;
        }

        public Task IdleAsync() => Channels.WhenIdleAsync().WaitAsync(Wait);

        public async ValueTask DisposeAsync()
        {
            await Channels.DisposeAsync();
            await Slack.DisposeAsync();
            await Sqlite.DisposeAsync();
            Http.Dispose();
        }
    }

    [Fact]
    public async Task A_paged_incident_gets_a_channel_despite_a_taken_name_with_the_page_linked_both_ways_and_only_once()
    {
        await using var h = await Harness.StartAsync(invite: ["U0ONCALL", "U0LEAD"]);
        string pageTs = await h.PostPageAsync();
        string takenId = h.Slack.AddChannel("inc-1-enginedown-btc-usd");
        // An incident opened by a page (what OnNotificationAsync stores), announced as opened.
        var now = DateTimeOffset.UtcNow;
        var incident = await h.Service.Store.CreateAsync(new Incident
        {
            Title = "EngineDown: BTC-USD", StartedAt = now, DetectedAt = now, CreatedAt = now, UpdatedAt = now,
            GroupKey = "{}:{alertname=\"EngineDown\"}", PageChannel = AlertsChannel, PageTs = pageTs, Markets = ["BTC-USD"],
        });
        Assert.Equal(1, incident.Id);
        var opened = new IncidentChange(null, incident, null);

        Assert.True(h.Channels.Enqueue(opened));
        Assert.True(h.Channels.Enqueue(opened)); // a duplicate notification of the same change
        await h.IdleAsync();

        var creates = h.Slack.RequestsOf("conversations.create");
        Assert.Equal(new[] { "inc-1-enginedown-btc-usd", "inc-1-enginedown-btc-usd-2" }, creates.Select(r => r.Arg("name")));
        Assert.Contains("name_taken", creates[0].Response, StringComparison.Ordinal);
        var channel = h.Slack.Channels.Single(c => c.Id != takenId);
        Assert.Equal("inc-1-enginedown-btc-usd-2", channel.Name);
        Assert.Equal(new[] { "U0ONCALL", "U0LEAD" }, channel.Members);

        var stored = (await h.Service.GetAsync(1))!;
        Assert.Equal(channel.Id, stored.SlackChannel);
        Assert.Equal(channel.Name, stored.SlackChannelName);

        string permalink = $"https://fake.slack.com/archives/{AlertsChannel}/p{pageTs.Replace(".", "", StringComparison.Ordinal)}";
        var intro = Assert.Single(h.Slack.Messages, m => m.Channel == channel.Id);
        Assert.Contains(permalink, intro.Text, StringComparison.Ordinal);
        Assert.Contains("SEV2 incident #1 (triggered): EngineDown: BTC-USD", intro.Text, StringComparison.Ordinal);
        Assert.Equal("Incident #1: EngineDown: BTC-USD", intro.HeaderText);
        var reply = Assert.Single(h.Slack.Messages, m => m.Channel == AlertsChannel && m.ThreadTs == pageTs);
        Assert.Contains($"<#{channel.Id}>", reply.Text, StringComparison.Ordinal);

        var timeline = (await h.Service.GetDetailsAsync(1))!.Timeline;
        Assert.Single(timeline, e => e.Kind == TimelineKinds.SlackChannelCreated);

        // A restart (catch-up) or yet another duplicate creates nothing more.
        Assert.Equal(0, await h.Channels.CatchUpAsync());
        h.Channels.Enqueue(opened);
        h.Channels.Enqueue(new IncidentChange(incident, stored, null));
        await h.IdleAsync();
        Assert.Equal(2, h.Slack.RequestsOf("conversations.create").Count);
        Assert.Equal(2, h.Slack.Channels.Count);
        Assert.Single(h.Slack.Messages, m => m.Channel == AlertsChannel && m.ThreadTs == pageTs);
    }

    [Fact]
    public async Task Changes_are_posted_once_as_one_line_updates_with_person_text_made_inert()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync("Probe failing on ETH-USD");
        await h.IdleAsync();
        string channel = (await h.Service.GetAsync(id))!.SlackChannel!;
        Assert.Equal("inc-1-probe-failing-on-eth-usd", h.Slack.Channels.Single().Name);

        var alice = new IncidentActor("slack:U0123ABC (alice)", TimelineSources.Slack);
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.Acknowledge(), alice)).Ok);
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.AddNote("<!channel> restarted gw-2 & drained"), alice)).Ok);
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.SetSeverity(IncidentSeverity.Sev1), alice)).Ok);
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.Resolve(), alice)).Ok);
        Assert.False((await h.Service.ExecuteAsync(id, new IncidentCommand.Acknowledge(), alice)).Ok); // refused: no update
        await h.IdleAsync();

        var lines = h.Slack.Messages.Where(m => m.Channel == channel).Skip(1).Select(m => m.Text).ToList(); // after the introduction
        Assert.Equal(4, lines.Count);
        Assert.Contains("acknowledged by slack:U0123ABC (alice)", lines[0], StringComparison.Ordinal);
        Assert.Equal("*SEV2 · acknowledged* · note on incident #1 from slack:U0123ABC (alice): &lt;!channel&gt; restarted gw-2 &amp; drained", lines[1]);
        Assert.StartsWith("*SEV1 · acknowledged*", lines[2], StringComparison.Ordinal);
        Assert.Contains("SEV2 to SEV1", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("*SEV1 · resolved*", lines[3], StringComparison.Ordinal);
        Assert.DoesNotContain(h.Slack.Messages, m => m.Text.Contains("<!channel>", StringComparison.Ordinal));

        // The page becomes known after the channel: its permalink and the thread link are posted then.
        string pageTs = await h.PostPageAsync();
        await h.Service.SetPageMessageAsync(id, AlertsChannel, pageTs);
        await h.IdleAsync();
        Assert.Single(h.Slack.Messages, m => m.Channel == AlertsChannel && m.ThreadTs == pageTs && m.Text.Contains($"<#{channel}>", StringComparison.Ordinal));
        Assert.Single(h.Slack.Messages, m => m.Channel == channel && m.Text.Contains("https://fake.slack.com/archives/" + AlertsChannel, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Slack_refusal_is_recorded_on_the_timeline_and_never_fails_the_command()
    {
        await using var h = await Harness.StartAsync();
        h.Slack.FailNext(1, "restricted_action", "conversations.create");
        long id = await h.DeclareAsync("Gateway rejects orders");
        await h.IdleAsync();

        var incident = (await h.Service.GetAsync(id))!;
        Assert.Null(incident.SlackChannel);
        Assert.Empty(h.Slack.Channels);
        var failure = Assert.Single((await h.Service.GetDetailsAsync(id))!.Timeline, e => e.Kind == IncidentSlackChannels.ChannelFailedKind);
        Assert.Contains("restricted_action", failure.Text, StringComparison.Ordinal);

        // Commands still work and post nothing (no channel); a catch-up later creates the channel.
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.Acknowledge(), new IncidentActor("cli:x", TimelineSources.Cli))).Ok);
        Assert.Equal(1, await h.Channels.CatchUpAsync());
        await h.IdleAsync();
        Assert.Equal("inc-1-gateway-rejects-orders", h.Slack.Channels.Single().Name);
        Assert.NotNull((await h.Service.GetAsync(id))!.SlackChannel);
    }

    [Fact]
    public async Task A_rate_limited_create_is_retried_after_Retry_After()
    {
        await using var h = await Harness.StartAsync();
        h.Slack.RateLimitNext(1, TimeSpan.FromSeconds(1), "conversations.create");
        long id = await h.DeclareAsync("Latency burn");
        await h.IdleAsync();
        var creates = h.Slack.RequestsOf("conversations.create");
        Assert.Equal(2, creates.Count);
        Assert.Equal(429, creates[0].StatusCode);
        Assert.True(creates[1].ArrivedAt - creates[0].ArrivedAt >= TimeSpan.FromSeconds(0.9));
        Assert.Equal(h.Slack.Channels.Single().Id, (await h.Service.GetAsync(id))!.SlackChannel);
    }

    [Fact]
    public async Task When_every_name_is_taken_it_gives_up_after_ten_tries()
    {
        await using var h = await Harness.StartAsync();
        h.Slack.AddChannel("inc-1-db-down");
        for (int i = 2; i <= 10; i++) h.Slack.AddChannel($"inc-1-db-down-{i}");
        long id = await h.DeclareAsync("DB down");
        await h.IdleAsync();
        Assert.Equal(10, h.Slack.RequestsOf("conversations.create").Count);
        Assert.Null((await h.Service.GetAsync(id))!.SlackChannel);
        var failure = Assert.Single((await h.Service.GetDetailsAsync(id))!.Timeline, e => e.Kind == IncidentSlackChannels.ChannelFailedKind);
        Assert.Contains("taken", failure.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disabled_channels_do_nothing_and_bad_settings_are_refused_naming_the_setting()
    {
        await using var h = await Harness.StartAsync(start: false);
        await using var off = new IncidentSlackChannels(h.Service, new IncidentSlackChannelOptions { Enabled = false }, h.Http);
        off.Start();
        await h.DeclareAsync("Nothing to see");
        Assert.False(off.Enqueue(new IncidentChange(null, (await h.Service.GetAsync(1))!, null)));
        Assert.Empty(h.Slack.Requests);

        var e = Assert.Throws<ArgumentException>(() => new IncidentSlackChannels(h.Service, new IncidentSlackChannelOptions { Enabled = true }, h.Http));
        Assert.Equal("BotToken", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new IncidentSlackChannels(h.Service, new IncidentSlackChannelOptions { Enabled = true, BotToken = "x", Prefix = "INC!" }, h.Http));
        Assert.Equal("Prefix", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new IncidentSlackChannels(h.Service, new IncidentSlackChannelOptions { Enabled = true, BotToken = "x", InviteUserIds = ["alice"] }, h.Http));
        Assert.Equal("InviteUserIds", e.ParamName);
    }

    [Theory]
    [InlineData("", "invalid_name_required")]
    [InlineData("Has Caps", "invalid_name_specials")]
    [InlineData("dot.name", "invalid_name_specials")]
    [InlineData("ok-name", null)]
    public async Task The_fake_Slack_validates_channel_names_like_Slack(string name, string? error)
    {
        await using var h = await Harness.StartAsync(start: false);
        async Task<JsonNode> CreateAsync(string n)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(h.Slack.BaseUrl, "conversations.create"))
            {
                Content = new StringContent(new JsonObject { ["name"] = n }.ToJsonString(), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeSlackServer.DefaultToken);
            using var response = await h.Http.SendAsync(request);
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }

        var first = await CreateAsync(name);
        Assert.Equal(error, (string?)first["error"]);
        Assert.Equal("invalid_name_maxlength", (string?)(await CreateAsync(new string('a', 81)))["error"]);
        if (error is null)
        {
            Assert.Equal(name, (string?)first["channel"]!["name"]);
            Assert.StartsWith("C", (string?)first["channel"]!["id"], StringComparison.Ordinal);
            Assert.Equal("name_taken", (string?)(await CreateAsync(name))["error"]);
        }
    }
}
