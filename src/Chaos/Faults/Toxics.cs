using System.Globalization;

namespace ExchangeHealth.Chaos.Faults;

/// <summary>Which way through the <see cref="ToxicProxy"/> a toxic acts (the names of Shopify toxiproxy's <c>stream</c>).</summary>
public enum ToxicDirection
{
    /// <summary>Data the upstream server sends to the client (e.g. the engine's execution reports).</summary>
    Downstream,

    /// <summary>Data the client sends to the upstream server (e.g. orders to the engine's gateway).</summary>
    Upstream,
}

/// <summary>
/// A fault the <see cref="ToxicProxy"/> applies to the connections it forwards, modelled on the
/// toxics of Shopify toxiproxy (its README defines the semantics; this is an independent implementation).
/// </summary>
/// <remarks>
/// <see cref="Toxicity"/> is the share of connections (0..1) the toxic applies to: each connection
/// draws once per toxic when it first meets it, so a toxic with toxicity 0.5 hits about half of the
/// connections and always the same ones.
/// </remarks>
public abstract record Toxic
{
    /// <summary>The toxic's unique name in its proxy (the key for <see cref="ToxicProxy.RemoveToxic"/>).</summary>
    public required string Name { get; init; }

    /// <summary>The direction the toxic acts on (default downstream, as in toxiproxy).</summary>
    public ToxicDirection Direction { get; init; } = ToxicDirection.Downstream;

    /// <summary>The share of connections the toxic applies to, 0..1 (default 1: all).</summary>
    public double Toxicity { get; init; } = 1.0;

    /// <summary>The toxiproxy type name (<c>latency</c>, <c>bandwidth</c>, ...).</summary>
    public abstract string Type { get; }

    /// <summary>Checks the parameters; returns the problem (naming the field) or null.</summary>
    public virtual string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Name)) return "name: must not be empty";
        if (double.IsNaN(Toxicity) || Toxicity < 0 || Toxicity > 1) return string.Create(CultureInfo.InvariantCulture, $"toxicity: {Toxicity} is not in 0..1");
        return null;
    }
}

/// <summary><c>latency</c>: delays every piece of data by <see cref="LatencyMs"/> ± <see cref="JitterMs"/> milliseconds (throughput is kept: data in flight is delayed, not serialized).</summary>
public sealed record LatencyToxic : Toxic
{
    /// <summary>Added delay, milliseconds (≥ 0).</summary>
    public int LatencyMs { get; init; }

    /// <summary>Uniform random variation of the delay, ± milliseconds (≥ 0).</summary>
    public int JitterMs { get; init; }

    /// <inheritdoc/>
    public override string Type => "latency";

    /// <inheritdoc/>
    public override string? Validate() => base.Validate()
        ?? (LatencyMs < 0 ? "latency: must be ≥ 0 ms" : JitterMs < 0 ? "jitter: must be ≥ 0 ms" : null);
}

/// <summary><c>bandwidth</c>: limits the connection's throughput in this direction to <see cref="KilobytesPerSecond"/> KiB/s.</summary>
public sealed record BandwidthToxic : Toxic
{
    /// <summary>The rate, KiB (1024 bytes) per second (&gt; 0).</summary>
    public long KilobytesPerSecond { get; init; }

    /// <inheritdoc/>
    public override string Type => "bandwidth";

    /// <inheritdoc/>
    public override string? Validate() => base.Validate() ?? (KilobytesPerSecond <= 0 ? "rate: must be > 0 KB/s" : null);
}

/// <summary>
/// <c>reset_peer</c>: resets the connection (TCP RST: linger 0, then close, both sides) <see cref="AfterMs"/>
/// milliseconds after the toxic meets it (at once when 0); the client sees "connection reset by peer".
/// </summary>
public sealed record ResetPeerToxic : Toxic
{
    /// <summary>Delay before the reset, milliseconds (≥ 0), counted from when the toxic was added or the connection opened, whichever is later.</summary>
    public int AfterMs { get; init; }

    /// <inheritdoc/>
    public override string Type => "reset_peer";

    /// <inheritdoc/>
    public override string? Validate() => base.Validate() ?? (AfterMs < 0 ? "timeout: must be ≥ 0 ms" : null);
}

/// <summary><c>slicer</c>: splits data into pieces of about <see cref="AverageBytes"/> (± <see cref="SizeVariation"/>) bytes, written separately with <see cref="DelayMicroseconds"/> between them.</summary>
public sealed record SlicerToxic : Toxic
{
    /// <summary>Average piece size, bytes (≥ 1).</summary>
    public int AverageBytes { get; init; } = 1;

    /// <summary>Random variation of the piece size, ± bytes (≥ 0, less than <see cref="AverageBytes"/>).</summary>
    public int SizeVariation { get; init; }

    /// <summary>Pause between pieces, microseconds (≥ 0; waits under a millisecond are rounded up to the timer's resolution).</summary>
    public int DelayMicroseconds { get; init; }

    /// <inheritdoc/>
    public override string Type => "slicer";

    /// <inheritdoc/>
    public override string? Validate() => base.Validate()
        ?? (AverageBytes < 1 ? "average_size: must be ≥ 1 byte"
            : SizeVariation < 0 || SizeVariation >= AverageBytes ? "size_variation: must be in 0..average_size-1"
            : DelayMicroseconds < 0 ? "delay: must be ≥ 0 µs" : null);
}

/// <summary>
/// <c>timeout</c>: stops forwarding data in this direction (it is read and dropped) and closes the
/// connection <see cref="TimeoutMs"/> milliseconds later; with 0 the connection is held open, silent,
/// until the toxic is removed (data sent meanwhile is lost, as in toxiproxy).
/// </summary>
public sealed record TimeoutToxic : Toxic
{
    /// <summary>Milliseconds until the connection is closed; 0 = never (hold until removed).</summary>
    public int TimeoutMs { get; init; }

    /// <inheritdoc/>
    public override string Type => "timeout";

    /// <inheritdoc/>
    public override string? Validate() => base.Validate() ?? (TimeoutMs < 0 ? "timeout: must be ≥ 0 ms" : null);
}

/// <summary>Counters of a <see cref="ToxicProxy"/> (cumulative since it started, except <see cref="ActiveConnections"/>).</summary>
/// <param name="ConnectionsAccepted">Client connections accepted (also those refused while down).</param>
/// <param name="ActiveConnections">Connections open now.</param>
/// <param name="ConnectionsRefused">Connections reset at once because the proxy was down or the upstream could not be reached.</param>
/// <param name="ConnectionsReset">Connections ended by a reset (reset_peer, down, an upstream or client reset).</param>
/// <param name="BytesUpstream">Bytes forwarded from clients to the upstream.</param>
/// <param name="BytesDownstream">Bytes forwarded from the upstream to clients.</param>
/// <param name="BytesDropped">Bytes read and not forwarded (timeout toxic).</param>
public readonly record struct ToxicProxyStats(long ConnectionsAccepted, int ActiveConnections, long ConnectionsRefused, long ConnectionsReset,
    long BytesUpstream, long BytesDownstream, long BytesDropped);
