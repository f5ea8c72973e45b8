using System.Globalization;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>What <see cref="SlackReplayGuard.TryAccept"/> decided.</summary>
public enum SlackReplayVerdict
{
    /// <summary>First time this (timestamp, signature) pair is seen inside the window: go on.</summary>
    Fresh,

    /// <summary>The pair was already accepted inside the window: a replayed request; refuse it (401).</summary>
    Replayed,

    /// <summary>The guard holds <see cref="SlackReplayGuard.Capacity"/> live pairs and cannot remember another: refuse for now (503), never let it through unremembered.</summary>
    Full,
}

/// <summary>
/// Refuses replays of signed Slack requests (slash commands, interactions). Slack's signature
/// (<see cref="SlackRequestVerifier"/>) only proves who signed and when: within the 5-minute
/// timestamp window anybody who captured a request could send it again. The guard remembers every
/// accepted (<c>X-Slack-Request-Timestamp</c>, <c>X-Slack-Signature</c>) pair until its timestamp
/// leaves that window, so a second request with the same pair is refused.
/// </summary>
/// <remarks>
/// <para>
/// Call it only after the signature verified (forged requests must not fill it). The signature's
/// hex digits are compared case-insensitively, as the verifier decodes them, so upper-casing a
/// captured signature is still a replay.
/// </para>
/// <para>
/// Memory is bounded: at most <see cref="Capacity"/> pairs (default 100,000; each lives at most
/// <see cref="Window"/> + the verifier's skew, ~10 min). When full it answers
/// <see cref="SlackReplayVerdict.Full"/> (fail closed) instead of forgetting a live pair. Time comes
/// from the injected <see cref="TimeProvider"/>. Thread-safe; one instance can guard several
/// endpoints (the signatures differ per body, so the endpoints cannot collide by accident).
/// </para>
/// </remarks>
public sealed class SlackReplayGuard
{
    /// <summary>Default <see cref="Capacity"/>.</summary>
    public const int DefaultCapacity = 100_000;

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, long> _expiry = new();

    /// <summary>Creates a guard.</summary>
    /// <param name="time">Clock deciding when a remembered pair may be forgotten; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="window">How far a timestamp may be from now (either way) before the verifier refuses it; default <see cref="SlackRequestVerifier.MaxClockSkew"/> (5 min). A pair is remembered until its timestamp + this.</param>
    /// <param name="capacity">Most pairs remembered at once (1 or more).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="window"/> is not positive or <paramref name="capacity"/> is below 1.</exception>
    public SlackReplayGuard(TimeProvider? time = null, TimeSpan? window = null, int capacity = DefaultCapacity)
    {
        _time = time ?? TimeProvider.System;
        Window = window ?? SlackRequestVerifier.MaxClockSkew;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Window, TimeSpan.Zero, nameof(window));
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    /// <summary>The timestamp window (see the constructor).</summary>
    public TimeSpan Window { get; }

    /// <summary>Most pairs remembered at once.</summary>
    public int Capacity { get; }

    /// <summary>Pairs remembered now (expired ones included until the next call purges them).</summary>
    public int Count
    {
        get { lock (_lock) return _seen.Count; }
    }

    /// <summary>
    /// Remembers the pair and answers <see cref="SlackReplayVerdict.Fresh"/> the first time, <see cref="SlackReplayVerdict.Replayed"/>
    /// when it is already remembered.
    /// </summary>
    /// <param name="timestamp">The <c>X-Slack-Request-Timestamp</c> value (Unix seconds, as verified).</param>
    /// <param name="signature">The <c>X-Slack-Signature</c> value (<c>v0=</c> and 64 hex digits, as verified).</param>
    /// <exception cref="ArgumentException">An argument is empty, or the timestamp is not Unix seconds.</exception>
    public SlackReplayVerdict TryAccept(string timestamp, string signature)
    {
        ArgumentException.ThrowIfNullOrEmpty(timestamp);
        ArgumentException.ThrowIfNullOrEmpty(signature);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) || timestamp.Length > 12)
            throw new ArgumentException("not a Unix time in seconds", nameof(timestamp));
        string key = seconds.ToString(CultureInfo.InvariantCulture) + ":" + signature.ToLowerInvariant();
        // Remembered until the verifier would refuse the timestamp anyway (+1 s for rounding).
        long expiresAt = seconds + (long)Math.Ceiling(Window.TotalSeconds) + 1;
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            Purge(now);
            if (_seen.ContainsKey(key)) return SlackReplayVerdict.Replayed;
            if (_seen.Count >= Capacity) return SlackReplayVerdict.Full;
            _seen.Add(key, expiresAt);
            _expiry.Enqueue(key, expiresAt);
            return SlackReplayVerdict.Fresh;
        }
    }

    private void Purge(long now)
    {
        while (_expiry.TryPeek(out string? key, out long expiresAt) && expiresAt < now)
        {
            _expiry.Dequeue();
            _seen.Remove(key);
        }
    }
}

/// <summary>Why <see cref="SlackRequestAuthenticator"/> refused a request (a bounded set, usable as a metric label).</summary>
public enum SlackRejection
{
    /// <summary>Not refused.</summary>
    None,

    /// <summary>No <c>X-Slack-Signature</c> or no <c>X-Slack-Request-Timestamp</c> header: an unsigned request.</summary>
    MissingSignature,

    /// <summary>Malformed signature or timestamp, or the signature does not match the body (forged, wrong secret, altered body).</summary>
    BadSignature,

    /// <summary>The timestamp is more than 5 minutes from now.</summary>
    StaleTimestamp,

    /// <summary>A (timestamp, signature) pair already accepted inside the window.</summary>
    Replay,

    /// <summary>The replay guard is full (<see cref="SlackReplayVerdict.Full"/>); answer 503, not 401.</summary>
    Overloaded,
}

/// <summary>The verdict of <see cref="SlackRequestAuthenticator.Authenticate(string?, string?, ReadOnlySpan{byte})"/>.</summary>
/// <param name="Rejection">Why refused, or <see cref="SlackRejection.None"/>.</param>
/// <param name="Reason">A sentence for the 401 answer and the log (never the secret or the expected signature); null when accepted.</param>
public readonly record struct SlackRequestVerdict(SlackRejection Rejection, string? Reason)
{
    /// <summary>True when the request is authentic, fresh and not a replay.</summary>
    public bool IsValid => Rejection == SlackRejection.None;

    /// <summary>The metric label value: <c>missing_signature</c>, <c>bad_signature</c>, <c>stale_timestamp</c>, <c>replay</c>, <c>overloaded</c>; "" when accepted.</summary>
    public string ReasonCode => Code(Rejection);

    /// <summary>The label value of a rejection (see <see cref="ReasonCode"/>).</summary>
    public static string Code(SlackRejection rejection) => rejection switch
    {
        SlackRejection.None => "",
        SlackRejection.MissingSignature => "missing_signature",
        SlackRejection.BadSignature => "bad_signature",
        SlackRejection.StaleTimestamp => "stale_timestamp",
        SlackRejection.Replay => "replay",
        SlackRejection.Overloaded => "overloaded",
        _ => throw new ArgumentOutOfRangeException(nameof(rejection)),
    };
}

/// <summary>
/// The whole check of a request from Slack, in order: both headers present, timestamp within 5
/// minutes, signature valid (<see cref="SlackRequestVerifier"/>: HMAC-SHA256 over
/// <c>v0:{timestamp}:{raw body}</c>, constant-time comparison), and not a replay
/// (<see cref="SlackReplayGuard"/>). Each refusal carries a bounded <see cref="SlackRejection"/> for
/// counting. Thread-safe.
/// </summary>
public sealed class SlackRequestAuthenticator
{
    private readonly SlackRequestVerifier _verifier;
    private readonly TimeProvider _time;

    /// <summary>Creates the authenticator.</summary>
    /// <param name="signingSecret">The Slack app's signing secret (never logged).</param>
    /// <param name="replayGuard">Remembers accepted requests; share one per process.</param>
    /// <param name="time">Clock for the timestamp window; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">The secret is empty.</exception>
    public SlackRequestAuthenticator(string signingSecret, SlackReplayGuard replayGuard, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(replayGuard);
        _time = time ?? TimeProvider.System;
        _verifier = new SlackRequestVerifier(signingSecret, _time);
        ReplayGuard = replayGuard;
    }

    /// <summary>The replay guard.</summary>
    public SlackReplayGuard ReplayGuard { get; }

    /// <summary>Checks a request given its two headers and its raw body bytes exactly as received.</summary>
    /// <param name="timestamp">Value of <see cref="SlackRequestVerifier.TimestampHeader"/>, or null/empty when absent.</param>
    /// <param name="signature">Value of <see cref="SlackRequestVerifier.SignatureHeader"/>, or null/empty when absent.</param>
    /// <param name="rawBody">The body bytes before any decoding.</param>
    public SlackRequestVerdict Authenticate(string? timestamp, string? signature, ReadOnlySpan<byte> rawBody)
    {
        if (string.IsNullOrEmpty(signature))
            return new(SlackRejection.MissingSignature, $"missing {SlackRequestVerifier.SignatureHeader} header (unsigned request)");
        if (string.IsNullOrEmpty(timestamp))
            return new(SlackRejection.MissingSignature, $"missing {SlackRequestVerifier.TimestampHeader} header (unsigned request)");
        if (long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) && timestamp.Length <= 12)
        {
            long skew = Math.Abs(_time.GetUtcNow().ToUnixTimeSeconds() - seconds);
            if (skew > (long)SlackRequestVerifier.MaxClockSkew.TotalSeconds)
                return new(SlackRejection.StaleTimestamp,
                    $"{SlackRequestVerifier.TimestampHeader} is {skew.ToString(CultureInfo.InvariantCulture)} s from now (more than {((long)SlackRequestVerifier.MaxClockSkew.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s): stale or replayed");
        }
        var verdict = _verifier.Verify(timestamp, signature, rawBody);
        if (!verdict.IsValid) return new(SlackRejection.BadSignature, verdict.Reason ?? "invalid signature");
        return ReplayGuard.TryAccept(timestamp, signature) switch
        {
            SlackReplayVerdict.Fresh => new(SlackRejection.None, null),
            SlackReplayVerdict.Replayed => new(SlackRejection.Replay, "this signed request was already received (replay)"),
            _ => new(SlackRejection.Overloaded, "too many Slack requests in the last 5 minutes to check for replays; retry later"),
        };
    }
}
