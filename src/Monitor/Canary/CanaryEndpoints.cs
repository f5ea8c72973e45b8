using System.Globalization;
using ExchangeHealth.Engine.Gateway;

namespace ExchangeHealth.Monitor.Canary;

/// <summary>
/// The endpoints file a running <c>exh canary</c> writes into its directory (<c>canary.json</c>)
/// once it listens, and deletes on a graceful stop, as <c>exh engine</c> writes <c>engine.json</c>
/// (<see cref="EngineEndpoints"/>; both through <see cref="EndpointsFile"/>). Tools, <c>exh up</c>
/// and tests find the canary's <c>/metrics</c> through it (its port may be 0 = any free port).
/// <code>
/// {"pid":4243,"metrics":"http://127.0.0.1:7091/metrics","target":"engine data /var/lib/exh","started_at":"2026-11-21T07:00:00.0000000+00:00"}
/// </code>
/// </summary>
/// <param name="Pid">The canary's process id.</param>
/// <param name="Metrics">The scrape URL of its <c>/metrics</c>.</param>
/// <param name="Target">What it probes, for people (never a key): <c>engine data DIR</c> or <c>tcp HOST:PORT</c>.</param>
/// <param name="StartedAt">When it started listening.</param>
public sealed record CanaryEndpoints(int Pid, Uri Metrics, string Target, DateTimeOffset StartedAt)
{
    /// <summary>The file's name.</summary>
    public const string FileName = "canary.json";

    /// <summary>Path of the file inside <paramref name="directory"/>.</summary>
    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>Writes the file atomically (temporary file, then rename).</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Write(string directory) =>
        EndpointsFile.Write(PathIn(directory), new Dictionary<string, object>
        {
            ["pid"] = Pid,
            ["metrics"] = Metrics.ToString(),
            ["target"] = Target,
            ["started_at"] = StartedAt.ToString("O", CultureInfo.InvariantCulture),
        });

    /// <summary>
    /// Reads the file of <paramref name="directory"/>. False with <paramref name="problem"/> (naming
    /// the file) when it is missing, being written, or not a canary endpoints file.
    /// </summary>
    public static bool TryRead(string directory, out CanaryEndpoints? endpoints, out string? problem) =>
        EndpointsFile.TryRead(PathIn(directory), "a canary endpoints", root => new CanaryEndpoints(
            root.GetProperty("pid").GetInt32(),
            new Uri(root.GetProperty("metrics").GetString()!),
            root.GetProperty("target").GetString()!,
            DateTimeOffset.Parse(root.GetProperty("started_at").GetString()!, CultureInfo.InvariantCulture)), out endpoints, out problem);
}
