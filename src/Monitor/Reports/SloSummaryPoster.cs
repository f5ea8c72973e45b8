using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>
/// Posts an SLO report summary to a chat channel. The CLI uses <see cref="SlackSummaryPoster"/>;
/// the monitor can plug its own Slack Web API client (with its pacing and retries) instead.
/// </summary>
public interface ISloSummaryPoster
{
    /// <summary>Posts <paramref name="text"/> (Slack mrkdwn) to <paramref name="channel"/>.</summary>
    /// <param name="channel">Channel id, e.g. <c>C0123ABCD</c>.</param>
    /// <param name="text">The summary.</param>
    /// <param name="cancellationToken">Cancels the post.</param>
    /// <exception cref="SloSummaryPostException">The post was refused or failed.</exception>
    Task PostAsync(string channel, string text, CancellationToken cancellationToken);
}

/// <summary>A summary could not be posted.</summary>
public sealed class SloSummaryPostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SloSummaryPostException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// Minimal Slack Web API poster: one <c>chat.postMessage</c> (JSON body, bot token as bearer in the
/// <c>Authorization</c> header, never in a URL or a message). No retry: a failed weekly summary is
/// reported to the caller, the report files exist anyway.
/// </summary>
public sealed class SlackSummaryPoster : ISloSummaryPoster
{
    /// <summary>Slack's Web API root.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://slack.com/api/");

    private readonly HttpClient _http;
    private readonly string _token;
    private readonly Uri _baseUrl;

    /// <summary>Creates the poster.</summary>
    /// <param name="http">The HTTP client (not disposed here); its timeout applies.</param>
    /// <param name="token">Bot token (<c>xoxb-...</c>, scope <c>chat:write</c>).</param>
    /// <param name="baseUrl">Web API root; null for <see cref="DefaultBaseUrl"/>.</param>
    public SlackSummaryPoster(HttpClient http, string token, Uri? baseUrl = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrEmpty(token);
        _http = http;
        _token = token;
        string b = (baseUrl ?? DefaultBaseUrl).ToString();
        _baseUrl = new Uri(b.EndsWith('/') ? b : b + "/");
    }

    /// <inheritdoc/>
    public async Task PostAsync(string channel, string text, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(text);
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["channel"] = channel, ["text"] = text, ["mrkdwn"] = true, ["unfurl_links"] = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_baseUrl, "chat.postMessage")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new SloSummaryPostException($"Slack chat.postMessage to {channel}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SloSummaryPostException($"Slack chat.postMessage to {channel}: no answer in time", e);
        }
        using (response)
        {
            string answer = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            string? error = null;
            try
            {
                using var doc = JsonDocument.Parse(answer);
                if (doc.RootElement.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True) return;
                error = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() : null;
            }
            catch (JsonException)
            {
                // not Slack's JSON: report the HTTP status
            }
            var sb = new StringBuilder($"Slack chat.postMessage to {channel} failed: HTTP {(int)response.StatusCode}");
            if (error is not null) sb.Append(", error ").Append(error);
            throw new SloSummaryPostException(sb.ToString());
        }
    }
}
