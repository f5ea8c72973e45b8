using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using ExchangeHealth.Engine.Gateway;

namespace ExchangeHealth.Alerting.Host;

/// <summary>
/// <c>DATA/monitor.json</c>: where a running monitor listens and where its API token is, written
/// at start (as <c>engine.json</c> is for the engine) and read by <c>exh silence</c> and tests.
/// </summary>
/// <param name="Pid">Process id.</param>
/// <param name="Http">Base URL of the HTTP API.</param>
/// <param name="TokenFile">Path of the bearer-token file.</param>
/// <param name="StartedAt">Start time.</param>
public sealed record MonitorEndpoints(int Pid, Uri Http, string TokenFile, DateTimeOffset StartedAt)
{
    /// <summary>File name in the data directory.</summary>
    public const string FileName = "monitor.json";

    /// <summary>Path of the file in <paramref name="dataDirectory"/>.</summary>
    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>Writes the file atomically into <paramref name="dataDirectory"/>.</summary>
    public void Write(string dataDirectory) => EndpointsFile.Write(PathIn(dataDirectory), new Dictionary<string, object>
    {
        ["pid"] = Pid,
        ["http"] = Http.AbsoluteUri,
        ["token_file"] = TokenFile,
        ["started_at"] = StartedAt.ToString("O", CultureInfo.InvariantCulture),
    });

    /// <summary>Reads the file of <paramref name="dataDirectory"/>; false with a reason when missing or malformed.</summary>
    public static bool TryRead(string dataDirectory, [NotNullWhen(true)] out MonitorEndpoints? endpoints, out string? problem) =>
        EndpointsFile.TryRead(PathIn(dataDirectory), "a monitor endpoints", root => new MonitorEndpoints(
            root.GetProperty("pid").GetInt32(),
            new Uri(root.GetProperty("http").GetString() ?? throw new FormatException("http is null")),
            root.GetProperty("token_file").GetString() ?? throw new FormatException("token_file is null"),
            DateTimeOffset.Parse(root.GetProperty("started_at").GetString() ?? "", CultureInfo.InvariantCulture)), out endpoints, out problem);
}
