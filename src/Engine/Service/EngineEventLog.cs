using System.Text.Json;

namespace ExchangeHealth.Engine.Service;

/// <summary>
/// One engine event: started, recovered, fault injected or cleared, journal failed or resumed,
/// snapshot written, stopping. Incident timelines read these (issue: incidents).
/// </summary>
/// <param name="Timestamp">When it happened (from the service's <see cref="TimeProvider"/>).</param>
/// <param name="Kind">Dotted kind, e.g. <c>fault.injected</c>, <c>journal.write_failed</c>.</param>
/// <param name="Message">One human sentence.</param>
/// <param name="Fields">Machine-readable details (fault name, duration seconds, sequence, ...).</param>
public sealed record EngineEvent(DateTimeOffset Timestamp, string Kind, string Message, IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// The engine's event log: the last <see cref="Capacity"/> events in memory and every event
/// appended as one JSON line to <c>events.jsonl</c> in the data directory. Thread-safe.
/// </summary>
public sealed class EngineEventLog : IDisposable
{
    /// <summary>Events kept in memory.</summary>
    public const int Capacity = 1000;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
    private readonly object _lock = new();
    private readonly Queue<EngineEvent> _recent = new();
    private readonly TimeProvider _time;
    private readonly StreamWriter? _file;

    /// <summary>Creates the log; <paramref name="path"/> null keeps events in memory only.</summary>
    /// <exception cref="IOException">The file cannot be opened for appending.</exception>
    public EngineEventLog(string? path, TimeProvider time)
    {
        _time = time;
        if (path is not null)
            _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
    }

    /// <summary>Raised after each event is recorded (on the recording thread).</summary>
    public event Action<EngineEvent>? Recorded;

    /// <summary>Records an event now.</summary>
    public EngineEvent Write(string kind, string message, IReadOnlyDictionary<string, string>? fields = null)
    {
        var e = new EngineEvent(_time.GetUtcNow(), kind, message, fields ?? new Dictionary<string, string>());
        lock (_lock)
        {
            _recent.Enqueue(e);
            while (_recent.Count > Capacity) _recent.Dequeue();
            try
            {
                _file?.WriteLine(JsonSerializer.Serialize(new
                {
                    timestamp = e.Timestamp.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    kind = e.Kind,
                    message = e.Message,
                    fields = e.Fields,
                }, Json));
            }
            catch (IOException)
            {
                // The event stays in memory; a full disk must not stop the engine (the journal reports it).
            }
        }
        Recorded?.Invoke(e);
        return e;
    }

    /// <summary>The most recent events, oldest first, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<EngineEvent> Recent(int limit = Capacity)
    {
        lock (_lock)
        {
            var all = _recent.ToArray();
            return all.Length <= limit ? all : all[^limit..];
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock) _file?.Dispose();
    }
}
