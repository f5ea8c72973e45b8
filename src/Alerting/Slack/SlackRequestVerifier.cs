using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>The verdict of <see cref="SlackRequestVerifier"/>.</summary>
/// <param name="IsValid">The request comes from Slack and is fresh.</param>
/// <param name="Reason">Why not, when not valid (safe to log and to answer with 401: it never contains the secret or the expected signature).</param>
public readonly record struct SlackVerificationResult(bool IsValid, string? Reason)
{
    /// <summary>A valid request.</summary>
    public static SlackVerificationResult Valid => new(true, null);

    /// <summary>An invalid request with a reason.</summary>
    public static SlackVerificationResult Invalid(string reason) => new(false, reason);
}

/// <summary>
/// Verifies that an HTTP request (interactivity, slash command) comes from Slack, with Slack's
/// signing-secret scheme <c>v0</c> ("Verifying requests from Slack", docs.slack.dev):
/// <c>X-Slack-Signature</c> must be <c>v0=</c> + hex(HMAC-SHA256(signing secret,
/// <c>"v0:" + X-Slack-Request-Timestamp + ":" + raw body</c>)), compared in fixed time, and the
/// timestamp must be within <see cref="MaxClockSkew"/> (5 min) of now, against replays.
/// </summary>
public sealed class SlackRequestVerifier
{
    /// <summary>Header carrying the Unix time (seconds) the request was signed.</summary>
    public const string TimestampHeader = "X-Slack-Request-Timestamp";

    /// <summary>Header carrying <c>v0=</c> and 64 hex digits.</summary>
    public const string SignatureHeader = "X-Slack-Signature";

    /// <summary>How far the timestamp may be from now (either way).</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    private readonly byte[] _secret;
    private readonly TimeProvider _time;

    /// <summary>Creates a verifier for the app's signing secret (from the environment; never logged).</summary>
    /// <exception cref="ArgumentException">The secret is empty.</exception>
    public SlackRequestVerifier(string signingSecret, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        _secret = Encoding.UTF8.GetBytes(signingSecret);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Verifies a request given its two headers and its raw body bytes (exactly as received).</summary>
    /// <param name="timestamp">Value of <see cref="TimestampHeader"/>, or null when absent.</param>
    /// <param name="signature">Value of <see cref="SignatureHeader"/>, or null when absent.</param>
    /// <param name="rawBody">The body bytes, before any decoding.</param>
    public SlackVerificationResult Verify(string? timestamp, string? signature, ReadOnlySpan<byte> rawBody)
    {
        if (string.IsNullOrEmpty(timestamp)) return SlackVerificationResult.Invalid($"missing {TimestampHeader} header");
        if (string.IsNullOrEmpty(signature)) return SlackVerificationResult.Invalid($"missing {SignatureHeader} header");
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds) || timestamp.Length > 12)
            return SlackVerificationResult.Invalid($"{TimestampHeader} is not a Unix time in seconds");
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        long skew = Math.Abs(now - seconds);
        if (skew > (long)MaxClockSkew.TotalSeconds)
            return SlackVerificationResult.Invalid($"{TimestampHeader} is {skew.ToString(CultureInfo.InvariantCulture)} s from now (more than {((long)MaxClockSkew.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s): stale or replayed");
        if (!signature.StartsWith("v0=", StringComparison.Ordinal))
            return SlackVerificationResult.Invalid($"{SignatureHeader} is not of version v0 (expected 'v0=' and 64 hex digits)");
        byte[] given;
        try
        {
            given = Convert.FromHexString(signature.AsSpan(3));
        }
        catch (FormatException)
        {
            return SlackVerificationResult.Invalid($"{SignatureHeader} is not 'v0=' and 64 hex digits");
        }
        if (given.Length != 32) return SlackVerificationResult.Invalid($"{SignatureHeader} is not 'v0=' and 64 hex digits");

        byte[] expected = Compute(_secret, timestamp, rawBody);
        return CryptographicOperations.FixedTimeEquals(expected, given)
            ? SlackVerificationResult.Valid
            : SlackVerificationResult.Invalid($"{SignatureHeader} does not match the body (wrong signing secret or altered body)");
    }

    /// <summary>Verifies a request whose body is text (encoded as UTF-8, as Slack sends it).</summary>
    public SlackVerificationResult Verify(string? timestamp, string? signature, string rawBody)
    {
        ArgumentNullException.ThrowIfNull(rawBody);
        return Verify(timestamp, signature, Encoding.UTF8.GetBytes(rawBody));
    }

    /// <summary>The <c>X-Slack-Signature</c> value for a request: <c>v0=</c> + 64 lower-case hex digits.</summary>
    public static string Sign(string signingSecret, string timestamp, ReadOnlySpan<byte> rawBody)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        ArgumentException.ThrowIfNullOrEmpty(timestamp);
        return "v0=" + Convert.ToHexStringLower(Compute(Encoding.UTF8.GetBytes(signingSecret), timestamp, rawBody));
    }

    private static byte[] Compute(byte[] secret, string timestamp, ReadOnlySpan<byte> rawBody)
    {
        byte[] prefix = Encoding.UTF8.GetBytes("v0:" + timestamp + ":");
        byte[] baseString = new byte[prefix.Length + rawBody.Length];
        prefix.CopyTo(baseString, 0);
        rawBody.CopyTo(baseString.AsSpan(prefix.Length));
        return HMACSHA256.HashData(secret, baseString);
    }
}
