using System.Globalization;
using System.Net;
using System.Text.Json;

namespace ExchangeHealth.Monitor.Prometheus;

/// <summary>One sample of an instant vector: a series' labels and its value at the query time.</summary>
/// <param name="Labels">The series labels, <c>__name__</c> included when the expression keeps it.</param>
/// <param name="Value">The value; NaN and ±Inf as Prometheus returns them.</param>
/// <param name="Timestamp">The evaluation timestamp.</param>
public sealed record PromSample(LabelSet Labels, double Value, DateTimeOffset Timestamp);

/// <summary>One series of a range query: labels and (time, value) points in time order.</summary>
public sealed record PromSeries(LabelSet Labels, IReadOnlyList<(DateTimeOffset Time, double Value)> Points);

/// <summary>
/// The result of an instant query. A vector gives one sample per series; a scalar gives one sample
/// with empty labels and <see cref="IsScalar"/> set. Strings and matrices are refused by
/// <see cref="PrometheusApiClient.QueryAsync"/>.
/// </summary>
public sealed record PromQueryResult(IReadOnlyList<PromSample> Samples, bool IsScalar, IReadOnlyList<string> Warnings);

/// <summary>
/// A query that Prometheus refused or could not run, or a Prometheus that could not be reached.
/// </summary>
public sealed class PrometheusApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PrometheusApiException(string errorType, string error, HttpStatusCode? statusCode, Exception? inner = null)
        : base($"Prometheus query failed ({errorType}): {error}", inner)
    {
        ErrorType = errorType;
        Error = error;
        StatusCode = statusCode;
    }

    /// <summary>
    /// Prometheus's <c>errorType</c> (<c>bad_data</c>, <c>execution</c>, <c>timeout</c>,
    /// <c>canceled</c>, <c>internal</c>, <c>unavailable</c>), or ours: <c>unreachable</c> (no
    /// connection or no answer within the timeout) and <c>bad_response</c> (not the API's JSON).
    /// </summary>
    public string ErrorType { get; }

    /// <summary>The error text.</summary>
    public string Error { get; }

    /// <summary>HTTP status when an answer arrived.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>True when the server could not be reached or did not answer in time (the monitor's "Prometheus down" condition).</summary>
    public bool IsUnreachable => ErrorType is "unreachable" or "bad_response" || StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout;
}

/// <summary>
/// Client of the Prometheus HTTP query API (<c>/api/v1/query</c>, <c>/api/v1/query_range</c>),
/// which Prometheus, Thanos, Mimir and VictoriaMetrics all serve. Queries are sent as form posts
/// so long expressions fit. Thread-safe.
/// </summary>
public sealed class PrometheusApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client for <paramref name="baseAddress"/> (e.g. <c>http://127.0.0.1:9090/</c>; a path prefix is kept).</summary>
    /// <param name="baseAddress">Server root.</param>
    /// <param name="defaultTimeout">Per-query timeout when the caller gives none (default 10 s).</param>
    /// <param name="http">An HttpClient to use (not disposed by this client); null for an own one.</param>
    public PrometheusApiClient(Uri baseAddress, TimeSpan? defaultTimeout = null, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        DefaultTimeout = defaultTimeout ?? TimeSpan.FromSeconds(10);
        _ownsHttp = http is null;
        _http = http ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>The server root, ending in '/'.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Timeout of a query when none is given.</summary>
    public TimeSpan DefaultTimeout { get; }

    /// <summary>Runs an instant query at <paramref name="time"/> (server time when null).</summary>
    /// <param name="expr">PromQL expression.</param>
    /// <param name="time">Evaluation time; sent with millisecond precision.</param>
    /// <param name="timeout">Query timeout (sent to Prometheus and enforced locally); <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PrometheusApiException">Refused, failed, unreachable, or a string/matrix result.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<PromQueryResult> QueryAsync(string expr, DateTimeOffset? time = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(expr);
        TimeSpan t = timeout ?? DefaultTimeout;
        var form = new List<KeyValuePair<string, string>> { new("query", expr), new("timeout", FormatSeconds(t)) };
        if (time is { } at) form.Add(new("time", FormatTime(at)));
        using var doc = await PostAsync("api/v1/query", form, t, cancellationToken).ConfigureAwait(false);
        var data = doc.RootElement.GetProperty("data");
        string resultType = data.GetProperty("resultType").GetString() ?? "";
        var result = data.GetProperty("result");
        var warnings = ReadWarnings(doc.RootElement);
        switch (resultType)
        {
            case "vector":
                var samples = new List<PromSample>(result.GetArrayLength());
                foreach (var item in result.EnumerateArray())
                {
                    var (ts, v) = ReadPoint(item.GetProperty("value"));
                    samples.Add(new PromSample(ReadLabels(item.GetProperty("metric")), v, ts));
                }
                return new PromQueryResult(samples, false, warnings);
            case "scalar":
                var (sts, sv) = ReadPoint(result);
                return new PromQueryResult([new PromSample(LabelSet.Empty, sv, sts)], true, warnings);
            default:
                throw new PrometheusApiException("bad_data", $"expression returned a {resultType}; an instant vector or scalar is required", null);
        }
    }

    /// <summary>Runs a range query from <paramref name="start"/> to <paramref name="end"/> every <paramref name="step"/>.</summary>
    /// <exception cref="PrometheusApiException">Refused, failed or unreachable.</exception>
    public async Task<IReadOnlyList<PromSeries>> QueryRangeAsync(string expr, DateTimeOffset start, DateTimeOffset end, TimeSpan step, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(expr);
        if (step <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(step), "step must be positive");
        TimeSpan t = timeout ?? DefaultTimeout;
        var form = new List<KeyValuePair<string, string>>
        {
            new("query", expr), new("start", FormatTime(start)), new("end", FormatTime(end)),
            new("step", FormatSeconds(step)), new("timeout", FormatSeconds(t)),
        };
        using var doc = await PostAsync("api/v1/query_range", form, t, cancellationToken).ConfigureAwait(false);
        var result = doc.RootElement.GetProperty("data").GetProperty("result");
        var series = new List<PromSeries>(result.GetArrayLength());
        foreach (var item in result.EnumerateArray())
        {
            var points = new List<(DateTimeOffset, double)>();
            foreach (var p in item.GetProperty("values").EnumerateArray()) points.Add(ReadPoint(p));
            series.Add(new PromSeries(ReadLabels(item.GetProperty("metric")), points));
        }
        return series;
    }

    private async Task<JsonDocument> PostAsync(string path, List<KeyValuePair<string, string>> form, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Local deadline a little beyond the server-side timeout so Prometheus reports its own timeout first.
        cts.CancelAfter(timeout + TimeSpan.FromMilliseconds(500));
        HttpResponseMessage response;
        try
        {
            using var content = new FormUrlEncodedContent(form);
            response = await _http.PostAsync(new Uri(BaseAddress, path), content, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PrometheusApiException("unreachable", $"no answer from {BaseAddress} within {timeout.TotalSeconds:0.###} s", null);
        }
        catch (HttpRequestException e)
        {
            throw new PrometheusApiException("unreachable", $"{BaseAddress}: {e.Message}", null, e);
        }
        using (response)
        {
            string body;
            try { body = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new PrometheusApiException("unreachable", $"no answer from {BaseAddress} within {timeout.TotalSeconds:0.###} s", response.StatusCode);
            }
            JsonDocument doc;
            try { doc = JsonDocument.Parse(body); }
            catch (JsonException)
            {
                string snippet = body.Length > 200 ? body[..200] + "…" : body;
                throw new PrometheusApiException("bad_response", $"HTTP {(int)response.StatusCode} with a body that is not the query API's JSON: {snippet}", response.StatusCode);
            }
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("status", out var status))
            {
                doc.Dispose();
                throw new PrometheusApiException("bad_response", $"HTTP {(int)response.StatusCode}: JSON without 'status'", response.StatusCode);
            }
            if (status.GetString() != "success")
            {
                string type = root.TryGetProperty("errorType", out var et) ? et.GetString() ?? "unknown" : "unknown";
                string error = root.TryGetProperty("error", out var er) ? er.GetString() ?? "" : "";
                doc.Dispose();
                throw new PrometheusApiException(type, error, response.StatusCode);
            }
            return doc;
        }
    }

    private static IReadOnlyList<string> ReadWarnings(JsonElement root)
    {
        if (!root.TryGetProperty("warnings", out var w) || w.ValueKind != JsonValueKind.Array) return [];
        return [.. w.EnumerateArray().Select(x => x.GetString() ?? "")];
    }

    private static LabelSet ReadLabels(JsonElement metric)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var p in metric.EnumerateObject()) pairs.Add(new(p.Name, p.Value.GetString() ?? ""));
        return LabelSet.From(pairs);
    }

    private static (DateTimeOffset, double) ReadPoint(JsonElement pair)
    {
        double seconds = pair[0].GetDouble();
        string text = pair[1].GetString() ?? "NaN";
        return (DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)), ParseValue(text));
    }

    /// <summary>Parses a sample value as Prometheus writes it (<c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>, decimal or exponent notation).</summary>
    public static double ParseValue(string text) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string FormatTime(DateTimeOffset t) =>
        (t.ToUnixTimeMilliseconds() / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);

    private static string FormatSeconds(TimeSpan t) =>
        // Float seconds: Prometheus parses a float or a whole-unit duration, never "1.5s".
        Math.Max(0.001, t.TotalSeconds).ToString("0.###", CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
