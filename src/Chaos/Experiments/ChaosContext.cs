using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>
/// What actions, probes and invariants of one experiment run can use: the platform, the Slack
/// stand-in, an HTTP client, a PromQL client, the clock, the run's directory, a progress log and a
/// bag of state shared between actions and invariants (e.g. an order ledger under a key the
/// provider chooses).
/// </summary>
public sealed partial class ChaosContext
{
    /// <summary>Template names usable in URLs and action arguments as <c>{name}</c>.</summary>
    /// <remarks>
    /// <c>engine_http</c>, <c>prometheus</c>, <c>monitor</c>, <c>monitor2</c>, <c>canary</c>, <c>slack</c>:
    /// base URLs ending in <c>/</c>; <c>engine_tcp</c>: <c>127.0.0.1:PORT</c>; <c>data</c>,
    /// <c>engine_data</c>, <c>logs</c>, <c>run_dir</c>: directories.
    /// </remarks>
    public static readonly IReadOnlySet<string> TemplateNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "engine_http", "engine_tcp", "engine_data", "prometheus", "monitor", "monitor2", "canary", "slack", "data", "logs", "run_dir",
    };

    private readonly Action<string> _log;

    /// <summary>Creates a context (the runner does; tests of providers may too).</summary>
    public ChaosContext(IPlatform platform, FakeSlackServer? slack, HttpClient http, PrometheusApiClient prometheus, TimeProvider time, string runDirectory, Action<string>? log = null)
    {
        Platform = platform ?? throw new ArgumentNullException(nameof(platform));
        Slack = slack;
        Http = http ?? throw new ArgumentNullException(nameof(http));
        Prometheus = prometheus ?? throw new ArgumentNullException(nameof(prometheus));
        Time = time ?? throw new ArgumentNullException(nameof(time));
        RunDirectory = runDirectory ?? throw new ArgumentNullException(nameof(runDirectory));
        _log = log ?? (_ => { });
    }

    /// <summary>The running platform.</summary>
    public IPlatform Platform { get; }

    /// <summary>The Slack stand-in, or null when the experiment runs without it.</summary>
    public FakeSlackServer? Slack { get; }

    /// <summary>HTTP client for probes and actions (no base address).</summary>
    public HttpClient Http { get; }

    /// <summary>PromQL client of the platform's Prometheus.</summary>
    public PrometheusApiClient Prometheus { get; }

    /// <summary>The run's clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The run's report directory (files an action writes belong here).</summary>
    public string RunDirectory { get; }

    /// <summary>When the fault was injected (set by the runner), or null before.</summary>
    public DateTimeOffset? FaultInjectedAt { get; internal set; }

    /// <summary>State shared between actions and invariants, by a key the provider chooses (e.g. <c>orders.ledger</c>).</summary>
    public ConcurrentDictionary<string, object> State { get; } = new(StringComparer.Ordinal);

    /// <summary>Writes a progress line (with the run's elapsed time prefix added by the runner).</summary>
    public void Log(string line) => _log(line);

    /// <summary>The value of template <paramref name="name"/>, or null when the platform has none (e.g. <c>monitor2</c> with one node).</summary>
    public string? TemplateValue(string name)
    {
        var e = Platform.Endpoints;
        return name switch
        {
            "engine_http" => e.EngineHttp.AbsoluteUri,
            "engine_tcp" => e.EngineTcp.ToString(),
            "engine_data" => e.EngineData,
            "prometheus" => e.Prometheus.AbsoluteUri,
            "monitor" => e.Monitors.Count > 0 ? e.Monitors[0].Api.AbsoluteUri : null,
            "monitor2" => e.Monitors.Count > 1 ? e.Monitors[1].Api.AbsoluteUri : null,
            "canary" => e.Canary.AbsoluteUri,
            "slack" => (Slack?.BaseUrl ?? e.SlackApi)?.AbsoluteUri,
            "data" => e.DataDirectory,
            "logs" => e.LogDirectory,
            "run_dir" => RunDirectory,
            _ => null,
        };
    }

    /// <summary>Replaces every <c>{name}</c> of <see cref="TemplateNames"/> in <paramref name="text"/>; a base URL's trailing <c>/</c> is not doubled (<c>{engine_http}/ready</c> works).</summary>
    /// <exception cref="ChaosArgumentException">A template the platform has no value for.</exception>
    public string Expand(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string expanded = TemplatePattern().Replace(text, m =>
        {
            string name = m.Groups[1].Value;
            if (!TemplateNames.Contains(name)) return m.Value;
            string value = TemplateValue(name) ?? throw new ChaosArgumentException($"template {{{name}}}: this platform has no value for it");
            int next = m.Index + m.Length;
            return value.EndsWith('/') && next < text.Length && text[next] == '/' ? value[..^1] : value;
        });
        return expanded;
    }

    [GeneratedRegex(@"\{([a-z][a-z0-9_]*)\}")]
    internal static partial Regex TemplatePattern();

    /// <summary>The bearer token of a monitor node (its token file, trimmed). Never logged.</summary>
    /// <exception cref="IOException">The token file cannot be read.</exception>
    public static async Task<string> ReadMonitorTokenAsync(MonitorNodeEndpoints node, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        return (await File.ReadAllTextAsync(node.TokenFile, cancellationToken).ConfigureAwait(false)).Trim();
    }

    /// <summary>GETs <paramref name="relativePath"/> (e.g. <c>api/v1/outbox?limit=1000</c>) of a monitor node with its bearer token and parses the JSON answer.</summary>
    /// <exception cref="HttpRequestException">Unreachable or a non-2xx answer.</exception>
    /// <exception cref="System.Text.Json.JsonException">The answer is not JSON.</exception>
    public async Task<JsonNode?> GetMonitorJsonAsync(MonitorNodeEndpoints node, string relativePath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(node);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(node.Api, relativePath));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await ReadMonitorTokenAsync(node, cancellationToken).ConfigureAwait(false));
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return JsonNode.Parse(body);
    }

    /// <summary>The engine's admin token (its data directory's <c>engine.json</c> → <c>credentials.yaml</c>). Never logged.</summary>
    /// <exception cref="InvalidOperationException">The engine's endpoints or credentials cannot be read.</exception>
    public string ReadEngineAdminToken()
    {
        string dir = Platform.Endpoints.EngineData;
        string path = EngineEndpoints.TryRead(dir, out var endpoints, out _) ? endpoints!.Credentials : Path.Combine(dir, EngineCredentials.FileName);
        try { return EngineCredentials.Load(path).AdminToken; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Engine.ConfigException)
        {
            throw new InvalidOperationException($"cannot read the engine admin token from {path}: {e.Message}", e);
        }
    }

    /// <summary>Sends an admin request to the engine (<c>/admin/...</c>, bearer admin token); returns the status and the body.</summary>
    /// <exception cref="HttpRequestException">The engine is unreachable.</exception>
    /// <exception cref="InvalidOperationException">The admin token cannot be read.</exception>
    public async Task<(int Status, string Body)> EngineAdminAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, new Uri(Platform.Endpoints.EngineHttp, path.TrimStart('/')));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ReadEngineAdminToken());
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await Http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Seconds after the fault injection of <paramref name="at"/>, or null before the fault.</summary>
    public double? SecondsAfterFault(DateTimeOffset at) =>
        FaultInjectedAt is { } f ? Math.Round((at - f).TotalSeconds, 3) : null;

    internal static string Seconds(double s) => s.ToString("0.0##", CultureInfo.InvariantCulture);
}
