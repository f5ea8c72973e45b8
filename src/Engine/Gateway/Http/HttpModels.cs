using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ExchangeHealth.Engine.Gateway.Http;

// The JSON shapes of the HTTP API (docs/http-api.md). Names are snake_case through the source-
// generated context below; null members are left out of responses. Requests reject unknown
// members, so a misspelt field is a 400 naming it rather than a silently ignored value.

// ---------------------------------------------------------------- requests

/// <summary>Body of <c>POST /api/v1/orders</c>.</summary>
internal sealed class NewOrderRequest
{
    /// <summary>Symbol (string) or market id (number).</summary>
    public JsonElement Market { get; init; }
    public ulong? ClientOrderId { get; init; }
    public string? Side { get; init; }
    public string? Type { get; init; }
    public string? TimeInForce { get; init; }
    public bool? PostOnly { get; init; }
    public string? Price { get; init; }
    public string? Quantity { get; init; }
}

/// <summary>Body of <c>PATCH /api/v1/orders/{market}/{client_order_id}</c>.</summary>
internal sealed class AmendRequest
{
    public string? Price { get; init; }
    public string? Quantity { get; init; }
}

/// <summary>Body of <c>POST /api/v1/cancel-all</c> (may be empty).</summary>
internal sealed class CancelAllRequest
{
    /// <summary>Symbol, market id, or null/absent for every market.</summary>
    public JsonElement Market { get; init; }
}

/// <summary>Body of <c>POST /admin/markets/{market}/state</c>.</summary>
internal sealed class MarketStateRequest
{
    public string? State { get; init; }
}

/// <summary>Body of <c>POST /admin/faults</c>.</summary>
internal sealed class InjectFaultRequest
{
    public string? Fault { get; init; }
    public double? DurationSeconds { get; init; }
    public double? Value { get; init; }
}

// ---------------------------------------------------------------- responses

/// <summary>Every non-2xx answer (except 404/405 of unknown routes).</summary>
internal sealed record ErrorResponse(string Error, string Message)
{
    /// <summary>The request field at fault (JSON member, path segment or query parameter).</summary>
    public string? Field { get; init; }
    /// <summary>For commands refused before the matcher: <c>overload</c> or <c>internal</c>.</summary>
    public string? RejectReason { get; init; }
}

internal sealed record HealthResponse(string Status)
{
    public string? Error { get; init; }
}

internal sealed record ReadyResponse(bool Ready, long DurableSequence, long QueueDepth, string[] ActiveFaults)
{
    public bool Stopping { get; init; }
}

/// <summary>The answer to a command: its acknowledgement's outcome and every report of the command.</summary>
internal sealed record CommandResponse
{
    public required long Sequence { get; init; }
    public required string Status { get; init; }
    public string? RejectReason { get; init; }
    public ulong? RequestId { get; init; }
    public required ReportJson[] Reports { get; init; }
}

/// <summary>One execution report; members that do not apply to the report type are left out.</summary>
internal sealed record ReportJson
{
    public required string Type { get; init; }
    public required string Command { get; init; }
    public string? Market { get; init; }
    public ushort? MarketId { get; init; }
    public long? OrderId { get; init; }
    public ulong? ClientOrderId { get; init; }
    public string? Side { get; init; }
    public string? Price { get; init; }
    public string? Quantity { get; init; }
    public string? LeavesQuantity { get; init; }
    public long? TradeId { get; init; }
    public long? CounterOrderId { get; init; }
    public string? Liquidity { get; init; }
    public string? RejectReason { get; init; }
    public string? CancelReason { get; init; }
    public string? State { get; init; }
    public long? OrdersCancelled { get; init; }
    public required long Sequence { get; init; }
    public required DateTimeOffset Timestamp { get; init; }
    public required long TimestampNs { get; init; }
}

internal sealed record MarketJson
{
    public required ushort Id { get; init; }
    public required string Symbol { get; init; }
    public required string State { get; init; }
    public required int PriceScale { get; init; }
    public required int QuantityScale { get; init; }
    public required string TickSize { get; init; }
    public required string LotSize { get; init; }
    public required string MinQuantity { get; init; }
    public required string MaxQuantity { get; init; }
    public required string MaxPrice { get; init; }
    public required double PriceCollarPercent { get; init; }
    public required double MarketOrderProtectionPercent { get; init; }
    public string? ReferencePrice { get; init; }
    public string? LastTradePrice { get; init; }
}

internal sealed record MarketsResponse(MarketJson[] Markets);

internal sealed record BookLevelJson(string Price, string Quantity, int Orders);

internal sealed record BookResponse(string Market, string State, long Sequence, BookLevelJson[] Bids, BookLevelJson[] Asks);

internal sealed record TradeJson(long TradeId, string Price, string Quantity, string AggressorSide, long Sequence, DateTimeOffset Timestamp, long TimestampNs);

internal sealed record TradesResponse(string Market, TradeJson[] Trades);

internal sealed record OrderJson(string Market, long OrderId, ulong ClientOrderId, string Side, string Price, string OpenQuantity, bool PostOnly);

internal sealed record FaultJson(string Fault, double Value, DateTimeOffset StartedAt, DateTimeOffset ExpiresAt, double RemainingSeconds);

internal sealed record FaultsResponse(FaultJson[] Faults);

internal sealed record FaultClearedResponse(string Fault, bool Cleared);

internal sealed record FaultsClearedResponse(string[] Cleared);

internal sealed record EventJson(DateTimeOffset Timestamp, string Kind, string Message, IReadOnlyDictionary<string, string> Fields);

internal sealed record EventsResponse(EventJson[] Events);

internal sealed record StateResponse(long Sequence, long DurableSequence, long Trades, string StateHash);

/// <summary>System.Text.Json source generation for every request and response type of the API.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    MaxDepth = 16)]
[JsonSerializable(typeof(NewOrderRequest))]
[JsonSerializable(typeof(AmendRequest))]
[JsonSerializable(typeof(CancelAllRequest))]
[JsonSerializable(typeof(MarketStateRequest))]
[JsonSerializable(typeof(InjectFaultRequest))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ReadyResponse))]
[JsonSerializable(typeof(CommandResponse))]
[JsonSerializable(typeof(MarketsResponse))]
[JsonSerializable(typeof(BookResponse))]
[JsonSerializable(typeof(TradesResponse))]
[JsonSerializable(typeof(OrderJson))]
[JsonSerializable(typeof(FaultJson))]
[JsonSerializable(typeof(FaultsResponse))]
[JsonSerializable(typeof(FaultClearedResponse))]
[JsonSerializable(typeof(FaultsClearedResponse))]
[JsonSerializable(typeof(EventsResponse))]
[JsonSerializable(typeof(StateResponse))]
internal sealed partial class HttpJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the API reads and writes with: the attribute's settings plus relaxed escaping,
    /// so messages keep their quotes and signs (<c>'</c>, <c>&lt;</c>, <c>+</c>) instead of
    /// <c>\u0027</c>. Safe: bodies are served as <c>application/json</c>, never embedded in HTML.
    /// </summary>
    /// <remarks>Created on first use: a static initializer could run before the generated <c>Default</c>'s.</remarks>
    public static HttpJsonContext Api => _api ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static HttpJsonContext? _api;
}
