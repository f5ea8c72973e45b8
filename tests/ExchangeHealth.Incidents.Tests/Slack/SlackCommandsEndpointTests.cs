using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Slack;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Telemetry;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Slack;

namespace ExchangeHealth.Incidents.Tests.Slack;

/// <summary>
/// <c>POST /slack/commands</c> over real Kestrel on 127.0.0.1, with a real <see cref="IncidentService"/>
/// on a real SQLite file, signed requests from the TestKit's own signer, and a manual clock.
/// </summary>
public sealed class SlackCommandsEndpointTests
{
    private const string Secret = "e3b0c44298fc1c149afbf4c8996fb924";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private sealed class Harness : IAsyncDisposable
    {
        private Harness() { }

        public ManualTimeProvider Time { get; } = new();
        public TempSqliteStore Sqlite { get; private set; } = null!;
        public GatedIncidentStore Store { get; private set; } = null!;
        public IncidentService Service { get; private set; } = null!;
        public Meter Meter { get; } = new(IncidentMetrics.MeterName);
        public RejectionRecorder Rejections { get; private set; } = null!;
        public SlackCommandsEndpoint Endpoint { get; private set; } = null!;
        public LoopbackApp App { get; private set; } = null!;
        public ResponseUrlServer Responses { get; private set; } = null!;
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(20) };
        public SlackCallbackSigner Signer { get; } = new(Secret);
        public Uri Url => new(App.BaseUrl, "slack/commands");
        public string ResponseUrl => new Uri(Responses.BaseUrl, "commands/T0FAKE/1/secret-token").AbsoluteUri;

        public static async Task<Harness> StartAsync(string? secret = Secret)
        {
            var h = new Harness();
            h.Rejections = new RejectionRecorder(h.Meter);
            h.Sqlite = await TempSqliteStore.CreateAsync(h.Time);
            h.Store = new GatedIncidentStore(h.Sqlite.Inner);
            h.Service = new IncidentService(h.Store, time: h.Time);
            h.Responses = await ResponseUrlServer.StartAsync();
            h.Endpoint = new SlackCommandsEndpoint(
                new IncidentSlashCommands(h.Service),
                new SlackCommandsEndpointOptions { SigningSecret = secret, AllowedResponseUrlBase = new Uri(h.Responses.BaseUrl, "commands/") },
                new SlackReplayGuard(h.Time),
                new SlackRequestMetrics(h.Meter),
                h.Http,
                h.Time);
            h.App = await LoopbackApp.StartAsync(app => SlackCommandsEndpoint.Map(app, h.Endpoint));
            return h;
        }

        public async Task<long> DeclareAsync(string title = "EngineDown: matching engine on BTC-USD is down", IncidentSeverity severity = IncidentSeverity.Sev2)
        {
            var r = await Service.DeclareAsync(new IncidentDeclaration(title, severity, ["BTC-USD"], null), new IncidentActor("cli:test", TimelineSources.Cli));
            Assert.True(r.Ok, r.Reason);
            return r.Incident!.Id;
        }

        public string Body(string text, string channelId = "C0GENERAL", string? triggerId = null) =>
            SlackCallbackSigner.SlashCommandBody(text, userId: "U0123ABC", userName: "alice", channelId: channelId, responseUrl: ResponseUrl,
                triggerId: triggerId ?? "trigger-" + Guid.NewGuid().ToString("N"));

        public async Task<(HttpStatusCode Status, JsonObject Json)> SendAsync(string body, DateTimeOffset? signedAt = null)
        {
            using var response = await Signer.PostAsync(Http, Url, body, signedAt ?? Time.GetUtcNow());
            return (response.StatusCode, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
        }

        public Task<(HttpStatusCode Status, JsonObject Json)> CommandAsync(string text, string channelId = "C0GENERAL") => SendAsync(Body(text, channelId));

        public async Task<IReadOnlyList<TimelineEvent>> TimelineAsync(long id) =>
            (await Service.GetDetailsAsync(id))!.Timeline;

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            await Endpoint.DisposeAsync();
            await Responses.DisposeAsync();
            Rejections.Dispose();
            Meter.Dispose();
            Http.Dispose();
            await Sqlite.DisposeAsync();
        }
    }

    private static string Text(JsonObject json) => (string?)json["text"] ?? "";

    private static string ResponseType(JsonObject json) => (string?)json["response_type"] ?? "";

    [Fact]
    public async Task A_signed_ack_acknowledges_the_incident_and_is_recorded_verbatim()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();

        var sw = Stopwatch.StartNew();
        var (status, json) = await h.SendAsync(h.Body("ack", triggerId: "111.222.abc"));
        sw.Stop();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("in_channel", ResponseType(json));
        Assert.Equal($"SEV2 incident #{id} acknowledged by <@U0123ABC>", Text(json));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"answered after {sw.Elapsed}");

        var incident = (await h.Service.GetAsync(id))!;
        Assert.Equal(IncidentStatus.Acknowledged, incident.Status);
        Assert.Equal("slack:U0123ABC (alice)", incident.AcknowledgedBy);
        Assert.Equal(h.Time.GetUtcNow(), incident.AcknowledgedAt);

        var timeline = await h.TimelineAsync(id);
        var command = Assert.Single(timeline, e => e.Kind == TimelineKinds.SlackCommand);
        Assert.Equal("/incident ack", command.Text);
        Assert.Equal("slack:U0123ABC (alice)", command.Actor);
        Assert.Equal(TimelineSources.Slack, command.Source);
        Assert.Equal("slack.command:111.222.abc", command.DedupKey);
        var ack = Assert.Single(timeline, e => e.Kind == TimelineKinds.Acknowledged);
        Assert.Equal(TimelineSources.Slack, ack.Source);
        Assert.Equal(0, h.Rejections.Total);
    }

    [Fact]
    public async Task Unsigned_forged_stale_and_replayed_requests_get_401_are_counted_and_change_nothing()
    {
        await using var h = await Harness.StartAsync();
        using var telemetry = PrometheusTelemetry.Create([IncidentMetrics.MeterName]);
        long id = await h.DeclareAsync();

        // unsigned
        using (var content = new StringContent(h.Body("resolve"), System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"))
        using (var unsigned = await h.Http.PostAsync(h.Url, content))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
            var json = JsonNode.Parse(await unsigned.Content.ReadAsStringAsync())!;
            Assert.Equal("missing_signature", (string?)json["reason"]);
            Assert.Contains("X-Slack-Signature", (string?)json["error"], StringComparison.Ordinal);
        }

        // signed with another secret (forged)
        string forgedBody = h.Body("resolve");
        var forger = new SlackCallbackSigner("not-the-secret");
        using (var forged = await forger.PostAsync(h.Http, h.Url, forgedBody, h.Time.GetUtcNow()))
            Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);

        // signed correctly, 6 minutes ago
        var (staleStatus, staleJson) = await h.SendAsync(h.Body("resolve"), h.Time.GetUtcNow().AddMinutes(-6));
        Assert.Equal(HttpStatusCode.Unauthorized, staleStatus);
        Assert.Equal("stale_timestamp", (string?)staleJson["reason"]);

        // a valid request, then the very same bytes and headers again
        string body = h.Body("note first and only note");
        var signedAt = h.Time.GetUtcNow();
        var (firstStatus, _) = await h.SendAsync(body, signedAt);
        Assert.Equal(HttpStatusCode.OK, firstStatus);
        h.Time.Advance(TimeSpan.FromSeconds(30));
        var (replayStatus, replayJson) = await h.SendAsync(body, signedAt);
        Assert.Equal(HttpStatusCode.Unauthorized, replayStatus);
        Assert.Equal("replay", (string?)replayJson["reason"]);

        // nothing was done by the refused requests
        var incident = (await h.Service.GetAsync(id))!;
        Assert.Equal(IncidentStatus.Triggered, incident.Status);
        Assert.Equal(1, incident.Version);
        var timeline = await h.TimelineAsync(id);
        Assert.Single(timeline, e => e.Kind == TimelineKinds.SlackCommand);
        Assert.Equal("first and only note", Assert.Single(timeline, e => e.Kind == TimelineKinds.Note).Text);

        Assert.Equal(1, h.Rejections[SlackRequestMetrics.CommandsEndpoint, "missing_signature"]);
        Assert.Equal(1, h.Rejections[SlackRequestMetrics.CommandsEndpoint, "bad_signature"]);
        Assert.Equal(1, h.Rejections[SlackRequestMetrics.CommandsEndpoint, "stale_timestamp"]);
        Assert.Equal(1, h.Rejections[SlackRequestMetrics.CommandsEndpoint, "replay"]);
        Assert.Equal(4, h.Rejections.Total);

        string exposition = telemetry.Handler.ScrapeToString();
        foreach (string reason in new[] { "missing_signature", "bad_signature", "stale_timestamp", "replay" })
        {
            Assert.Matches(new Regex($"(?m)^exh_slack_requests_rejected_total\\{{endpoint=\"commands\",reason=\"{reason}\"\\}} 1$"), exposition);
        }
    }

    [Fact]
    public async Task A_late_ack_on_a_resolved_incident_is_refused_with_the_reason_and_it_stays_resolved()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.Resolve(), new IncidentActor("cli:bob", TimelineSources.Cli))).Ok);
        h.Time.Advance(TimeSpan.FromMinutes(2));

        var (status, json) = await h.CommandAsync($"#{id} ack");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ephemeral", ResponseType(json));
        Assert.Contains($"incident #{id} is resolved; an acknowledgement does not re-open it", Text(json), StringComparison.Ordinal);
        var incident = (await h.Service.GetAsync(id))!;
        Assert.Equal(IncidentStatus.Resolved, incident.Status);
        Assert.Null(incident.AcknowledgedAt);
    }

    [Fact]
    public async Task Severity_note_and_status_work_and_person_text_stays_verbatim_but_inert()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync("Latency <SLO> & p99");

        var (_, sev) = await h.CommandAsync("sev 1");
        Assert.Equal("in_channel", ResponseType(sev));
        Assert.Equal($"SEV1 incident #{id}: severity changed from SEV2 to SEV1 by <@U0123ABC>", Text(sev));
        Assert.Equal(IncidentSeverity.Sev1, (await h.Service.GetAsync(id))!.Severity);

        var (_, again) = await h.CommandAsync("sev SEV1");
        Assert.Equal("ephemeral", ResponseType(again));

        const string note = "'; DROP TABLE incidents; -- <script>alert(1)</script> <!channel>";
        h.Time.Advance(TimeSpan.FromSeconds(5));
        var (_, noted) = await h.CommandAsync("note " + note);
        Assert.Equal("ephemeral", ResponseType(noted));
        var timeline = await h.TimelineAsync(id);
        Assert.Equal(note, Assert.Single(timeline, e => e.Kind == TimelineKinds.Note).Text);
        Assert.Contains(timeline, e => e.Kind == TimelineKinds.SlackCommand && e.Text == "/incident note " + note);

        var (_, ic) = await h.CommandAsync("ic <@U0999XYZ|carol>");
        Assert.Equal($"SEV1 incident #{id}: <@U0999XYZ> is now the incident commander (assigned by <@U0123ABC>)", Text(ic));

        var (_, st) = await h.CommandAsync("status");
        Assert.Equal("ephemeral", ResponseType(st));
        // the texts as Slack reads them (ToJsonString would escape '<' as \u003C)
        string blocks = string.Join("\n", st["blocks"]!.AsArray().Select(b => (string?)b!["text"]?["text"] ?? ""));
        Assert.Contains($"Incident #{id}: Latency <SLO> & p99", (string?)st["blocks"]![0]!["text"]!["text"], StringComparison.Ordinal); // header is plain text
        Assert.Contains("*Severity:* SEV1", blocks, StringComparison.Ordinal);
        Assert.Contains("*Status:* triggered", blocks, StringComparison.Ordinal);
        Assert.Contains("*Commander:* <@U0999XYZ>", blocks, StringComparison.Ordinal);
        Assert.Contains("*Alerts firing:* 0 of 0", blocks, StringComparison.Ordinal);
        Assert.Contains("Latency &lt;SLO&gt; &amp; p99", Text(st), StringComparison.Ordinal);
        string events = (string)st["blocks"]![2]!["text"]!["text"]!;
        Assert.Equal(1 + 5, events.Split('\n').Length); // "*Last events*" and the last five
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;", events, StringComparison.Ordinal);
        Assert.DoesNotContain("<!channel>", blocks, StringComparison.Ordinal);
        Assert.Contains(TimelineKinds.CommanderAssigned, events, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_named_incident_several_open_ones_are_listed_and_the_channel_decides()
    {
        await using var h = await Harness.StartAsync();
        long first = await h.DeclareAsync("Gateway rejects orders");
        long second = await h.DeclareAsync("Probe failing on ETH-USD");
        await h.Service.SetSlackChannelAsync(second, "C0INC2", "inc-2-probe-failing-on-eth-usd");

        var (_, ambiguous) = await h.CommandAsync("ack", channelId: "C0GENERAL");
        Assert.Equal("ephemeral", ResponseType(ambiguous));
        string text = Text(ambiguous);
        Assert.Contains("say which one", text, StringComparison.Ordinal);
        Assert.Contains($"#{first}*", text, StringComparison.Ordinal);
        Assert.Contains($"#{second}*", text, StringComparison.Ordinal);
        Assert.Contains("/incident #", text, StringComparison.Ordinal);
        Assert.All(await h.Service.ListAsync(IncidentFilter.Open), i => Assert.Null(i.AcknowledgedAt));

        var (_, inChannel) = await h.CommandAsync("ack", channelId: "C0INC2");
        Assert.Equal($"SEV2 incident #{second} acknowledged by <@U0123ABC>", Text(inChannel));
        Assert.Null((await h.Service.GetAsync(first))!.AcknowledgedAt);

        var (_, list) = await h.CommandAsync("list");
        Assert.Contains("Gateway rejects orders", Text(list), StringComparison.Ordinal);
        Assert.Contains("<#C0INC2>", Text(list), StringComparison.Ordinal);

        var (_, explicitId) = await h.CommandAsync($"mitigate #{first}", channelId: "C0INC2");
        Assert.Equal($"SEV2 incident #{first} mitigated by <@U0123ABC>", Text(explicitId));

        var (_, unknown) = await h.CommandAsync("#999 resolve");
        Assert.Contains("no incident #999", Text(unknown), StringComparison.Ordinal);

        var (_, bad) = await h.CommandAsync("sev 9");
        Assert.Equal("ephemeral", ResponseType(bad));
        Assert.Contains("not a severity", Text(bad), StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_its_own_channel_a_resolved_incident_still_takes_close_followup_and_help()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();
        await h.DeclareAsync("Another open incident elsewhere");
        await h.Service.SetSlackChannelAsync(id, "C0INC1", "inc-1-enginedown");
        Assert.True((await h.Service.ExecuteAsync(id, new IncidentCommand.Resolve(), new IncidentActor("cli:bob", TimelineSources.Cli))).Ok);

        var (_, early) = await h.CommandAsync("ack", channelId: "C0INC1");
        Assert.Contains($"incident #{id} is resolved; an acknowledgement does not re-open it", Text(early), StringComparison.Ordinal);

        var (_, followup) = await h.CommandAsync("followup add a fsync latency alert", channelId: "C0INC1");
        Assert.Equal("ephemeral", ResponseType(followup));
        var followUps = (await h.Service.GetDetailsAsync(id))!.FollowUps;
        Assert.Equal("add a fsync latency alert", Assert.Single(followUps).Text);
        Assert.Equal("slack:U0123ABC (alice)", followUps[0].CreatedBy);

        var (_, closed) = await h.CommandAsync("close", channelId: "C0INC1");
        Assert.Equal("in_channel", ResponseType(closed));
        Assert.Equal($"SEV2 incident #{id} closed by <@U0123ABC>", Text(closed));
        Assert.Equal(IncidentStatus.Closed, (await h.Service.GetAsync(id))!.Status);

        var (_, help) = await h.CommandAsync("help", channelId: "C0INC1");
        Assert.Equal("ephemeral", ResponseType(help));
        Assert.Contains("/incident sev 1", Text(help), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_invocation_delivered_twice_runs_once()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();
        // Two distinct signed requests (different timestamps) carrying the same trigger_id.
        var (_, first) = await h.SendAsync(h.Body("note only once", triggerId: "777.888.dup"));
        Assert.Equal("ephemeral", ResponseType(first));
        h.Time.Advance(TimeSpan.FromSeconds(2));
        var (status, second) = await h.SendAsync(h.Body("note only once", triggerId: "777.888.dup"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("already handled", Text(second), StringComparison.Ordinal);
        Assert.Single(await h.TimelineAsync(id), e => e.Kind == TimelineKinds.Note);
    }

    [Fact]
    public async Task A_slow_command_is_answered_at_once_and_its_result_goes_to_the_response_url()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();
        h.Store.Arm();

        var sw = Stopwatch.StartNew();
        var request = h.SendAsync(h.Body($"#{id} ack"));
        await h.Store.Entered.WaitAsync(Wait); // the command is stuck in the store
        while (h.Time.ActiveTimers == 0) await Task.Delay(5); // the endpoint's budget timer is armed
        h.Time.Advance(TimeSpan.FromMilliseconds(2500));
        var (status, json) = await request.WaitAsync(Wait);
        sw.Stop();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ephemeral", ResponseType(json));
        Assert.StartsWith(SlackCommandsEndpoint.WorkingText, Text(json), StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"answered after {sw.Elapsed}");
        Assert.Null((await h.Service.GetAsync(id))!.AcknowledgedAt);
        Assert.Empty(h.Responses.Received);

        h.Store.Release();
        var (path, body) = await h.Responses.WaitAsync(Wait);
        Assert.Equal("/commands/T0FAKE/1/secret-token", path);
        var delayed = JsonNode.Parse(body)!.AsObject();
        Assert.Equal("in_channel", ResponseType(delayed));
        Assert.Equal($"SEV2 incident #{id} acknowledged by <@U0123ABC>", Text(delayed));
        Assert.Equal(IncidentStatus.Acknowledged, (await h.Service.GetAsync(id))!.Status);
        await h.Endpoint.WhenIdleAsync().WaitAsync(Wait);
    }

    [Fact]
    public async Task A_response_url_outside_the_allowed_base_is_never_called()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();
        h.Store.Arm();
        string evil = new Uri(h.Responses.BaseUrl, "elsewhere/steal").AbsoluteUri;
        string body = SlackCallbackSigner.SlashCommandBody($"#{id} ack", responseUrl: evil);

        var request = h.SendAsync(body);
        await h.Store.Entered.WaitAsync(Wait);
        while (h.Time.ActiveTimers == 0) await Task.Delay(5);
        h.Time.Advance(TimeSpan.FromMilliseconds(2500));
        var (_, json) = await request.WaitAsync(Wait);
        Assert.Contains("cannot be delivered", Text(json), StringComparison.Ordinal);
        h.Store.Release();
        await h.Endpoint.WhenIdleAsync().WaitAsync(Wait);

        Assert.Equal(IncidentStatus.Acknowledged, (await h.Service.GetAsync(id))!.Status); // the command itself ran
        Assert.Empty(h.Responses.Received);
        Assert.True(h.Endpoint.IsAllowedResponseUrl(new Uri(h.ResponseUrl)));
        Assert.False(h.Endpoint.IsAllowedResponseUrl(new Uri(evil)));
    }

    [Theory]
    [InlineData("https://hooks.slack.com/commands/T0/1/abc", true)]
    [InlineData("https://HOOKS.slack.com/actions/T0/1/abc", true)]
    [InlineData("http://hooks.slack.com/commands/T0/1/abc", false)]
    [InlineData("https://hooks.slack.com.evil.example/commands", false)]
    [InlineData("https://evil.example/https://hooks.slack.com/", false)]
    [InlineData("https://user:pw@hooks.slack.com/commands/x", false)]
    [InlineData("https://hooks.slack.com:8443/commands/x", false)]
    [InlineData("http://169.254.169.254/latest/meta-data", false)]
    public async Task Only_Slacks_hooks_host_receives_delayed_answers_by_default(string url, bool allowed)
    {
        var time = new ManualTimeProvider();
        await using var sqlite = await TempSqliteStore.CreateAsync(time);
        using var metrics = new SlackRequestMetrics();
        using var http = new HttpClient();
        await using var endpoint = new SlackCommandsEndpoint(new IncidentSlashCommands(new IncidentService(sqlite.Inner, time: time)),
            new SlackCommandsEndpointOptions { SigningSecret = Secret }, new SlackReplayGuard(time), metrics, http, time);
        Assert.Equal(allowed, endpoint.IsAllowedResponseUrl(new Uri(url)));
    }

    [Fact]
    public async Task Without_a_signing_secret_every_request_gets_503_and_nothing_runs()
    {
        await using var h = await Harness.StartAsync(secret: null);
        long id = await h.DeclareAsync();
        var (status, json) = await h.CommandAsync("resolve");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("signing_secret", (string?)json["field"]);
        Assert.Equal(IncidentStatus.Triggered, (await h.Service.GetAsync(id))!.Status);
    }

    [Fact]
    public async Task Bodies_over_16_KiB_get_413_and_nothing_runs()
    {
        await using var h = await Harness.StartAsync();
        long id = await h.DeclareAsync();
        string body = h.Body("resolve") + "&pad=" + new string('x', SlackSlashCommand.MaxBodyBytes);
        var (status, json) = await h.SendAsync(body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("body", (string?)json["field"]);
        Assert.Equal(IncidentStatus.Triggered, (await h.Service.GetAsync(id))!.Status);
        Assert.Equal(0, h.Rejections.Total);
    }

    [Fact]
    public async Task A_signed_but_malformed_form_gets_400_naming_the_field()
    {
        await using var h = await Harness.StartAsync();
        var (status, json) = await h.SendAsync("command=%2Fincident&text=ack&channel_id=C1");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("user_id", (string?)json["field"]);
        Assert.Equal(0, h.Rejections.Total);
    }
}
