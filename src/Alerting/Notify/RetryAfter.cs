using System.Net.Http.Headers;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>Reads HTTP <c>Retry-After</c> (RFC 9110 §10.2.3: delay-seconds or an HTTP date).</summary>
internal static class RetryAfter
{
    /// <summary>The requested wait, or null when the header is absent or unreadable; never negative.</summary>
    public static TimeSpan? From(HttpResponseHeaders headers, DateTimeOffset now)
    {
        var ra = headers.RetryAfter;
        if (ra is null) return null;
        if (ra.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (ra.Date is { } date) return date > now ? date - now : TimeSpan.Zero;
        return null;
    }
}
