using System.Globalization;
using System.Text;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Slack;

namespace ExchangeHealth.Incidents.Tests.Slack;

public sealed class SlackReplayGuardTests
{
    private const string Secret = "8f742231b10e8888abcd99yyyzzz85a5";

    [Fact]
    public void A_pair_is_accepted_once_inside_the_window()
    {
        var time = new ManualTimeProvider();
        var guard = new SlackReplayGuard(time);
        string ts = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        string sig = "v0=" + new string('a', 64);
        Assert.Equal(SlackReplayVerdict.Fresh, guard.TryAccept(ts, sig));
        Assert.Equal(SlackReplayVerdict.Replayed, guard.TryAccept(ts, sig));
        Assert.Equal(SlackReplayVerdict.Replayed, guard.TryAccept(ts, sig.ToUpperInvariant().Replace("V0=", "v0=", StringComparison.Ordinal)));
        Assert.Equal(SlackReplayVerdict.Fresh, guard.TryAccept(ts, "v0=" + new string('b', 64)));
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(SlackReplayVerdict.Replayed, guard.TryAccept(ts, sig));
    }

    [Fact]
    public void Pairs_are_forgotten_once_their_timestamp_left_the_window()
    {
        var time = new ManualTimeProvider();
        var guard = new SlackReplayGuard(time);
        string ts = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < 100; i++) guard.TryAccept(ts, "v0=" + i.ToString("x64", CultureInfo.InvariantCulture));
        Assert.Equal(100, guard.Count);
        time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(3));
        guard.TryAccept((time.GetUtcNow().ToUnixTimeSeconds()).ToString(CultureInfo.InvariantCulture), "v0=" + new string('c', 64));
        Assert.Equal(1, guard.Count);
    }

    [Fact]
    public void A_full_guard_refuses_instead_of_forgetting()
    {
        var time = new ManualTimeProvider();
        var guard = new SlackReplayGuard(time, capacity: 3);
        string ts = time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        for (int i = 0; i < 3; i++) Assert.Equal(SlackReplayVerdict.Fresh, guard.TryAccept(ts, "v0=" + i.ToString("x64", CultureInfo.InvariantCulture)));
        Assert.Equal(SlackReplayVerdict.Full, guard.TryAccept(ts, "v0=" + 9.ToString("x64", CultureInfo.InvariantCulture)));
        Assert.Equal(SlackReplayVerdict.Replayed, guard.TryAccept(ts, "v0=" + 0.ToString("x64", CultureInfo.InvariantCulture)));
        time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(SlackReplayVerdict.Fresh, guard.TryAccept(time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), "v0=" + 9.ToString("x64", CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Concurrent_copies_of_one_request_pass_exactly_once()
    {
        var guard = new SlackReplayGuard();
        string ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        string sig = "v0=" + new string('d', 64);
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            start.Wait();
            int fresh = 0;
            for (int i = 0; i < 200; i++) if (guard.TryAccept(ts, sig) == SlackReplayVerdict.Fresh) fresh++;
            return fresh;
        })).ToArray();
        start.Set();
        int[] counts = await Task.WhenAll(tasks);
        Assert.Equal(1, counts.Sum());
    }

    [Fact]
    public void The_authenticator_names_each_refusal()
    {
        var time = new ManualTimeProvider();
        var auth = new SlackRequestAuthenticator(Secret, new SlackReplayGuard(time), time);
        var signer = new SlackCallbackSigner(Secret);
        string body = SlackCallbackSigner.SlashCommandBody("ack");
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        long now = time.GetUtcNow().ToUnixTimeSeconds();
        string ts = now.ToString(CultureInfo.InvariantCulture);

        Assert.Equal(SlackRejection.MissingSignature, auth.Authenticate(null, null, bytes).Rejection);
        Assert.Equal(SlackRejection.MissingSignature, auth.Authenticate(ts, "", bytes).Rejection);
        Assert.Equal(SlackRejection.MissingSignature, auth.Authenticate("", signer.Sign(now, body), bytes).Rejection);
        Assert.Equal(SlackRejection.BadSignature, auth.Authenticate(ts, new SlackCallbackSigner("another-secret").Sign(now, body), bytes).Rejection);
        Assert.Equal(SlackRejection.BadSignature, auth.Authenticate(ts, signer.Sign(now, body + "&x=1"), bytes).Rejection);
        Assert.Equal(SlackRejection.BadSignature, auth.Authenticate("yesterday", signer.Sign(now, body), bytes).Rejection);
        long old = now - 360;
        var stale = auth.Authenticate(old.ToString(CultureInfo.InvariantCulture), signer.Sign(old, body), bytes);
        Assert.Equal(SlackRejection.StaleTimestamp, stale.Rejection);
        Assert.Equal("stale_timestamp", stale.ReasonCode);
        Assert.DoesNotContain(Secret, stale.Reason, StringComparison.Ordinal);

        var ok = auth.Authenticate(ts, signer.Sign(now, body), bytes);
        Assert.True(ok.IsValid, ok.Reason);
        var replay = auth.Authenticate(ts, signer.Sign(now, body), bytes);
        Assert.Equal(SlackRejection.Replay, replay.Rejection);
        Assert.Equal("replay", replay.ReasonCode);
    }
}
