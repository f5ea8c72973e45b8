using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace ExchangeHealth.Engine.Gateway;

/// <summary>
/// The small JSON files a running process writes to say where it listens (<c>engine.json</c> of
/// <c>exh engine</c>, <c>canary.json</c> of <c>exh canary</c>): one flat JSON object, written
/// atomically (temporary file, then rename) so a reader never sees half a file, and read tolerantly
/// (a missing, half-written or foreign file is a <c>false</c> with a reason, never an exception).
/// </summary>
public static class EndpointsFile
{
    /// <summary>Writes <paramref name="fields"/> as one JSON object to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The file to write (its directory must exist).</param>
    /// <param name="fields">Member names and values (strings, numbers, booleans), in order.</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, object> fields)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(fields);
        string json = JsonSerializer.Serialize(fields);
        File.WriteAllText(path + ".tmp", json);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>
    /// Reads the JSON object in <paramref name="path"/> and turns it into a <typeparamref name="T"/>
    /// with <paramref name="parse"/>. False with <paramref name="problem"/> naming the file when it is
    /// missing, unreadable, not JSON, or <paramref name="parse"/> finds a member missing or malformed
    /// (it may throw <see cref="KeyNotFoundException"/>, <see cref="InvalidOperationException"/>,
    /// <see cref="FormatException"/>, <see cref="ArgumentException"/> or <see cref="UriFormatException"/>, as
    /// <see cref="JsonElement.GetProperty(string)"/>, <c>Parse</c> methods and constructors do).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="kind">What the file is, with its article, for the message: <c>"an engine endpoints"</c> gives <c>"PATH is not an engine endpoints file: ..."</c>.</param>
    /// <param name="parse">Builds the value from the root element.</param>
    /// <param name="value">The value, when true.</param>
    /// <param name="problem">Why not, when false: <c>cannot read PATH (...)</c> or <c>PATH is not KIND file: ...</c>.</param>
    /// <returns>Whether the file was read.</returns>
    public static bool TryRead<T>(string path, string kind, Func<JsonElement, T> parse, [NotNullWhen(true)] out T? value, out string? problem)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(parse);
        value = null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var doc = JsonDocument.Parse(stream);
            value = parse(doc.RootElement);
            problem = null;
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot read {path} ({e.Message})";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException or UriFormatException)
        {
            problem = $"{path} is not {kind} file: {e.Message}";
        }
        return false;
    }
}
