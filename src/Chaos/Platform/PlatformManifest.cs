using System.Text.Json;
using System.Text.Json.Serialization;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>
/// <c>DATA/up.json</c>: what a supervisor started (PIDs, command lines, endpoints, logs; never a
/// secret), rewritten at every change. A new supervisor on the same data directory refuses to start
/// while a PID named here still runs the recorded command.
/// </summary>
/// <param name="SupervisorPid">The <c>exh up</c> (or test) process that wrote it.</param>
/// <param name="StartedAt">When the platform started.</param>
/// <param name="UpdatedAt">When the file was written.</param>
/// <param name="DataDirectory">The data directory.</param>
/// <param name="Engine">Engine HTTP base address.</param>
/// <param name="Prometheus">Prometheus base address.</param>
/// <param name="Monitors">Monitor API base addresses.</param>
/// <param name="Canary">Canary base address.</param>
/// <param name="Components">One entry per component, in start order.</param>
public sealed record PlatformManifest(
    int SupervisorPid, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt, string DataDirectory,
    string Engine, string Prometheus, IReadOnlyList<string> Monitors, string Canary, IReadOnlyList<PlatformManifest.Entry> Components)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>One component.</summary>
    /// <param name="Name">Component name (<see cref="ComponentNames"/>).</param>
    /// <param name="Pid">Its PID while it runs; null when it is not running.</param>
    /// <param name="State">A <see cref="ComponentState"/> name.</param>
    /// <param name="Command">Executable and arguments.</param>
    /// <param name="Endpoint">Where it listens (display text), or null.</param>
    /// <param name="Log">Its log file.</param>
    public sealed record Entry(string Name, int? Pid, string State, IReadOnlyList<string> Command, string? Endpoint, string Log);

    /// <summary>Writes the manifest atomically (temporary file, then rename).</summary>
    /// <param name="path">The target path.</param>
    /// <exception cref="IOException">It could not be written.</exception>
    public void Write(string path)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a manifest; null when the file is missing or not a manifest.</summary>
    /// <param name="path">The path of <c>up.json</c>.</param>
    public static PlatformManifest? TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<PlatformManifest>(File.ReadAllText(path), Json) : null;
        }
        catch (JsonException) { return null; }
        catch (IOException) { return null; }
    }

    /// <summary>Whether <paramref name="pid"/> is alive and still runs <paramref name="command"/> (its first arguments match <c>/proc/PID/cmdline</c>), so a reused PID is not mistaken for a component.</summary>
    /// <param name="pid">The PID.</param>
    /// <param name="command">The recorded command line.</param>
    public static bool IsSameProcess(int pid, IReadOnlyList<string> command)
    {
        if (!Posix.IsAlive(pid)) return false;
        var actual = Posix.CommandLine(pid);
        if (actual.Count == 0 || command.Count == 0) return false;
        int n = Math.Min(3, Math.Min(actual.Count, command.Count));
        for (int i = 0; i < n; i++)
        {
            if (!string.Equals(actual[i], command[i], StringComparison.Ordinal)) return false;
        }
        return true;
    }
}
