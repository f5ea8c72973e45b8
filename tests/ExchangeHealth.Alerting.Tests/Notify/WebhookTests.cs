using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Alertmanager;
using ExchangeHealth.TestKit.Prometheus;
using Microsoft.AspNetCore.Http;
using static ExchangeHealth.Alerting.Tests.Notify.Notifications;

namespace ExchangeHealth.Alerting.Tests.Notify;

public sealed class WebhookTests
{
    private static readonly Alert EngineOne = new(
        LabelSet.Of("alertname", "EngineDown", "instance", "engine-1", "job", "exh-engine"),
        LabelSet.Of("summary", "Engine down"), T0, null, "http://prom/graph?g0.expr=up%3D%3D0");

    private static readonly Alert EngineTwo = new(
        LabelSet.Of("alertname", "EngineDown", "instance", "engine-2", "job", "exh-engine"),
        LabelSet.Of("summary", "Engine down"), T0.AddMinutes(-1), T0.AddSeconds(10.5), "http://prom/graph?g0.expr=up%3D%3D0");

    private static Notification Sample => Make("webhook", "{}:{alertname=\"EngineDown\"}", 1, NotificationKind.New, T0.AddSeconds(30), EngineOne, EngineTwo);

    [Fact]
    public void Serialize_GoldenFieldNamesAndValues()
    {
        string json = AlertmanagerWebhookPayload.FromNotification(Sample, "http://monitor:9095").Serialize();
        string expected =
            "{\"receiver\":\"webhook\",\"status\":\"firing\",\"alerts\":["
            + "{\"status\":\"firing\",\"labels\":{\"alertname\":\"EngineDown\",\"instance\":\"engine-1\",\"job\":\"exh-engine\"},"
            + "\"annotations\":{\"summary\":\"Engine down\"},\"startsAt\":\"2026-11-21T03:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
            + "\"generatorURL\":\"http://prom/graph?g0.expr=up%3D%3D0\",\"fingerprint\":\"" + EngineOne.Fingerprint + "\"},"
            + "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"EngineDown\",\"instance\":\"engine-2\",\"job\":\"exh-engine\"},"
            + "\"annotations\":{\"summary\":\"Engine down\"},\"startsAt\":\"2026-11-21T02:59:00Z\",\"endsAt\":\"2026-11-21T03:00:10.5Z\","
            + "\"generatorURL\":\"http://prom/graph?g0.expr=up%3D%3D0\",\"fingerprint\":\"" + EngineTwo.Fingerprint + "\"}],"
            + "\"groupLabels\":{\"alertname\":\"EngineDown\"},\"commonLabels\":{\"alertname\":\"EngineDown\",\"job\":\"exh-engine\"},"
            + "\"commonAnnotations\":{\"summary\":\"Engine down\"},\"externalURL\":\"http://monitor:9095\","
            + "\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"EngineDown\\\"}\",\"truncatedAlerts\":0}";
        Assert.Equal(expected, json);
        Assert.Matches("^[0-9a-f]{16}$", EngineOne.Fingerprint);
    }

    [Fact]
    public void SerializeThenParse_RoundTrips()
    {
        var payload = AlertmanagerWebhookPayload.FromNotification(Sample, "http://monitor:9095");
        var back = AlertmanagerWebhookPayload.Parse(payload.Serialize());
        var fromStream = AlertmanagerWebhookPayload.Parse(new MemoryStream(payload.SerializeToUtf8()));

        foreach (var p in new[] { back, fromStream })
        {
            Assert.Equal(payload with { Alerts = [] }, p with { Alerts = [] });
            Assert.Equal(payload.Alerts, p.Alerts);
        }
        Assert.Null(back.Alerts[0].EndsAt); // Go's zero time means "not ended"
        Assert.Equal(T0.AddSeconds(10.5), back.Alerts[1].EndsAt);
        var alerts = back.ToAlerts();
        Assert.Equal(EngineOne, alerts[0]);
        Assert.Equal(EngineTwo, alerts[1]);
    }

    [Fact]
    public void MaxAlerts_TruncatesAndCounts()
    {
        var payload = AlertmanagerWebhookPayload.FromNotification(Sample, "", maxAlerts: 1);
        Assert.Single(payload.Alerts);
        Assert.Equal(1, payload.TruncatedAlerts);
        Assert.Equal(AlertStatus.Firing, payload.Status);
        Assert.Equal(EngineOne.Labels, payload.CommonLabels); // computed over the alerts sent, as Alertmanager does
        Assert.Equal(2, AlertmanagerWebhookPayload.FromNotification(Sample, "", maxAlerts: 0).Alerts.Count);
        Assert.Equal(Sample.CommonLabels, AlertmanagerWebhookPayload.FromNotification(Sample, "", maxAlerts: 2).CommonLabels);
    }

    [Theory]
    [InlineData("\"version\":\"4\"", "\"version\":\"3\"", "version", "version: expected \"4\", got \"3\"")]
    [InlineData("\"version\":\"4\",", "", "version", "version: missing")]
    [InlineData("\"startsAt\":\"2026-11-21T02:59:00Z\"", "\"startsAt\":\"yesterday\"", "alerts[1].startsAt", "alerts[1].startsAt: expected an RFC 3339 time, got \"yesterday\"")]
    [InlineData("\"instance\":\"engine-1\"", "\"instance\":1", "alerts[0].labels.instance", "alerts[0].labels.instance: expected a string, got a number")]
    [InlineData("\"status\":\"resolved\"", "\"status\":\"gone\"", "alerts[1].status", "alerts[1].status: expected \"firing\" or \"resolved\", got \"gone\"")]
    [InlineData("\"truncatedAlerts\":0", "\"truncatedAlerts\":-1", "truncatedAlerts", "truncatedAlerts: expected a non-negative integer, got -1")]
    [InlineData("\"fingerprint\":", "\"fingerprint_\":", "alerts[0].fingerprint", "alerts[0].fingerprint: missing")]
    [InlineData("\"alerts\":[", "\"alerts\":\"none\",\"x\":[", "alerts", "alerts: expected an array, got a string")]
    public void Parse_Malformed_NamesTheField(string from, string to, string field, string message)
    {
        string json = AlertmanagerWebhookPayload.FromNotification(Sample, "").Serialize();
        int at = json.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, from);
        string bad = json[..at] + to + json[(at + from.Length)..];
        var e = Assert.Throws<PayloadFieldException>(() => AlertmanagerWebhookPayload.Parse(bad));
        Assert.Equal(field, e.Field);
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Parse_NotJson_Fails()
    {
        var e = Assert.Throws<PayloadFieldException>(() => AlertmanagerWebhookPayload.Parse("{\"version\":"));
        Assert.Equal("$", e.Field);
        Assert.StartsWith("$: not valid JSON", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200, null, "delivered")]
    [InlineData(204, null, "delivered")]
    [InlineData(500, null, "retry")]
    [InlineData(503, "7", "retry 7")]
    [InlineData(429, "3", "retry 3")]
    [InlineData(400, null, "failed")]
    [InlineData(404, null, "failed")]
    public async Task WebhookNotifier_StatusDecidesOutcome(int status, string? retryAfter, string expected)
    {
        var bodies = new ConcurrentQueue<(string Body, string? ContentType)>();
        await using var server = await ExchangeHealth.TestKit.LoopbackApp.StartAsync(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            bodies.Enqueue((await reader.ReadToEndAsync(), ctx.Request.ContentType));
            if (retryAfter is not null) ctx.Response.Headers.RetryAfter = retryAfter;
            ctx.Response.StatusCode = status;
        });
        using var http = new HttpClient();
        var notifier = new WebhookNotifier(new WebhookNotifierOptions { Url = new Uri(server.BaseUrl, "hook?token=secret"), MaxAlerts = 1, ExternalUrl = "http://monitor" }, http);

        var result = await notifier.DeliverAsync(Sample, CancellationToken.None);

        string actual = result switch
        {
            DeliveryResult.Delivered => "delivered",
            DeliveryResult.Retry { After: { } a } => "retry " + a.TotalSeconds.ToString(CultureInfo.InvariantCulture),
            DeliveryResult.Retry => "retry",
            DeliveryResult.Failed => "failed",
            _ => "?",
        };
        Assert.Equal(expected, actual);
        if (result is DeliveryResult.Failed f) Assert.DoesNotContain("secret", f.Error, StringComparison.Ordinal);
        var (body, contentType) = Assert.Single(bodies);
        Assert.Equal("application/json; charset=utf-8", contentType);
        var received = AlertmanagerWebhookPayload.Parse(body);
        Assert.Equal(1, received.TruncatedAlerts);
        Assert.Equal("http://monitor", received.ExternalUrl);
    }

    [Fact]
    public async Task WebhookNotifier_SlowReceiver_TimesOutAndRetries()
    {
        await using var server = await ExchangeHealth.TestKit.LoopbackApp.StartAsync(async ctx =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(5), ctx.RequestAborted); }
            catch (OperationCanceledException) { }
        });
        using var http = new HttpClient();
        var notifier = new WebhookNotifier(new WebhookNotifierOptions { Url = server.BaseUrl, RequestTimeout = TimeSpan.FromMilliseconds(300) }, http);
        var sw = Stopwatch.StartNew();
        var result = await notifier.DeliverAsync(Sample, CancellationToken.None);
        var retry = Assert.IsType<DeliveryResult.Retry>(result);
        Assert.Contains("timed out", retry.Error, StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), sw.Elapsed.ToString());
    }

    [Fact]
    public async Task WebhookNotifier_NobodyListening_Retries()
    {
        int port = LoopbackPort.Free();
        using var http = new HttpClient();
        var notifier = new WebhookNotifier(new WebhookNotifierOptions { Url = new Uri($"http://127.0.0.1:{port}/hook") }, http);
        Assert.IsType<DeliveryResult.Retry>(await notifier.DeliverAsync(Sample, CancellationToken.None));
    }

    /// <summary>Real Alertmanager 0.25 posts its webhook to our endpoint; Parse accepts firing and resolved payloads, and our fingerprint matches Alertmanager's.</summary>
    [Fact]
    public async Task Parse_AcceptsRealAlertmanagerWebhooks()
    {
        var received = new ConcurrentQueue<string>();
        await using var hook = await ExchangeHealth.TestKit.LoopbackApp.StartAsync(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body);
            received.Enqueue(await reader.ReadToEndAsync());
            ctx.Response.StatusCode = 200;
        });
        await using var am = await AlertmanagerServer.StartAsync($"""
            route:
              receiver: hook
              group_by: [alertname]
              group_wait: 100ms
              group_interval: 1s
              repeat_interval: 1h
            receivers:
            - name: hook
              webhook_configs:
              - url: {new Uri(hook.BaseUrl, "hook")}
                send_resolved: true
                max_alerts: 1
            """);

        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        var startText = start.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        string Alerts(string? endsAt) =>
            "[" + string.Join(",", new[] { "engine-1", "engine-2" }.Select(i =>
                "{\"labels\":{\"alertname\":\"EngineDown\",\"instance\":\"" + i + "\",\"job\":\"exh-engine\",\"severity\":\"page\"},"
                + "\"annotations\":{\"summary\":\"Engine " + i + " down\",\"runbook_url\":\"https://runbooks/engine-down\"},"
                + "\"startsAt\":\"" + startText + "\"," + (endsAt is null ? "" : "\"endsAt\":\"" + endsAt + "\",")
                + "\"generatorURL\":\"http://prom/graph\"}")) + "]";
        await am.PostAlertsAsync(Alerts(null));

        var firing = await WaitForPayloadAsync(received, p => p.Status == AlertStatus.Firing);
        Assert.Equal("4", firing.Version);
        Assert.Equal("hook", firing.Receiver);
        Assert.Equal(1, firing.TruncatedAlerts); // max_alerts: 1
        var alert = Assert.Single(firing.Alerts);
        Assert.Equal(AlertStatus.Firing, alert.Status);
        Assert.Null(alert.EndsAt); // "0001-01-01T00:00:00Z"
        Assert.Equal(start.ToUnixTimeMilliseconds(), alert.StartsAt.ToUnixTimeMilliseconds());
        Assert.Equal(LabelSet.Of("alertname", "EngineDown"), firing.GroupLabels);
        // as Alertmanager's webhook notifier: common labels of the alerts left after max_alerts
        Assert.Equal(alert.Labels, firing.CommonLabels);
        Assert.Equal("https://runbooks/engine-down", firing.CommonAnnotations["runbook_url"]);
        Assert.Equal(alert.Labels.FingerprintHex, alert.Fingerprint); // our LabelSet fingerprint is Alertmanager's
        Assert.False(string.IsNullOrEmpty(firing.GroupKey));
        Assert.Null(alert.ToAlert().EndsAt);

        string ended = DateTimeOffset.UtcNow.AddSeconds(-1).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        await am.PostAlertsAsync(Alerts(ended));
        var resolved = await WaitForPayloadAsync(received, p => p.Status == AlertStatus.Resolved);
        var r = Assert.Single(resolved.Alerts);
        Assert.Equal(AlertStatus.Resolved, r.Status);
        Assert.NotNull(r.EndsAt);
        Assert.Equal(AlertStatus.Resolved, r.ToAlert().StatusAt(DateTimeOffset.UtcNow));
    }

    private static async Task<AlertmanagerWebhookPayload> WaitForPayloadAsync(ConcurrentQueue<string> received, Func<AlertmanagerWebhookPayload, bool> predicate)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(15))
        {
            foreach (string body in received)
            {
                var p = AlertmanagerWebhookPayload.Parse(body); // every real payload must parse
                if (predicate(p)) return p;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("Alertmanager sent no matching webhook; got: " + string.Join("\n", received));
    }
}
