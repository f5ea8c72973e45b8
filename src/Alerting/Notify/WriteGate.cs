using System.Collections.Concurrent;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>
/// One in-process lock per database file for the notification stores' writes (outbox, Slack
/// bookkeeping), so parallel deliveries queue here for microseconds instead of colliding in SQLite,
/// whose lock waits are slow (150 ms retries; see <see cref="MonitorDatabase"/>). Reads need no gate (WAL).
/// </summary>
internal static class WriteGate
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    public static async Task<Releaser> EnterAsync(MonitorDatabase database, CancellationToken cancellationToken)
    {
        var gate = Gates.GetOrAdd(database.Path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(gate);
    }

    internal readonly struct Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
