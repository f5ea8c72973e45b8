namespace ExchangeHealth.Load.Client;

/// <summary>Settings of an <see cref="OrderEntryClient"/>. Every property has a working default.</summary>
public sealed record OrderEntryClientOptions
{
    /// <summary>Clock for the timestamps passed to the handlers (<see cref="TimeProvider.GetTimestamp"/> ticks). Default: the system clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Longest wait for the TCP connection. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Longest wait for <c>LogonAccepted</c> after the logon was sent. Default 5 s.</summary>
    public TimeSpan LogonTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Heartbeat interval asked for in the logon, seconds (0 = none, the default). When set, the
    /// client sends a heartbeat every interval, and the server closes a session that sent nothing for
    /// three intervals.
    /// </summary>
    public ushort HeartbeatIntervalSeconds { get; init; }

    /// <summary>
    /// Bytes of encoded frames held before <see cref="OrderEntryClient.Flush"/> must write them (an
    /// enqueue that does not fit flushes first). Default 64 KiB (about 1,800 new orders).
    /// </summary>
    public int SendBufferSize { get; init; } = 64 * 1024;

    /// <summary>Bytes read from the socket at a time. Default 64 KiB (about 680 execution reports).</summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024;

    /// <summary>Expected number of requests in flight at once: the initial capacity of the table of outstanding requests. Default 1,024.</summary>
    public int ExpectedOutstanding { get; init; } = 1024;

    /// <summary>Checks the options.</summary>
    /// <returns>null when valid, else the problem.</returns>
    public string? Validate()
    {
        if (ConnectTimeout <= TimeSpan.Zero) return "connect timeout must be positive";
        if (LogonTimeout <= TimeSpan.Zero) return "logon timeout must be positive";
        if (SendBufferSize < 1024) return "send buffer must be at least 1024 bytes";
        if (ReceiveBufferSize < 1024) return "receive buffer must be at least 1024 bytes";
        if (ExpectedOutstanding < 0) return "expected outstanding must not be negative";
        return null;
    }
}
