using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Incidents.Http;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;

namespace ExchangeHealth.Incidents.Tests.Http;

/// <summary>
/// The incidents REST API over real Kestrel, a real <see cref="IncidentService"/> and a
/// real SQLite store: every endpoint, the lifecycle's refusals as 409 with the reason, 400 naming
/// the field, 404, 413, 401, verbatim storage of SQL-looking text, and the report endpoints.
/// </summary>
public sealed class IncidentHttpApiTests : IAsyncLifetime
{
    private IncidentApiHost _host = null!;
    private int _reportCalls;

    private HttpClient Http => _host.Client;

    public async Task InitializeAsync() => _host = await IncidentApiHost.StartAsync(IncidentApiHost.FileReports(() => Interlocked.Increment(ref _reportCalls)));

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private async Task<long> DeclareAsync(string title = "BTC-USD order acks slow", object? severity = null, string[]? markets = null, string? commander = null)
    {
        using var response = await Http.PostAsJsonAsync("api/v1/incidents", new { title, severity = severity ?? "SEV2", markets = markets ?? ["BTC-USD"], commander });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return (long)json["incident"]!["id"]!;
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Json)> SendAsync(HttpClient http, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private Task<(HttpStatusCode Status, JsonNode? Json)> PostAsync(string path, string? body = null) => SendAsync(Http, HttpMethod.Post, path, body);

    private Task<(HttpStatusCode Status, JsonNode? Json)> GetAsync(string path) => SendAsync(Http, HttpMethod.Get, path);

    private static void AssertError((HttpStatusCode Status, JsonNode? Json) answer, HttpStatusCode status, string field, string? messagePart = null)
    {
        Assert.True(answer.Status == status, $"expected {(int)status}, got {(int)answer.Status}: {answer.Json?.ToJsonString()}");
        Assert.Equal(field, (string?)answer.Json!["field"]);
        if (messagePart is not null) Assert.Contains(messagePart, (string?)answer.Json["error"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Declare_Returns201WithLocation_AndTheIncidentReadsBack()
    {
        using var response = await Http.PostAsJsonAsync("api/v1/incidents", new { title = "ETH-USD matcher stalled", severity = 1, markets = new[] { "ETH-USD", "BTC-USD", "ETH-USD" }, commander = "alice", by = "bob" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        long id = (long)created["incident"]!["id"]!;
        Assert.Equal($"/api/v1/incidents/{id}", response.Headers.Location!.OriginalString);
        Assert.Equal($"incident #{id} declared", (string?)created["message"]);

        var (status, json) = await GetAsync(response.Headers.Location.OriginalString.TrimStart('/'));
        Assert.Equal(HttpStatusCode.OK, status);
        var incident = json!["incident"]!;
        Assert.Equal("ETH-USD matcher stalled", (string?)incident["title"]);
        Assert.Equal("SEV1", (string?)incident["severity"]);
        Assert.Equal(1, (int)incident["severityLevel"]!);
        Assert.Equal("triggered", (string?)incident["status"]);
        Assert.True((bool)incident["open"]!);
        Assert.Equal("alice", (string?)incident["commander"]);
        Assert.Equal(["BTC-USD", "ETH-USD"], incident["markets"]!.AsArray().Select(m => (string)m!));
        Assert.Equal(_host.Time.GetUtcNow(), incident["startedAt"]!.GetValue<DateTimeOffset>());
        Assert.Empty(json["alerts"]!.AsArray());
        Assert.Empty(json["followUps"]!.AsArray());
        Assert.Equal(1, (int)json["timelineCount"]!);

        _host.Time.Advance(TimeSpan.FromMinutes(5));
        (_, json) = await GetAsync($"api/v1/incidents/{id}");
        Assert.Equal(300, (double)json!["incident"]!["ageSeconds"]!);

        var timeline = (await GetAsync($"api/v1/incidents/{id}/timeline")).Json!["events"]!.AsArray();
        var opened = Assert.Single(timeline)!;
        Assert.Equal(TimelineKinds.Opened, (string?)opened["kind"]);
        Assert.Equal("bob", (string?)opened["actor"]);
        Assert.Equal(TimelineSources.Api, (string?)opened["source"]);
    }

    [Theory]
    [InlineData("\"SEV3\"", "SEV3")]
    [InlineData("\"sev4\"", "SEV4")]
    [InlineData("\"2\"", "SEV2")]
    [InlineData("1", "SEV1")]
    public async Task Declare_AcceptsTheSeverityForms(string severity, string expected)
    {
        var (status, json) = await PostAsync("api/v1/incidents", $$"""{ "title": "t", "severity": {{severity}} }""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(expected, (string?)json!["incident"]!["severity"]);
    }

    [Theory]
    [InlineData("\"SEV5\"")]
    [InlineData("0")]
    [InlineData("2.5")]
    [InlineData("true")]
    [InlineData("\"high\"")]
    [InlineData("null")]
    public async Task Declare_RefusesABadSeverity_NamingTheField(string severity)
    {
        AssertError(await PostAsync("api/v1/incidents", $$"""{ "title": "t", "severity": {{severity}} }"""), HttpStatusCode.BadRequest, "severity");
        Assert.Empty(await _host.Service.ListAsync(new IncidentFilter()));
    }

    [Fact]
    public async Task Lifecycle_AckMitigateResolveClose_RecordsEachStepWithActorAndSource()
    {
        long id = await DeclareAsync();
        string[] steps = ["acknowledge", "mitigate", "resolve", "close"];
        string[] statuses = ["acknowledged", "mitigated", "resolved", "closed"];
        for (int i = 0; i < steps.Length; i++)
        {
            _host.Time.Advance(TimeSpan.FromSeconds(30));
            // Alternate a CLI actor and the default one (an empty body).
            var answer = i % 2 == 0 ? await PostAsync($"api/v1/incidents/{id}/{steps[i]}", """{ "by": "cli:alice" }""") : await PostAsync($"api/v1/incidents/{id}/{steps[i]}");
            Assert.True(answer.Status == HttpStatusCode.OK, answer.Json?.ToJsonString());
            Assert.Equal(statuses[i], (string?)answer.Json!["incident"]!["status"]);
        }

        var incident = (await GetAsync($"api/v1/incidents/{id}")).Json!["incident"]!;
        var start = incident["startedAt"]!.GetValue<DateTimeOffset>();
        Assert.Equal(start.AddSeconds(30), incident["acknowledgedAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal("cli:alice", (string?)incident["acknowledgedBy"]);
        Assert.Equal(start.AddSeconds(60), incident["mitigatedAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(start.AddSeconds(90), incident["resolvedAt"]!.GetValue<DateTimeOffset>());
        Assert.Equal(start.AddSeconds(120), incident["closedAt"]!.GetValue<DateTimeOffset>());
        Assert.False((bool)incident["open"]!);

        var events = (await GetAsync($"api/v1/incidents/{id}/timeline")).Json!["events"]!.AsArray()
            .Select(e => ((string)e!["kind"]!, (string)e["actor"]!, (string)e["source"]!, e["at"]!.GetValue<DateTimeOffset>())).ToList();
        Assert.Equal(
            [
                (TimelineKinds.Opened, "api", "api", start),
                (TimelineKinds.Acknowledged, "cli:alice", "cli", start.AddSeconds(30)),
                (TimelineKinds.Mitigated, "api", "api", start.AddSeconds(60)),
                (TimelineKinds.Resolved, "cli:alice", "cli", start.AddSeconds(90)),
                (TimelineKinds.Closed, "api", "api", start.AddSeconds(120)),
            ], events);
    }

    [Fact]
    public async Task IllegalTransitions_Return409WithTheLifecyclesReason_AndChangeNothing()
    {
        long id = await DeclareAsync();
        AssertError(await PostAsync($"api/v1/incidents/{id}/close"), HttpStatusCode.Conflict, "status", "is triggered; resolve it before closing it");
        Assert.Equal(IncidentStatus.Triggered, (await _host.Service.GetAsync(id))!.Status);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"api/v1/incidents/{id}/resolve")).Status);
        AssertError(await PostAsync($"api/v1/incidents/{id}/acknowledge", """{ "by": "cli:late" }"""), HttpStatusCode.Conflict, "status", "is resolved; an acknowledgement does not re-open it");
        AssertError(await PostAsync($"api/v1/incidents/{id}/mitigate"), HttpStatusCode.Conflict, "status", "already resolved");
        AssertError(await PostAsync($"api/v1/incidents/{id}/resolve"), HttpStatusCode.Conflict, "status", "already resolved");
        var after = (await _host.Service.GetAsync(id))!;
        Assert.Equal(IncidentStatus.Resolved, after.Status);
        Assert.Null(after.AcknowledgedBy);

        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"api/v1/incidents/{id}/close")).Status);
        AssertError(await PostAsync($"api/v1/incidents/{id}/severity", """{ "severity": "SEV1" }"""), HttpStatusCode.Conflict, "status", "is closed; its severity no longer changes");
        AssertError(await PostAsync($"api/v1/incidents/{id}/commander", """{ "commander": "carol" }"""), HttpStatusCode.Conflict, "status", "is closed");
        // Notes and follow-ups stay possible after closing.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"api/v1/incidents/{id}/notes", """{ "text": "review done" }""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"api/v1/incidents/{id}/follow-ups", """{ "text": "add a canary" }""")).Status);
    }

    [Fact]
    public async Task ConcurrentAcknowledgements_OneWins_TheOthersAre409()
    {
        long id = await DeclareAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => PostAsync($"api/v1/incidents/{id}/acknowledge", $$"""{ "by": "cli:user{{i}}" }""")));
        Assert.Single(answers, a => a.Status == HttpStatusCode.OK);
        Assert.Equal(7, answers.Count(a => a.Status == HttpStatusCode.Conflict && ((string?)a.Json!["error"])!.Contains("already acknowledged", StringComparison.Ordinal)));
        var winner = (string?)answers.Single(a => a.Status == HttpStatusCode.OK).Json!["incident"]!["acknowledgedBy"];
        Assert.Equal(winner, (await _host.Service.GetAsync(id))!.AcknowledgedBy);
        var timeline = (await GetAsync($"api/v1/incidents/{id}/timeline")).Json!["events"]!.AsArray();
        Assert.Single(timeline, e => (string?)e!["kind"] == TimelineKinds.Acknowledged);
    }

    [Fact]
    public async Task SeverityAndCommander_Change_AndAreRecorded()
    {
        long id = await DeclareAsync(severity: "SEV3");
        var sev = await PostAsync($"api/v1/incidents/{id}/severity", """{ "severity": 1, "by": "cli:alice" }""");
        Assert.Equal(HttpStatusCode.OK, sev.Status);
        Assert.Equal("SEV1", (string?)sev.Json!["incident"]!["severity"]);
        Assert.Contains("from SEV3 to SEV1", (string?)sev.Json["message"], StringComparison.Ordinal);
        var same = await PostAsync($"api/v1/incidents/{id}/severity", """{ "severity": "SEV1" }""");
        Assert.Equal(HttpStatusCode.OK, same.Status);
        Assert.Contains("unchanged", (string?)same.Json!["message"], StringComparison.Ordinal);
        AssertError(await PostAsync($"api/v1/incidents/{id}/severity", "{}"), HttpStatusCode.BadRequest, "severity", "required");
        AssertError(await PostAsync($"api/v1/incidents/{id}/severity", """{ "severity": "SEV9" }"""), HttpStatusCode.BadRequest, "severity", "SEV9");

        var cmd = await PostAsync($"api/v1/incidents/{id}/commander", """{ "commander": "<@U0123>" }""");
        Assert.Equal(HttpStatusCode.OK, cmd.Status);
        Assert.Equal("<@U0123>", (string?)cmd.Json!["incident"]!["commander"]);
        AssertError(await PostAsync($"api/v1/incidents/{id}/commander", """{ "commander": " " }"""), HttpStatusCode.BadRequest, "commander", "required");
        AssertError(await PostAsync($"api/v1/incidents/{id}/commander", $$"""{ "commander": "{{new string('c', IncidentNames.MaxNameLength + 1)}}" }"""), HttpStatusCode.BadRequest, "commander", "limit is 200");

        var kinds = (await GetAsync($"api/v1/incidents/{id}/timeline")).Json!["events"]!.AsArray().Select(e => (string?)e!["kind"]).ToList();
        Assert.Equal([TimelineKinds.Opened, TimelineKinds.SeverityChanged, TimelineKinds.CommanderAssigned], kinds);
    }

    [Fact]
    public async Task NotesAndFollowUps_AreStored_AndFollowUpsCanBeDoneAndReopened()
    {
        long id = await DeclareAsync();
        _host.Time.Advance(TimeSpan.FromSeconds(1));
        var note = await PostAsync($"api/v1/incidents/{id}/notes", """{ "text": "matcher-2 restarted\nacks recovering", "by": "cli:alice" }""");
        Assert.Equal(HttpStatusCode.OK, note.Status);

        _host.Time.Advance(TimeSpan.FromSeconds(1));
        var added = await PostAsync($"api/v1/incidents/{id}/follow-ups", """{ "text": "alert on fsync latency", "owner": "bob" }""");
        Assert.Equal(HttpStatusCode.OK, added.Status);
        long followUpId = (long)added.Json!["followUp"]!["id"]!;
        Assert.Equal("bob", (string?)added.Json["followUp"]!["owner"]);
        Assert.False((bool)added.Json["followUp"]!["done"]!);

        _host.Time.Advance(TimeSpan.FromSeconds(1));
        var done = await PostAsync($"api/v1/incidents/{id}/follow-ups/{followUpId}", """{ "done": true, "by": "cli:bob" }""");
        Assert.Equal(HttpStatusCode.OK, done.Status);
        Assert.True((bool)done.Json!["followUp"]!["done"]!);
        var again = await PostAsync($"api/v1/incidents/{id}/follow-ups/{followUpId}", """{ "done": true }""");
        Assert.Contains("already done", (string?)again.Json!["message"], StringComparison.Ordinal);

        var details = (await GetAsync($"api/v1/incidents/{id}")).Json!;
        var followUp = Assert.Single(details["followUps"]!.AsArray())!;
        Assert.Equal("alert on fsync latency", (string?)followUp["text"]);
        Assert.True((bool)followUp["done"]!);
        Assert.Equal("api", (string?)followUp["createdBy"]);

        var events = (await GetAsync($"api/v1/incidents/{id}/timeline")).Json!["events"]!.AsArray();
        Assert.Equal([TimelineKinds.Opened, TimelineKinds.Note, TimelineKinds.FollowUpAdded, IncidentHttpApi.FollowUpUpdatedKind], events.Select(e => (string?)e!["kind"]));
        Assert.Equal("matcher-2 restarted\nacks recovering", (string?)events[1]!["text"]);
        Assert.Equal("cli", (string?)events[3]!["source"]);
        Assert.Equal("true", (string?)events[3]!["fields"]!["done"]);

        AssertError(await PostAsync($"api/v1/incidents/{id}/follow-ups/{followUpId + 100}", """{ "done": true }"""), HttpStatusCode.NotFound, "followUpId");
        AssertError(await PostAsync($"api/v1/incidents/{id}/follow-ups/x", """{ "done": true }"""), HttpStatusCode.BadRequest, "followUpId");
        AssertError(await PostAsync($"api/v1/incidents/{id}/follow-ups/{followUpId}", "{}"), HttpStatusCode.BadRequest, "done", "required");
        AssertError(await PostAsync($"api/v1/incidents/{id}/follow-ups/{followUpId}", """{ "done": "yes" }"""), HttpStatusCode.BadRequest, "done");
        AssertError(await PostAsync($"api/v1/incidents/{id}/notes", "{}"), HttpStatusCode.BadRequest, "text", "required");
    }

    [Fact]
    public async Task List_FiltersByStatus_HonoursLimit_AndRefusesBadParameters()
    {
        long a = await DeclareAsync("a");
        long b = await DeclareAsync("b");
        long c = await DeclareAsync("c");
        await PostAsync($"api/v1/incidents/{b}/resolve");

        static IEnumerable<long> Ids(JsonNode json) => json["incidents"]!.AsArray().Select(i => (long)i!["id"]!);
        var open = await GetAsync("api/v1/incidents");
        Assert.Equal([c, a], Ids(open.Json!));
        Assert.Equal(["triggered", "acknowledged", "mitigated"], open.Json!["statuses"]!.AsArray().Select(s => (string)s!));
        Assert.Equal(100, (int)open.Json["limit"]!);
        Assert.Equal([c, b, a], Ids((await GetAsync("api/v1/incidents?status=all")).Json!));
        Assert.Equal([b], Ids((await GetAsync("api/v1/incidents?status=resolved")).Json!));
        Assert.Equal([c, b, a], Ids((await GetAsync("api/v1/incidents?status=triggered,resolved")).Json!));
        Assert.Equal([c, b], Ids((await GetAsync("api/v1/incidents?status=all&limit=2")).Json!));

        AssertError(await GetAsync("api/v1/incidents?status=burning"), HttpStatusCode.BadRequest, "status", "'burning'");
        AssertError(await GetAsync("api/v1/incidents?limit=0"), HttpStatusCode.BadRequest, "limit");
        AssertError(await GetAsync("api/v1/incidents?limit=1001"), HttpStatusCode.BadRequest, "limit", "1 to 1000");
        AssertError(await GetAsync("api/v1/incidents?limit=ten"), HttpStatusCode.BadRequest, "limit");
        AssertError(await GetAsync("api/v1/incidents?stauts=all"), HttpStatusCode.BadRequest, "stauts", "unknown query parameter");
    }

    [Theory]
    [InlineData("GET", "api/v1/incidents/{0}")]
    [InlineData("GET", "api/v1/incidents/{0}/timeline")]
    [InlineData("POST", "api/v1/incidents/{0}/acknowledge")]
    [InlineData("POST", "api/v1/incidents/{0}/close")]
    [InlineData("POST", "api/v1/incidents/{0}/severity", """{ "severity": 1 }""")]
    [InlineData("POST", "api/v1/incidents/{0}/commander", """{ "commander": "a" }""")]
    [InlineData("POST", "api/v1/incidents/{0}/notes", """{ "text": "a" }""")]
    [InlineData("POST", "api/v1/incidents/{0}/follow-ups", """{ "text": "a" }""")]
    [InlineData("POST", "api/v1/incidents/{0}/follow-ups/1", """{ "done": true }""")]
    [InlineData("POST", "api/v1/incidents/{0}/report")]
    [InlineData("GET", "api/v1/incidents/{0}/report.html")]
    [InlineData("GET", "api/v1/incidents/{0}/report.md")]
    public async Task EveryIncidentEndpoint_Gives404ForAnUnknownId_And400ForAnIdThatIsNotAPositiveInteger(string method, string template, string? body = null)
    {
        await DeclareAsync();
        AssertError(await SendAsync(Http, new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, template, 424242), body), HttpStatusCode.NotFound, "id", "#424242");
        foreach (string bad in new[] { "abc", "0", "-1", "1.5", "99999999999999999999", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd" })
            AssertError(await SendAsync(Http, new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, template, bad), body), HttpStatusCode.BadRequest, "id", "positive integer");
        Assert.Equal(0, _reportCalls);
    }

    [Fact]
    public async Task TooLongText_Is400NamingTheFieldAndTheLimit_AndTheLimitItselfIsAccepted()
    {
        string title200 = new('t', IncidentNames.MaxTitleLength);
        var (ok, _) = await PostAsync("api/v1/incidents", $$"""{ "title": "{{title200}}", "severity": 2 }""");
        Assert.Equal(HttpStatusCode.Created, ok);
        AssertError(await PostAsync("api/v1/incidents", $$"""{ "title": "{{title200}}x", "severity": 2 }"""), HttpStatusCode.BadRequest, "title", "201 characters; the limit is 200");

        long id = await DeclareAsync();
        string note4000 = new('n', IncidentNames.MaxNoteLength);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"api/v1/incidents/{id}/notes", $$"""{ "text": "{{note4000}}" }""")).Status);
        AssertError(await PostAsync($"api/v1/incidents/{id}/notes", $$"""{ "text": "{{note4000}}n" }"""), HttpStatusCode.BadRequest, "text", "the limit is 4000");
        AssertError(await PostAsync($"api/v1/incidents/{id}/follow-ups", $$"""{ "text": "{{note4000}}n" }"""), HttpStatusCode.BadRequest, "text", "the limit is 4000");
        AssertError(await PostAsync($"api/v1/incidents/{id}/acknowledge", $$"""{ "by": "{{new string('b', 201)}}" }"""), HttpStatusCode.BadRequest, "by", "the limit is 200");
        AssertError(await PostAsync($"api/v1/incidents/{id}/acknowledge", """{ "by": "" }"""), HttpStatusCode.BadRequest, "by", "must not be empty");
        AssertError(await PostAsync("api/v1/incidents", $$"""{ "title": "t", "severity": 2, "markets": [{{string.Join(",", Enumerable.Repeat("\"M\"", 65))}}] }"""), HttpStatusCode.BadRequest, "markets", "at most 64");
        AssertError(await PostAsync("api/v1/incidents", """{ "title": "two\nlines", "severity": 2 }"""), HttpStatusCode.BadRequest, "title", "one line");
        AssertError(await PostAsync("api/v1/incidents", """{ "title": "nul\u0000", "severity": 2 }"""), HttpStatusCode.BadRequest, "title", "U+0000");
        AssertError(await PostAsync("api/v1/incidents", """{ "severity": 2 }"""), HttpStatusCode.BadRequest, "title", "required");
        Assert.Equal(2, (await _host.Service.ListAsync(new IncidentFilter())).Count);
        Assert.Equal(2, (await _host.Service.GetDetailsAsync(id))!.Timeline.Count); // opened + the 4000-character note
    }

    [Fact]
    public async Task UnknownProperties_AreRefusedByName()
    {
        AssertError(await PostAsync("api/v1/incidents", """{ "titel": "typo", "severity": 2 }"""), HttpStatusCode.BadRequest, "titel", "unknown property 'titel'");
        long id = await DeclareAsync();
        var answer = await PostAsync($"api/v1/incidents/{id}/notes", """{ "text": "a", "author": "x", "Text": "b" }""");
        AssertError(answer, HttpStatusCode.BadRequest, "author,Text", "unknown properties 'author', 'Text'");
        Assert.Contains("accepts: text, by", (string?)answer.Json!["error"], StringComparison.Ordinal);
        AssertError(await PostAsync($"api/v1/incidents/{id}/acknowledge", """{ "comment": "on it" }"""), HttpStatusCode.BadRequest, "comment");
        Assert.Single((await _host.Service.GetDetailsAsync(id))!.Timeline);
    }

    [Theory]
    [InlineData("""{ "title": "x", """, "$.title")]
    [InlineData("""{ "title": "x", "markets": ["a", ] }""", "$.markets[0]")]
    [InlineData("""{ "title": "x", "markets": ["a", "b" "c"] }""", "$.markets[1]")]
    [InlineData("""{ "title": 'x' }""", "$.title")]
    [InlineData("""{ "title": "x" } trailing""", "$")]
    [InlineData("""{ "title": "x", "title": "y" }""", "$.title")]
    public async Task MalformedJson_Is400NamingTheJsonPath(string body, string path)
    {
        AssertError(await PostAsync("api/v1/incidents", body), HttpStatusCode.BadRequest, path);
    }

    [Fact]
    public async Task WrongShapes_Are400NamingTheField()
    {
        AssertError(await PostAsync("api/v1/incidents", "[1, 2]"), HttpStatusCode.BadRequest, "$", "JSON object");
        AssertError(await PostAsync("api/v1/incidents", """{ "title": 5, "severity": 2 }"""), HttpStatusCode.BadRequest, "title", "must be a string (got a number)");
        AssertError(await PostAsync("api/v1/incidents", """{ "title": "t", "severity": 2, "markets": "BTC-USD" }"""), HttpStatusCode.BadRequest, "markets", "array");
        AssertError(await PostAsync("api/v1/incidents", """{ "title": "t", "severity": 2, "markets": ["BTC-USD", 7] }"""), HttpStatusCode.BadRequest, "markets[1]");
        AssertError(await PostAsync("api/v1/incidents", """{ "title": "\ud800", "severity": 2 }"""), HttpStatusCode.BadRequest, "$.title", "malformed JSON");
    }

    [Fact]
    public async Task A100KiBBody_Is413WithTheLimit_WhateverTheEndpoint()
    {
        long id = await DeclareAsync();
        string huge = $$"""{ "text": "{{new string('x', 100 * 1024)}}" }""";
        AssertError(await PostAsync($"api/v1/incidents/{id}/notes", huge), HttpStatusCode.RequestEntityTooLarge, "body", "the limit is 65536 bytes (64 KiB)");
        AssertError(await PostAsync("api/v1/incidents", huge), HttpStatusCode.RequestEntityTooLarge, "body", "65536");

        // Without a Content-Length (chunked), the limit holds while reading.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"api/v1/incidents/{id}/notes")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge))),
        };
        request.Headers.TransferEncodingChunked = true;
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Single((await _host.Service.GetDetailsAsync(id))!.Timeline);
    }

    [Fact]
    public async Task SqlLookingText_IsStoredAndReturnedVerbatim()
    {
        const string title = "'); DROP TABLE incidents; --";
        const string note = "Robert'); DELETE FROM incident_events WHERE 1=1; -- \" ` \\ <script>alert(1)</script> %_ ?1 :p @x $1";
        var (status, json) = await PostAsync("api/v1/incidents", System.Text.Json.JsonSerializer.Serialize(new { title, severity = "SEV2", commander = "x' OR '1'='1", markets = new[] { "BTC-USD'--" } }));
        Assert.Equal(HttpStatusCode.Created, status);
        long id = (long)json!["incident"]!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await PostAsync($"api/v1/incidents/{id}/notes", System.Text.Json.JsonSerializer.Serialize(new { text = note, by = "cli:o'brien" }))).Status);

        var incident = (await GetAsync($"api/v1/incidents/{id}")).Json!["incident"]!;
        Assert.Equal(title, (string?)incident["title"]);
        Assert.Equal("x' OR '1'='1", (string?)incident["commander"]);
        Assert.Equal("BTC-USD'--", (string?)incident["markets"]![0]);
        var noteEvent = (await GetAsync($"api/v1/incidents/{id}/timeline")).Json!["events"]!.AsArray().Single(e => (string?)e!["kind"] == TimelineKinds.Note)!;
        Assert.Equal(note, (string?)noteEvent["text"]);
        Assert.Equal("cli:o'brien", (string?)noteEvent["actor"]);

        // The tables are all still there and usable.
        Assert.Equal(title, (string?)(await GetAsync("api/v1/incidents")).Json!["incidents"]![0]!["title"]);
        long second = await DeclareAsync();
        Assert.Equal(id + 1, second);
    }

    [Fact]
    public async Task WithoutTheToken_Everything_Is401_AndNothingChanges()
    {
        long id = await DeclareAsync();
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        using var wrong = new HttpClient { BaseAddress = _host.BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _host.Token + "x");
        foreach (var client in new[] { anonymous, wrong })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Get, "api/v1/incidents")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Get, $"api/v1/incidents/{id}")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Post, $"api/v1/incidents/{id}/acknowledge", "{}")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Post, "api/v1/incidents", """{ "title": "t", "severity": 1 }""")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, HttpMethod.Get, $"api/v1/incidents/{id}/report.html")).Status);
        }
        Assert.Single(await _host.Service.ListAsync(new IncidentFilter()));
        Assert.Equal(IncidentStatus.Triggered, (await _host.Service.GetAsync(id))!.Status);
    }

    [Fact]
    public async Task Report_IsServedOnlyAfterItWasGenerated_WithSafeHeaders()
    {
        long id = await DeclareAsync("<b>bold</b> & co");
        AssertError(await GetAsync($"api/v1/incidents/{id}/report.html"), HttpStatusCode.NotFound, "report", $"POST /api/v1/incidents/{id}/report first");

        var (status, json) = await PostAsync($"api/v1/incidents/{id}/report");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, _reportCalls);
        string htmlPath = (string)json!["html"]!;
        string mdPath = (string)json["markdown"]!;
        Assert.Equal(Path.Combine(_host.ReportsDirectory, "incidents", $"incident-{id}.html"), htmlPath);
        Assert.True(File.Exists(mdPath));

        using (var html = await Http.GetAsync($"api/v1/incidents/{id}/report.html"))
        {
            Assert.Equal(HttpStatusCode.OK, html.StatusCode);
            Assert.Equal("text/html", html.Content.Headers.ContentType!.MediaType);
            Assert.Equal(await File.ReadAllTextAsync(htmlPath), await html.Content.ReadAsStringAsync());
            Assert.Contains("default-src 'none'", html.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
            Assert.Equal("nosniff", html.Headers.GetValues("X-Content-Type-Options").Single());
        }
        using (var md = await Http.GetAsync($"api/v1/incidents/{id}/report.md"))
        {
            Assert.Equal(HttpStatusCode.OK, md.StatusCode);
            Assert.Equal("text/markdown", md.Content.Headers.ContentType!.MediaType);
            Assert.Equal($"# Incident #{id}: <b>bold</b> & co\n", await md.Content.ReadAsStringAsync());
        }
        // Regenerating overwrites; the served file follows.
        await PostAsync($"api/v1/incidents/{id}/commander", """{ "commander": "zoe" }""");
        await File.WriteAllTextAsync(htmlPath, "changed");
        Assert.Equal("changed", await Http.GetStringAsync($"api/v1/incidents/{id}/report.html"));
        AssertError(await PostAsync($"api/v1/incidents/{id}/report", """{ "path": "/etc/passwd" }"""), HttpStatusCode.BadRequest, "path", "unknown property");
        Assert.Equal(1, _reportCalls);
    }

    [Fact]
    public async Task Report_WithoutAGenerator_Is503()
    {
        await using var host = await IncidentApiHost.StartAsync(report: null);
        var incident = await host.Service.DeclareAsync(new IncidentDeclaration("t", IncidentSeverity.Sev3, [], null), new IncidentActor("api", TimelineSources.Api));
        long id = incident.Incident!.Id;
        AssertError(await SendAsync(host.Client, HttpMethod.Post, $"api/v1/incidents/{id}/report"), HttpStatusCode.ServiceUnavailable, "report", "no report generator");
        AssertError(await SendAsync(host.Client, HttpMethod.Get, $"api/v1/incidents/{id}/report.html"), HttpStatusCode.ServiceUnavailable, "report");
        AssertError(await SendAsync(host.Client, HttpMethod.Get, $"api/v1/incidents/{id}/report.md"), HttpStatusCode.ServiceUnavailable, "report");
    }

    [Fact]
    public async Task Report_WrittenBeforeThisProcessStarted_IsFoundInTheReportsDirectory()
    {
        await using var host = await IncidentApiHost.StartAsync(IncidentApiHost.FileReports(), knownReportsDirectory: true);
        var incident = await host.Service.DeclareAsync(new IncidentDeclaration("t", IncidentSeverity.Sev3, [], null), new IncidentActor("api", TimelineSources.Api));
        long id = incident.Incident!.Id;
        AssertError(await SendAsync(host.Client, HttpMethod.Get, $"api/v1/incidents/{id}/report.md"), HttpStatusCode.NotFound, "report");
        // As the resolve job writes it: DIR/incidents/incident-{id}.md, no POST through this API.
        Directory.CreateDirectory(Path.Combine(host.ReportsDirectory, "incidents"));
        await File.WriteAllTextAsync(Path.Combine(host.ReportsDirectory, "incidents", $"incident-{id}.md"), "# from the job\n");
        Assert.Equal("# from the job\n", await host.Client.GetStringAsync($"api/v1/incidents/{id}/report.md"));
        AssertError(await SendAsync(host.Client, HttpMethod.Get, $"api/v1/incidents/{id}/report.html"), HttpStatusCode.NotFound, "report");
    }

    [Fact]
    public async Task Report_GeneratorFailure_Is500NamingIt()
    {
        await using var host = await IncidentApiHost.StartAsync(_ => (_, _) => throw new IOException("disk full"));
        var incident = await host.Service.DeclareAsync(new IncidentDeclaration("t", IncidentSeverity.Sev3, [], null), new IncidentActor("api", TimelineSources.Api));
        AssertError(await SendAsync(host.Client, HttpMethod.Post, $"api/v1/incidents/{incident.Incident!.Id}/report"), HttpStatusCode.InternalServerError, "report", "IOException: disk full");
    }
}
