using System.Text.Encodings.Web;
using System.Text.Json;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Incidents.Store;

/// <summary>Column encodings shared by both back ends: times as Unix microseconds, lists and maps as JSON text.</summary>
internal static class StoreCodec
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Unix microseconds (UTC) of <paramref name="time"/>, rounded down (sub-microsecond ticks are dropped).</summary>
    public static long ToMicros(DateTimeOffset time)
    {
        long ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return Math.DivRem(ticks, 10, out long rest) - (rest < 0 ? 1 : 0);
    }

    /// <summary>The UTC time of <paramref name="micros"/> Unix microseconds.</summary>
    public static DateTimeOffset FromMicros(long micros) => new(DateTimeOffset.UnixEpoch.UtcTicks + (micros * 10), TimeSpan.Zero);

    /// <summary><paramref name="time"/> in UTC, truncated to the microsecond (what the store gives back).</summary>
    public static DateTimeOffset Truncate(DateTimeOffset time) => FromMicros(ToMicros(time));

    /// <summary><see cref="Truncate(DateTimeOffset)"/> of a time that may be absent.</summary>
    public static DateTimeOffset? Truncate(DateTimeOffset? time) => time is { } t ? Truncate(t) : null;

    public static object? Micros(DateTimeOffset? time) => time is { } t ? ToMicros(t) : null;

    /// <summary>A JSON array of strings.</summary>
    public static string ArrayJson(IReadOnlyList<string> items)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartArray();
            foreach (string item in items) w.WriteStringValue(item);
            w.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>A JSON object of strings, names in ordinal order.</summary>
    public static string ObjectJson(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var (name, value) in pairs.OrderBy(p => p.Key, StringComparer.Ordinal)) w.WriteString(name, value);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Reads <see cref="ArrayJson"/>.</summary>
    public static string[] ReadArray(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var items = new string[doc.RootElement.GetArrayLength()];
        int i = 0;
        foreach (var e in doc.RootElement.EnumerateArray()) items[i++] = e.GetString() ?? "";
        return items;
    }

    /// <summary>Reads <see cref="ObjectJson"/>.</summary>
    public static Dictionary<string, string> ReadObject(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject()) map[p.Name] = p.Value.GetString() ?? "";
        return map;
    }

    /// <summary>Reads <see cref="ObjectJson"/> of a label set.</summary>
    public static LabelSet ReadLabels(string json) => LabelSet.From(ReadObject(json));
}
