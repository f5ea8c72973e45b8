using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Chaos.Faults;

namespace ExchangeHealth.Chaos.Tests.Faults;

/// <summary>The toxics proxy against real sockets on 127.0.0.1: an echo server behind it, and a source server that sends a fixed amount.</summary>
public sealed class ToxicProxyTests : IAsyncLifetime
{
    private readonly TestServer _echo = TestServer.Echo();
    private ToxicProxy _proxy = null!;

    public Task InitializeAsync()
    {
        _proxy = ToxicProxy.Start(_echo.EndPoint, seed: 7);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        _echo.Dispose();
    }

    [Fact]
    public async Task NoToxics_BytesPassUnchangedBothWays_AndAreCounted()
    {
        byte[] data = new byte[1 << 20];
        new Random(1).NextBytes(data);
        using var client = await ConnectAsync(_proxy.EndPoint);
        var send = Task.Run(async () =>
        {
            await client.SendAsync(data);
            client.Shutdown(SocketShutdown.Send); // half-close: the echo must still come back
        });
        byte[] back = await ReadToEndAsync(client, TimeSpan.FromSeconds(10));
        await send;
        Assert.Equal(data.Length, back.Length);
        Assert.True(data.AsSpan().SequenceEqual(back), "the echoed bytes differ from the bytes sent");
        var stats = _proxy.Stats;
        Assert.Equal(1, stats.ConnectionsAccepted);
        Assert.Equal(data.Length, stats.BytesUpstream);
        Assert.Equal(data.Length, stats.BytesDownstream);
    }

    [Fact]
    public async Task Latency_DelaysEachRoundTripByAtLeastTheConfiguredDelay_BothDirections()
    {
        using var client = await ConnectAsync(_proxy.EndPoint);
        var baseline = await RoundTripAsync(client);
        _proxy.AddToxic(new LatencyToxic { Name = "down", LatencyMs = 400, Direction = ToxicDirection.Downstream });
        _proxy.AddToxic(new LatencyToxic { Name = "up", LatencyMs = 300, Direction = ToxicDirection.Upstream });
        var slow = await RoundTripAsync(client);
        Assert.True(slow >= TimeSpan.FromMilliseconds(700), $"round trip with 300 + 400 ms latency took {slow.TotalMilliseconds:0} ms");
        Assert.True(_proxy.RemoveToxic("down") && _proxy.RemoveToxic("up"));
        var after = await RoundTripAsync(client);
        // Generous: the 2 cores are shared with other suites; it only has to be clearly below 700 ms.
        Assert.True(after < TimeSpan.FromMilliseconds(500), $"after removing the toxics a round trip took {after.TotalMilliseconds:0} ms (baseline {baseline.TotalMilliseconds:0} ms)");
    }

    [Fact]
    public async Task LatencyWithToxicityZero_AppliesToNoConnection()
    {
        _proxy.AddToxic(new LatencyToxic { Name = "never", LatencyMs = 2000, Toxicity = 0 });
        using var client = await ConnectAsync(_proxy.EndPoint);
        var rtt = await RoundTripAsync(client);
        Assert.True(rtt < TimeSpan.FromMilliseconds(1000), $"a toxic with toxicity 0 delayed the round trip to {rtt.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Bandwidth_BoundsThroughput()
    {
        const int bytes = 48 * 1024;
        using var source = TestServer.Source(bytes);
        await using var proxy = ToxicProxy.Start(source.EndPoint);
        proxy.AddToxic(new BandwidthToxic { Name = "bw", KilobytesPerSecond = 32 });
        using var client = await ConnectAsync(proxy.EndPoint);
        var watch = Stopwatch.StartNew();
        byte[] got = await ReadToEndAsync(client, TimeSpan.FromSeconds(10));
        watch.Stop();
        Assert.Equal(bytes, got.Length);
        // 48 KiB at 32 KiB/s needs 1.5 s; allow the first 50 ms slice to go at once.
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.3), $"48 KiB at 32 KiB/s arrived in {watch.Elapsed.TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task ResetPeer_GivesTheClientAConnectionReset()
    {
        using var client = await ConnectAsync(_proxy.EndPoint);
        await RoundTripAsync(client);
        var watch = Stopwatch.StartNew();
        _proxy.AddToxic(new ResetPeerToxic { Name = "rst", AfterMs = 200 });
        var error = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            var buffer = new byte[16];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (true)
            {
                await client.SendAsync(new byte[] { 1 }, cts.Token);
                if (await client.ReceiveAsync(buffer, cts.Token) == 0) return; // EOF instead of a reset fails the test
                await Task.Delay(20, cts.Token);
            }
        });
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(180), $"reset after {watch.Elapsed.TotalMilliseconds:0} ms, asked 200 ms");
        Assert.True(_proxy.Stats.ConnectionsReset >= 1);
    }

    [Fact]
    public async Task Slicer_DeliversAllBytesInSmallPieces()
    {
        byte[] data = new byte[4000];
        new Random(2).NextBytes(data);
        _proxy.AddToxic(new SlicerToxic { Name = "slice", AverageBytes = 100, SizeVariation = 20, DelayMicroseconds = 2000 });
        using var client = await ConnectAsync(_proxy.EndPoint);
        await client.SendAsync(data);
        var received = new MemoryStream();
        int reads = 0, largest = 0;
        var buffer = new byte[65536];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received.Length < data.Length)
        {
            int n = await client.ReceiveAsync(buffer, cts.Token);
            Assert.NotEqual(0, n);
            reads++;
            largest = Math.Max(largest, n);
            received.Write(buffer, 0, n);
        }
        Assert.True(data.AsSpan().SequenceEqual(received.ToArray()), "the sliced bytes differ from the bytes sent");
        // The proxy wrote ~100-byte pieces (at least 4000 / 120); the client saw more than one of them
        // (a starved reader may find several pieces in its socket buffer at once, so no tighter bound).
        Assert.True(Interlocked.Read(ref _proxy.Writes) >= 4000 / 120 + 1 + 1, $"the proxy wrote {_proxy.Writes} times (4000 bytes echoed, sliced downstream)");
        Assert.True(reads >= 2, $"4000 bytes sliced into ~100-byte pieces arrived in only {reads} read(s) (largest {largest})");
    }

    [Fact]
    public async Task Timeout_DropsDataAndClosesAfterTheTimeout()
    {
        using var client = await ConnectAsync(_proxy.EndPoint);
        await RoundTripAsync(client);
        _proxy.AddToxic(new TimeoutToxic { Name = "t", TimeoutMs = 300, Direction = ToxicDirection.Upstream });
        var watch = Stopwatch.StartNew();
        await client.SendAsync(new byte[] { 42 });
        byte[] got = await ReadToEndAsync(client, TimeSpan.FromSeconds(5));
        Assert.Empty(got); // the byte was dropped, then the connection was closed
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(280), $"closed after {watch.Elapsed.TotalMilliseconds:0} ms, asked 300 ms");
        Assert.Equal(1, _proxy.Stats.BytesDropped);
    }

    [Fact]
    public async Task TimeoutZero_HoldsTheConnectionSilentUntilRemoved()
    {
        using var client = await ConnectAsync(_proxy.EndPoint);
        _proxy.AddToxic(new TimeoutToxic { Name = "hold", TimeoutMs = 0 });
        await client.SendAsync(new byte[] { 1 });
        var buffer = new byte[16];
        var read = client.ReceiveAsync(buffer, SocketFlags.None);
        Assert.NotSame(read, await Task.WhenAny(read, Task.Delay(500)));
        _proxy.RemoveToxic("hold");
        await client.SendAsync(new byte[] { 2 });
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(5000)));
        Assert.Equal(1, await read);
        Assert.Equal(2, buffer[0]); // the byte echoed while the toxic held the link was dropped
    }

    [Fact]
    public async Task Down_ResetsOpenAndNewConnections_UpForwardsAgain()
    {
        using var open = await ConnectAsync(_proxy.EndPoint);
        await RoundTripAsync(open);
        _proxy.SetDown(true);
        await AssertEndedAsync(open);
        try
        {
            using var refused = await ConnectAsync(_proxy.EndPoint);
            await AssertEndedAsync(refused);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { } // the reset can beat the connect's completion

        Assert.True(_proxy.Stats.ConnectionsRefused >= 1);
        _proxy.SetDown(false);
        using var again = await ConnectAsync(_proxy.EndPoint);
        await RoundTripAsync(again);
    }

    [Fact]
    public async Task UnreachableUpstream_ResetsTheClient()
    {
        await using var proxy = ToxicProxy.Start(new IPEndPoint(IPAddress.Loopback, LoopbackPort.Free()));
        try
        {
            using var client = await ConnectAsync(proxy.EndPoint);
            await AssertEndedAsync(client);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { }
        Assert.Equal(1, proxy.Stats.ConnectionsRefused);
    }

    [Fact]
    public void InvalidToxic_IsRefusedNamingTheField()
    {
        var e = Assert.Throws<ArgumentException>(() => _proxy.AddToxic(new BandwidthToxic { Name = "bw", KilobytesPerSecond = 0 }));
        Assert.Contains("rate", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => _proxy.AddToxic(new LatencyToxic { Name = "l", Toxicity = 1.5 }));
        Assert.Contains("toxicity", e.Message, StringComparison.Ordinal);
        _proxy.AddToxic(new LatencyToxic { Name = "l", LatencyMs = 1 });
        Assert.Throws<ArgumentException>(() => _proxy.AddToxic(new LatencyToxic { Name = "l", LatencyMs = 1 }));
    }

    // ------------------------------------------------------------------ helpers

    internal static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    private static async Task<TimeSpan> RoundTripAsync(Socket client)
    {
        var watch = Stopwatch.StartNew();
        await client.SendAsync(new byte[] { 7 });
        var buffer = new byte[1];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        Assert.Equal(1, await client.ReceiveAsync(buffer, cts.Token));
        return watch.Elapsed;
    }

    private static async Task<byte[]> ReadToEndAsync(Socket client, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        var received = new MemoryStream();
        var buffer = new byte[65536];
        while (true)
        {
            int n = await client.ReceiveAsync(buffer, cts.Token);
            if (n == 0) return received.ToArray();
            received.Write(buffer, 0, n);
        }
    }

    /// <summary>The connection ends (reset or end of stream) within 5 s and nothing is echoed.</summary>
    private static async Task AssertEndedAsync(Socket client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.SendAsync(new byte[] { 1 }, cts.Token);
            var buffer = new byte[16];
            Assert.Equal(0, await client.ReceiveAsync(buffer, cts.Token));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown) { }
    }
}

/// <summary>A tiny TCP server on 127.0.0.1: echo (half-close aware) or a source that sends N bytes and closes.</summary>
internal sealed class TestServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    private TestServer(Func<Socket, CancellationToken, Task> handler)
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        try { await handler(socket, _stop.Token); }
                        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { }
                    }
                });
            }
        });
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public static TestServer Echo() => new(async (socket, stop) =>
    {
        var buffer = new byte[65536];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, stop);
            if (n == 0) break;
            await socket.SendAsync(buffer.AsMemory(0, n), stop);
        }
        socket.Shutdown(SocketShutdown.Send);
    });

    public static TestServer Source(int bytes) => new(async (socket, stop) =>
    {
        await socket.SendAsync(new byte[bytes], stop);
        socket.Shutdown(SocketShutdown.Send);
        var buffer = new byte[16];
        while (await socket.ReceiveAsync(buffer, stop) > 0) { }
    });

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
