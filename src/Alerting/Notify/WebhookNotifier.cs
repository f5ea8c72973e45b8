using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using ExchangeHealth.Alerting.Model;
using Polly;
using Polly.Timeout;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>Settings of one webhook receiver (Alertmanager's <c>webhook_config</c>).</summary>
public sealed class WebhookNotifierOptions
{
    /// <summary>Where to POST (Alertmanager's <c>url</c>). May carry a secret (query token): never logged.</summary>
    public required Uri Url { get; init; }

    /// <summary>Alertmanager's <c>max_alerts</c>: at most this many alerts per payload, the rest counted in <c>truncatedAlerts</c>; 0 for all.</summary>
    public int MaxAlerts { get; init; }

    /// <summary>The monitor's external URL written as <c>externalURL</c>, or empty.</summary>
    public string ExternalUrl { get; init; } = "";

    /// <summary>Limit of one POST, from sending to the whole response (default 10 s).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// POSTs Alertmanager's webhook payload version 4 (<see cref="AlertmanagerWebhookPayload"/>) as
/// Alertmanager's webhook notifier does, so anything that accepts Alertmanager webhooks accepts
/// ours. Outcomes, as Alertmanager's webhook notifier decides retries: 2xx delivered; 429 and 5xx
/// retried (honouring <c>Retry-After</c>); timeouts and connection errors retried; any other
/// status (4xx, 3xx not followed) failed.
/// </summary>
public sealed class WebhookNotifier : INotifier
{
    private readonly WebhookNotifierOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _timeout;

    /// <summary>Creates the notifier.</summary>
    /// <param name="options">URL, <c>max_alerts</c>, timeout.</param>
    /// <param name="http">The host's client (its own <see cref="HttpClient.Timeout"/> should be longer than <see cref="WebhookNotifierOptions.RequestTimeout"/>).</param>
    /// <param name="timeProvider">Clock of the request timeout and <c>Retry-After</c> dates; <see cref="TimeProvider.System"/> when null.</param>
    public WebhookNotifier(WebhookNotifierOptions options, HttpClient http, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options.Url);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxAlerts, "options.MaxAlerts");
        _options = options;
        _http = http;
        _time = timeProvider ?? TimeProvider.System;
        _timeout = RequestTimeout.Create(options.RequestTimeout, _time);
    }

    /// <inheritdoc/>
    public async Task<DeliveryResult> DeliverAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        byte[] body = AlertmanagerWebhookPayload.FromNotification(notification, _options.ExternalUrl, _options.MaxAlerts).SerializeToUtf8();
        HttpStatusCode status;
        TimeSpan? retryAfter;
        try
        {
            (status, retryAfter) = await _timeout.ExecuteAsync(async ct =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                request.Headers.UserAgent.ParseAdd("ExchangeHealth-Monitor/1.0");
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
                return (response.StatusCode, RetryAfter.From(response.Headers, _time.GetUtcNow()));
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            return new DeliveryResult.Retry(null, $"webhook timed out after {_options.RequestTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
        catch (HttpRequestException e)
        {
            return new DeliveryResult.Retry(null, $"webhook request failed: {e.HttpRequestError} ({e.Message})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryResult.Retry(null, "webhook request timed out (HttpClient.Timeout)");
        }

        int code = (int)status;
        if (code is >= 200 and < 300) return DeliveryResult.Delivered.Instance;
        string error = $"webhook answered HTTP {code.ToString(CultureInfo.InvariantCulture)}";
        if (code == 429 || code >= 500) return new DeliveryResult.Retry(retryAfter, error);
        return new DeliveryResult.Failed(error);
    }
}
