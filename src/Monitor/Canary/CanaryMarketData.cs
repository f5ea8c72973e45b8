using System.Text.Json;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Primitives;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>A market's live state as the engine's HTTP API reports it.</summary>
/// <param name="ReferencePrice">The collar's current reference in price units (0: none).</param>
/// <param name="State">The market state's name (<c>online</c>, <c>halted</c>, ...).</param>
internal readonly record struct LiveMarket(long ReferencePrice, string State);

/// <summary>
/// Reads <c>GET /api/v1/markets</c> (docs/http-api.md) with the canary's API key: each market's
/// live collar reference price, so the probe price stays inside the collar after the market moved.
/// </summary>
internal static class CanaryMarketData
{
    /// <summary>Fetches the live state of <paramref name="markets"/> (markets the engine does not list are left out).</summary>
    /// <exception cref="HttpRequestException">The request failed or the answer was not 200.</exception>
    /// <exception cref="JsonException">The answer is not the documented JSON.</exception>
    /// <exception cref="OperationCanceledException">Cancelled or timed out.</exception>
    public static async Task<Dictionary<ushort, LiveMarket>> FetchAsync(HttpClient http, Uri baseAddress, string apiKey,
        IReadOnlyList<MarketDefinition> markets, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, "api/v1/markets"));
        request.Headers.Add("X-API-Key", apiKey);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET /api/v1/markets answered {(int)response.StatusCode}", null, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var doc = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
        return Parse(doc.RootElement, markets);
    }

    /// <summary>Parses the answer's JSON (<c>{"markets":[{"id":1,"state":"online","reference_price":"60000",...}]}</c>).</summary>
    /// <exception cref="JsonException">A member is missing or of the wrong type, or a price is not a decimal at the market's scale.</exception>
    public static Dictionary<ushort, LiveMarket> Parse(JsonElement root, IReadOnlyList<MarketDefinition> markets)
    {
        var result = new Dictionary<ushort, LiveMarket>();
        try
        {
            foreach (var m in root.GetProperty("markets").EnumerateArray())
            {
                ushort id = m.GetProperty("id").GetUInt16();
                MarketDefinition? definition = null;
                foreach (var d in markets)
                    if (d.Id == id) definition = d;
                if (definition is null) continue;
                long reference = 0;
                if (m.TryGetProperty("reference_price", out var r) && r.ValueKind == JsonValueKind.String
                    && !FixedPoint.TryParse(r.GetString(), definition.PriceScale, out reference, out _))
                    throw new JsonException($"market {id}: reference_price '{r.GetString()}' is not a price at scale {definition.PriceScale}");
                result[id] = new LiveMarket(reference, m.GetProperty("state").GetString() ?? "");
            }
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new JsonException($"not a markets answer: {e.Message}", e);
        }
        return result;
    }
}
