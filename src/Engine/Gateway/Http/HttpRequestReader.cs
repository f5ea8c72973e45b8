using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Primitives;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Engine.Gateway.Http;

/// <summary>
/// Reads and validates request input: bodies, JSON members, path segments and query parameters.
/// Every failure is an <see cref="HttpApiException"/> (400 naming the field, or 413), never a 500.
/// </summary>
internal static class HttpRequestReader
{
    /// <summary>Reads the whole body (Kestrel enforces the size limit while it is read).</summary>
    /// <exception cref="HttpApiException">413 for a body over the limit; 400 for a broken body.</exception>
    public static async Task<byte[]> ReadBodyAsync(HttpContext context, long limit)
    {
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            return buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new HttpApiException(StatusCodes.Status413PayloadTooLarge,
                new ErrorResponse("body_too_large", $"the request body is larger than {limit} bytes"));
        }
        catch (BadHttpRequestException e)
        {
            throw new HttpApiException(e.StatusCode, new ErrorResponse("bad_request", e.Message));
        }
    }

    /// <summary>
    /// Deserializes a JSON object. <paramref name="fields"/> maps each member the type accepts to
    /// a description of its expected value, for the error message of a member of the wrong type.
    /// </summary>
    /// <exception cref="HttpApiException">400: empty body (unless <paramref name="allowEmpty"/>), malformed JSON, unknown, repeated or mistyped member.</exception>
    public static T? Deserialize<T>(byte[] body, JsonTypeInfo<T> typeInfo, IReadOnlyDictionary<string, string> fields, bool allowEmpty = false)
        where T : class
    {
        if (IsBlank(body))
        {
            if (allowEmpty) return null;
            throw new HttpApiException(StatusCodes.Status400BadRequest, new ErrorResponse("malformed_json", "the request body is empty; expected a JSON object"));
        }
        try
        {
            return JsonSerializer.Deserialize(body, typeInfo)
                ?? throw new HttpApiException(StatusCodes.Status400BadRequest, new ErrorResponse("malformed_json", "expected a JSON object, not null"));
        }
        catch (JsonException e)
        {
            string? field = FieldOfPath(e.Path);
            if (field is null)
            {
                throw new HttpApiException(StatusCodes.Status400BadRequest,
                    new ErrorResponse("malformed_json", "the request body is not a valid JSON object: " + FirstSentence(e.Message)));
            }
            if (!fields.TryGetValue(field, out string? expected))
                throw HttpApiException.Field(field, "unknown_field", $"unknown field '{field}' (expected {string.Join(", ", fields.Keys)})");
            if (e.Message.Contains("Duplicate", StringComparison.Ordinal))
                throw HttpApiException.Field(field, "duplicate_field", $"{field} appears more than once");
            throw HttpApiException.Invalid(field, $"{field} must be {expected}");
        }
    }

    /// <summary>The market named by a path segment: a symbol (<c>BTC/USD</c> URL-encoded, <c>BTC-USD</c>, <c>BTC_USD</c>, any case) or a market id.</summary>
    /// <exception cref="HttpApiException">400 unknown_market naming <paramref name="field"/>.</exception>
    public static MarketDefinition ResolveMarket(IReadOnlyList<MarketDefinition> markets, string? text, string field)
    {
        if (string.IsNullOrEmpty(text)) throw HttpApiException.Missing(field);
        string name;
        try { name = Uri.UnescapeDataString(text); }
        catch (UriFormatException) { name = text; }
        return FindMarket(markets, name) ?? throw UnknownMarket(field, name);
    }

    /// <summary>
    /// The market of a JSON member: a symbol string or a market id number. Null when the member is
    /// absent or null and <paramref name="required"/> is false.
    /// </summary>
    /// <exception cref="HttpApiException">400 naming <paramref name="field"/>.</exception>
    public static MarketDefinition? ResolveMarket(IReadOnlyList<MarketDefinition> markets, JsonElement value, string field, bool required)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                if (required) throw HttpApiException.Missing(field);
                return null;
            case JsonValueKind.String:
                string name = value.GetString() ?? "";
                if (name.Length == 0) throw HttpApiException.Missing(field);
                return FindMarket(markets, name) ?? throw UnknownMarket(field, name);
            case JsonValueKind.Number:
                if (value.TryGetUInt16(out ushort id))
                {
                    foreach (var m in markets)
                        if (m.Id == id) return m;
                }
                throw UnknownMarket(field, value.GetRawText());
            default:
                throw HttpApiException.Invalid(field, $"{field} must be a market symbol such as \"BTC/USD\" or a market id");
        }
    }

    /// <summary>Parses decimal text exactly at <paramref name="scale"/> decimals (never through floating point).</summary>
    /// <exception cref="HttpApiException">400 invalid_decimal (malformed or too large) or off_scale_decimal, naming <paramref name="field"/>.</exception>
    public static long ParseDecimal(string text, int scale, string field, MarketDefinition market)
    {
        if (text.Length > 64)
            throw HttpApiException.Field(field, "invalid_decimal", $"{field} '{Truncate(text)}' is not a valid decimal number (too long)");
        if (!FixedPoint.TryParse(text, scale, out long units, out var error))
        {
            if (error == FixedPointError.TooManyDecimals)
            {
                throw HttpApiException.Field(field, "off_scale_decimal",
                    $"{field} '{text}' has more decimals than {market.Symbol} allows ({scale})");
            }
            throw HttpApiException.Field(field, "invalid_decimal", $"{field} '{text}' is not a valid decimal number ({FixedPoint.Describe(error)})");
        }
        return units;
    }

    /// <summary>Checks a client order id: 1 .. 2^40-1.</summary>
    /// <exception cref="HttpApiException">400 naming <paramref name="field"/>.</exception>
    public static ulong CheckClientOrderId(ulong? value, string field)
    {
        if (value is null) throw HttpApiException.Missing(field);
        if (!OrderEntryProtocol.IsValidClOrdId(value.Value)) throw ClientOrderIdOutOfRange(field);
        return value.Value;
    }

    /// <summary>Parses a client order id from a path segment or query parameter.</summary>
    /// <exception cref="HttpApiException">400 naming <paramref name="field"/>.</exception>
    public static ulong ParseClientOrderId(string? text, string field)
    {
        if (string.IsNullOrEmpty(text)) throw HttpApiException.Missing(field);
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value) || !OrderEntryProtocol.IsValidClOrdId(value))
            throw ClientOrderIdOutOfRange(field);
        return value;
    }

    /// <summary>An optional integer query parameter in 1..<paramref name="max"/>.</summary>
    /// <exception cref="HttpApiException">400 naming the parameter.</exception>
    public static int QueryInt(HttpContext context, string name, int defaultValue, int max)
    {
        var values = context.Request.Query[name];
        if (values.Count == 0) return defaultValue;
        if (values.Count > 1) throw HttpApiException.Invalid(name, $"{name} is given more than once");
        if (!int.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > max)
            throw HttpApiException.Invalid(name, $"{name} must be an integer in 1..{max}");
        return n;
    }

    /// <summary>An optional client-order-id-like query parameter (0 when absent).</summary>
    /// <exception cref="HttpApiException">400 naming the parameter.</exception>
    public static ulong QueryClientOrderId(HttpContext context, string name)
    {
        var values = context.Request.Query[name];
        if (values.Count == 0) return 0;
        if (values.Count > 1) throw HttpApiException.Invalid(name, $"{name} is given more than once");
        return ParseClientOrderId(values[0], name);
    }

    private static MarketDefinition? FindMarket(IReadOnlyList<MarketDefinition> markets, string name)
    {
        if (ushort.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out ushort id))
        {
            foreach (var m in markets)
                if (m.Id == id) return m;
            return null;
        }
        foreach (var m in markets)
        {
            if (string.Equals(m.Symbol, name, StringComparison.OrdinalIgnoreCase)) return m;
        }
        // Path-friendly spellings of "BTC/USD": "BTC-USD", "BTC_USD".
        foreach (var m in markets)
        {
            if (name.Length == m.Symbol.Length && SameWithSeparator(m.Symbol, name, '-')) return m;
            if (name.Length == m.Symbol.Length && SameWithSeparator(m.Symbol, name, '_')) return m;
        }
        return null;
    }

    private static bool SameWithSeparator(string symbol, string name, char separator)
    {
        for (int i = 0; i < symbol.Length; i++)
        {
            char s = symbol[i] == '/' ? separator : symbol[i];
            if (char.ToUpperInvariant(s) != char.ToUpperInvariant(name[i])) return false;
        }
        return true;
    }

    private static HttpApiException UnknownMarket(string field, string name) =>
        HttpApiException.Field(field, "unknown_market", $"unknown market '{Truncate(name)}'");

    private static HttpApiException ClientOrderIdOutOfRange(string field) =>
        HttpApiException.Invalid(field, $"{field} must be an integer in 1..{OrderEntryProtocol.MaxClOrdId} (2^40-1)");

    private static bool IsBlank(byte[] body)
    {
        foreach (byte b in body)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    /// <summary>The top-level member of a JSON path such as <c>$.price</c> or <c>$['a b']</c>; null for <c>$</c>.</summary>
    private static string? FieldOfPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return null;
        if (path.StartsWith("$.", StringComparison.Ordinal))
        {
            string rest = path[2..];
            int end = rest.IndexOfAny(['.', '[']);
            return end < 0 ? rest : rest[..end];
        }
        if (path.StartsWith("$['", StringComparison.Ordinal))
        {
            int end = path.IndexOf("']", 3, StringComparison.Ordinal);
            return end < 0 ? null : path[3..end];
        }
        return null;
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
