using System.Globalization;
using System.Net;

namespace ExchangeHealth.Engine.Gateway;

/// <summary>
/// The endpoints file a running <c>exh engine</c> writes into its data directory
/// (<c>engine.json</c>) once it listens, and deletes on a graceful stop. Tools, tests and
/// <c>exh load --engine-data</c> find the engine through it (its ports may be 0 = any free port).
/// <code>
/// {"pid":4242,"tcp":"127.0.0.1:7001","http":"http://127.0.0.1:7080/","credentials":"/abs/credentials.yaml","started_at":"2026-11-21T07:00:00.0000000+00:00"}
/// </code>
/// </summary>
/// <param name="Pid">The engine's process id.</param>
/// <param name="Tcp">The order-entry TCP endpoint.</param>
/// <param name="Http">The HTTP base address.</param>
/// <param name="Credentials">Absolute path of the credentials file in use.</param>
/// <param name="StartedAt">When the engine started listening.</param>
public sealed record EngineEndpoints(int Pid, IPEndPoint Tcp, Uri Http, string Credentials, DateTimeOffset StartedAt)
{
    /// <summary>The file's name inside a data directory.</summary>
    public const string FileName = "engine.json";

    /// <summary>Path of the file inside <paramref name="dataDirectory"/>.</summary>
    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>Writes the file atomically (temporary file, then rename).</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Write(string dataDirectory) =>
        EndpointsFile.Write(PathIn(dataDirectory), new Dictionary<string, object>
        {
            ["pid"] = Pid,
            ["tcp"] = Tcp.ToString(),
            ["http"] = Http.ToString(),
            ["credentials"] = Credentials,
            ["started_at"] = StartedAt.ToString("O", CultureInfo.InvariantCulture),
        });

    /// <summary>
    /// Reads the file of <paramref name="dataDirectory"/>. False with <paramref name="problem"/>
    /// (naming the file) when it is missing, being written, or not an endpoints file.
    /// </summary>
    public static bool TryRead(string dataDirectory, out EngineEndpoints? endpoints, out string? problem) =>
        EndpointsFile.TryRead(PathIn(dataDirectory), "an engine endpoints", root => new EngineEndpoints(
            root.GetProperty("pid").GetInt32(),
            IPEndPoint.Parse(root.GetProperty("tcp").GetString()!),
            new Uri(root.GetProperty("http").GetString()!),
            root.GetProperty("credentials").GetString()!,
            DateTimeOffset.Parse(root.GetProperty("started_at").GetString()!, CultureInfo.InvariantCulture)), out endpoints, out problem);
}
