using System.Globalization;
using System.Text.Json;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>Strict readers over <see cref="JsonElement"/> that name the offending field in <see cref="PayloadFieldException"/>.</summary>
internal static class JsonRead
{
    /// <summary>
    /// Writer settings of our JSON documents: only what JSON requires is escaped (quotes as <c>\"</c>,
    /// non-ASCII kept), so stored payloads and webhook bodies read like Alertmanager's. Not for
    /// embedding in HTML.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static JsonDocument ParseDocument(string json)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new PayloadFieldException("$", $"not valid JSON ({e.Message})", e);
        }
    }

    public static async Task<JsonDocument> ParseDocumentAsync(Stream json, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonDocument.ParseAsync(json, new JsonDocumentOptions { MaxDepth = 64 }, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new PayloadFieldException("$", $"not valid JSON ({e.Message})", e);
        }
    }

    public static string Path(string parent, string name) => parent.Length == 0 || parent == "$" ? name : parent + "." + name;

    public static void RequireObject(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new PayloadFieldException(path, $"expected an object, got {Kind(e)}");
    }

    public static JsonElement Required(JsonElement obj, string name, string parent)
    {
        RequireObject(obj, parent);
        if (!obj.TryGetProperty(name, out var v)) throw new PayloadFieldException(Path(parent, name), "missing");
        return v;
    }

    public static bool TryGet(JsonElement obj, string name, out JsonElement value)
    {
        value = default;
        return obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;
    }

    public static string String(JsonElement obj, string name, string parent)
    {
        var v = Required(obj, name, parent);
        if (v.ValueKind != JsonValueKind.String) throw new PayloadFieldException(Path(parent, name), $"expected a string, got {Kind(v)}");
        return v.GetString()!;
    }

    public static string? OptionalString(JsonElement obj, string name, string parent)
    {
        if (!TryGet(obj, name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw new PayloadFieldException(Path(parent, name), $"expected a string, got {Kind(v)}");
        return v.GetString();
    }

    public static long Int64(JsonElement obj, string name, string parent)
    {
        var v = Required(obj, name, parent);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw new PayloadFieldException(Path(parent, name), $"expected an integer, got {Describe(v)}");
        return n;
    }

    public static DateTimeOffset Time(JsonElement obj, string name, string parent)
    {
        string s = String(obj, name, parent);
        if (!Rfc3339.TryParse(s, out var t)) throw new PayloadFieldException(Path(parent, name), $"expected an RFC 3339 time, got \"{Clip(s)}\"");
        return t;
    }

    public static JsonElement Array(JsonElement obj, string name, string parent)
    {
        var v = Required(obj, name, parent);
        if (v.ValueKind != JsonValueKind.Array) throw new PayloadFieldException(Path(parent, name), $"expected an array, got {Kind(v)}");
        return v;
    }

    /// <summary>A JSON object of string values as a <see cref="LabelSet"/>.</summary>
    public static LabelSet Labels(JsonElement obj, string name, string parent)
    {
        var v = Required(obj, name, parent);
        string path = Path(parent, name);
        if (v.ValueKind != JsonValueKind.Object) throw new PayloadFieldException(path, $"expected an object of strings, got {Kind(v)}");
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String) throw new PayloadFieldException(path + "." + p.Name, $"expected a string, got {Kind(p.Value)}");
            pairs.Add(new(p.Name, p.Value.GetString()!));
        }
        return LabelSet.From(pairs);
    }

    public static void WriteLabels(Utf8JsonWriter w, string name, LabelSet labels)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in labels) w.WriteString(k, v);
        w.WriteEndObject();
    }

    public static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    public static string Describe(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetRawText() : Kind(e);

    public static string Clip(string s) => s.Length <= 64 ? s : s[..64] + "...";

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
