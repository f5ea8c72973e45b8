using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Alerting.Model;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>
/// The JSON form of a <see cref="Notification"/> stored in the outbox's <c>payload</c> column (and
/// shown by the outbox API). Shape:
/// <code>
/// {"receiver":"slack-page","group_key":"{}:{alertname=\"EngineDown\"}","sequence":1,"kind":"new",
///  "group_labels":{"alertname":"EngineDown"},"common_labels":{...},"common_annotations":{...},
///  "alerts":[{"labels":{...},"annotations":{...},"starts_at":"2026-11-21T03:00:00Z","ends_at":null,
///             "generator_url":"http://...","value":0.25}],
///  "firing_hash":"...","resolved_hash":"...","created_at":"2026-11-21T03:00:30Z"}
/// </code>
/// Label sets are JSON objects of strings; times RFC 3339 in UTC with up to 7 fraction digits;
/// <c>kind</c> is the <see cref="NotificationKind"/> in lower case; <c>value</c> is a JSON number,
/// or the string <c>"NaN"</c>, <c>"+Inf"</c> or <c>"-Inf"</c> (as the Prometheus API writes them).
/// </summary>
public static class NotificationJson
{
    /// <summary>Serializes <paramref name="notification"/> to compact UTF-8 JSON text.</summary>
    public static string Serialize(Notification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer, JsonRead.WriterOptions))
        {
            Write(w, notification);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes <paramref name="n"/> as one JSON object.</summary>
    internal static void Write(Utf8JsonWriter w, Notification n)
    {
        w.WriteStartObject();
        w.WriteString("receiver", n.Receiver);
        w.WriteString("group_key", n.GroupKey);
        w.WriteNumber("sequence", n.Sequence);
        w.WriteString("kind", KindName(n.Kind));
        JsonRead.WriteLabels(w, "group_labels", n.GroupLabels);
        JsonRead.WriteLabels(w, "common_labels", n.CommonLabels);
        JsonRead.WriteLabels(w, "common_annotations", n.CommonAnnotations);
        w.WriteStartArray("alerts");
        foreach (var a in n.Alerts)
        {
            w.WriteStartObject();
            JsonRead.WriteLabels(w, "labels", a.Labels);
            JsonRead.WriteLabels(w, "annotations", a.Annotations);
            w.WriteString("starts_at", Rfc3339.Format(a.StartsAt));
            if (a.EndsAt is { } end) w.WriteString("ends_at", Rfc3339.Format(end));
            else w.WriteNull("ends_at");
            w.WriteString("generator_url", a.GeneratorUrl);
            if (double.IsFinite(a.Value)) w.WriteNumber("value", a.Value);
            else w.WriteString("value", double.IsNaN(a.Value) ? "NaN" : a.Value > 0 ? "+Inf" : "-Inf");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteString("firing_hash", n.FiringHash);
        w.WriteString("resolved_hash", n.ResolvedHash);
        w.WriteString("created_at", Rfc3339.Format(n.CreatedAt));
        w.WriteEndObject();
    }

    /// <summary>Parses what <see cref="Serialize"/> wrote.</summary>
    /// <exception cref="PayloadFieldException">Malformed; the exception names the field (e.g. <c>alerts[1].starts_at</c>).</exception>
    public static Notification Deserialize(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var doc = JsonRead.ParseDocument(json);
        return Read(doc.RootElement, "$");
    }

    internal static Notification Read(JsonElement root, string path)
    {
        JsonRead.RequireObject(root, path);
        string kindText = JsonRead.String(root, "kind", path);
        if (!TryParseKind(kindText, out var kind))
            throw new PayloadFieldException(JsonRead.Path(path, "kind"), $"expected new, update, repeat, resolved or escalation, got \"{JsonRead.Clip(kindText)}\"");
        var alertsElement = JsonRead.Array(root, "alerts", path);
        var alerts = new List<Alert>(alertsElement.GetArrayLength());
        int i = 0;
        foreach (var a in alertsElement.EnumerateArray())
        {
            string ap = JsonRead.Path(path, "alerts") + "[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            JsonRead.RequireObject(a, ap);
            DateTimeOffset? endsAt = null;
            if (JsonRead.TryGet(a, "ends_at", out _)) endsAt = JsonRead.Time(a, "ends_at", ap);
            alerts.Add(new Alert(
                JsonRead.Labels(a, "labels", ap),
                JsonRead.Labels(a, "annotations", ap),
                JsonRead.Time(a, "starts_at", ap),
                endsAt,
                JsonRead.OptionalString(a, "generator_url", ap) ?? "",
                ReadValue(a, ap)));
            i++;
        }
        return new Notification(
            JsonRead.String(root, "receiver", path),
            JsonRead.String(root, "group_key", path),
            JsonRead.Int64(root, "sequence", path),
            kind,
            JsonRead.Labels(root, "group_labels", path),
            JsonRead.Labels(root, "common_labels", path),
            JsonRead.Labels(root, "common_annotations", path),
            alerts,
            JsonRead.String(root, "firing_hash", path),
            JsonRead.String(root, "resolved_hash", path),
            JsonRead.Time(root, "created_at", path));
    }

    private static double ReadValue(JsonElement alert, string path)
    {
        if (!JsonRead.TryGet(alert, "value", out var v)) return double.NaN;
        if (v.ValueKind == JsonValueKind.Number) return v.GetDouble();
        if (v.ValueKind == JsonValueKind.String)
        {
            switch (v.GetString())
            {
                case "NaN": return double.NaN;
                case "+Inf": return double.PositiveInfinity;
                case "-Inf": return double.NegativeInfinity;
            }
        }
        throw new PayloadFieldException(JsonRead.Path(path, "value"), $"expected a number, \"NaN\", \"+Inf\" or \"-Inf\", got {JsonRead.Describe(v)}");
    }

    /// <summary>The lower-case name of <paramref name="kind"/> (<c>new</c>, <c>update</c>, ...), as stored in the outbox's <c>kind</c> column.</summary>
    public static string KindName(NotificationKind kind) => kind switch
    {
        NotificationKind.New => "new",
        NotificationKind.Update => "update",
        NotificationKind.Repeat => "repeat",
        NotificationKind.Resolved => "resolved",
        NotificationKind.Escalation => "escalation",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown notification kind"),
    };

    /// <summary>Parses a name written by <see cref="KindName"/>.</summary>
    public static bool TryParseKind(string? name, out NotificationKind kind)
    {
        switch (name)
        {
            case "new": kind = NotificationKind.New; return true;
            case "update": kind = NotificationKind.Update; return true;
            case "repeat": kind = NotificationKind.Repeat; return true;
            case "resolved": kind = NotificationKind.Resolved; return true;
            case "escalation": kind = NotificationKind.Escalation; return true;
            default: kind = default; return false;
        }
    }
}
