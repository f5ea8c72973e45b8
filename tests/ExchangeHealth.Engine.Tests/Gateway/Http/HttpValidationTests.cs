using System.Net;
using System.Text;
using static ExchangeHealth.Engine.Tests.Gateway.Http.HttpApiHarness;

namespace ExchangeHealth.Engine.Tests.Gateway.Http;

/// <summary>Bad input: every field error is a 400 naming the field, auth failures are 401/403 and counted, big bodies 413.</summary>
public sealed class HttpValidationTests : IAsyncLifetime
{
    private HttpApiHarness _h = null!;

    public async Task InitializeAsync() => _h = await StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private const string Valid = "\"market\":\"BTC/USD\",\"client_order_id\":1,\"side\":\"buy\",\"type\":\"limit\",\"price\":\"60000\",\"quantity\":\"0.01\"";

    public static TheoryData<string, string, string> OrderFieldErrors => new()
    {
        { """{"client_order_id":1,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "market", "missing_field" },
        { """{"market":"XYZ/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "market", "unknown_market" },
        { """{"market":99,"client_order_id":1,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "market", "unknown_market" },
        { """{"market":true,"client_order_id":1,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "market", "invalid_field" },
        { """{"market":"BTC/USD","side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "client_order_id", "missing_field" },
        { """{"market":"BTC/USD","client_order_id":0,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "client_order_id", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1099511627776,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "client_order_id", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":-5,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "client_order_id", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1.5,"side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "client_order_id", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":"7","side":"buy","type":"limit","price":"60000","quantity":"0.01"}""", "client_order_id", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"type":"limit","price":"60000","quantity":"0.01"}""", "side", "missing_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"hold","type":"limit","price":"60000","quantity":"0.01"}""", "side", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","price":"60000","quantity":"0.01"}""", "type", "missing_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"stop","price":"60000","quantity":"0.01"}""", "type", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","time_in_force":"day","price":"60000","quantity":"0.01"}""", "time_in_force", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","post_only":"yes","price":"60000","quantity":"0.01"}""", "post_only", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","quantity":"0.01"}""", "price", "missing_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"abc","quantity":"0.01"}""", "price", "invalid_decimal" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"","quantity":"0.01"}""", "price", "invalid_decimal" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000.000000001","quantity":"0.01"}""", "price", "off_scale_decimal" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":60000,"quantity":"0.01"}""", "price", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"market","price":"60000","quantity":"0.01"}""", "price", "invalid_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000"}""", "quantity", "missing_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000","quantity":"99999999999999999999"}""", "quantity", "invalid_decimal" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000","quantity":"0.000000001"}""", "quantity", "off_scale_decimal" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000","qty":"0.01"}""", "qty", "unknown_field" },
        { """{"market":"BTC/USD","client_order_id":1,"side":"buy","type":"limit","price":"60000","price":"60001","quantity":"0.01"}""", "price", "duplicate_field" },
    };

    [Theory]
    [MemberData(nameof(OrderFieldErrors))]
    public async Task PlaceOrder_BadField_Answers400NamingTheField(string body, string field, string error)
    {
        var a = await _h.SendAsync(HttpMethod.Post, "/api/v1/orders", body);

        Assert.Equal(HttpStatusCode.BadRequest, a.Status);
        Assert.Equal(field, a.Str("field"));
        Assert.Equal(error, a.Str("error"));
        Assert.False(string.IsNullOrWhiteSpace(a.Str("message")));
        Assert.Equal(0, _h.Engine.DurableSequence.Value); // nothing reached the engine
    }

    public static TheoryData<string, string, string?, string> RequestFieldErrors => new()
    {
        { "PATCH", "/api/v1/orders/BTC-USD/1", "{}", "price" },
        { "PATCH", "/api/v1/orders/BTC-USD/1", """{"price":"1.123456789"}""", "price" },
        { "PATCH", "/api/v1/orders/BTC-USD/1", """{"quantity":"x"}""", "quantity" },
        { "PATCH", "/api/v1/orders/BTC-USD/0", """{"quantity":"1"}""", "client_order_id" },
        { "DELETE", "/api/v1/orders/BTC-USD/1099511627776", null, "client_order_id" },
        { "DELETE", "/api/v1/orders/BTC-USD/abc", null, "client_order_id" },
        { "DELETE", "/api/v1/orders/NOPE/1", null, "market" },
        { "DELETE", "/api/v1/orders/BTC-USD/1?request_id=0", null, "request_id" },
        { "POST", "/api/v1/cancel-all", """{"market":"NOPE"}""", "market" },
        { "POST", "/api/v1/cancel-all", """{"markets":"BTC/USD"}""", "markets" },
        { "GET", "/api/v1/book/BTC-USD?depth=0", null, "depth" },
        { "GET", "/api/v1/book/BTC-USD?depth=1001", null, "depth" },
        { "GET", "/api/v1/book/DOGE-USD", null, "market" },
        { "GET", "/api/v1/trades/BTC-USD?limit=abc", null, "limit" },
        { "GET", "/api/v1/trades/BTC-USD?limit=5&limit=6", null, "limit" },
        { "GET", "/api/v1/orders/BTC-USD/-1", null, "client_order_id" },
    };

    [Theory]
    [MemberData(nameof(RequestFieldErrors))]
    public async Task TradingRequest_BadFieldOrParameter_Answers400NamingIt(string method, string path, string? body, string field)
    {
        var a = await _h.SendAsync(new HttpMethod(method), path, body);

        Assert.Equal(HttpStatusCode.BadRequest, a.Status);
        Assert.Equal(field, a.Str("field"));
    }

    public static TheoryData<string, string, string?, string> AdminFieldErrors => new()
    {
        { "POST", "/admin/faults", """{"duration_seconds":30}""", "fault" },
        { "POST", "/admin/faults", """{"fault":"meteor_strike","duration_seconds":30}""", "fault" },
        { "POST", "/admin/faults", """{"fault":"matcher_stall"}""", "duration_seconds" },
        { "POST", "/admin/faults", """{"fault":"matcher_stall","duration_seconds":0}""", "duration_seconds" },
        { "POST", "/admin/faults", """{"fault":"matcher_stall","duration_seconds":601}""", "duration_seconds" },
        { "POST", "/admin/faults", """{"fault":"matcher_stall","duration_seconds":"30"}""", "duration_seconds" },
        { "POST", "/admin/faults", """{"fault":"matcher_stall","duration_seconds":30,"value":5}""", "value" },
        { "POST", "/admin/faults", """{"fault":"matcher_latency","duration_seconds":30}""", "value" },
        { "POST", "/admin/faults", """{"fault":"matcher_latency","duration_seconds":30,"value":0}""", "value" },
        { "POST", "/admin/faults", """{"fault":"matcher_latency","duration_seconds":30,"value":100001}""", "value" },
        { "POST", "/admin/faults", """{"fault":"slow_fsync","duration_seconds":30,"value":10001}""", "value" },
        { "POST", "/admin/faults", """{"fault":"internal_rejects","duration_seconds":30,"value":1.5}""", "value" },
        { "DELETE", "/admin/faults/meteor_strike", null, "fault" },
        { "POST", "/admin/markets/BTC-USD/state", """{"state":"closed"}""", "state" },
        { "POST", "/admin/markets/BTC-USD/state", "{}", "state" },
        { "POST", "/admin/markets/NOPE/state", """{"state":"halted"}""", "market" },
        { "GET", "/admin/events?limit=5000", null, "limit" },
    };

    [Theory]
    [MemberData(nameof(AdminFieldErrors))]
    public async Task AdminRequest_BadFieldOrParameter_Answers400NamingIt(string method, string path, string? body, string field)
    {
        var a = await _h.SendAsync(new HttpMethod(method), path, body, apiKey: null, bearer: AdminToken);

        Assert.Equal(HttpStatusCode.BadRequest, a.Status);
        Assert.Equal(field, a.Str("field"));
        Assert.Empty(_h.Engine.Faults.Active);
    }

    [Theory]
    [InlineData("{\"market\":\"BTC/USD\",")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    [InlineData("{} {}")]
    [InlineData("")]
    [InlineData("not json")]
    public async Task PlaceOrder_MalformedJson_Answers400WithoutField(string body)
    {
        var a = await _h.SendAsync(HttpMethod.Post, "/api/v1/orders", body);

        Assert.Equal(HttpStatusCode.BadRequest, a.Status);
        Assert.Equal("malformed_json", a.Str("error"));
        Assert.Null(a.Str("field"));
    }

    [Fact]
    public async Task Auth_MissingOrWrongCredentials_401Or403AndCounted()
    {
        long before = _h.Engine.Metrics.AuthFailures;

        var noKey = await _h.SendAsync(HttpMethod.Post, "/api/v1/orders", "{" + Valid + "}", apiKey: null);
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.Status);
        Assert.Equal("unauthorized", noKey.Str("error"));
        Assert.Equal("ApiKey realm=\"exchangehealth\", header=\"X-API-Key\"", noKey.Headers.WwwAuthenticate.ToString());

        var wrongKey = await _h.GetAsync("/api/v1/markets", apiKey: "not-a-key-of-this-engine");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.Status);
        Assert.NotEmpty(wrongKey.Headers.WwwAuthenticate);

        var noToken = await _h.SendAsync(HttpMethod.Get, "/admin/faults", apiKey: Key1);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.Status);
        Assert.Equal("Bearer realm=\"exchangehealth-admin\"", noToken.Headers.WwwAuthenticate.ToString());
        Assert.Contains("'Authorization: Bearer <admin token>'", noToken.Text); // relaxed escaping: no \u0027

        var wrongToken = await _h.SendAsync(HttpMethod.Get, "/admin/faults", apiKey: null, bearer: "wrong-token-0123456789abcdef");
        Assert.Equal(HttpStatusCode.Forbidden, wrongToken.Status);
        Assert.Equal("forbidden", wrongToken.Str("error"));

        var keyAsToken = await _h.SendAsync(HttpMethod.Post, "/admin/faults", """{"fault":"matcher_stall","duration_seconds":30}""", apiKey: null, bearer: Key1);
        Assert.Equal(HttpStatusCode.Forbidden, keyAsToken.Status);

        var tokenAsKey = await _h.GetAsync("/api/v1/markets", apiKey: AdminToken);
        Assert.Equal(HttpStatusCode.Unauthorized, tokenAsKey.Status);

        Assert.Equal(before + 6, _h.Engine.Metrics.AuthFailures);
        Assert.Empty(_h.Engine.Faults.Active);
        Assert.Equal(0, _h.Engine.DurableSequence.Value);

        // Probes need no credentials and count nothing.
        Assert.Equal(HttpStatusCode.OK, (await _h.GetAsync("/health", apiKey: null)).Status);
        Assert.Equal(before + 6, _h.Engine.Metrics.AuthFailures);
    }

    [Fact]
    public async Task OversizedBody_Answers413()
    {
        string pad = new('x', 70 * 1024);
        string body = "{" + Valid + ",\"pad\":\"" + pad + "\"}";

        var withLength = await _h.SendAsync(HttpMethod.Post, "/api/v1/orders", body);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.Status);
        Assert.Equal("body_too_large", withLength.Str("error"));

        // Without Content-Length (chunked) the limit is enforced while reading.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/orders");
        request.Headers.Add("X-API-Key", Key1);
        request.Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        request.Headers.TransferEncodingChunked = true;
        using var response = await _h.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        Assert.Equal(0, _h.Engine.DurableSequence.Value);
        Assert.Equal(HttpStatusCode.OK, (await _h.GetAsync("/health")).Status);
    }

    [Fact]
    public async Task UnknownRouteOrMethod_Answers404Or405()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await _h.GetAsync("/api/v1/nothing-here")).Status);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await _h.SendAsync(HttpMethod.Put, "/api/v1/orders", "{}")).Status);
    }
}
