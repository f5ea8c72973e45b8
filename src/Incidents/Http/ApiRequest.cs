using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Incidents.Http;

/// <summary>A refused request: HTTP status, the field at fault and a sentence for the person.</summary>
internal sealed class ApiRequestException(int status, string field, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Field { get; } = field;
}

/// <summary>
/// A JSON request body of the incidents API, read strictly: at most
/// <see cref="IncidentHttpApi.MaxBodyBytes"/> bytes (else 413), well-formed (else 400 naming the JSON
/// path of the error), an object whose properties are all known to the endpoint (else 400 naming
/// the unknown ones: a typo such as <c>titel</c> must not be silently ignored), without duplicate
/// properties. An empty body reads as <c>{}</c>. Getters refuse values of the wrong type, naming
/// the property.
/// </summary>
internal sealed class ApiRequest : IDisposable
{
    private readonly JsonDocument _document;

    private ApiRequest(JsonDocument document) => _document = document;

    private JsonElement Root => _document.RootElement;

    /// <summary>Reads and checks the body of <paramref name="request"/>.</summary>
    /// <exception cref="ApiRequestException">413 when too big; 400 when malformed, not an object, or with unknown or duplicate properties.</exception>
    public static async Task<ApiRequest> ReadAsync(HttpRequest request, IReadOnlyCollection<string> allowed, CancellationToken ct)
    {
        byte[] body = await ReadBoundedAsync(request, IncidentHttpApi.MaxBodyBytes, ct).ConfigureAwait(false);
        return Parse(body, allowed);
    }

    /// <summary>Parses a body already read (see <see cref="ReadAsync"/>).</summary>
    public static ApiRequest Parse(ReadOnlySpan<byte> body, IReadOnlyCollection<string> allowed)
    {
        if (IsBlank(body)) return new ApiRequest(JsonDocument.Parse("{}"));
        CheckSyntax(body);
        var document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new ApiRequestException(StatusCodes.Status400BadRequest, "$", "the body must be a JSON object");
        }
        var unknown = document.RootElement.EnumerateObject().Select(p => p.Name).Where(n => !allowed.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            document.Dispose();
            string names = string.Join(", ", unknown.Select(n => "'" + n + "'"));
            string expected = allowed.Count == 0 ? "none" : string.Join(", ", allowed);
            throw new ApiRequestException(StatusCodes.Status400BadRequest, string.Join(",", unknown),
                $"unknown propert{(unknown.Count == 1 ? "y" : "ies")} {names} (this endpoint accepts: {expected})");
        }
        return new ApiRequest(document);
    }

    private const int MaxDepth = 16;

    /// <summary>A string property, or null when absent or JSON null.</summary>
    /// <param name="name">The property.</param>
    /// <param name="maxLength">Longest accepted value, in characters.</param>
    /// <param name="multiLine">True to accept line breaks and tabs (notes); other control characters are always refused.</param>
    public string? String(string name, int maxLength, bool multiLine = false)
    {
        if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.String) throw Invalid(name, $"{name} must be a string (got {Kind(value)})");
        string text = value.GetString()!;
        CheckText(name, text, maxLength, multiLine);
        return text;
    }

    /// <summary>A string property that must be present and not blank.</summary>
    public string RequiredString(string name, int maxLength, bool multiLine = false) =>
        String(name, maxLength, multiLine) is { } s && !string.IsNullOrWhiteSpace(s) ? s : throw Invalid(name, $"{name} is required");

    /// <summary>An array of strings, or an empty list when absent or null.</summary>
    public IReadOnlyList<string> Strings(string name, int maxCount, int maxLength)
    {
        if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return [];
        if (value.ValueKind != JsonValueKind.Array) throw Invalid(name, $"{name} must be an array of strings (got {Kind(value)})");
        int count = value.GetArrayLength();
        if (count > maxCount) throw Invalid(name, $"{name} has {count} entries; at most {maxCount}");
        var list = new List<string>(count);
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            string field = $"{name}[{i.ToString(CultureInfo.InvariantCulture)}]";
            if (item.ValueKind != JsonValueKind.String) throw Invalid(field, $"{field} must be a string (got {Kind(item)})");
            string text = item.GetString()!;
            if (string.IsNullOrWhiteSpace(text)) throw Invalid(field, $"{field} is empty");
            CheckText(field, text, maxLength, multiLine: false);
            list.Add(text);
            i++;
        }
        return list;
    }

    /// <summary>A boolean property, or null when absent.</summary>
    public bool? Boolean(string name)
    {
        if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(name, $"{name} must be true or false (got {Kind(value)})"),
        };
    }

    /// <summary>A severity: <c>"SEV2"</c>, <c>"sev2"</c>, <c>"2"</c> or the number <c>2</c> (1 to 4); null when absent.</summary>
    public Model.IncidentSeverity? Severity(string name)
    {
        if (!Root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) && n is >= 1 and <= 4) return (Model.IncidentSeverity)n;
        if (value.ValueKind == JsonValueKind.String && Model.IncidentNames.TryParseSeverity(value.GetString(), out var s)) return s;
        string given = value.ValueKind == JsonValueKind.String ? "'" + Shorten(value.GetString()!) + "'" : value.GetRawText() is { Length: <= 40 } raw ? raw : Kind(value);
        throw Invalid(name, $"{name} must be SEV1, SEV2, SEV3 or SEV4 (or the number 1 to 4); got {given}");
    }

    public void Dispose() => _document.Dispose();

    private static void CheckText(string field, string text, int maxLength, bool multiLine)
    {
        if (text.Length > maxLength)
            throw Invalid(field, $"{field} is {text.Length.ToString(CultureInfo.InvariantCulture)} characters; the limit is {maxLength.ToString(CultureInfo.InvariantCulture)}");
        foreach (char c in text)
        {
            if (!char.IsControl(c)) continue;
            if (multiLine && c is '\n' or '\r' or '\t') continue;
            throw Invalid(field, multiLine
                ? $"{field} contains a control character (U+{((int)c).ToString("X4", CultureInfo.InvariantCulture)}); only line breaks and tabs are accepted"
                : $"{field} must be one line without control characters (found U+{((int)c).ToString("X4", CultureInfo.InvariantCulture)})");
        }
    }

    private static ApiRequestException Invalid(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (byte b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        }
        return true;
    }

    /// <summary>Reads the body, refusing more than <paramref name="limit"/> bytes (declared or sent) with 413.</summary>
    internal static async Task<byte[]> ReadBoundedAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        if (request.ContentLength is long declared && declared > limit) throw TooLarge(limit, declared);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[8192];
        while (true)
        {
            int n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false);
            if (n == 0) break;
            if (buffer.Length + n > limit) throw TooLarge(limit, null);
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private static ApiRequestException TooLarge(int limit, long? declared) => new(StatusCodes.Status413PayloadTooLarge, "body",
        $"the request body is {(declared is { } d ? d.ToString(CultureInfo.InvariantCulture) + " bytes" : "larger than the limit")}; " +
        $"the limit is {limit.ToString(CultureInfo.InvariantCulture)} bytes ({(limit / 1024).ToString(CultureInfo.InvariantCulture)} KiB)");

    /// <summary>
    /// Walks the tokens once to find the first syntax error and the JSON path where it is
    /// (<c>$.markets[1]</c>), which <see cref="JsonDocument.Parse(ReadOnlyMemory{byte}, JsonDocumentOptions)"/>
    /// does not report; also refuses duplicate properties and strings that are not valid UTF-8/UTF-16.
    /// </summary>
    private static void CheckSyntax(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth, CommentHandling = JsonCommentHandling.Disallow });
        var frames = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        BeginValue(frames);
                        frames.Add(new Frame(reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        break;
                    case JsonTokenType.PropertyName:
                        var frame = frames[^1];
                        frame.Name = reader.GetString()!;
                        if (!frame.Names.Add(frame.Name))
                            throw new ApiRequestException(StatusCodes.Status400BadRequest, Path(frames), $"duplicate property '{frame.Name}' at {Path(frames)}");
                        break;
                    case JsonTokenType.String:
                        BeginValue(frames);
                        _ = reader.GetString();
                        break;
                    default:
                        BeginValue(frames);
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            // The reader's message ends with "LineNumber: 0 | BytePositionInLine: 12."; keep it (zero-based, as the reader counts).
            string path = Path(frames);
            throw new ApiRequestException(StatusCodes.Status400BadRequest, path, $"malformed JSON at {path}: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            string path = Path(frames);
            throw new ApiRequestException(StatusCodes.Status400BadRequest, path, $"malformed JSON at {path}: {e.Message}");
        }
    }

    private static void BeginValue(List<Frame> frames)
    {
        if (frames.Count > 0 && frames[^1].IsArray) frames[^1].Index++;
    }

    private static string Path(List<Frame> frames)
    {
        var sb = new StringBuilder("$");
        foreach (var f in frames)
        {
            if (f.IsArray)
            {
                if (f.Index >= 0) sb.Append('[').Append(f.Index.ToString(CultureInfo.InvariantCulture)).Append(']');
            }
            else if (f.Name is not null)
            {
                sb.Append('.').Append(f.Name);
            }
        }
        return sb.ToString();
    }

    private sealed class Frame(bool isArray)
    {
        public bool IsArray { get; } = isArray;

        public int Index { get; set; } = -1;

        public string? Name { get; set; }

        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
    }
}
