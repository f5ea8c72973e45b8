using System.Diagnostics.Metrics;
using System.Net;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Tcp;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Engine.Tests.Gateway;

/// <summary>
/// A real <see cref="EngineService"/> in a temp directory and a real <see cref="OrderEntryServer"/>
/// on 127.0.0.1:0, with one API key per account 1..4 (<see cref="KeyOf"/>). Counts the
/// ack-latency measurements of this engine's meter.
/// </summary>
public sealed class GatewayHarness : IAsyncDisposable
{
    // BTC/USD (market 1): tick 0.01 = 10^6 units, lot 0.0001 = 10^4 units, reference 60,000.
    public const long Px = 60_000L * 100_000_000;
    public const long Tick = 1_000_000;
    public const long Qty = 1_000_000;

    private readonly TempDirectory _dir;
    private readonly MeterListener _listener = new();
    private long _ackLatencies;

    private GatewayHarness(TempDirectory dir, EngineService engine, OrderEntryServer server, EngineCredentials credentials)
    {
        _dir = dir;
        Engine = engine;
        Server = server;
        Credentials = credentials;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, engine.Metrics.Meter) && instrument.Name == EngineMetrics.AckLatencyInstrument)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _ackLatencies));
        _listener.Start();
    }

    public EngineService Engine { get; }
    public OrderEntryServer Server { get; }
    public EngineCredentials Credentials { get; }
    public IPEndPoint Endpoint => Server.LocalEndPoint;

    /// <summary>Ack-latency histogram records of this engine so far.</summary>
    public long AckLatencyRecords => Interlocked.Read(ref _ackLatencies);

    public static string KeyOf(long account) => $"test-key-for-account-{account}-0123456789";

    public static async Task<GatewayHarness> StartAsync(Func<OrderEntryServerOptions, OrderEntryServerOptions>? configure = null,
        int ringCapacity = 1 << 12)
    {
        var dir = new TempDirectory();
        var engine = EngineService.Start(new EngineServiceOptions { DataDirectory = dir.Path, FlushToDisk = false, RingCapacity = ringCapacity });
        var credentials = new EngineCredentials("admin-token-0123456789abcdef",
            [new ApiKeyEntry(KeyOf(1), 1, "t1"), new ApiKeyEntry(KeyOf(2), 2, "t2"), new ApiKeyEntry(KeyOf(3), 3, "t3"), new ApiKeyEntry(KeyOf(4), 4, "t4")]);
        var options = new OrderEntryServerOptions { Endpoint = new IPEndPoint(IPAddress.Loopback, 0) };
        if (configure is not null) options = configure(options);
        var server = new OrderEntryServer(engine, credentials, options);
        await server.StartAsync();
        return new GatewayHarness(dir, engine, server, credentials);
    }

    public Task<OrderEntryTestClient> ConnectAsync(int? receiveBufferBytes = null) => OrderEntryTestClient.ConnectAsync(Endpoint, receiveBufferBytes);

    public async Task<OrderEntryTestClient> LogonAsync(long account, ushort heartbeatSeconds = 0)
    {
        var client = await ConnectAsync();
        await client.LogonAsync(KeyOf(account), heartbeatSeconds);
        return client;
    }

    /// <summary>Polls <paramref name="condition"/> until true or <paramref name="timeout"/> (then fails with <paramref name="what"/>).</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTimeOffset.UtcNow > deadline) Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(5);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await Server.DisposeAsync();
        await Engine.DisposeAsync();
        _dir.Dispose();
    }
}
