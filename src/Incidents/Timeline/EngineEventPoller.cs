using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Timeline;

/// <summary>Where the engine's admin API is and the token it takes.</summary>
/// <param name="BaseUrl">The engine's HTTP address, e.g. <c>http://127.0.0.1:7080/</c>.</param>
/// <param name="AdminToken">The admin bearer token (from the engine's <c>credentials.yaml</c>). Never logged.</param>
public sealed record EngineAdminEndpoint(Uri BaseUrl, string AdminToken)
{
    /// <summary>
    /// A resolver reading a running engine's data directory on every call: <c>engine.json</c> for the
    /// HTTP address and the credentials file it names for the admin token; null while the engine
    /// has not written them (not started yet).
    /// </summary>
    public static Func<CancellationToken, Task<EngineAdminEndpoint?>> FromDataDirectory(string engineDataDirectory) => _ignored =>
    {
        if (!EngineEndpoints.TryRead(engineDataDirectory, out var endpoints, out _)) return Task.FromResult<EngineAdminEndpoint?>(null);
        try
        {
            var credentials = EngineCredentials.Load(endpoints!.Credentials);
            return Task.FromResult<EngineAdminEndpoint?>(new EngineAdminEndpoint(endpoints.Http, credentials.AdminToken));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Engine.ConfigException)
        {
            return Task.FromResult<EngineAdminEndpoint?>(null);
        }
    };
}

/// <summary>
/// Reads the engine's event log (<c>GET /admin/events</c>: fault injections and expiries, journal
/// failures, market state changes, restarts) and turns each event into a global timeline event
/// (source <c>engine</c>, kind <c>engine.</c> + the engine's kind, its own timestamp). Polled; the
/// store de-duplicates, so overlapping polls, restarts and several monitor nodes store each
/// event once.
/// </summary>
public sealed class EngineEventPoller
{
    /// <summary>Most events asked for per poll (the engine keeps its last 1000 in memory).</summary>
    public const int PageSize = 1000;

    private readonly HttpClient _http;
    private readonly Func<CancellationToken, Task<EngineAdminEndpoint?>> _endpoint;
    private DateTimeOffset _lastSeen = DateTimeOffset.MinValue;

    /// <summary>Creates the poller.</summary>
    public EngineEventPoller(HttpClient http, Func<CancellationToken, Task<EngineAdminEndpoint?>> endpoint)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
    }

    /// <summary>Last problem reaching the engine, or null after a successful poll.</summary>
    public string? LastError { get; private set; }

    /// <summary>
    /// One poll: the engine's events not older than the newest seen before (events with the same
    /// timestamp are returned again and de-duplicated by the store). Empty when the engine is not
    /// reachable (<see cref="LastError"/> says why); never throws for that.
    /// </summary>
    public async Task<IReadOnlyList<TimelineEvent>> PollAsync(CancellationToken cancellationToken)
    {
        var endpoint = await _endpoint(cancellationToken).ConfigureAwait(false);
        if (endpoint is null)
        {
            LastError = "the engine has not published its endpoints (engine.json)";
            return [];
        }
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint.BaseUrl, "admin/events?limit=" + PageSize.ToString(CultureInfo.InvariantCulture)));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.AdminToken);
        JsonDocument doc;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LastError = $"GET /admin/events answered {(int)response.StatusCode}";
                return [];
            }
            await using var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            doc = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LastError = $"cannot read the engine's events at {endpoint.BaseUrl}: {e.Message}";
            return [];
        }
        using (doc)
        {
            LastError = null;
            var list = new List<TimelineEvent>();
            if (!doc.RootElement.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array) return list;
            var newest = _lastSeen;
            foreach (var e in events.EnumerateArray())
            {
                var parsed = Parse(e);
                if (parsed is null || parsed.At < _lastSeen) continue;
                if (parsed.At > newest) newest = parsed.At;
                list.Add(parsed);
            }
            _lastSeen = newest;
            return list;
        }
    }

    /// <summary>Turns one engine event (<c>{timestamp, kind, message, fields}</c>) into a global timeline event; null when malformed.</summary>
    internal static TimelineEvent? Parse(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        if (!e.TryGetProperty("timestamp", out var ts) || !ts.TryGetDateTimeOffset(out var at)) return null;
        string kind = e.TryGetProperty("kind", out var k) ? k.GetString() ?? "" : "";
        string message = e.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
        if (kind.Length == 0 || kind.Length > 100) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (e.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in f.EnumerateObject())
            {
                if (fields.Count >= 32) break;
                string value = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() ?? "" : p.Value.GetRawText();
                fields[p.Name] = value.Length > 500 ? value[..500] : value;
            }
        }
        string digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message)))[..16];
        return new TimelineEvent
        {
            At = at.ToUniversalTime(),
            Source = TimelineSources.Engine,
            Actor = "engine",
            Kind = "engine." + kind,
            Text = message.Length > IncidentNames.MaxNoteLength ? message[..(IncidentNames.MaxNoteLength - 1)] + "…" : message,
            DedupKey = $"engine:{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}:{kind}:{digest}",
            Fields = fields,
        };
    }
}
