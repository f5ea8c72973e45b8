using System.Net;
using System.Text;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Alerting.Tests.Notify;
using ExchangeHealth.TestKit.Slack;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Alerting.Tests.Slack;

public sealed class SlackRequestVerifierTests
{
    private const string Secret = "e3b0c44298fc1c149afbf4c8996fb924";
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Now);
    private readonly SlackCallbackSigner _signer = new(Secret);

    private static readonly string Body = SlackCallbackSigner.BlockActionsBody("U0ONCALL", "alice", "exh_ack",
        SlackActionValue.Format("slack", "{}:{alertname=\"EngineDown\"}"), "C0ALERTS", "1763694030.000100");

    private static string Ts(DateTimeOffset t) => t.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void KnownAnswer_FromSlacksDocumentation()
    {
        // "Verifying requests from Slack" (docs.slack.dev): secret, timestamp, slash-command body and signature of the worked example
        const string body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        var verifier = new SlackRequestVerifier("8f742231b10e8888abcd99yyyzzz85a5", new ManualClock(DateTimeOffset.FromUnixTimeSeconds(1531420618 + 30)));
        Assert.Equal(SlackVerificationResult.Valid, verifier.Verify("1531420618", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", body));
        Assert.Equal("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            SlackRequestVerifier.Sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void Valid_SignedByTheTestKitSigner()
    {
        var verifier = new SlackRequestVerifier(Secret, _clock);
        var signedAt = Now.AddSeconds(-20);
        Assert.True(verifier.Verify(Ts(signedAt), _signer.Sign(signedAt.ToUnixTimeSeconds(), Body), Body).IsValid);
    }

    [Fact]
    public void TamperedBody_Rejected()
    {
        var verifier = new SlackRequestVerifier(Secret, _clock);
        string signature = _signer.Sign(Now.ToUnixTimeSeconds(), Body);
        string tampered = Body.Replace("exh_ack", "exh_silence_1h", StringComparison.Ordinal);
        var r = verifier.Verify(Ts(Now), signature, tampered);
        Assert.False(r.IsValid);
        Assert.Equal("X-Slack-Signature does not match the body (wrong signing secret or altered body)", r.Reason);
    }

    [Fact]
    public void WrongSecret_Rejected()
    {
        var verifier = new SlackRequestVerifier("another-secret", _clock);
        var r = verifier.Verify(Ts(Now), _signer.Sign(Now.ToUnixTimeSeconds(), Body), Body);
        Assert.False(r.IsValid);
        Assert.StartsWith("X-Slack-Signature does not match", r.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("another-secret", r.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-301, false)]
    [InlineData(-300, true)]
    [InlineData(299, true)]
    [InlineData(301, false)]
    public void Timestamp_MoreThan5MinutesFromNow_Rejected(int offsetSeconds, bool valid)
    {
        var verifier = new SlackRequestVerifier(Secret, _clock);
        var signedAt = Now.AddSeconds(offsetSeconds);
        var r = verifier.Verify(Ts(signedAt), _signer.Sign(signedAt.ToUnixTimeSeconds(), Body), Body); // correctly signed, but stale
        Assert.Equal(valid, r.IsValid);
        if (!valid)
            Assert.Equal($"X-Slack-Request-Timestamp is {Math.Abs(offsetSeconds)} s from now (more than 300 s): stale or replayed", r.Reason);
    }

    [Theory]
    [InlineData(null, "v0=00", "missing X-Slack-Request-Timestamp header")]
    [InlineData("1795230000", null, "missing X-Slack-Signature header")]
    [InlineData("yesterday", "v0=00", "X-Slack-Request-Timestamp is not a Unix time in seconds")]
    [InlineData("1795230000", "v1=abcd", "X-Slack-Signature is not of version v0 (expected 'v0=' and 64 hex digits)")]
    [InlineData("1795230000", "v0=zz", "X-Slack-Signature is not 'v0=' and 64 hex digits")]
    [InlineData("1795230000", "v0=abcd", "X-Slack-Signature is not 'v0=' and 64 hex digits")]
    public void MalformedHeaders_RejectedWithAClearReason(string? timestamp, string? signature, string reason)
    {
        var verifier = new SlackRequestVerifier(Secret, _clock);
        Assert.Equal(SlackVerificationResult.Invalid(reason), verifier.Verify(timestamp, signature, Body));
    }

    [Fact]
    public void Interaction_ParsesBlockActions()
    {
        var i = SlackInteraction.Parse(Body);
        Assert.Equal("U0ONCALL", i.UserId);
        Assert.Equal("alice", i.UserName);
        Assert.Equal(SlackInteraction.AcknowledgeAction, i.ActionId);
        Assert.Equal("C0ALERTS", i.ChannelId);
        Assert.Equal("1763694030.000100", i.MessageTs);
        Assert.Equal(new Uri("https://hooks.slack.test/actions/T0FAKE/1/abc"), i.ResponseUrl);
        Assert.Equal(new SlackActionTarget("slack", "{}:{alertname=\"EngineDown\"}", null), i.Target);
    }

    [Theory]
    [InlineData("\"type\":\"block_actions\"", "\"type\":\"view_submission\"", "payload.type")]
    [InlineData("\"action_id\":\"exh_ack\",", "", "payload.actions[0].action_id")]
    [InlineData("\"user\":{\"id\":\"U0ONCALL\",", "\"user\":{", "payload.user.id")]
    [InlineData("\"response_url\":\"https://hooks.slack.test/actions/T0FAKE/1/abc\"", "\"response_url\":\"not a url\"", "payload.response_url")]
    public void Interaction_Malformed_NamesTheField(string from, string to, string field)
    {
        string json = Uri.UnescapeDataString(Body["payload=".Length..]);
        Assert.Contains(from, json, StringComparison.Ordinal);
        string bad = "payload=" + Uri.EscapeDataString(json.Replace(from, to, StringComparison.Ordinal));
        var e = Assert.Throws<PayloadFieldException>(() => SlackInteraction.Parse(bad));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Interaction_WithoutPayload_NamesTheField()
    {
        Assert.Equal("payload", Assert.Throws<PayloadFieldException>(() => SlackInteraction.Parse("token=x")).Field);
        Assert.Equal("payload", Assert.Throws<PayloadFieldException>(() => SlackInteraction.Parse("payload=%7Bnot")).Field);
    }

    /// <summary>End to end over HTTP: a callback endpoint (as the monitor will have) verifies and parses what the TestKit signer sends.</summary>
    [Fact]
    public async Task CallbackEndpoint_AcceptsSignedClicks_RejectsTamperedAndStale()
    {
        var verifier = new SlackRequestVerifier(Secret, _clock);
        await using var server = await ExchangeHealth.TestKit.LoopbackApp.StartAsync(async ctx =>
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            string raw = await reader.ReadToEndAsync();
            var verdict = verifier.Verify(ctx.Request.Headers[SlackRequestVerifier.TimestampHeader], ctx.Request.Headers[SlackRequestVerifier.SignatureHeader], raw);
            if (!verdict.IsValid)
            {
                ctx.Response.StatusCode = 401;
                await ctx.Response.WriteAsync(verdict.Reason!);
                return;
            }
            var click = SlackInteraction.Parse(raw);
            await ctx.Response.WriteAsync($"{click.ActionId} by {click.UserName} on {click.Target.GroupKey}");
        });
        using var http = new HttpClient();
        var url = new Uri(server.BaseUrl, "slack/interactions");

        using (var ok = await http.SendAsync(_signer.CreateRequest(url, Body, Now)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("exh_ack by alice on {}:{alertname=\"EngineDown\"}", await ok.Content.ReadAsStringAsync());
        }

        var tampered = _signer.CreateRequest(url, Body, Now);
        tampered.Content = new StringContent(Body.Replace("alice", "mallory", StringComparison.Ordinal), Encoding.UTF8, "application/x-www-form-urlencoded");
        using (var r = await http.SendAsync(tampered))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.StartsWith("X-Slack-Signature does not match", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var stale = await http.SendAsync(_signer.CreateRequest(url, Body, Now.AddMinutes(-10))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
            Assert.EndsWith("stale or replayed", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }
}
