using System.Net;
using System.Net.Sockets;

namespace ExchangeHealth.Load.Tests.Support;

/// <summary>
/// A TCP proxy on 127.0.0.1:0 in front of a real server that can cut every connection at once
/// (a network failure: both sides see a reset), for tests of lost connections.
/// </summary>
public sealed class TcpCutProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(Socket Client, Socket Server)> _pairs = [];
    private readonly Task _acceptLoop;

    public TcpCutProxy(IPEndPoint target)
    {
        _target = target;
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Bytes the proxy forwarded from clients to the server.</summary>
    public long BytesToServer => Interlocked.Read(ref _bytesToServer);

    private long _bytesToServer;

    /// <summary>While true, bytes from clients are swallowed (the server never sees them): requests stay unanswered.</summary>
    public bool BlackholeToServer { get; set; }

    /// <summary>Resets every connection (RST to both sides).</summary>
    public void CutAll()
    {
        lock (_pairs)
        {
            foreach (var (client, server) in _pairs)
            {
                foreach (var s in new[] { client, server })
                {
                    try { s.LingerState = new LingerOption(true, 0); s.Close(); }
                    catch (ObjectDisposedException) { }
                }
            }
            _pairs.Clear();
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
                var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                client.NoDelay = true;
                await server.ConnectAsync(_target, _stop.Token).ConfigureAwait(false);
                lock (_pairs) _pairs.Add((client, server));
                _ = Task.Run(() => PumpAsync(client, server, toServer: true));
                _ = Task.Run(() => PumpAsync(server, client, toServer: false));
            }
        }
        catch (OperationCanceledException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    private async Task PumpAsync(Socket from, Socket to, bool toServer)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (n == 0) break;
                if (toServer)
                {
                    if (BlackholeToServer) continue;
                    Interlocked.Add(ref _bytesToServer, n);
                }
                int sent = 0;
                while (sent < n) sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None).ConfigureAwait(false);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _acceptLoop.ConfigureAwait(false);
        CutAll();
        _stop.Dispose();
    }
}
