using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>An alert instance of the monitor's <c>GET /api/v1/rules</c>.</summary>
internal sealed record MonitorAlertInstance(string RuleName, IReadOnlyDictionary<string, string> Labels, string State, DateTimeOffset? ActiveAt)
{
    public bool Matches(string alertName, IReadOnlyDictionary<string, string> labels) =>
        (RuleName == alertName || (Labels.TryGetValue("alertname", out string? n) && n == alertName))
        && labels.All(l => Labels.TryGetValue(l.Key, out string? v) && v == l.Value);
}

/// <summary>Evaluates steady-state probes, and reads the monitor's alert instances.</summary>
internal static class ProbeEvaluator
{
    /// <summary>
    /// Every pending or firing alert instance of every monitor node that answers: the rule alerts of
    /// <c>GET /api/v1/rules</c> and the firing alerts in routing of <c>GET /api/v1/alerts</c>; throws when none answers.
    /// </summary>
    public static async Task<IReadOnlyList<MonitorAlertInstance>> MonitorAlertsAsync(ChaosContext ctx, CancellationToken ct)
    {
        var result = new List<MonitorAlertInstance>();
        Exception? last = null;
        int answered = 0;
        foreach (var node in ctx.Platform.Endpoints.Monitors)
        {
            try
            {
                var json = await ctx.GetMonitorJsonAsync(node, "api/v1/rules", ct).ConfigureAwait(false);
                answered++;
                foreach (var group in json?["groups"]?.AsArray() ?? [])
                {
                    foreach (var rule in group?["rules"]?.AsArray() ?? [])
                    {
                        string name = (string?)rule?["name"] ?? "";
                        foreach (var alert in rule?["alerts"]?.AsArray() ?? [])
                        {
                            if (alert is null) continue;
                            var labels = alert["labels"] is JsonObject lo ? Labels(lo) : new Dictionary<string, string>(StringComparer.Ordinal);
                            string state = (string?)alert["state"] ?? "";
                            if (state is "pending" or "firing") result.Add(new MonitorAlertInstance(name, labels, state, ParseTime(alert["activeAt"])));
                        }
                    }
                }
                // Alerts in routing are firing until endsAt; some never come from a rule (the
                // monitor's own PrometheusUnreachable, Alertmanager intake), so they are only here.
                var routed = await ctx.GetMonitorJsonAsync(node, "api/v1/alerts", ct).ConfigureAwait(false);
                var now = ctx.Time.GetUtcNow();
                foreach (var alert in routed?.AsArray() ?? [])
                {
                    if (alert?["labels"] is not JsonObject lo) continue;
                    var labels = Labels(lo);
                    if (!labels.TryGetValue("alertname", out string? name)) continue;
                    if (ParseTime(alert["endsAt"]) is { } endsAt && endsAt.Year > 1 && endsAt <= now) continue;
                    if (result.Any(r => r.State == "firing" && r.Labels.Count == labels.Count && r.Labels.All(l => labels.TryGetValue(l.Key, out string? v) && v == l.Value))) continue;
                    result.Add(new MonitorAlertInstance(name, labels, "firing", ParseTime(alert["startsAt"])));
                }
            }
            catch (Exception e) when (IsTransient(e))
            {
                last = e;
            }
        }
        if (answered == 0) throw new HttpRequestException($"no monitor node answered /api/v1/rules: {last?.Message ?? "no monitor"}", last);
        return result;
    }

    private static Dictionary<string, string> Labels(JsonObject labels)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in labels) result[k] = v?.GetValueKind() == JsonValueKind.String ? (string)v! : v?.ToJsonString() ?? "";
        return result;
    }

    private static DateTimeOffset? ParseTime(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out string? text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) ? parsed : null;

    public static bool IsTransient(Exception e) =>
        e is HttpRequestException or IOException or JsonException or InvalidOperationException or TaskCanceledException or PrometheusApiException or ChaosArgumentException;

    public static async Task<SteadyStateResult> CheckAsync(ChaosContext ctx, SteadyStateHypothesis hypothesis, int attempt, CancellationToken ct)
    {
        var results = new List<ProbeResult>();
        foreach (var probe in hypothesis.Probes)
        {
            ProbeResult r;
            try
            {
                r = await EvaluateAsync(ctx, probe, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e) && !ct.IsCancellationRequested)
            {
                r = new ProbeResult(probe.Name, TypeName(probe.Type), false, $"error: {e.Message}");
            }
            results.Add(r);
        }
        var now = ctx.Time.GetUtcNow();
        return new SteadyStateResult(results.TrueForAll(p => p.Passed), new TimePoint(now, ctx.SecondsAfterFault(now)), attempt, results);
    }

    public static string TypeName(ProbeType t) => t switch { ProbeType.Promql => "promql", ProbeType.Http => "http", _ => "alert" };

    private static string Num(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static async Task<ProbeResult> EvaluateAsync(ChaosContext ctx, Probe probe, CancellationToken ct)
    {
        string type = TypeName(probe.Type);
        switch (probe.Type)
        {
            case ProbeType.Promql:
            {
                var result = await ctx.Prometheus.QueryAsync(probe.Query, timeout: probe.Timeout, cancellationToken: ct).ConfigureAwait(false);
                if (result.Samples.Count == 0) return new ProbeResult(probe.Name, type, false, $"no data (tolerance {probe.Tolerance})");
                var bad = result.Samples.Where(s => !probe.Tolerance!.Accepts(s.Value)).ToList();
                if (bad.Count == 0)
                    return new ProbeResult(probe.Name, type, true, $"value {string.Join(", ", result.Samples.Take(3).Select(s => Num(s.Value)))} within {probe.Tolerance}");
                return new ProbeResult(probe.Name, type, false,
                    $"{bad.Count} of {result.Samples.Count} sample(s) outside {probe.Tolerance}: {string.Join(", ", bad.Take(3).Select(s => $"{s.Labels} = {Num(s.Value)}"))}");
            }
            case ProbeType.Http:
            {
                string url = ctx.Expand(probe.Url);
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return new ProbeResult(probe.Name, type, false, $"'{url}' is not an absolute URL");
                using var request = new HttpRequestMessage(new HttpMethod(probe.Method), uri);
                await BuiltInActions.AuthorizeAsync(ctx, request, probe.Auth, ct).ConfigureAwait(false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(probe.Timeout);
                using var response = await ctx.Http.SendAsync(request, timeout.Token).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                if (status != probe.Status) return new ProbeResult(probe.Name, type, false, $"{probe.Method} {uri.AbsolutePath}: HTTP {status}, expected {probe.Status}");
                if (probe.JsonField is null) return new ProbeResult(probe.Name, type, true, $"{probe.Method} {uri.AbsolutePath}: HTTP {status}");
                string body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                var node = JsonNode.Parse(body);
                bool present = true;
                foreach (string part in probe.JsonField.Split('.'))
                {
                    if (!present || node is null) { present = false; break; }
                    switch (node)
                    {
                        case JsonObject o when o.TryGetPropertyValue(part, out var child): node = child; break;
                        case JsonArray a when int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < a.Count: node = a[i]; break;
                        default: present = false; break;
                    }
                }
                string? actual = !present ? null : node switch
                {
                    null => "null",
                    JsonValue v when v.GetValueKind() == JsonValueKind.String => (string)v!,
                    _ => node.ToJsonString(),
                };
                // "null" matches a JSON null and an absent field alike (the monitor's API omits null properties).
                bool equal = actual == probe.JsonEquals
                    || (probe.JsonEquals == "null" && actual is null or "null")
                    || (double.TryParse(actual, NumberStyles.Float, CultureInfo.InvariantCulture, out double a1)
                        && double.TryParse(probe.JsonEquals, NumberStyles.Float, CultureInfo.InvariantCulture, out double b1) && a1 == b1);
                return new ProbeResult(probe.Name, type, equal, $"{probe.JsonField} = {actual ?? "(absent)"}, expected {probe.JsonEquals}");
            }
            default:
            {
                var instances = (await MonitorAlertsAsync(ctx, ct).ConfigureAwait(false)).Where(a => a.Matches(probe.AlertName, probe.Labels)).ToList();
                string seen = instances.Count == 0 ? "inactive" : string.Join(", ", instances.Select(i => i.State).Distinct());
                bool ok = probe.State switch
                {
                    "inactive" => instances.Count == 0,
                    var s => instances.Exists(i => i.State == s),
                };
                return new ProbeResult(probe.Name, type, ok, $"{probe.AlertName} is {seen}, expected {probe.State}");
            }
        }
    }
}
