using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Http;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Engine.Tests.Gateway.Http;

/// <summary>An answer from the server: status, headers and the parsed JSON body (Undefined when not JSON).</summary>
public sealed record HttpAnswer(HttpStatusCode Status, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, string Text, JsonElement Json)
{
    public string? Str(string name) => Json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public JsonElement[] Reports => [.. Json.GetProperty("reports").EnumerateArray()];

    public override string ToString() => $"{(int)Status} {Text}";
}

/// <summary>
/// A real engine service in a temporary directory and a real <see cref="EngineHttpServer"/> on
/// 127.0.0.1:0, with an <see cref="HttpClient"/> pointed at it.
/// </summary>
public sealed class HttpApiHarness : IAsyncDisposable
{
    public const string AdminToken = "admin-token-0123456789abcdef0123";
    public const string Key1 = "trader-one-key-0123456789abcdef";
    public const string Key2 = "trader-two-key-0123456789abcdef";
    public const long Account1 = 1;
    public const long Account2 = 2;

    private readonly TempDirectory _dir;

    private HttpApiHarness(TempDirectory dir, EngineService engine, EngineHttpServer server)
    {
        _dir = dir;
        Engine = engine;
        Server = server;
        Client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public EngineService Engine { get; }
    public EngineHttpServer Server { get; }
    public HttpClient Client { get; }

    public static async Task<HttpApiHarness> StartAsync(int ring = 1 << 12, EngineHttpServerOptions? options = null)
    {
        var dir = new TempDirectory();
        var engine = EngineService.Start(new EngineServiceOptions { DataDirectory = dir.Path, RingCapacity = ring, FlushToDisk = false });
        var credentials = new EngineCredentials(AdminToken,
        [
            new ApiKeyEntry(Key1, Account1, "trader-1"),
            new ApiKeyEntry(Key2, Account2, "trader-2"),
        ]);
        var server = new EngineHttpServer(engine, credentials, (options ?? new EngineHttpServerOptions()) with { Urls = "http://127.0.0.1:0" });
        try
        {
            await server.StartAsync();
        }
        catch
        {
            await engine.DisposeAsync();
            dir.Dispose();
            throw;
        }
        return new HttpApiHarness(dir, engine, server);
    }

    /// <summary>Sends a request; <paramref name="apiKey"/> goes in X-API-Key, <paramref name="bearer"/> in Authorization.</summary>
    public async Task<HttpAnswer> SendAsync(HttpMethod method, string path, string? json = null, string? apiKey = Key1, string? bearer = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (apiKey is not null) request.Headers.Add("X-API-Key", apiKey);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await Client.SendAsync(request);
        return await ReadAsync(response);
    }

    public static async Task<HttpAnswer> ReadAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        JsonElement json = default;
        if (response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            using var doc = JsonDocument.Parse(text);
            json = doc.RootElement.Clone();
        }
        return new HttpAnswer(response.StatusCode, response.Headers, response.Content.Headers, text, json);
    }

    public Task<HttpAnswer> GetAsync(string path, string? apiKey = Key1) => SendAsync(HttpMethod.Get, path, null, apiKey);

    public Task<HttpAnswer> AdminAsync(HttpMethod method, string path, string? json = null) =>
        SendAsync(method, path, json, apiKey: null, bearer: AdminToken);

    /// <summary>Places a limit order for the account of <paramref name="apiKey"/>.</summary>
    public Task<HttpAnswer> PlaceAsync(ulong clientOrderId, string side, string price, string quantity, string market = "BTC/USD",
        string apiKey = Key1, string tif = "gtc", bool postOnly = false) =>
        SendAsync(HttpMethod.Post, "/api/v1/orders",
            $$"""{"market":"{{market}}","client_order_id":{{clientOrderId}},"side":"{{side}}","type":"limit","time_in_force":"{{tif}}","post_only":{{(postOnly ? "true" : "false")}},"price":"{{price}}","quantity":"{{quantity}}"}""",
            apiKey);

    public static long OrderId(long account, ulong clientOrderId) => OrderEntryProtocol.OrderIdOf(account, clientOrderId);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        await Engine.DisposeAsync();
        _dir.Dispose();
    }
}
