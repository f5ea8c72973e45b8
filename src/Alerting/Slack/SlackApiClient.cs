using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Alerting.Notify;
using Polly;
using Polly.Timeout;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>How a Web API call ended.</summary>
internal enum SlackCallStatus
{
    /// <summary><c>{"ok":true,...}</c>.</summary>
    Ok,

    /// <summary><c>{"ok":false,"error":...}</c>: Slack processed the call and refused it.</summary>
    SlackError,

    /// <summary>HTTP 429 (or error <c>ratelimited</c>): not processed; wait <c>Retry-After</c>.</summary>
    RateLimited,

    /// <summary>Another HTTP status without a Slack answer (a proxy's 502/503, a 404 base URL).</summary>
    HttpError,

    /// <summary>Sent, but no answer (timeout, connection lost): Slack may or may not have processed it.</summary>
    Unknown,

    /// <summary>Certainly not sent (connection refused, name not resolved).</summary>
    NotSent,
}

/// <summary>The outcome of a Web API call; <see cref="Body"/> is the parsed JSON answer when there is one.</summary>
internal sealed record SlackCallResult(SlackCallStatus Status, string Method, JsonElement Body, string? Error, int HttpStatus, TimeSpan? RetryAfter, string Description)
{
    public bool IsOk => Status == SlackCallStatus.Ok;

    /// <summary>Slack may have processed the call although we got no positive answer.</summary>
    public bool IsAmbiguous => Status == SlackCallStatus.Unknown || (Status == SlackCallStatus.HttpError && HttpStatus >= 500);

    public string? GetString(string name) =>
        Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>
/// Minimal Slack Web API client over <see cref="HttpClient"/>: bearer token in the
/// <c>Authorization</c> header (never in URLs or logs), JSON bodies for write methods, query strings
/// for read methods, a Polly timeout per request.
/// </summary>
internal sealed class SlackApiClient
{
    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly string _token;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;

    public SlackApiClient(HttpClient http, Uri baseUrl, string token, TimeSpan timeout, TimeProvider time)
    {
        _http = http;
        string b = baseUrl.ToString();
        _baseUrl = new Uri(b.EndsWith('/') ? b : b + "/");
        _token = token;
        _timeout = timeout;
        _time = time;
        _pipeline = RequestTimeout.Create(timeout, time);
    }

    /// <summary>POSTs <paramref name="json"/> to <paramref name="method"/> (e.g. <c>chat.postMessage</c>).</summary>
    public Task<SlackCallResult> PostJsonAsync(string method, byte[] json, CancellationToken cancellationToken) =>
        SendAsync(method, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseUrl, method)) { Content = new ByteArrayContent(json) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return request;
        }, cancellationToken);

    /// <summary>GETs <paramref name="method"/> with <paramref name="query"/> (e.g. <c>conversations.history</c>).</summary>
    public Task<SlackCallResult> GetAsync(string method, IEnumerable<KeyValuePair<string, string>> query, CancellationToken cancellationToken)
    {
        var sb = new StringBuilder(method);
        char sep = '?';
        foreach (var (k, v) in query)
        {
            sb.Append(sep).Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
            sep = '&';
        }
        var uri = new Uri(_baseUrl, sb.ToString());
        return SendAsync(method, () => new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken);
    }

    private async Task<SlackCallResult> SendAsync(string method, Func<HttpRequestMessage> build, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async ct =>
            {
                using var request = build();
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
                request.Headers.UserAgent.ParseAdd("ExchangeHealth-Monitor/1.0");
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                int code = (int)response.StatusCode;
                var retryAfter = RetryAfter.From(response.Headers, _time.GetUtcNow());
                string text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                JsonElement body = default;
                bool isJson = false;
                try
                {
                    using var doc = JsonDocument.Parse(text);
                    body = doc.RootElement.Clone();
                    isJson = body.ValueKind == JsonValueKind.Object;
                }
                catch (JsonException)
                {
                }
                string codeText = code.ToString(CultureInfo.InvariantCulture);
                if (code == 429)
                    return new SlackCallResult(SlackCallStatus.RateLimited, method, body, "ratelimited", code, retryAfter, $"{method}: HTTP 429 rate limited");
                if (isJson && body.TryGetProperty("ok", out var ok) && ok.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    if (ok.ValueKind == JsonValueKind.True)
                        return new SlackCallResult(SlackCallStatus.Ok, method, body, null, code, retryAfter, $"{method}: ok");
                    string error = body.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "unknown_error";
                    var status = error == "ratelimited" ? SlackCallStatus.RateLimited : SlackCallStatus.SlackError;
                    return new SlackCallResult(status, method, body, error, code, retryAfter, $"{method}: Slack error '{error}' (HTTP {codeText})");
                }
                return new SlackCallResult(SlackCallStatus.HttpError, method, body, null, code, retryAfter, $"{method}: HTTP {codeText} without a Slack answer");
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            return Failure(SlackCallStatus.Unknown, method, $"{method}: no answer within {_timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s (outcome unknown)");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failure(SlackCallStatus.Unknown, method, $"{method}: request timed out (HttpClient.Timeout; outcome unknown)");
        }
        catch (HttpRequestException e)
        {
            bool notSent = e.HttpRequestError == HttpRequestError.NameResolutionError
                || (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound or SocketError.NetworkUnreachable or SocketError.HostUnreachable });
            return Failure(notSent ? SlackCallStatus.NotSent : SlackCallStatus.Unknown, method,
                $"{method}: {(notSent ? "not sent" : "connection failed, outcome unknown")}: {e.HttpRequestError} ({e.Message})");
        }
        catch (IOException e)
        {
            return Failure(SlackCallStatus.Unknown, method, $"{method}: connection failed, outcome unknown ({e.Message})");
        }
    }

    private static SlackCallResult Failure(SlackCallStatus status, string method, string description) =>
        new(status, method, default, null, 0, null, description);
}
