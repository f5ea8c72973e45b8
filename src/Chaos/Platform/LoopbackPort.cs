using System.Net;
using System.Net.Sockets;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>Free TCP ports on 127.0.0.1 for test servers and for "nothing listens here" cases.</summary>
public static class LoopbackPort
{
    /// <summary>
    /// A port that was free a moment ago (the OS picks it for a listener that is closed at once).
    /// Another process can take it before it is used: servers that bind it should retry on
    /// "address already in use", as the Prometheus and PostgreSQL fixtures do.
    /// </summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
