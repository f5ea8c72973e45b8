using System.Net;

namespace ExchangeHealth.Engine.Gateway.Tcp;

/// <summary>Options of the TCP order-entry gateway (<see cref="OrderEntryServer"/>).</summary>
public sealed record OrderEntryServerOptions
{
    /// <summary>Where to listen. Port 0 picks a free port (see <see cref="OrderEntryServer.LocalEndPoint"/>). Default 127.0.0.1:7001.</summary>
    public IPEndPoint Endpoint { get; init; } = new(IPAddress.Loopback, 7001);

    /// <summary>
    /// Most sessions open at once. A connection beyond it is accepted, sent
    /// <c>SessionError too_many_sessions</c> and closed. Default 256.
    /// </summary>
    public int MaxSessions { get; init; } = 256;

    /// <summary>
    /// Bound of one session's outbound bytes not yet written to its socket (the slow-consumer
    /// bound). A report that would pass it closes the session with <c>SessionError
    /// slow_consumer</c>: the matcher never waits for a client and no buffer grows without bound.
    /// Default 4 MiB (about 44,000 execution reports).
    /// </summary>
    public int MaxSendBufferBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// The kernel send buffer of each session's socket (<c>SO_SNDBUF</c>), bytes; null keeps the
    /// operating system's default (autotuned on Linux, up to <c>net.ipv4.tcp_wmem</c>). The bytes a
    /// non-reading client can hold are this plus <see cref="MaxSendBufferBytes"/>. Default null.
    /// </summary>
    public int? SocketSendBufferBytes { get; init; }

    /// <summary>A connection that has not logged on within this time is sent <c>SessionError not_logged_on</c> and closed. Default 5 s.</summary>
    public TimeSpan LogonTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long closing a session may take: waiting for the client to read the last frames and
    /// close its end, and (logout, shutdown) for the acknowledgements of commands already in the
    /// engine. After it the socket is closed regardless. Default 5 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock for the logon timeout, heartbeat supervision and close timeouts (not for the ack-latency SLI, which uses <see cref="System.Diagnostics.Stopwatch"/>).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
