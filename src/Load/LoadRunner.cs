using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Replay;
using ExchangeHealth.Load.Workloads;

namespace ExchangeHealth.Load;

/// <summary>
/// The load driver as a library: opens <see cref="LoadOptions.Connections"/> order-entry sessions,
/// drives a workload through them in the open or closed model, measures every acknowledgement and
/// returns a <see cref="LoadReport"/>. <c>exh load</c> is a thin shell around it; tests and the
/// crash test call it directly.
/// </summary>
public static class LoadRunner
{
    /// <summary>
    /// Runs a load test and returns its report. Stops by itself at the duration, the count or the end
    /// of a replay file; cancelling <paramref name="cancellationToken"/> stops sending early and still
    /// returns the report (<see cref="LoadStopReason.Cancelled"/>), after waiting up to
    /// <see cref="LoadOptions.DrainTimeout"/> for the outstanding acknowledgements.
    /// </summary>
    /// <param name="options">The run's settings.</param>
    /// <param name="progress">Receives a <see cref="LoadProgress"/> every <see cref="LoadOptions.SampleInterval"/> (on a pool thread); null for none.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    /// <returns>
    /// The report. A connection that cannot be opened or logged on ends the run before anything is
    /// sent (<see cref="LoadStopReason.ConnectFailed"/>, with <see cref="LoadReport.ConnectionErrors"/>);
    /// a malformed replay record ends it at that record (<see cref="LoadStopReason.InputError"/>).
    /// </returns>
    /// <exception cref="ArgumentException">
    /// The options are invalid, the target is not a loopback address and <see cref="LoadOptions.AllowRemote"/>
    /// is false, the host cannot be resolved, or the workload names markets the engine does not have.
    /// </exception>
    /// <exception cref="FileNotFoundException">The replay file does not exist.</exception>
    /// <exception cref="ReplayFormatException">The replay file's format cannot be detected or its start is malformed.</exception>
    /// <exception cref="IOException">The replay file cannot be read.</exception>
    public static async Task<LoadReport> RunAsync(LoadOptions options, IProgress<LoadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { } problem) throw new ArgumentException(problem, nameof(options));
        IPEndPoint endPoint = ResolveTarget(options.Host, options.Port, options.AllowRemote);
        var markets = options.Markets ?? MarketsFile.Default();
        var ids = new AccountIds[options.Connections];
        LoadWorkload workload;
        if (options.Workload == LoadWorkloadKind.Replay)
        {
            var source = OrderFlowSources.Open(options.ReplayFile!, options.ReplayFormat, markets);
            try
            {
                CheckMarkets(source, markets);
            }
            catch
            {
                source.Dispose();
                throw;
            }
            workload = ReplayWorkload.Create(source, ids);
        }
        else
        {
            workload = new GeneratorWorkload(options, markets, ids);
        }
        using (workload)
        {
            var run = new LoadRun(options, endPoint, workload, ids, progress);
            return await run.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Resolves <paramref name="host"/> and enforces the safety rule: load tests target loopback
    /// addresses only (127.0.0.0/8, ::1) unless <paramref name="allowRemote"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The host cannot be resolved, or is not loopback and <paramref name="allowRemote"/> is false.</exception>
    public static IPEndPoint ResolveTarget(string host, int port, bool allowRemote)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try { addresses = Dns.GetHostAddresses(host); }
            catch (SocketException e) { throw new ArgumentException($"--target: cannot resolve '{host}': {e.Message}", nameof(host), e); }
            if (addresses.Length == 0) throw new ArgumentException($"--target: '{host}' has no address", nameof(host));
        }
        if (!allowRemote)
        {
            foreach (var a in addresses)
            {
                if (!IPAddress.IsLoopback(a))
                {
                    throw new ArgumentException(
                        $"--target {host}:{port} is not a loopback address ({a}); load tests target 127.0.0.1 only. " +
                        "Pass --allow-remote to load another machine on purpose.", nameof(host));
                }
            }
        }
        IPAddress chosen = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        return new IPEndPoint(chosen, port);
    }

    /// <summary>Parses <c>HOST:PORT</c> (IPv6 as <c>[::1]:7001</c>); a missing port means <see cref="LoadOptions.DefaultPort"/>.</summary>
    /// <param name="text">The target.</param>
    /// <param name="host">The host (brackets removed).</param>
    /// <param name="port">The port.</param>
    /// <param name="error">On failure, what is wrong.</param>
    public static bool TryParseTarget(string? text, out string host, out int port, out string? error)
    {
        host = "";
        port = LoadOptions.DefaultPort;
        string t = (text ?? "").Trim();
        string portText = "";
        if (t.StartsWith('['))
        {
            int close = t.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) { error = $"--target '{t}': missing ']' after the IPv6 address"; return false; }
            host = t[1..close];
            if (close + 1 < t.Length)
            {
                if (t[close + 1] != ':') { error = $"--target '{t}': expected ':PORT' after ']'"; return false; }
                portText = t[(close + 2)..];
            }
        }
        else
        {
            int colon = t.LastIndexOf(':');
            if (colon >= 0 && t.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                error = $"--target '{t}': write an IPv6 address in brackets, e.g. [::1]:7001";
                return false;
            }
            host = colon >= 0 ? t[..colon] : t;
            portText = colon >= 0 ? t[(colon + 1)..] : "";
        }
        if (host.Length == 0) { error = $"--target '{t}': the host is missing (e.g. 127.0.0.1:7001)"; return false; }
        if (portText.Length > 0 && (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            error = $"--target '{t}': '{portText}' is not a port (1..65535)";
            return false;
        }
        error = null;
        return true;
    }

    private static void CheckMarkets(IOrderFlowSource source, IReadOnlyList<MarketDefinition> markets)
    {
        foreach (var m in source.Markets)
        {
            MarketDefinition? engine = null;
            foreach (var e in markets)
            {
                if (e.Id == m.Id) engine = e;
            }
            if (engine is null || !string.Equals(engine.Symbol, m.Symbol, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException(
                    $"{source.FileName}: market {m.Symbol} (id {m.Id}) is not one of the engine's markets " +
                    $"({string.Join(", ", markets.Select(x => $"{x.Id} {x.Symbol}"))}); pass the engine's markets file with --markets");
            }
        }
    }
}
