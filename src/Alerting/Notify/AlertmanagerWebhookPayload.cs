using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>One alert of an <see cref="AlertmanagerWebhookPayload"/> (Alertmanager's <c>template.Alert</c>).</summary>
/// <param name="Status">Firing or resolved at the time of the notification.</param>
/// <param name="Labels">The alert's labels (its identity).</param>
/// <param name="Annotations">The alert's annotations.</param>
/// <param name="StartsAt">When it started firing.</param>
/// <param name="EndsAt">When it resolved; null for Go's zero time <c>0001-01-01T00:00:00Z</c>, which Alertmanager sends for firing alerts.</param>
/// <param name="GeneratorUrl">Link to the expression that produced it, or empty.</param>
/// <param name="Fingerprint">Alertmanager's fingerprint of the labels (16 hex digits), as received.</param>
public sealed record AlertmanagerWebhookAlert(
    AlertStatus Status,
    LabelSet Labels,
    LabelSet Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    string GeneratorUrl,
    string Fingerprint)
{
    /// <summary>
    /// This alert in the routing model: labels, annotations, start and generator URL as they are;
    /// <see cref="Alert.EndsAt"/> is <see cref="EndsAt"/> for a resolved alert and null for a firing
    /// one (Alertmanager's intake model: no end while firing).
    /// </summary>
    public Alert ToAlert() => new(Labels, Annotations, StartsAt, Status == AlertStatus.Resolved ? EndsAt : null, GeneratorUrl);
}

/// <summary>
/// Alertmanager's webhook payload, version 4 (<c>webhook.Message</c>): what Alertmanager POSTs to a
/// <c>webhook_configs</c> URL, and what our <see cref="WebhookNotifier"/> POSTs, so either side can be
/// swapped for the real thing. JSON shape (field names exactly as Alertmanager writes them):
/// <code>
/// {"receiver":"...","status":"firing|resolved",
///  "alerts":[{"status":"firing|resolved","labels":{...},"annotations":{...},
///             "startsAt":"RFC 3339","endsAt":"RFC 3339 (0001-01-01T00:00:00Z while firing)",
///             "generatorURL":"...","fingerprint":"16 hex digits"}],
///  "groupLabels":{...},"commonLabels":{...},"commonAnnotations":{...},"externalURL":"...",
///  "version":"4","groupKey":"...","truncatedAlerts":0}
/// </code>
/// </summary>
/// <param name="Version">Always <c>"4"</c>.</param>
/// <param name="GroupKey">The aggregation group's key.</param>
/// <param name="TruncatedAlerts">How many alerts were left out because of <c>max_alerts</c>.</param>
/// <param name="Status">Firing when any alert of the group fires, else resolved.</param>
/// <param name="Receiver">The receiver's name.</param>
/// <param name="GroupLabels">The group-by labels.</param>
/// <param name="CommonLabels">Labels shared by all alerts.</param>
/// <param name="CommonAnnotations">Annotations shared by all alerts.</param>
/// <param name="ExternalUrl">Link back to the sender's UI (Alertmanager's <c>--web.external-url</c>), or empty.</param>
/// <param name="Alerts">The alerts (at most <c>max_alerts</c> when that is set).</param>
public sealed record AlertmanagerWebhookPayload(
    string Version,
    string GroupKey,
    int TruncatedAlerts,
    AlertStatus Status,
    string Receiver,
    LabelSet GroupLabels,
    LabelSet CommonLabels,
    LabelSet CommonAnnotations,
    string ExternalUrl,
    IReadOnlyList<AlertmanagerWebhookAlert> Alerts)
{
    /// <summary>The only version this model reads and writes.</summary>
    public const string CurrentVersion = "4";

    /// <summary>
    /// The payload for <paramref name="notification"/>: status of each alert at the notification's
    /// <see cref="Notification.CreatedAt"/>, firing alerts with <c>endsAt</c> set to Go's zero time,
    /// and (as Alertmanager's webhook notifier) only the first <paramref name="maxAlerts"/> alerts when
    /// <paramref name="maxAlerts"/> is positive, the rest counted in <c>truncatedAlerts</c>; the
    /// payload's status, common labels and common annotations are then those of the alerts sent.
    /// </summary>
    /// <param name="notification">The notification.</param>
    /// <param name="externalUrl">The monitor's external URL, or empty.</param>
    /// <param name="maxAlerts">Alertmanager's <c>max_alerts</c>: 0 for all.</param>
    public static AlertmanagerWebhookPayload FromNotification(Notification notification, string externalUrl = "", int maxAlerts = 0)
    {
        ArgumentNullException.ThrowIfNull(notification);
        ArgumentOutOfRangeException.ThrowIfNegative(maxAlerts);
        var now = notification.CreatedAt;
        var alerts = new List<AlertmanagerWebhookAlert>(notification.Alerts.Count);
        foreach (var a in notification.Alerts)
        {
            var status = a.StatusAt(now);
            alerts.Add(new AlertmanagerWebhookAlert(status, a.Labels, a.Annotations, a.StartsAt,
                status == AlertStatus.Resolved ? a.EndsAt : null, a.GeneratorUrl, a.Fingerprint));
        }
        if (maxAlerts == 0 || alerts.Count <= maxAlerts)
        {
            return new AlertmanagerWebhookPayload(CurrentVersion, notification.GroupKey, 0, notification.Status, notification.Receiver,
                notification.GroupLabels, notification.CommonLabels, notification.CommonAnnotations, externalUrl ?? "", alerts);
        }
        // As Alertmanager's webhook notifier: truncate first, then status and common labels and
        // annotations are those of the alerts that are sent.
        int truncated = alerts.Count - maxAlerts;
        alerts.RemoveRange(maxAlerts, truncated);
        var sentStatus = alerts.Any(a => a.Status == AlertStatus.Firing) ? AlertStatus.Firing : AlertStatus.Resolved;
        return new AlertmanagerWebhookPayload(CurrentVersion, notification.GroupKey, truncated, sentStatus, notification.Receiver,
            notification.GroupLabels, Common(alerts.Select(a => a.Labels)), Common(alerts.Select(a => a.Annotations)), externalUrl ?? "", alerts);
    }

    /// <summary>The pairs every set has (Alertmanager's <c>commonLabels</c>).</summary>
    private static LabelSet Common(IEnumerable<LabelSet> sets)
    {
        var list = sets.ToList();
        if (list.Count == 0) return LabelSet.Empty;
        return LabelSet.From(list[0].Where(p => list.All(s => s.TryGetValue(p.Key, out string v) && v == p.Value)));
    }

    /// <summary>The alerts in the routing model (<see cref="AlertmanagerWebhookAlert.ToAlert"/>), for the Alertmanager intake.</summary>
    public IReadOnlyList<Alert> ToAlerts() => [.. Alerts.Select(a => a.ToAlert())];

    /// <summary>Compact UTF-8 JSON in Alertmanager's field order; times in UTC RFC 3339.</summary>
    public byte[] SerializeToUtf8()
    {
        var buffer = new ArrayBufferWriter<byte>(2048);
        using (var w = new Utf8JsonWriter(buffer, JsonRead.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("receiver", Receiver);
            w.WriteString("status", StatusName(Status));
            w.WriteStartArray("alerts");
            foreach (var a in Alerts)
            {
                w.WriteStartObject();
                w.WriteString("status", StatusName(a.Status));
                JsonRead.WriteLabels(w, "labels", a.Labels);
                JsonRead.WriteLabels(w, "annotations", a.Annotations);
                w.WriteString("startsAt", Rfc3339.Format(a.StartsAt));
                w.WriteString("endsAt", Rfc3339.Format(a.EndsAt ?? Rfc3339.GoZero));
                w.WriteString("generatorURL", a.GeneratorUrl);
                w.WriteString("fingerprint", a.Fingerprint);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            JsonRead.WriteLabels(w, "groupLabels", GroupLabels);
            JsonRead.WriteLabels(w, "commonLabels", CommonLabels);
            JsonRead.WriteLabels(w, "commonAnnotations", CommonAnnotations);
            w.WriteString("externalURL", ExternalUrl);
            w.WriteString("version", Version);
            w.WriteString("groupKey", GroupKey);
            w.WriteNumber("truncatedAlerts", TruncatedAlerts);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The JSON text of <see cref="SerializeToUtf8"/>.</summary>
    public string Serialize() => Encoding.UTF8.GetString(SerializeToUtf8());

    /// <summary>
    /// Parses a version 4 payload strictly: every field of the shape above must be present with
    /// its type (label and annotation values strings, times RFC 3339, <c>version</c> <c>"4"</c>,
    /// statuses <c>firing</c>/<c>resolved</c>, <c>truncatedAlerts</c> a non-negative integer).
    /// Fields not in the shape are ignored (later Alertmanager versions may add some).
    /// </summary>
    /// <exception cref="PayloadFieldException">Malformed; <see cref="PayloadFieldException.Field"/> names the field, e.g. <c>alerts[0].startsAt</c>.</exception>
    public static AlertmanagerWebhookPayload Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var doc = JsonRead.ParseDocument(json);
        return Read(doc.RootElement);
    }

    /// <summary>Parses a payload from <paramref name="utf8Json"/>, reading synchronously (use <see cref="ParseAsync"/> on an ASP.NET Core request body).</summary>
    /// <exception cref="PayloadFieldException">Malformed; names the field.</exception>
    public static AlertmanagerWebhookPayload Parse(Stream utf8Json)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new PayloadFieldException("$", $"not valid JSON ({e.Message})", e);
        }
        using (doc) return Read(doc.RootElement);
    }

    /// <summary>Parses a payload from <paramref name="utf8Json"/> asynchronously (e.g. <c>HttpRequest.Body</c>).</summary>
    /// <exception cref="PayloadFieldException">Malformed; names the field.</exception>
    public static async Task<AlertmanagerWebhookPayload> ParseAsync(Stream utf8Json, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        using var doc = await JsonRead.ParseDocumentAsync(utf8Json, cancellationToken).ConfigureAwait(false);
        return Read(doc.RootElement);
    }

    private static AlertmanagerWebhookPayload Read(JsonElement root)
    {
        const string P = "$";
        JsonRead.RequireObject(root, P);
        string version = JsonRead.String(root, "version", P);
        if (version != CurrentVersion) throw new PayloadFieldException("version", $"expected \"4\", got \"{JsonRead.Clip(version)}\"");
        long truncated = JsonRead.Int64(root, "truncatedAlerts", P);
        if (truncated is < 0 or > int.MaxValue) throw new PayloadFieldException("truncatedAlerts", $"expected a non-negative integer, got {truncated.ToString(CultureInfo.InvariantCulture)}");
        var status = ReadStatus(root, "status", P);
        var alertsElement = JsonRead.Array(root, "alerts", P);
        var alerts = new List<AlertmanagerWebhookAlert>(alertsElement.GetArrayLength());
        int i = 0;
        foreach (var a in alertsElement.EnumerateArray())
        {
            string ap = "alerts[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            JsonRead.RequireObject(a, ap);
            var endsAt = JsonRead.Time(a, "endsAt", ap);
            alerts.Add(new AlertmanagerWebhookAlert(
                ReadStatus(a, "status", ap),
                JsonRead.Labels(a, "labels", ap),
                JsonRead.Labels(a, "annotations", ap),
                JsonRead.Time(a, "startsAt", ap),
                endsAt == Rfc3339.GoZero ? null : endsAt,
                JsonRead.String(a, "generatorURL", ap),
                JsonRead.String(a, "fingerprint", ap)));
            i++;
        }
        return new AlertmanagerWebhookPayload(
            version,
            JsonRead.String(root, "groupKey", P),
            (int)truncated,
            status,
            JsonRead.String(root, "receiver", P),
            JsonRead.Labels(root, "groupLabels", P),
            JsonRead.Labels(root, "commonLabels", P),
            JsonRead.Labels(root, "commonAnnotations", P),
            JsonRead.String(root, "externalURL", P),
            alerts);
    }

    private static AlertStatus ReadStatus(JsonElement obj, string name, string parent)
    {
        string s = JsonRead.String(obj, name, parent);
        return s switch
        {
            "firing" => AlertStatus.Firing,
            "resolved" => AlertStatus.Resolved,
            _ => throw new PayloadFieldException(JsonRead.Path(parent, name), $"expected \"firing\" or \"resolved\", got \"{JsonRead.Clip(s)}\""),
        };
    }

    private static string StatusName(AlertStatus status) => status == AlertStatus.Firing ? "firing" : "resolved";
}
